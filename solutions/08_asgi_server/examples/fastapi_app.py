"""A FastAPI app: path and query parameters, a Pydantic body, a dependency with yield.

    python solutions/08_asgi_server/server.py examples.fastapi_app:app --port 8000
    curl -i 'http://127.0.0.1:8000/items/3?q=red'
    curl -i -X POST http://127.0.0.1:8000/items -H 'content-type: application/json' -d '{"name": "pen", "price": 1.5}'
    curl -i -X POST http://127.0.0.1:8000/items -H 'content-type: application/json' -d '{"name": "pen"}'   # 422
    open http://127.0.0.1:8000/docs in a browser
"""

from typing import Optional

from fastapi import Depends, FastAPI
from pydantic import BaseModel

app = FastAPI(title="Lesson 08 example")
opened_sessions = []  # what the dependency below has opened and not yet closed


class Item(BaseModel):
    name: str
    price: float


def session():
    """A dependency with yield: the code after yield runs once the request is handled."""
    token = object()
    opened_sessions.append(token)
    try:
        yield {"open_sessions": len(opened_sessions)}
    finally:
        opened_sessions.remove(token)


@app.get("/")
def root():
    return {"message": "Hello from FastAPI on the lesson 08 server"}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: Optional[str] = None, db: dict = Depends(session)):
    return {"item_id": item_id, "q": q, "open_sessions": db["open_sessions"]}


@app.post("/items", status_code=201)
def create_item(item: Item):
    return {"created": item.model_dump()}
