"""An item store: path, query and header parameters, a model as the body, a status code."""

from typing import Optional

from pydantic import BaseModel, Field


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)
    tags: list[str] = []


def ours(fw):
    app = fw.App(title="items")

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: Optional[str] = None, limit: int = 10,
                        x_token: str = fw.Header(default="none")):
        """Read one item."""
        return {"item_id": item_id, "q": q, "limit": limit, "token": x_token}

    @app.post("/items", status_code=201)
    async def create_item(item: Item):
        return item

    @app.put("/items/{item_id}")
    async def replace_item(item_id: int, item: Item, verbose: bool = False):
        return {"item_id": item_id, "item": item, "verbose": verbose}

    @app.delete("/items/{item_id}")
    def delete_item(item_id: int):
        return {"deleted": item_id}

    return app


def theirs():
    from fastapi import FastAPI, Header

    app = FastAPI(title="items")

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: Optional[str] = None, limit: int = 10,
                        x_token: str = Header(default="none")):
        """Read one item."""
        return {"item_id": item_id, "q": q, "limit": limit, "token": x_token}

    @app.post("/items", status_code=201)
    async def create_item(item: Item):
        return item

    @app.put("/items/{item_id}")
    async def replace_item(item_id: int, item: Item, verbose: bool = False):
        return {"item_id": item_id, "item": item, "verbose": verbose}

    @app.delete("/items/{item_id}")
    def delete_item(item_id: int):
        return {"deleted": item_id}

    return app


JSON = {"content-type": "application/json"}
REQUESTS = [
    ("get", "GET", "/items/7?q=pen&limit=3", {"X-Token": "t1"}, b""),
    ("get-defaults", "GET", "/items/7", {}, b""),
    ("get-path-not-int", "GET", "/items/seven", {}, b""),
    ("get-query-not-int", "GET", "/items/7?limit=many", {}, b""),
    ("get-two-segments", "GET", "/items/7/extra", {}, b""),
    ("create", "POST", "/items", JSON, b'{"name": "pen", "price": "2.5", "tags": ["office"]}'),
    ("create-invalid-fields", "POST", "/items", JSON, b'{"price": -1, "tags": "x"}'),
    ("create-no-body", "POST", "/items", {}, b""),
    ("create-invalid-json", "POST", "/items", JSON, b'{"name": "pen",'),
    ("create-wrong-type", "POST", "/items", JSON, b'[1, 2]'),
    ("replace", "PUT", "/items/3?verbose=yes", JSON, b'{"name": "cup", "price": 4}'),
    ("replace-bad-bool", "PUT", "/items/3?verbose=maybe", JSON, b'{"name": "cup", "price": 4}'),
    ("delete", "DELETE", "/items/3", {}, b""),
    ("collection-wrong-method", "GET", "/items", {}, b""),
    ("unknown-path", "GET", "/nothing/here", {}, b""),
]
