"""Lesson 08: real applications, unchanged, on the learner's server.

A Starlette app (routing, JSON, a streaming response, lifespan state) and a FastAPI
app (path and query parameters, a Pydantic body and its 422, a dependency with
`yield` whose cleanup runs, /openapi.json and /docs). They run with lifespan="auto",
as `python server.py module:app` would run them, so every exercise up to 8.7 is in play.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from typing import Optional

import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from tests.harness import running_asgi_server

WAIT = 5.0

# --- A Starlette app ---------------------------------------------------------------------

lifespan_log: list[str] = []


@contextlib.asynccontextmanager
async def starlette_lifespan(app):
    lifespan_log.append("startup")
    yield {"greeting": "hello from startup"}
    lifespan_log.append("shutdown")


async def home(request: Request):
    return PlainTextResponse(request.state.greeting)


async def user(request: Request):
    return JSONResponse({"id": request.path_params["user_id"], "sort": request.query_params.get("sort")})


async def numbers(request: Request):
    async def lines():
        for n in range(5):
            yield f"line {n}\n"
    return StreamingResponse(lines(), media_type="text/plain")


async def echo(request: Request):
    return JSONResponse({"length": len(await request.body())})


starlette_app = Starlette(routes=[Route("/", home), Route("/users/{user_id:int}", user),
                                  Route("/numbers", numbers), Route("/echo", echo, methods=["POST"])],
                          lifespan=starlette_lifespan)

# --- A FastAPI app -----------------------------------------------------------------------

fastapi_app = FastAPI(title="lesson 08 tests")
cleanups = []  # what the dependency's code after `yield` recorded
cleanup_ran = threading.Event()


class Item(BaseModel):
    name: str
    price: float


def session():
    yield {"session": "open"}
    cleanups.append("closed")
    cleanup_ran.set()


@fastapi_app.get("/items/{item_id}")
def read_item(item_id: int, q: Optional[str] = None, db: dict = Depends(session)):
    return {"item_id": item_id, "q": q, "db": db["session"]}


@fastapi_app.post("/items", status_code=201)
def create_item(item: Item):
    return {"created": item.model_dump()}


# --- Fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(8)




def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection(*server.address, timeout=WAIT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.reason, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# --- Starlette -----------------------------------------------------------------------------

@pytest.mark.exercise("8.7")
def test_starlette_lifespan_state_reaches_requests_and_shutdown_runs(lesson, fd_leak_check):
    lifespan_log.clear()
    with running_asgi_server(lesson, starlette_app, lifespan="auto") as server:
        status, _, _, body = request(server, "GET", "/")
        assert (status, body) == (200, b"hello from startup"), (
            f"got {status} {body!r}: request.state comes from the lifespan startup; run it, and copy "
            "its state into each request's scope['state']")
    assert lifespan_log == ["startup", "shutdown"], f"the app's lifespan ran {lifespan_log}"


@pytest.mark.exercise("8.7")
@pytest.mark.parametrize("path, status, reason, expected", [
    pytest.param("/users/7?sort=asc", 200, "OK", {"id": 7, "sort": "asc"}, id="path-and-query"),
    pytest.param("/users/seven", 404, "Not Found", None, id="no-route"),
])
def test_starlette_routing_and_json(serve, path, status, reason, expected):
    server = serve(starlette_app, lifespan="auto")
    got_status, got_reason, headers, body = request(server, "GET", path)
    assert (got_status, got_reason) == (status, reason)
    if expected is not None:
        assert headers["content-type"] == "application/json" and json.loads(body) == expected


@pytest.mark.exercise("8.7")
def test_starlette_streaming_response_arrives_chunked(serve):
    server = serve(starlette_app, lifespan="auto")
    status, _, headers, body = request(server, "GET", "/numbers")
    assert status == 200 and headers.get("transfer-encoding") == "chunked", headers
    assert body == b"".join(b"line %d\n" % n for n in range(5))


@pytest.mark.exercise("8.7")
def test_starlette_reads_a_large_request_body(serve):
    server = serve(starlette_app, lifespan="auto")
    status, _, _, body = request(server, "POST", "/echo", body=b"z" * 3_000_000)
    assert status == 200 and json.loads(body) == {"length": 3_000_000}


# --- FastAPI --------------------------------------------------------------------------------

@pytest.mark.exercise("8.7")
def test_fastapi_path_and_query_parameters_and_dependency_cleanup(serve):
    cleanups.clear()
    cleanup_ran.clear()
    server = serve(fastapi_app, lifespan="auto")
    status, _, _, body = request(server, "GET", "/items/42?q=blue")
    assert status == 200 and json.loads(body) == {"item_id": 42, "q": "blue", "db": "open"}
    assert cleanup_ran.wait(WAIT) and cleanups == ["closed"], (
        "the code after `yield` in a FastAPI dependency did not run: does the app task run to its end?")


@pytest.mark.exercise("8.7")
@pytest.mark.parametrize("payload, status", [
    pytest.param(b'{"name": "pen", "price": 1.5}', 201, id="valid"),
    pytest.param(b'{"name": "pen"}', 422, id="missing-field"),
    pytest.param(b'{"name": "pen", "price": "cheap"}', 422, id="wrong-type"),
    pytest.param(b'not json', 422, id="not-json"),
])
def test_fastapi_validates_a_pydantic_body(serve, payload, status):
    server = serve(fastapi_app, lifespan="auto")
    got = request(server, "POST", "/items", body=payload, headers={"content-type": "application/json"})
    # The phrase comes from http.HTTPStatus, as the server's does: 422 is "Unprocessable
    # Entity" up to Python 3.12 and "Unprocessable Content" (RFC 9110 §15.5.21) from 3.13.
    reason = http.HTTPStatus(status).phrase
    assert got[:2] == (status, reason), f"POST /items with {payload!r} gave {got[0]} {got[1]}: {got[3][:200]!r}"
    if status == 201:
        assert json.loads(got[3]) == {"created": {"name": "pen", "price": 1.5}}


@pytest.mark.exercise("8.7")
@pytest.mark.parametrize("path, content_type, marker", [
    pytest.param("/openapi.json", "application/json", b'"/items/{item_id}"', id="openapi"),
    pytest.param("/docs", "text/html; charset=utf-8", b"swagger", id="docs"),
])
def test_fastapi_serves_its_generated_docs(serve, path, content_type, marker):
    server = serve(fastapi_app, lifespan="auto")
    status, _, headers, body = request(server, "GET", path)
    assert (status, headers["content-type"]) == (200, content_type) and marker in body.lower()
