"""Lesson 10: Starlette and FastAPI WebSocket endpoints, unchanged, on your server.

The endpoints are written as the frameworks' documentation writes them (an echo,
JSON messages, a chat that broadcasts to every client, an endpoint that refuses,
a FastAPI route with a query parameter and a dependency), and the client is the
`websockets` library, as a browser-like peer. What the frameworks need of your
server is what the ASGI spec says: the websocket scope (path, query_string,
extensions), websocket.connect first, accept -> 101, close before accept -> 403,
the websocket.http.response extension, and websocket.disconnect with the code.
"""

from __future__ import annotations

import json
import queue
from typing import Optional

import pytest
from fastapi import Depends, FastAPI, Query, WebSocketException, status
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from tests.harness import name_stubs_behind_failures, stubs_hit  # noqa: F401 - stubs_hit: a fixture

WAIT = 5.0  # seconds to wait for what should happen at once
POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1: what an endpoint closes with to refuse a client


def ws_connect(server, path: str, **options):
    """A `websockets` client for the server: no proxy from the environment, short timeouts.
    A handshake the client cannot complete fails the test with what the server sent."""
    host, port = server.address
    try:
        return connect(f"ws://{host}:{port}{path}", proxy=None, open_timeout=WAIT, close_timeout=WAIT,
                       ping_interval=None, **options)
    except InvalidStatus as refusal:
        if refusal.response.status_code == 404:  # no test here refuses with 404: Starlette's HTTP router did
            pytest.fail("The WebSocket handshake got HTTP 404: the app saw an http scope, so\n"
                        "  your server served the handshake as plain HTTP (as lesson 09 does).\n"
                        "  Next step: the hook in server.py (README: 'The hook in your server.py'):\n"
                        "  is_websocket_request() in on_headers_complete, then switch_to_websocket().",
                        pytrace=False)
        raise  # a refusal: refused() expects it; elsewhere pytest shows the status
    except (InvalidHandshake, TimeoutError, OSError) as error:
        cause = f" ({type(error.__cause__).__name__}: {error.__cause__})" if error.__cause__ else ""
        pytest.fail(f"The websockets client could not complete GET {path} as a WebSocket: {error}{cause}.\n"
                    "  The answer must be one well-formed HTTP response: a 101, or a refusal with\n"
                    "  one content-length.", pytrace=False)


# --- Starlette: the endpoints ---------------------------------------------------------------

left: queue.Queue = queue.Queue()  # (endpoint, close code) when a client leaves: the app runs in the server's thread


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect as disconnect:
        left.put(("echo", disconnect.code))


async def echo_bytes(websocket: WebSocket) -> None:
    """Bytes in, bytes out, reversed (so an echo of the frame itself would not pass)."""
    await websocket.accept()
    try:
        while True:
            await websocket.send_bytes((await websocket.receive_bytes())[::-1])
    except WebSocketDisconnect:
        pass


async def versioned(websocket: WebSocket) -> None:
    """Picks the newest subprotocol the client offers (Sec-WebSocket-Protocol, RFC 6455 §4.2.2)."""
    offered = websocket.scope["subprotocols"]
    await websocket.accept(subprotocol=max(offered) if offered else None, headers=[(b"x-room", b"lobby")])
    await websocket.send_text(f"speaking {max(offered) if offered else 'nothing in particular'}")
    await websocket.close()


async def sums(websocket: WebSocket) -> None:
    """JSON in, JSON out: {"numbers": [...]} -> {"sum": ..., "count": ...}."""
    await websocket.accept()
    try:
        while True:
            numbers = (await websocket.receive_json())["numbers"]
            await websocket.send_json({"sum": sum(numbers), "count": len(numbers)})
    except WebSocketDisconnect:
        pass


async def members_only(websocket: WebSocket) -> None:
    await websocket.close(code=POLICY_VIOLATION)  # before accept: ASGI makes it an HTTP 403


async def denied(websocket: WebSocket) -> None:
    response = PlainTextResponse("members only\n", status_code=401, headers={"www-authenticate": "Bearer"})
    await websocket.send_denial_response(response)  # the websocket.http.response extension


