"""FastAPI idioms beyond the basics: Annotated, aliases, a class as a dependency,
`Depends()` with the type as the dependency, an optional body, nested models."""

import datetime
from typing import Annotated, Optional

from pydantic import BaseModel


class Line(BaseModel):
    sku: str
    quantity: int = 1


class Order(BaseModel):
    customer: str
    lines: list[Line]
    deliver_on: Optional[datetime.date] = None


def ours(fw):
    app = fw.App(title="extras", version="2.0")

    class Paging:
        def __init__(self, offset: int = 0, limit: Annotated[int, fw.Query(alias="page-size")] = 20):
            self.offset, self.limit = offset, limit

    @app.get("/orders")
    async def list_orders(paging: Paging = fw.Depends(), user_agent: Annotated[Optional[str], fw.Header()] = None):
        return {"offset": paging.offset, "limit": paging.limit, "agent": user_agent}

    @app.post("/orders", status_code=201)
    async def place_order(order: Order, dry_run: bool = False):
        if order.customer == "nobody":
            raise fw.HTTPException(400, {"reason": "unknown customer", "customer": order.customer})
        return {"order": order, "dry_run": dry_run, "lines": len(order.lines)}

    @app.put("/orders/{order_id}/note")
    async def set_note(order_id: int, note: Optional[Line] = None):
        return None if note is None else {"order_id": order_id, "note": note}

    return app


def theirs():
    from fastapi import Depends, FastAPI, Header, HTTPException, Query

    app = FastAPI(title="extras", version="2.0")

    class Paging:
        def __init__(self, offset: int = 0, limit: Annotated[int, Query(alias="page-size")] = 20):
            self.offset, self.limit = offset, limit

    @app.get("/orders")
    async def list_orders(paging: Paging = Depends(), user_agent: Annotated[Optional[str], Header()] = None):
        return {"offset": paging.offset, "limit": paging.limit, "agent": user_agent}

    @app.post("/orders", status_code=201)
    async def place_order(order: Order, dry_run: bool = False):
        if order.customer == "nobody":
            raise HTTPException(400, {"reason": "unknown customer", "customer": order.customer})
        return {"order": order, "dry_run": dry_run, "lines": len(order.lines)}

    @app.put("/orders/{order_id}/note")
    async def set_note(order_id: int, note: Optional[Line] = None):
        return None if note is None else {"order_id": order_id, "note": note}

    return app


JSON = {"content-type": "application/json"}
ORDER = b'{"customer": "ann", "lines": [{"sku": "pen"}, {"sku": "cup", "quantity": "3"}], "deliver_on": "2026-12-24"}'
REQUESTS = [
    ("class-dependency", "GET", "/orders?offset=5&page-size=10", {"User-Agent": "demo"}, b"",
     "a class as a dependency (Depends() takes the annotation): its __init__'s parameters."),
    ("alias-invalid", "GET", "/orders?page-size=ten", {}, b"",
     "an aliased query parameter: the 422's loc names the alias, 'page-size'."),
    ("defaults", "GET", "/orders?limit=3", {}, b"",
     "'limit' is not the parameter's name on the wire ('page-size' is): the default stays."),
    ("nested-body", "POST", "/orders?dry_run=true", JSON, ORDER,
     "a nested model, a list of models and a date, converted; the model is JSON again."),
    ("nested-body-invalid", "POST", "/orders", JSON, b'{"customer": "ann", "lines": [{"quantity": 2}, {"sku": 5}]}',
     "errors deep in the body: loc ['body', 'lines', 0, 'sku'] and so on."),
    ("detail-dict", "POST", "/orders", JSON, b'{"customer": "nobody", "lines": []}',
     "HTTPException's detail may be any JSON value, here a dict."),
    ("optional-body-absent", "PUT", "/orders/4/note", {}, b"",
     "an optional body that is absent is its default; returning None sends null."),
    ("optional-body-present", "PUT", "/orders/4/note", JSON, b'{"sku": "gift-wrap"}',
     "an optional body that is present is validated as usual."),
]
