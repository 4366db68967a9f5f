"""Lesson 11: a framework of your own, driven in-process (tests/asgi_client.py).

No server and no sockets: each test builds a small app with your `framework.py`,
calls it as a server would (`await app(scope, receive, send)`) and reads what it
sent. The expected answers are FastAPI's for the same app (FastAPI 0.165; the
differential in test_11_differential.py asks FastAPI itself, over a real server).
"""

import asyncio
import contextlib
import datetime
import json
from typing import Annotated, Optional

import pytest
from pydantic import BaseModel, Field

from tests.asgi_client import APP_DONE, RESPONSE_SENT, call, expect, lifespan, websocket_session


@pytest.fixture(scope="module")
def fw(load_lesson):
    return load_lesson(11)


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)


class Event(BaseModel):
    title: str
    when: datetime.datetime


# --- 11.1 Routing ---------------------------------------------------------------------

@pytest.fixture
def routed(fw):
    app = fw.App()

    @app.get("/users/me")
    async def me():
        return fw.PlainTextResponse("me")

    @app.get("/users/{user_id}")
    async def user(request: fw.Request):
        return fw.PlainTextResponse(f"user {request.path_params['user_id']}")

    @app.post("/users/{user_id}")
    async def update_user(request: fw.Request):
        return fw.PlainTextResponse("updated")

    @app.get("/files/{file_path:path}")
    async def files(request: fw.Request):
        return fw.PlainTextResponse(request.path_params["file_path"])

    return app


@pytest.mark.exercise("11.1")
def test_a_path_parameter_reaches_the_handler(routed):
    response = call(routed, "GET", "/users/42")
    expect(response, 200, what="GET /users/42 on @app.get('/users/{user_id}')",
           hint="compile_path(): each {name} becomes a named group; dispatch() sets request.path_params.")
    assert response.text == "user 42", f"expected 'user 42', got {response.text!r}: path_params should be {{'user_id': '42'}}"


@pytest.mark.exercise("11.1")
def test_routes_are_tried_in_the_order_they_were_added(routed):
    response = call(routed, "GET", "/users/me")
    assert response.text == "me", (
        f"GET /users/me answered {response.describe()}\n  expected 'me': the route /users/me was "
        "added before /users/{user_id}, and the first match wins.")


@pytest.mark.exercise("11.1")
@pytest.mark.parametrize("target", [
    pytest.param("/users/42/extra", id="one-more-segment"),
    pytest.param("/users/", id="empty-segment"),
])
def test_a_path_parameter_never_spans_a_slash(routed, target):
    response = call(routed, "GET", target)
    expect(response, 404, {"detail": "Not Found"}, what=f"GET {target} with a route /users/{{user_id}}",
           hint="a {name} is one path segment: [^/]+ in the regex, anchored at both ends.")


@pytest.mark.exercise("11.1")
def test_a_path_converter_spans_slashes(routed):
    response = call(routed, "GET", "/files/a/b/c.txt")
    expect(response, 200, what="GET /files/a/b/c.txt with a route /files/{file_path:path}",
           hint="{name:path} matches the rest of the path, slashes included (.*).")
    assert response.text == "a/b/c.txt", f"expected 'a/b/c.txt', got {response.text!r}"


@pytest.mark.exercise("11.1")
def test_an_unknown_path_is_404_with_fastapis_body(routed):
    expect(call(routed, "GET", "/nowhere"), 404, {"detail": "Not Found"}, what="GET /nowhere",
           hint='no route matches: raise HTTPException(404), whose body is {"detail": "Not Found"}.')


@pytest.mark.exercise("11.1")
def test_a_known_path_with_another_method_is_405_with_allow(routed):
    response = call(routed, "DELETE", "/users/42")
    expect(response, 405, {"detail": "Method Not Allowed"}, what="DELETE /users/42 (routes: GET and POST)",
           hint="the path matched but the method did not: 405, not 404 (RFC 9110 §15.5.6).")
    allow = {m.strip() for m in (response.header("allow") or "").split(",") if m.strip()}
    assert allow == {"GET", "POST"}, (
        f"expected an Allow header listing GET and POST, got {response.header('allow')!r}\n"
        "  next step: collect the methods of every route whose path matched.")


