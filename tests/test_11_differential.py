"""Lesson 11 against FastAPI itself: the same apps, the same requests, the same answers.

Each app in tests/apps11/ is written twice, with your framework and with FastAPI
(FastAPI 0.165 when written). Both run on the course's *reference* lesson-09 server
(solutions/09_production/server.py, loaded from this repository whatever --impl
says), each on 127.0.0.1 port 0, and get the same requests over a real socket. So a
failure here is your framework's, never your server's.

Compared: the status, the content type, the body (as JSON when it is JSON, 422
bodies included, else as bytes), the headers the apps set (Allow, WWW-Authenticate,
X-Served-By); and of /openapi.json every path and operation (summary, operationId,
description, parameters, requestBody, responses) and the component schemas.

Not compared, on purpose:
- headers the server adds (date, server) and content-length (it follows the body);
- Allow on a path with several routes: Starlette lists only the first matching
  route's methods, RFC 9110 §10.2.1 asks for the resource's, which the lesson lists.
  The apps' 405s are on paths with one route, and Allow is compared as a set
  (Starlette keeps methods in a set, whose order changes from run to run);
- nothing of a 422 is left out: FastAPI 0.165 drops pydantic's documentation "url"
  from each error, as the lesson does;

WebSocket routes (tests/apps11/sockets.py) run on the reference lesson-10 server, the
course's only one that speaks WebSocket, and a `websockets` client compares what each
app answers and how each connection ends.
"""

import asyncio
import contextlib
import http.client
import json

import pytest
import websockets

from course.lessons import SOLUTIONS_DIR, lesson
from tests.apps11 import deps, errors, extras, items, sockets
from tests.asgi_client import first_difference
from tests.harness import load_module, running_asgi_server

APPS = {"items": (items, "11.3"), "deps": (deps, "11.4"), "extras": (extras, "11.4"), "errors": (errors, "11.5")}
COMPARED_HEADERS = ("allow", "www-authenticate", "x-served-by")
OPERATION_KEYS = ("summary", "operationId", "description", "parameters", "requestBody", "responses")
WAIT = 5.0


@pytest.fixture(scope="module")
def reference_server():
    """The reference lesson-09 server module, whatever --impl points at."""
    return load_module(SOLUTIONS_DIR, lesson(9), "server")


@pytest.fixture(scope="module")
def fw(load_lesson):
    return load_lesson(11)


@pytest.fixture(scope="module")
def servers(reference_server, fw):
    """servers(app name) -> (our address, FastAPI's address). Each pair starts on first
    use, so an app whose exercises are not done yet fails only its own tests; all stop
    at the end of the module."""
    with contextlib.ExitStack() as stack:
        started: dict[str, tuple] = {}

        def pair(name: str) -> tuple:
            if name not in started:
                module = APPS[name][0]
                ours = stack.enter_context(running_asgi_server(reference_server, module.ours(fw),
                                                               lifespan="off", access_log=False))
                theirs = stack.enter_context(running_asgi_server(reference_server, module.theirs(),
                                                                 lifespan="off", access_log=False))
                started[name] = (ours.address, theirs.address)
            return started[name]

        yield pair


def fetch(address, method: str, target: str, headers: dict, body: bytes) -> dict:
    """One request over a new connection: what the comparison looks at."""
    connection = http.client.HTTPConnection(*address, timeout=WAIT)
    try:
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        seen = {name: response.getheader(name) for name in COMPARED_HEADERS}
        content_type = response.getheader("content-type")
    finally:
        connection.close()
    if seen["allow"] is not None:
        seen["allow"] = sorted(method.strip() for method in seen["allow"].split(","))
    parsed = json.loads(raw) if content_type == "application/json" else raw
    return {"status": response.status, "content-type": content_type, "body": parsed, "headers": seen}


def differences(ours: dict, theirs: dict) -> list[str]:
    lines = []
    for key in ("status", "content-type", "body"):
        if ours[key] != theirs[key]:
            lines.append(f"  {key}:\n    FastAPI: {theirs[key]!r}\n    yours:   {ours[key]!r}")
    if ours["body"] != theirs["body"] and isinstance(theirs["body"], (dict, list)):
        lines.append(f"  first difference: {first_difference(theirs['body'], ours['body']).lstrip('.')}")
    for name, value in theirs["headers"].items():
        if ours["headers"][name] != value:
            lines.append(f"  header {name}:\n    FastAPI: {value!r}\n    yours:   {ours['headers'][name]!r}")
    return lines


