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
    ("get", "GET", "/items/7?q=pen&limit=3", {"X-Token": "t1"}, b"",
     "path, query and header parameters, each converted to its type."),
    ("get-defaults", "GET", "/items/7", {}, b"",
     "a missing query or header parameter gets its default."),
    ("get-path-not-int", "GET", "/items/seven", {}, b"",
     "a path parameter that is not an int: 422 with loc ['path', 'item_id']."),
    ("get-query-not-int", "GET", "/items/7?limit=many", {}, b"",
     "a query parameter that is not an int: 422 with loc ['query', 'limit']."),
    ("get-two-segments", "GET", "/items/7/extra", {}, b"",
     "a {param} is one path segment: /items/7/extra is a 404."),
    ("create", "POST", "/items", JSON, b'{"name": "pen", "price": "2.5", "tags": ["office"]}',
     'a model parameter is the JSON body, validated ("2.5" becomes 2.5).'),
    ("create-invalid-fields", "POST", "/items", JSON, b'{"price": -1, "tags": "x"}',
     "every error of the body, each loc starting with 'body'."),
    ("create-no-body", "POST", "/items", {}, b"",
     "no body for a required model: one 'missing' error, loc ['body']."),
    ("create-invalid-json", "POST", "/items", JSON, b'{"name": "pen",',
     "a body that is not JSON: FastAPI's json_invalid error alone."),
    ("create-wrong-type", "POST", "/items", JSON, b'[1, 2]',
     "a JSON array for a model: validate with from_attributes=True."),
    ("replace", "PUT", "/items/3?verbose=yes", JSON, b'{"name": "cup", "price": 4}',
     "a path parameter, a body and a bool query parameter together."),
    ("replace-bad-bool", "PUT", "/items/3?verbose=maybe", JSON, b'{"name": "cup", "price": 4}',
     "'maybe' is no bool: 422 with loc ['query', 'verbose']."),
    ("delete", "DELETE", "/items/3", {}, b"",
     "a plain (not async) handler works too."),
    ("collection-wrong-method", "GET", "/items", {}, b"",
     "a path that exists without this method: 405 and Allow."),
    ("unknown-path", "GET", "/nothing/here", {}, b"",
     "no route: 404 {'detail': 'Not Found'}."),
]