@pytest.mark.exercise("11.1")
def test_a_mounted_app_gets_the_prefix_as_root_path(fw):
    seen = []

    async def sub_app(scope, receive, send):
        seen.append((scope["path"], scope["root_path"]))
        await fw.PlainTextResponse("sub")(scope, receive, send)

    app = fw.App()
    app.mount("/v1", sub_app)
    response = call(app, "GET", "/v1/items")
    expect(response, 200, what="GET /v1/items with app.mount('/v1', sub_app)",
           hint="a path under the prefix goes to the sub-app (the Mounted response).")
    assert seen == [("/v1/items", "/v1")], (
        f"the sub-app saw (path, root_path) = {seen}\n  expected [('/v1/items', '/v1')]: as Starlette, "
        "the path stays whole and the prefix is added to root_path.")


@pytest.mark.exercise("11.1")
def test_a_mounted_framework_app_routes_below_its_prefix(fw):
    sub = fw.App()

    @sub.get("/ping")
    async def ping():
        return fw.PlainTextResponse("pong")

    app = fw.App()
    app.mount("/sub", sub)
    response = call(app, "GET", "/sub/ping")
    expect(response, 200, what="GET /sub/ping on an App mounted at /sub with a route /ping",
           hint="the sub-App's routes see the path without its root_path (request.url_path).")
    expect(call(app, "GET", "/other/ping"), 404, what="GET /other/ping (nothing mounted there)",
           hint="only paths equal to the prefix or under prefix + '/' go to the mount.")


@pytest.fixture
def ws_app(fw):
    app = fw.App()
    closed_with = []

    @app.websocket("/echo/{name}")
    async def echo(websocket: fw.WebSocket):
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(f"{websocket.path_params['name']}: {text}")
        except fw.WebSocketDisconnect as disconnect:
            closed_with.append(disconnect.code)

    @app.websocket("/json")
    async def json_echo(websocket: fw.WebSocket):
        await websocket.accept()
        value = await websocket.receive_json()
        await websocket.send_json({"got": value})
        await websocket.close()

    app.closed_with = closed_with
    return app


@pytest.mark.exercise("11.1")
def test_a_websocket_route_accepts_and_echoes(ws_app):
    sent = websocket_session(ws_app, "/echo/ann", [{"type": "websocket.receive", "text": "hi"}])
    got = [(m["type"], m.get("text")) for m in sent]
    expected = [("websocket.accept", None), ("websocket.send", "ann: hi")]
    assert got == expected, (
        f"a client connected to /echo/ann and sent 'hi'\n  expected (type, text): {expected}\n"
        f"  got: {got}\n  next step: accept() waits for websocket.connect and sends "
        "websocket.accept; send_text() sends websocket.send with 'text'.")


@pytest.mark.exercise("11.1")
def test_a_websocket_disconnect_raises_websocketdisconnect(ws_app):
    websocket_session(ws_app, "/echo/ann", [])
    assert ws_app.closed_with == [1000], (
        f"the handler caught WebSocketDisconnect codes {ws_app.closed_with}, expected [1000]\n  next step: "
        "receive_* raise WebSocketDisconnect(code) on a websocket.disconnect message.")


@pytest.mark.exercise("11.1")
def test_a_websocket_sends_and_receives_json(ws_app):
    sent = websocket_session(ws_app, "/json", [{"type": "websocket.receive", "text": '{"a": 1}'}])
    texts = [m.get("text") for m in sent if m["type"] == "websocket.send"]
    assert texts and json.loads(texts[0]) == {"got": {"a": 1}}, (
        f"expected one websocket.send with JSON {{'got': {{'a': 1}}}}, got {sent}")
    assert sent[-1]["type"] == "websocket.close", f"expected websocket.close last, got {sent[-1]}"


