"""Routing order, errors and their handlers, middleware, and a mounted sub-application."""

from typing import Optional


class NotEnough(Exception):
    def __init__(self, need: int) -> None:
        super().__init__(need)
        self.need = need


STOCK = {"pens": 3}


def ours(fw):
    app = fw.App(title="errors")
    v1 = fw.App(title="v1")

    @app.middleware("http")
    async def served_by(request, call_next):
        response = await call_next(request)
        response.headers["X-Served-By"] = "middleware"
        return response

    @app.exception_handler(NotEnough)
    async def not_enough(request, error: NotEnough):
        return fw.JSONResponse({"error": "not enough", "need": error.need}, status_code=409)

    @app.get("/stock/{name}")
    async def take(name: str, count: int = 1):
        if name not in STOCK:
            raise fw.HTTPException(404, f"no {name}")
        if count > STOCK[name]:
            raise NotEnough(count - STOCK[name])
        return {"name": name, "count": count}

    @app.get("/users/me")
    async def me():
        return {"user": "me"}

    @app.get("/users/{user_id}")
    async def user(user_id: int, verbose: Optional[bool] = None):
        return {"user": user_id, "verbose": verbose}

    @app.get("/plain")
    async def plain():
        return fw.PlainTextResponse("just text", status_code=202)

    @v1.get("/ping")
    async def ping(request: fw.Request):
        return {"path": request.scope["path"], "root_path": request.scope["root_path"]}

    app.mount("/v1", v1)
    return app


def theirs():
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse, PlainTextResponse

    app = FastAPI(title="errors")
    v1 = FastAPI(title="v1")

    @app.middleware("http")
    async def served_by(request, call_next):
        response = await call_next(request)
        response.headers["X-Served-By"] = "middleware"
        return response

    @app.exception_handler(NotEnough)
    async def not_enough(request, error: NotEnough):
        return JSONResponse({"error": "not enough", "need": error.need}, status_code=409)

    @app.get("/stock/{name}")
    async def take(name: str, count: int = 1):
        if name not in STOCK:
            raise HTTPException(404, f"no {name}")
        if count > STOCK[name]:
            raise NotEnough(count - STOCK[name])
        return {"name": name, "count": count}

    @app.get("/users/me")
    async def me():
        return {"user": "me"}

    @app.get("/users/{user_id}")
    async def user(user_id: int, verbose: Optional[bool] = None):
        return {"user": user_id, "verbose": verbose}

    @app.get("/plain")
    async def plain():
        return PlainTextResponse("just text", status_code=202)

    @v1.get("/ping")
    async def ping(request: Request):
        return {"path": request.scope["path"], "root_path": request.scope["root_path"]}

    app.mount("/v1", v1)
    return app


REQUESTS = [
    ("in-stock", "GET", "/stock/pens?count=2", {}, b"",
     "the middleware's header is on every response."),
    ("http-exception", "GET", "/stock/cups", {}, b"",
     "HTTPException(404, detail): that status, {'detail': detail}."),
    ("custom-handler", "GET", "/stock/pens?count=5", {}, b"",
     "@app.exception_handler(NotEnough) answers for it."),
    ("route-order", "GET", "/users/me", {}, b"",
     "routes are tried in the order they were added: /users/me first."),
    ("typed-path", "GET", "/users/12?verbose=true", {}, b"",
     "a typed path parameter and an Optional[bool] query parameter."),
    ("typed-path-invalid", "GET", "/users/twelve", {}, b"",
     "a path that matches with a value of the wrong type is a 422."),
    ("method-not-allowed", "POST", "/users/12", {}, b"",
     "405 with Allow, passing through the middleware."),
    ("plain-text", "GET", "/plain", {}, b"",
     "a returned Response is sent as it is (status 202, text/plain)."),
    ("mounted", "GET", "/v1/ping", {}, b"",
     "a mounted app: root_path gets the prefix, the path stays whole."),
    ("mounted-unknown", "GET", "/v1/pong", {}, b"",
     "the mounted app's own 404, with the middleware's header."),
    ("not-found", "GET", "/nowhere", {}, b"",
     "404 from the router, through the middleware."),
]