class ChatRoom:
    """Everyone connected gets every message; "N online" when someone joins."""

    def __init__(self) -> None:
        self.members: list[WebSocket] = []

    async def broadcast(self, text: str) -> None:
        for member in list(self.members):
            try:
                await member.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass  # it left meanwhile; its own endpoint removes it

    async def join(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.members.append(websocket)
        try:
            await self.broadcast(f"{len(self.members)} online")
            while True:
                await self.broadcast(await websocket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            self.members.remove(websocket)


def starlette_app() -> Starlette:
    return Starlette(routes=[WebSocketRoute("/echo", echo), WebSocketRoute("/sums", sums),
                             WebSocketRoute("/bytes", echo_bytes), WebSocketRoute("/versioned", versioned),
                             WebSocketRoute("/chat", ChatRoom().join), WebSocketRoute("/members", members_only),
                             WebSocketRoute("/denied", denied)])


# --- FastAPI: the same, plus parameters and a dependency ----------------------------------------

def token_from_query(token: Optional[str] = Query(None)) -> str:
    """A dependency: the client must say who it is (?token=...), or the handshake is refused."""
    if token != "secret":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="a token is required")
    return token


def fastapi_app() -> FastAPI:
    app = FastAPI()
    room = ChatRoom()

    @app.websocket("/echo")
    async def fastapi_echo(websocket: WebSocket):
        await echo(websocket)

    @app.websocket("/sums")
    async def fastapi_sums(websocket: WebSocket):
        await sums(websocket)

    @app.websocket("/chat")
    async def fastapi_chat(websocket: WebSocket):
        await room.join(websocket)

    @app.websocket("/items/{item_id}")
    async def item_feed(websocket: WebSocket, item_id: int, q: Optional[str] = None,
                        token: str = Depends(token_from_query)):
        await websocket.accept()
        await websocket.send_json({"item_id": item_id, "q": q, "token": token})
        await websocket.close()

    return app


APPS = [pytest.param(starlette_app, id="starlette"), pytest.param(fastapi_app, id="fastapi")]


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(10)


# --- 10.3 messages ------------------------------------------------------------------------------

@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("make_app", APPS)
def test_echo_endpoint_answers_each_text_message(serve, make_app):
    server = serve(make_app())
    with ws_connect(server, "/echo") as client:
        for text in ["hello", "κόσμε", "x" * 70_000]:
            client.send(text)
            answer = client.recv(timeout=WAIT)
            assert answer == text, (
                f"Sent the text {text[:20]!r} ({len(text)} chars) to an echo endpoint;\n"
                f"  got back {answer[:20]!r} ({len(answer)} {'chars' if isinstance(answer, str) else 'bytes'}).\n"
                "  Text in, text out: websocket.send's 'text' goes out as text_frame().")


@pytest.mark.exercise("10.3")
def test_bytes_endpoint_gets_and_sends_binary_messages(serve):
    server = serve(starlette_app())
    payload = bytes(range(256)) * 300
    with ws_connect(server, "/bytes") as client:
        client.send(payload)
        answer = client.recv(timeout=WAIT)
    assert answer == payload[::-1], (
        f"Sent {len(payload)} bytes to an endpoint that answers them reversed;\n"
        f"  got {type(answer).__name__} of {len(answer)}. receive_bytes() reads websocket.receive's\n"
        "  'bytes'; send_bytes() sends 'bytes', which go out as binary_frame().")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("make_app", APPS)
def test_json_messages_go_both_ways(serve, make_app):
    server = serve(make_app())
    with ws_connect(server, "/sums") as client:
        client.send(json.dumps({"numbers": [1, 2, 3.5]}))
        answer = client.recv(timeout=WAIT)
    assert json.loads(answer) == {"sum": 6.5, "count": 3}, (
        f"receive_json()/send_json() gave {answer!r}.\n"
        "  Starlette reads websocket.receive's 'text' and sends JSON as 'text'.")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("make_app", APPS)
def test_chat_broadcasts_every_message_to_every_client(serve, make_app):
    server = serve(make_app())
    names = ["ann", "bob", "cy"]
    with ws_connect(server, "/chat") as ann, ws_connect(server, "/chat") as bob, ws_connect(server, "/chat") as cy:
        clients = dict(zip(names, [ann, bob, cy]))
        seen: dict[str, list[str]] = {name: [] for name in names}
        for name in names:  # each sees the room grow up to "3 online"
            seen[name].append(wait_for(clients[name], "3 online"))
        for name in names:
            clients[name].send(f"hi from {name}")
        for name in names:
            seen[name] = [clients[name].recv(timeout=WAIT) for _ in names]
    expected = {f"hi from {name}" for name in names}
    for name in names:
        assert set(seen[name]) == expected, (
            f"3 clients in a chat each sent one message; {name} got {seen[name]}, expected all of "
            f"{sorted(expected)}.\n  Every connection needs its own receive() and send(); the app's"
            " send on one must not wait for another client to read.")


def wait_for(client, text: str) -> str:
    """Read messages until `text` comes ("3 online"); fail if it does not within WAIT."""
    got = []
    try:
        while (message := client.recv(timeout=WAIT)) != text:
            got.append(message)
    except TimeoutError:
        pytest.fail(f"waited {WAIT:g} s for the chat's {text!r}; got {got}", pytrace=False)
    return message


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("code, reason", [pytest.param(1000, "", id="normal-1000"),
                                          pytest.param(4001, "gone fishing", id="app-code-4001")])
@pytest.mark.parametrize("make_app", APPS)
def test_endpoint_sees_websocketdisconnect_with_the_clients_code(serve, make_app, code, reason):
    while not left.empty():
        left.get_nowait()
    server = serve(make_app())
    with ws_connect(server, "/echo") as client:
        client.send("bye soon")
        client.recv(timeout=WAIT)
        client.close(code, reason)
    try:
        endpoint, seen = left.get(timeout=WAIT)
    except queue.Empty:
        pytest.fail(f"The client closed with {code}; within {WAIT:g} s the endpoint never got "
                    "WebSocketDisconnect.\n  Starlette raises it when receive() returns "
                    "websocket.disconnect: send that to the app when a Close arrives.", pytrace=False)
    assert seen == code, (
        f"The client closed with code {code}; the endpoint's WebSocketDisconnect had code {seen}.\n"
        "  websocket.disconnect's 'code' is the code of the client's Close frame.")


# --- 10.2 the handshake: refusals, the extension, parameters ------------------------------------

@pytest.mark.exercise("10.3")  # the handshake, checked with the greeting message: needs 10.3
def test_subprotocol_and_headers_chosen_by_the_endpoint_reach_the_client(serve):
    server = serve(starlette_app())
    with ws_connect(server, "/versioned", subprotocols=["chat.v1", "chat.v2"]) as client:
        greeting = client.recv(timeout=WAIT)
        chosen, room = client.subprotocol, client.response.headers.get("x-room")
    assert (chosen, room, greeting) == ("chat.v2", "lobby", "speaking chat.v2"), (
        "The client offered chat.v1, chat.v2; the endpoint accepted with chat.v2\n"
        f"  and the header x-room: lobby. The client saw subprotocol {chosen!r},\n"
        f"  x-room {room!r}, then {greeting!r}.\n"
        "  scope['subprotocols'] lists Sec-WebSocket-Protocol's values; websocket.accept's\n"
        "  'subprotocol' and 'headers' go into the 101 response.")


@pytest.mark.exercise("10.2")
def test_close_before_accept_refuses_the_handshake_with_403(serve):
    server = serve(starlette_app())
    status_code, body = refused(server, "/members")
    assert status_code == 403, (
        f"The endpoint called websocket.close() before accept(); the client got {status_code}.\n"
        "  ASGI: a websocket.close before websocket.accept is an HTTP 403 response.")


@pytest.mark.exercise("10.2")
def test_send_denial_response_reaches_the_client_as_http(serve):
    server = serve(starlette_app())
    if not hasattr(WebSocket, "send_denial_response"):  # Starlette 0.37 added it
        pytest.skip("this Starlette has no WebSocket.send_denial_response: pip install -U starlette")
    status_code, body = refused(server, "/denied")
    assert (status_code, body) == (401, b"members only\n"), (
        f"send_denial_response(PlainTextResponse('members only\\n', status_code=401)) gave the client "
        f"{status_code} {body!r}.\n  Starlette uses it only if scope['extensions'] has "
        "'websocket.http.response'; then\n  websocket.http.response.start/body are that HTTP response.")


def refused(server, path: str, **options) -> tuple[int, bytes]:
    """(status, body) of a handshake the server refused; fails the test if it accepted."""
    try:
        with ws_connect(server, path, **options):
            pass
    except InvalidStatus as error:
        return error.response.status_code, error.response.body or b""
    pytest.fail(f"the handshake to {path} was accepted (101); the endpoint refuses it", pytrace=False)


ITEM_CASES = [
    pytest.param("/items/7?token=secret&q=blue", {"item_id": 7, "q": "blue", "token": "secret"}, id="query-and-path"),
    pytest.param("/items/7?token=secret", {"item_id": 7, "q": None, "token": "secret"}, id="q-missing"),
]


@pytest.mark.exercise("10.3")  # the handshake of a FastAPI route, checked with messages: needs 10.3
@pytest.mark.parametrize("path, expected", ITEM_CASES)
def test_fastapi_websocket_route_gets_path_query_and_dependency(serve, path, expected):
    server = serve(fastapi_app())
    with ws_connect(server, path) as client:
        answer = client.recv(timeout=WAIT)
        try:
            client.recv(timeout=WAIT)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
    assert json.loads(answer) == expected, (
        f"GET {path} as a WebSocket: the endpoint saw {answer}.\n  FastAPI reads the path from "
        "scope['path'] and the query from scope['query_string'] (bytes, without the '?').")
    assert code == 1000, f"the endpoint closed with websocket.close(); the client saw close code {code}"


@pytest.mark.exercise("10.2")
def test_fastapi_dependency_that_raises_refuses_the_handshake(serve):
    server = serve(fastapi_app())
    status_code, _ = refused(server, "/items/7?token=wrong")
    assert status_code == 403, (
        f"The route's dependency raised WebSocketException(1008) before accept; the client got "
        f"{status_code}.\n  FastAPI then sends websocket.close: before accept that is an HTTP 403.")


# A failure caused by a stub names it (tests/harness.py).
globals().update(name_stubs_behind_failures(globals()))