@pytest.mark.exercise("11.1")
def test_a_websocket_to_an_unknown_path_is_closed(ws_app):
    sent = websocket_session(ws_app, "/nowhere", [])
    assert [m["type"] for m in sent] == ["websocket.close"], (
        f"a WebSocket to a path with no route should get websocket.close at once, got {sent}")


# --- 11.2 Request and responses ------------------------------------------------------------

@pytest.fixture
def echo_app(fw):
    app = fw.App()

    @app.post("/echo")
    async def echo(request: fw.Request):
        body = await request.body()
        again = await request.body()
        return fw.JSONResponse({"query": request.query_params, "token": request.headers.get("X-Token"),
                                "cookies": request.cookies, "body": body.decode(), "same": body == again})

    @app.post("/json")
    async def as_json(request: fw.Request):
        return fw.JSONResponse({"json": await request.json()})

    @app.get("/dict")
    async def as_dict():
        return {"name": "widget", "tags": ["a", "b"], "price": 1.5, "note": "é"}

    @app.get("/model")
    async def as_model():
        return Event(title="launch", when=datetime.datetime(2026, 12, 3, 9, 30))

    @app.get("/text")
    async def as_text():
        return fw.PlainTextResponse("teapot", status_code=418, headers={"X-Kind": "tea"})

    @app.get("/stream")
    async def stream():
        async def lines():
            for n in range(3):
                yield f"line {n}\n"
        return fw.StreamingResponse(lines(), media_type="text/plain")

    return app


@pytest.mark.exercise("11.2")
def test_query_headers_and_cookies_reach_the_request(echo_app):
    response = call(echo_app, "POST", "/echo?a=1&b=&a=2", headers=[("x-token", "secret"), ("cookie", "s=abc; t=2")])
    expected = {"query": {"a": "2", "b": ""}, "token": "secret", "cookies": {"s": "abc", "t": "2"},
                "body": "", "same": True}
    expect(response, 200, expected, what="POST /echo?a=1&b=&a=2 with X-Token and Cookie headers",
           hint="query_params: parse_qsl with blank values, last value wins; headers: case-insensitive; "
                "cookies: split on ';' then '='.")


@pytest.mark.exercise("11.2")
def test_the_body_is_read_whole_from_several_messages(echo_app):
    response = call(echo_app, "POST", "/echo", body=[b"hel", b"lo ", b"world"])
    got = response.json() if response.status == 200 else response.describe()
    assert isinstance(got, dict) and got["body"] == "hello world" and got["same"], (
        f"the body came in 3 http.request messages (more_body=True, True, False)\n  expected body "
        f"'hello world', the same on a second body() call\n  got {got}\n  next step: receive() until "
        "more_body is false, and keep the bytes for the next call.")


@pytest.mark.exercise("11.2")
def test_request_json_decodes_the_body(echo_app):
    expect(call(echo_app, "POST", "/json", json_body={"x": [1, 2]}), 200, {"json": {"x": [1, 2]}},
           what='POST /json with {"x": [1, 2]}', hint="json.loads(await self.body()).")


@pytest.mark.exercise("11.2")
def test_a_returned_dict_is_sent_as_compact_json(echo_app):
    response = call(echo_app, "GET", "/dict")
    expected = '{"name":"widget","tags":["a","b"],"price":1.5,"note":"é"}'.encode()
    assert (response.status, response.header("content-type"), response.body) == (200, "application/json", expected), (
        f"a handler returned a dict\n  expected: 200 application/json {expected!r}\n  got:      "
        f"{response.describe()}\n  next step: to_response() makes it a JSONResponse (compact, UTF-8).")


