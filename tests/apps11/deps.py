"""Dependencies: nested, cached per request, a header check that raises, `yield`."""

import itertools
from typing import Optional


def ours(fw):
    app = fw.App(title="deps")
    numbers = itertools.count(1)

    def get_settings():
        return {"page_size": 10, "instance": next(numbers)}

    def pagination(page: int = 1, size: Optional[int] = None, settings: dict = fw.Depends(get_settings)):
        return {"page": page, "size": size or settings["page_size"], "instance": settings["instance"]}

    async def current_user(x_user: str = fw.Header()):
        if x_user != "ann":
            raise fw.HTTPException(401, "unknown user", headers={"WWW-Authenticate": "Header"})
        return x_user

    async def db_session():
        yield {"open": True}

    @app.get("/things")
    async def list_things(paging: dict = fw.Depends(pagination), settings: dict = fw.Depends(get_settings),
                          user: str = fw.Depends(current_user), db: dict = fw.Depends(db_session)):
        return {"paging": paging, "cached": paging["instance"] == settings["instance"], "user": user, "db": db}

    return app


def theirs():
    from fastapi import Depends, FastAPI, Header, HTTPException

    app = FastAPI(title="deps")
    numbers = itertools.count(1)

    def get_settings():
        return {"page_size": 10, "instance": next(numbers)}

    def pagination(page: int = 1, size: Optional[int] = None, settings: dict = Depends(get_settings)):
        return {"page": page, "size": size or settings["page_size"], "instance": settings["instance"]}

    async def current_user(x_user: str = Header()):
        if x_user != "ann":
            raise HTTPException(401, "unknown user", headers={"WWW-Authenticate": "Header"})
        return x_user

    async def db_session():
        yield {"open": True}

    @app.get("/things")
    async def list_things(paging: dict = Depends(pagination), settings: dict = Depends(get_settings),
                          user: str = Depends(current_user), db: dict = Depends(db_session)):
        return {"paging": paging, "cached": paging["instance"] == settings["instance"], "user": user, "db": db}

    return app


REQUESTS = [
    ("all-given", "GET", "/things?page=2&size=5", {"X-User": "ann"}, b"",
     "each dependency runs once per request (cached), nested ones too."),
    ("defaults", "GET", "/things", {"X-User": "ann"}, b"",
     "a dependency's own query parameters get their defaults."),
    ("unknown-user", "GET", "/things", {"X-User": "bob"}, b"",
     "an HTTPException raised in a dependency: its status, detail, headers."),
    ("missing-header-and-bad-page", "GET", "/things?page=first", {}, b"",
     "a dependency's errors are the request's 422 (all of them)."),
    ("bad-size", "GET", "/things?size=big", {"X-User": "ann"}, b"",
     "an Optional[int] query parameter of a nested dependency is validated."),
]