CASES = [pytest.param(name, case, id=f"{name}-{case[0]}", marks=pytest.mark.exercise(exercise))
         for name, (module, exercise) in APPS.items() for case in module.REQUESTS]


@pytest.mark.parametrize("app_name, case", CASES)
def test_the_same_request_gets_fastapis_answer(servers, app_name, case):
    request_id, method, target, headers, body, checks = case
    ours_address, theirs_address = servers(app_name)
    theirs = fetch(theirs_address, method, target, headers, body)
    ours = fetch(ours_address, method, target, headers, body)
    found = differences(ours, theirs)
    if found:
        sent = f"{method} {target} {headers or ''} {body.decode() if body else ''}".rstrip()
        pytest.fail(f"tests/apps11/{app_name}.py (ours and theirs), {sent}\n" + "\n".join(found) +
                    f"\n  what it checks: {checks}", pytrace=False)


def operations(document: dict) -> dict:
    return {(path, method): {key: operation.get(key) for key in OPERATION_KEYS}
            for path, methods in document.get("paths", {}).items() for method, operation in methods.items()}


@pytest.mark.exercise("11.6")
@pytest.mark.parametrize("app_name", list(APPS))
def test_openapi_json_matches_fastapis(servers, app_name):
    ours_address, theirs_address = servers(app_name)
    theirs = fetch(theirs_address, "GET", "/openapi.json", {}, b"")["body"]
    ours = fetch(ours_address, "GET", "/openapi.json", {}, b"")["body"]
    if not isinstance(ours, dict):
        pytest.fail(f"GET /openapi.json: expected a JSON document, got {ours!r}", pytrace=False)
    theirs_ops, ours_ops = operations(theirs), operations(ours)
    assert sorted(ours_ops) == sorted(theirs_ops), (
        f"tests/apps11/{app_name}.py: /openapi.json lists these (path, method)s\n"
        f"  FastAPI: {sorted(theirs_ops)}\n  yours:   {sorted(ours_ops)}")
    for key, operation in theirs_ops.items():
        for field, value in operation.items():
            assert ours_ops[key][field] == value, (
                f"tests/apps11/{app_name}.py: /openapi.json paths[{key[0]!r}][{key[1]!r}][{field!r}]\n"
                f"  FastAPI: {value}\n  yours:   {ours_ops[key][field]}")
    theirs_schemas = theirs.get("components", {}).get("schemas", {})
    ours_schemas = ours.get("components", {}).get("schemas", {})
    assert ours_schemas == theirs_schemas, (
        f"tests/apps11/{app_name}.py: /openapi.json components.schemas\n  FastAPI: {theirs_schemas}\n"
        f"  yours:   {ours_schemas}")


@pytest.fixture(scope="module")
def socket_servers(fw):
    """(our address, FastAPI's address) for tests/apps11/sockets.py on the reference lesson-10 server."""
    server = load_module(SOLUTIONS_DIR, lesson(10), "server")
    with running_asgi_server(server, sockets.ours(fw), lifespan="off", access_log=False) as ours, \
            running_asgi_server(server, sockets.theirs(), lifespan="off", access_log=False) as theirs:
        yield ours.address, theirs.address


async def websocket_session(address, path: str, messages: list[str]) -> list:
    """Send each message and record each answer, then how the connection ended."""
    seen: list = []
    try:
        async with websockets.connect(f"ws://{address[0]}:{address[1]}{path}", open_timeout=WAIT,
                                      close_timeout=WAIT) as client:
            for message in messages:
                await client.send(message)
                seen.append(await asyncio.wait_for(client.recv(), WAIT))
            await client.close()
            seen.append(f"closed {client.close_code}")
    except websockets.InvalidStatus as refusal:
        seen.append(f"HTTP {refusal.response.status_code}")
    except websockets.ConnectionClosed as closed:
        seen.append(f"closed {closed.rcvd.code if closed.rcvd else None}")
    return seen


@pytest.mark.exercise("11.1")
@pytest.mark.parametrize("session", [pytest.param(case, id=case[0]) for case in sockets.SESSIONS])
def test_the_same_websocket_session_gets_fastapis_answers(socket_servers, session):
    session_id, path, messages, checks = session
    ours_address, theirs_address = socket_servers
    theirs = asyncio.run(websocket_session(theirs_address, path, messages))
    ours = asyncio.run(websocket_session(ours_address, path, messages))
    assert ours == theirs, (
        f"tests/apps11/sockets.py, a WebSocket to {path} sending {messages}:\n"
        f"  FastAPI: {theirs}\n  yours:   {ours}\n  what it checks: {checks}")