@pytest.mark.exercise("11.2")
def test_a_returned_model_is_json_as_fastapi_encodes_it(echo_app):
    expect(call(echo_app, "GET", "/model"), 200, {"title": "launch", "when": "2026-12-03T09:30:00"},
           what="a handler returned a Pydantic model with a datetime",
           hint='encode it as model_dump(mode="json") would: pydantic_core.to_jsonable_python().')


@pytest.mark.exercise("11.2")
def test_a_returned_response_is_sent_as_it_is(echo_app):
    response = call(echo_app, "GET", "/text")
    got = (response.status, response.header("x-kind"), response.header("content-type"), response.body)
    assert got == (418, "tea", "text/plain; charset=utf-8", b"teapot"), (
        f"a handler returned PlainTextResponse('teapot', 418, headers={{'X-Kind': 'tea'}})\n  got "
        f"{got}\n  next step: a Response is sent unchanged, never wrapped in JSON.")


@pytest.mark.exercise("11.2")
def test_a_streaming_response_sends_each_piece_as_it_comes(echo_app):
    response = call(echo_app, "GET", "/stream")
    bodies = [m.get("body", b"") for m in response.messages if m["type"] == "http.response.body"]
    assert response.body == b"line 0\nline 1\nline 2\n" and len([b for b in bodies if b]) == 3, (
        f"expected 3 body messages (one per piece) making 'line 0..2', got {bodies}\n  next step: "
        "send each piece with more_body=True, then an empty body with more_body=False.")
    assert response.header("content-length") is None, (
        "a streaming response has no content-length (its length is not known): the server chunks it.")


# --- 11.3 Parameters and validation ------------------------------------------------------

@pytest.fixture
def params_app(fw):
    app = fw.App()

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: Optional[str] = None, limit: int = 10,
                        user_agent: str = fw.Header(default="none")):
        return {"item_id": item_id, "q": q, "limit": limit, "user_agent": user_agent}

    @app.get("/search")
    async def search(term: str, page: Annotated[int, fw.Query()] = 1, x_token: str = fw.Header()):
        return {"term": term, "page": page, "token": x_token}

    @app.post("/items")
    async def create_item(item: Item):
        return {"name": item.name, "price": item.price, "model": type(item).__name__}

    return app


@pytest.mark.exercise("11.3")
def test_path_and_query_parameters_are_converted_to_their_types(params_app):
    expect(call(params_app, "GET", "/items/3?limit=5"), 200,
           {"item_id": 3, "q": None, "limit": 5, "user_agent": "none"},
           what="GET /items/3?limit=5 on read_item(item_id: int, q: Optional[str] = None, limit: int = 10)",
           hint="validate each raw string with TypeAdapter(annotation): '3' -> 3; a missing one gets its default.")


@pytest.mark.exercise("11.3")
def test_a_header_parameter_reads_the_hyphenated_header(params_app):
    response = call(params_app, "GET", "/search?term=x", headers=[("X-Token", "t1"), ("User-Agent", "ua")])
    expect(response, 200, {"term": "x", "page": 1, "token": "t1"},
           what="GET /search?term=x with X-Token: t1 on search(..., x_token: str = Header())",
           hint="a Header parameter x_token reads the header x-token: underscores become hyphens.")


@pytest.mark.exercise("11.3")
def test_a_model_parameter_is_the_validated_json_body(params_app):
    expect(call(params_app, "POST", "/items", json_body={"name": "pen", "price": "2.5"}), 200,
           {"name": "pen", "price": 2.5, "model": "Item"},
           what='POST /items with {"name": "pen", "price": "2.5"} on create_item(item: Item)',
           hint="a parameter whose type is a BaseModel is the body: json.loads it, then validate with the model.")


MISSING = "Field required"
NOT_INT = "Input should be a valid integer, unable to parse string as an integer"

