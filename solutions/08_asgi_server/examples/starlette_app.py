"""A Starlette app: routing, JSON, a streaming response, and lifespan state.

    python solutions/08_asgi_server/server.py examples.starlette_app:app --port 8000
    curl -i http://127.0.0.1:8000/users/42
    curl -N http://127.0.0.1:8000/count/5
"""

import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"greeting": "hello from the lifespan startup"}  # copied into every request's state


async def home(request: Request):
    return PlainTextResponse(request.state.greeting + "\n")


async def user(request: Request):
    return JSONResponse({"id": request.path_params["user_id"], "query": dict(request.query_params)})


async def count(request: Request):
    async def numbers():  # no Content-Length: the server sends it chunked, one chunk per line
        for n in range(1, request.path_params["n"] + 1):
            yield f"{n}\n"
            await asyncio.sleep(0.2)

    return StreamingResponse(numbers(), media_type="text/plain")


app = Starlette(
    routes=[Route("/", home), Route("/users/{user_id:int}", user), Route("/count/{n:int}", count)],
    lifespan=lifespan,
)