# FastAPI 0.165's answers for these requests to the same app (test_11_differential.py
# compares with FastAPI itself).
UNPROCESSABLE = [
    pytest.param("GET", "/items/abc", None,
                 [{"type": "int_parsing", "loc": ["path", "item_id"], "msg": NOT_INT, "input": "abc"}],
                 id="path-not-an-int"),
    pytest.param("GET", "/items/3?limit=ten", None,
                 [{"type": "int_parsing", "loc": ["query", "limit"], "msg": NOT_INT, "input": "ten"}],
                 id="query-not-an-int"),
    pytest.param("GET", "/search", None,
                 [{"type": "missing", "loc": ["query", "term"], "msg": MISSING, "input": None},
                  {"type": "missing", "loc": ["header", "x-token"], "msg": MISSING, "input": None}],
                 id="missing-query-and-header"),
    pytest.param("POST", "/items", {"price": -1},
                 [{"type": "missing", "loc": ["body", "name"], "msg": MISSING, "input": {"price": -1}},
                  {"type": "greater_than", "loc": ["body", "price"], "msg": "Input should be greater than 0",
                   "input": -1, "ctx": {"gt": 0.0}}],
                 id="body-fields"),
    pytest.param("POST", "/items", None,
                 [{"type": "missing", "loc": ["body"], "msg": MISSING, "input": None}],
                 id="no-body"),
    pytest.param("POST", "/items", b'{"name": ',
                 [{"type": "json_invalid", "loc": ["body", 9], "msg": "JSON decode error", "input": {},
                   "ctx": {"error": "Expecting value"}}],
                 id="invalid-json"),
]


@pytest.mark.exercise("11.3")
@pytest.mark.parametrize("method, target, payload, detail", UNPROCESSABLE)
def test_invalid_requests_get_fastapis_422(params_app, method, target, payload, detail):
    if isinstance(payload, bytes):
        response = call(params_app, method, target, body=payload, headers=[("content-type", "application/json")])
    else:
        response = call(params_app, method, target, json_body=payload)
    expect(response, 422, {"detail": detail}, what=f"{method} {target} {payload or ''}".rstrip(),
           hint="collect every field's errors (loc = [source, name, *pydantic's loc]); "
                "answer 422 with {'detail': errors}.")


@pytest.mark.exercise("11.3")
def test_a_websocket_with_invalid_parameters_is_closed_with_1008(fw):
    app = fw.App()
    accepted = []

    @app.websocket("/feed")
    async def feed(websocket: fw.WebSocket, token: str):
        accepted.append(token)
        await websocket.accept()

    sent = websocket_session(app, "/feed", [])
    got = [(m["type"], m.get("code")) for m in sent]
    assert got == [("websocket.close", 1008)] and not accepted, (
        f"a WebSocket to /feed without its required query parameter `token`\n  expected only "
        f"websocket.close with code 1008 (policy violation, as FastAPI)\n  got {got}, handler ran: "
        f"{bool(accepted)}\n  next step: solve the handler's parameters before calling it.")


# --- 11.4 Dependencies --------------------------------------------------------------------------

@pytest.fixture
def deps_app(fw):
    app = fw.App()
    log = []
    app.log = log

    def counter():
        log.append("counter called")
        return len([entry for entry in log if entry == "counter called"])

    def pagination(limit: int = 10, count: int = fw.Depends(counter)):
        return {"limit": limit, "count": count}

    def user(count: int = fw.Depends(counter)):
        return f"user-{count}"

    async def session():
        log.append("session opened")
        try:
            yield "session"
        finally:
            log.append("session closed")

    @app.get("/page")
    async def page(p: dict = fw.Depends(pagination), who: str = fw.Depends(user)):
        return {"page": p, "who": who}

    @app.get("/with-session")
    async def with_session(s: str = fw.Depends(session)):
        log.append("handler ran")
        return {"session": s}

    @app.get("/teapot")
    async def teapot(s: str = fw.Depends(session)):
        raise fw.HTTPException(418, "I'm a teapot")

    @app.get("/crash")
    async def crash(s: str = fw.Depends(session)):
        raise RuntimeError("the handler crashed")

    app.counter = counter
    return app


@pytest.mark.exercise("11.4")
def test_nested_dependencies_are_solved_and_validated(deps_app):
    expect(call(deps_app, "GET", "/page?limit=3"), 200, {"page": {"limit": 3, "count": 1}, "who": "user-1"},
           what="GET /page?limit=3: page(Depends(pagination)), pagination(limit, Depends(counter))",
           hint="a dependency's own parameters are solved like a handler's, dependencies first.")
    expect(call(deps_app, "GET", "/page?limit=x"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["query", "limit"], "msg": NOT_INT, "input": "x"}]},
           what="GET /page?limit=x: limit is a dependency's query parameter",
           hint="a dependency's validation errors belong to the request's 422.")


@pytest.mark.exercise("11.4")
def test_a_dependency_is_called_once_per_request(deps_app):
    call(deps_app, "GET", "/page")
    call(deps_app, "GET", "/page")
    calls = deps_app.log.count("counter called")
    assert calls == 2, (
        f"two requests to /page, where pagination and user both depend on counter\n  expected counter "
        f"called 2 times (once per request), got {calls}\n  next step: cache each dependency's value "
        "per request, keyed by the function; a new request starts with an empty cache.")


@pytest.mark.exercise("11.4")
def test_yield_cleanup_runs_after_the_response_is_sent(deps_app):
    log = deps_app.log
    response = call(deps_app, "GET", "/with-session", log=log)
    expect(response, 200, {"session": "session"}, what="GET /with-session (a yield dependency)",
           hint="the dependency's value is what it yields.")
    expected = ["session opened", "handler ran", RESPONSE_SENT, "session closed", APP_DONE]
    assert log == expected, (
        f"expected the order {expected}\n  got {log}\n  next step: enter the generator on the request's "
        "exit stack; it closes after the response has been sent.")


@pytest.mark.exercise("11.4")
@pytest.mark.parametrize("target", [pytest.param("/teapot", id="http-exception"),
                                    pytest.param("/crash", id="unhandled-error")])
def test_yield_cleanup_runs_when_the_handler_raises(deps_app, target):
    try:
        call(deps_app, "GET", target, log=deps_app.log)
    except RuntimeError:
        pass  # /crash: nothing handles it, so the app raises and the server answers 500
    ran = [entry for entry in deps_app.log if entry != RESPONSE_SENT]
    assert ran == ["session opened", "session closed", APP_DONE], (
        f"GET {target}: the handler raised after the dependency yielded\n  expected the clean-up to "
        f"run before the app's call ends, got {ran}\n  next step: the exit stack must close on errors "
        "too (`async with`, or try/finally).")


@pytest.mark.exercise("11.4")
def test_dependency_overrides_replace_a_dependency(deps_app):
    deps_app.dependency_overrides[deps_app.counter] = lambda: 99
    expect(call(deps_app, "GET", "/page"), 200, {"page": {"limit": 10, "count": 99}, "who": "user-99"},
           what="GET /page with app.dependency_overrides[counter] = lambda: 99",
           hint="look the dependency up in app.dependency_overrides before calling it.")


# --- 11.5 Middleware, exceptions, lifespan, state -----------------------------------------------

class OutOfStock(Exception):
    pass


class SoldOut(OutOfStock):
    pass


@pytest.fixture
def mw_app(fw):
    app = fw.App()
    order = []
    app.order = order

    @app.middleware("http")
    async def inner(request, call_next):
        order.append("inner in")
        response = await call_next(request)
        order.append("inner out")
        response.headers["X-Inner"] = "1"
        return response

    @app.middleware("http")
    async def outer(request, call_next):
        order.append("outer in")
        response = await call_next(request)
        order.append("outer out")
        response.headers["X-Outer"] = str(response.status_code)
        return response

    @app.exception_handler(OutOfStock)
    async def out_of_stock(request, error):
        return fw.JSONResponse({"error": type(error).__name__}, status_code=409)

    @app.get("/hello")
    async def hello():
        order.append("handler")
        return {"hello": "world"}

    @app.get("/sold-out")
    async def sold_out():
        raise SoldOut()

    @app.get("/forbidden")
    async def forbidden():
        raise fw.HTTPException(403, "no entry", headers={"X-Reason": "test"})

    return app


@pytest.mark.exercise("11.5")
def test_middleware_wraps_the_handler_last_added_outermost(mw_app):
    response = call(mw_app, "GET", "/hello")
    expected = ["outer in", "inner in", "handler", "inner out", "outer out"]
    assert mw_app.order == expected, (
        f"two middlewares, `inner` added first\n  expected the order {expected}\n  got {mw_app.order}\n"
        "  next step: wrap the chain in each middleware in turn; the last added is outermost.")
    got = (response.header("x-inner"), response.header("x-outer"))
    assert got == ("1", "200"), f"expected headers X-Inner: 1 and X-Outer: 200 set by the middlewares, got {got}"


@pytest.mark.exercise("11.5")
def test_middleware_sees_error_responses(mw_app):
    response = call(mw_app, "GET", "/nowhere")
    assert (response.status, response.header("x-outer")) == (404, "404"), (
        f"GET /nowhere: expected 404 with X-Outer: 404 (middleware wraps the exception handlers), "
        f"got {response.describe()} X-Outer={response.header('x-outer')!r}")


@pytest.mark.exercise("11.5")
def test_http_exception_gives_its_status_detail_and_headers(mw_app):
    response = call(mw_app, "GET", "/forbidden")
    expect(response, 403, {"detail": "no entry"}, what='raise HTTPException(403, "no entry", headers=...)',
           hint='HTTPException -> JSONResponse({"detail": detail}, status_code, headers).')
    assert response.header("x-reason") == "test", f"expected X-Reason: test, got {response.headers}"


@pytest.mark.exercise("11.5")
def test_an_exception_handler_answers_for_its_class_and_subclasses(mw_app):
    expect(call(mw_app, "GET", "/sold-out"), 409, {"error": "SoldOut"},
           what="raise SoldOut() (a subclass of OutOfStock, which has a handler)",
           hint="find the handler along type(error).__mro__.")


@pytest.mark.exercise("11.5")
def test_lifespan_runs_around_serving_and_shares_state(fw):
    events = []

    async def lifespan_(app):
        app.state.db = "connected"
        events.append("startup")
        yield {"greeting": "hello from startup"}
        events.append("shutdown")

    app = fw.App(lifespan=contextlib.asynccontextmanager(lifespan_))

    @app.get("/")
    async def home(request: fw.Request):
        return {"greeting": request.state.greeting, "db": request.app.state.db}

    async def scenario():
        async with lifespan(app) as state:
            assert events == ["startup"], f"after lifespan.startup: expected ['startup'], got {events}"
            events.append("serving")
            return state

    state = asyncio.run(scenario())
    assert events == ["startup", "serving", "shutdown"], (
        f"expected the lifespan's code before yield at startup and after it at shutdown, got {events}")
    response = call(app, "GET", "/", state=state)
    expect(response, 200, {"greeting": "hello from startup", "db": "connected"},
           what="a request after a lifespan that yielded {'greeting': ...} and set app.state.db",
           hint="copy the yielded dict into scope['state']; request.state reads it.")


@pytest.mark.exercise("11.5")
def test_an_app_without_a_lifespan_completes_startup_and_shutdown(fw):
    async def scenario():
        async with lifespan(fw.App()) as state:
            return state

    assert asyncio.run(scenario()) == {}, "an App() with no lifespan should start and stop with empty state"


@pytest.mark.exercise("11.5")
def test_a_failing_lifespan_startup_is_reported(fw):
    @contextlib.asynccontextmanager
    async def broken(app):
        raise RuntimeError("no database")
        yield

    app = fw.App(lifespan=broken)
    sent = []

    async def scenario():
        messages = [{"type": "lifespan.startup"}]

        async def receive():
            return messages.pop(0)

        async def send(message):
            sent.append(message)
        await asyncio.wait_for(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send), 5)

    asyncio.run(scenario())
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"] and "no database" in sent[0].get("message", ""), (
        f"the lifespan raised RuntimeError('no database') at startup\n  expected one "
        f"lifespan.startup.failed whose message names it, got {sent}")


# --- 11.6 OpenAPI ---------------------------------------------------------------------------------

VALIDATION_ERROR_RESPONSE = {"description": "Validation Error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}
OK_RESPONSE = {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}


@pytest.mark.exercise("11.6")
def test_openapi_describes_paths_parameters_and_responses(params_app):
    document = call(params_app, "GET", "/openapi.json").json()
    operation = document.get("paths", {}).get("/items/{item_id}", {}).get("get", {})
    expected = {
        "summary": "Read Item", "operationId": "read_item_items__item_id__get",
        "parameters": [
            {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer", "title": "Item Id"}},
            {"name": "q", "in": "query", "required": False,
             "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Q"}},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "default": 10, "title": "Limit"}},
            {"name": "user-agent", "in": "header", "required": False,
             "schema": {"type": "string", "default": "none", "title": "User-Agent"}}],
        "responses": {"200": OK_RESPONSE, "422": VALIDATION_ERROR_RESPONSE},
    }
    for key, value in expected.items():
        assert operation.get(key) == value, (
            f"/openapi.json, paths['/items/{{item_id}}']['get'][{key!r}]\n  expected: {value}\n  got:      "
            f"{operation.get(key)}\n  next step: as FastAPI: parameters path, query, header, each with "
            "pydantic's JSON Schema, a title and a non-None default.")
    assert set(document.get("paths", {})) == {"/items/{item_id}", "/search", "/items"}, (
        f"expected the three routes' paths (not /openapi.json or /docs), got {sorted(document.get('paths', {}))}")


@pytest.mark.exercise("11.6")
def test_openapi_has_the_request_body_and_its_schemas(params_app):
    document = call(params_app, "GET", "/openapi.json").json()
    operation = document.get("paths", {}).get("/items", {}).get("post", {})
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}
    assert operation.get("requestBody") == body, (
        f"POST /items takes item: Item\n  expected requestBody {body}\n  got {operation.get('requestBody')}")
    schemas = document.get("components", {}).get("schemas", {})
    assert schemas.get("Item") == Item.model_json_schema() and {"HTTPValidationError", "ValidationError"} <= set(schemas), (
        f"expected components.schemas with Item (pydantic's schema) and the 422 schemas, got {sorted(schemas)}")


@pytest.mark.exercise("11.6")
def test_openapi_lists_a_dependencys_parameters(deps_app):
    document = call(deps_app, "GET", "/openapi.json").json()
    parameters = document.get("paths", {}).get("/page", {}).get("get", {}).get("parameters")
    expected = [{"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "default": 10, "title": "Limit"}}]
    assert parameters == expected, (
        f"GET /page's only parameter is its dependency's `limit`\n  expected {expected}\n  got {parameters}\n"
        "  next step: list the fields of the dependencies too (recursively), as FastAPI does.")


@pytest.mark.exercise("11.6")
def test_docs_serves_a_swagger_page_for_openapi_json(params_app):
    response = call(params_app, "GET", "/docs")
    assert response.status == 200 and "text/html" in (response.header("content-type") or ""), (
        f"GET /docs: expected a 200 HTML page, got {response.describe()}")
    assert "swagger-ui" in response.text.lower() and "/openapi.json" in response.text, (
        "the /docs page should load Swagger UI and point it at /openapi.json")
