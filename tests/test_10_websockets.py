"""Lesson 10, exercises 10.2-10.5: WebSockets on the learner's server, tested black-box.

The server runs in this process on its own loop in a thread (the `serve` fixture of
tests/conftest.py). Two kinds of client talk to it over loopback:
- the `websockets` library (its sync client), where a real client is the point:
  echo, subprotocols, the close handshake as a browser's library does it;
- a raw socket (`RawHttpClient` sending hand-made masked frames, `read_frame()`
  reading the server's), where the bytes are the point: the 101's headers, a
  fragmented message, a ping, a protocol error, a peer that stops answering.

The apps record what they saw (a message, a disconnect, an exception) in a
`queue.Queue`: the app runs on the server's loop, the test in the main thread,
and the queue is the thread-safe channel between them.

The learner's code runs in the server's thread too, so a stub's NotImplementedError
never reaches a test: it sees a 400 or a closed connection instead. A failing test
therefore names the stub behind it (see "A stub behind a failure", at the end).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import queue
import signal
import socket
import subprocess
import struct
import threading
import time
from dataclasses import dataclass

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from tests.harness import (RawHttpClient, let_clients_leave, name_stubs_behind_failures, nc_command,  # noqa: F401
                           push_until_stalled, show_bytes, stubs_hit, wire_report)
from tests.test_09_production import server_process  # noqa: F401 - a fixture, used here too
from tests.test_09_production import shut_down_now, wait_until_stalled, wait_until_stopped
from tests.test_10_frames import BINARY, CLOSE, PING, PONG, RSV1, TEXT, client_frame, header_only

WAIT = 5.0  # seconds a test waits for something the server should do at once
MB = 1024 * 1024
CONTINUATION = 0x0

# --- Requests, as the bytes on the wire ------------------------------------------------

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §4.2.2's example key ("the sample nonce")
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # ... and the Sec-WebSocket-Accept the RFC computes for it


def upgrade_request(*extra: bytes, path: bytes = b"/chat", key: bytes | None = KEY, version: bytes | None = b"13",
                    upgrade: bytes = b"websocket", connection: bytes = b"Upgrade") -> bytes:
    """A client's opening handshake (RFC 6455 §4.1), with `extra` header lines."""
    lines = [b"GET %s HTTP/1.1" % path, b"Host: test", b"Upgrade: " + upgrade, b"Connection: " + connection]
    if key is not None:
        lines.append(b"Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append(b"Sec-WebSocket-Version: " + version)
    return b"\r\n".join(lines + list(extra)) + b"\r\n\r\n"


UPGRADE = upgrade_request()
UPGRADE_WITH_QUERY_AND_SUBPROTOCOLS = upgrade_request(b"Sec-WebSocket-Protocol: chat, superchat",
                                                      path=b"/chat/room?name=lobby&x=1")
UPGRADE_CONNECTION_LIST = upgrade_request(connection=b"keep-alive, Upgrade")  # what Firefox sends
UPGRADE_OTHER_CASE = upgrade_request(upgrade=b"WebSocket", connection=b"upgrade")  # tokens ignore case
UPGRADE_OVER_HTTP_1_0 = upgrade_request().replace(b"HTTP/1.1", b"HTTP/1.0", 1)
UPGRADE_VERSION_12 = upgrade_request(version=b"12")
UPGRADE_VERSION_8 = upgrade_request(version=b"8")
UPGRADE_WITHOUT_KEY = upgrade_request(key=None)
UPGRADE_KEY_NOT_BASE64 = upgrade_request(key=b"not base64 at all!!!!!!!")
UPGRADE_KEY_OF_8_BYTES = upgrade_request(key=base64.b64encode(b"8 bytes!"))
UPGRADE_OFFERING_DEFLATE = upgrade_request(
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
SIMPLE_GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"

# --- Client frames (masked, as RFC 6455 §5.3 requires of a client) ----------------------


def text_frame(message: str, fin: bool = True, opcode: int = TEXT) -> bytes:
    return client_frame(opcode, message.encode(), fin=fin)


def close_frame(code: int, reason: bytes = b"") -> bytes:
    return client_frame(CLOSE, code.to_bytes(2, "big") + reason)


FRAGMENTED_HELLO = (text_frame("Hel", fin=False) + client_frame(PING, b"between")
                    + text_frame("lo, ", fin=False, opcode=CONTINUATION)
                    + text_frame("world", opcode=CONTINUATION))
PING_ARE_YOU_THERE = client_frame(PING, b"are you there?")
CLOSE_4000_BYE = close_frame(4000, b"bye")
CLOSE_WITHOUT_CODE = client_frame(CLOSE)  # what a browser's ws.close() sends
UNMASKED_TEXT = client_frame(TEXT, b"no mask", masked=False)  # §5.1: a server MUST close on it
RESERVED_BIT_TEXT = client_frame(TEXT, b"rsv1", rsv=RSV1)  # §5.2: no extension negotiated, RSV1 must be 0
TEXT_NOT_UTF8 = client_frame(TEXT, b"caf\xe9")  # latin-1 é: not UTF-8 (§8.1)

# --- Server frames, read from a raw client ------------------------------------------------

OPCODE_NAMES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}


@dataclass(frozen=True)
class ServerFrame:
    opcode: int
    fin: bool
    payload: bytes

    @property
    def code(self) -> int | None:
        """A close frame's status code (None: no code, or not a close)."""
        return int.from_bytes(self.payload[:2], "big") if self.opcode == CLOSE and len(self.payload) >= 2 else None

    def __str__(self) -> str:
        if self is TIMED_OUT:
            return "nothing more (the client stopped waiting)"
        name = OPCODE_NAMES.get(self.opcode, hex(self.opcode))
        if self.opcode == CLOSE:
            return f"close {self.code} {self.payload[2:]!r}"
        return f"{name} {show_bytes(self.payload, 80)}"


TIMED_OUT = ServerFrame(-1, True, b"")  # read_frame()'s answer when nothing came in time


def read_frame(client: RawHttpClient) -> ServerFrame | None:
    """The next frame the server sent (RFC 6455 §5.2); None if it closed TCP first,
    TIMED_OUT if nothing came within the client's timeout. A masked frame fails the test."""
    try:
        first, second = client.read_exactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(client.read_exactly(2), "big")
        elif length == 127:
            length = int.from_bytes(client.read_exactly(8), "big")
        masked = bool(second & 0x80)
        header = bytes([first, second]) + (client.read_exactly(4) if masked else b"")
        payload = client.read_exactly(length)
    except socket.timeout:
        return TIMED_OUT
    except (ConnectionError, OSError):  # closed or reset: no (more) frames
        return None
    if masked:
        pytest.fail(f"the server sent a masked frame ({show_bytes(header + payload, 60)}): RFC 6455\n"
                    "  §5.1: a server MUST NOT mask. Build server frames with the MASK bit 0.", pytrace=False)
    return ServerFrame(first & 0x0F, bool(first & 0x80), payload)


def next_message_or_close(client: RawHttpClient) -> ServerFrame | None:
    """The next frame that is not a ping or a pong (a keep-alive ping may come any time;
    a pong answers the test's own ping)."""
    while (frame := read_frame(client)) is not None and frame.opcode in (PING, PONG):
        pass
    return frame


# --- Apps ---------------------------------------------------------------------------------

async def plain_http(send, body: bytes = b"plain http") -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"%d" % len(body)), (b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def echo_app(records: queue.Queue | None = None):
    """Accepts, echoes every message as it came (text as text, bytes as bytes), records the disconnect.
    An HTTP request gets 200 "plain http"."""
    async def app(scope, receive, send):
        if scope["type"] == "http":
            return await plain_http(send)
        assert scope["type"] == "websocket", f"scope type {scope['type']!r}"
        connect_message = await receive()
        assert connect_message["type"] == "websocket.connect", connect_message
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                if records is not None:
                    records.put(message)
                return
            if records is not None:
                records.put(message)
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
    return app


def waiting_app(records: queue.Queue):
    """Accepts, then waits for the disconnect (dropping messages) and records it."""
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] != "websocket.disconnect":
            pass
        records.put(message)
    return app


# --- Fixtures and helpers ------------------------------------------------------------------

NO_PINGS = {"ws_ping_interval": None}  # tests that read raw frames want no keep-alive pings among them


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(10)


@pytest.fixture
def server_folder() -> str:
    return "10_websockets"  # server_process (lesson 09's fixture) runs lesson 10's server.py


@pytest.fixture
def serve(serve):
    """The shared serve() (tests/conftest.py), with a ws_* option the learner's Server does
    not take yet turned into the exercise that adds it. At teardown it first lets each
    server see its clients leave (see let_clients_leave)."""
    started = []

    def start(app, **options):
        try:
            started.append(serve(app, **options))
            return started[-1]
        except TypeError as error:
            if "keyword" not in str(error):
                raise
            name = next((n for n in options if f"'{n}'" in str(error)), "?")
        pytest.fail(f"Server(...) does not accept `{name}=` yet.\n"
                    "  Next step: exercise 10.2: add it to Server.__init__ (uvicorn's name and\n"
                    "  default), keep it on self, and use it in websocket.py.", pytrace=False)
    yield start
    for server in started:
        let_clients_leave(server)


def url(server, path: str = "/chat") -> str:
    host, port = server.address
    return f"ws://{host}:{port}{path}"


@contextlib.contextmanager
def ws_client(server, path: str = "/chat", **options):
    """The websockets library's client, without its own keep-alive pings; a handshake
    it refuses fails the test with the library's reason."""
    try:
        client = connect(url(server, path), open_timeout=WAIT, close_timeout=WAIT, ping_interval=None, **options)
    except (InvalidHandshake, OSError, TimeoutError) as error:
        pytest.fail(f"The websockets library's client could not open {url(server, path)}:\n"
                    f"  {type(error).__name__}: {error}\n"
                    "  Next step: the handshake's tests (10.2) show the 101 your server sent.", pytrace=False)
    with client:
        yield client


def close_seen_by(client) -> str:
    """What the websockets client got while it waited for the server's Close:
    "close 1012 'reason'", "TCP closed, no Close frame", "nothing", or a message."""
    try:
        message = client.recv(timeout=WAIT)
    except ConnectionClosed as closed:
        received = closed.rcvd
        return f"close {received.code} {received.reason!r}" if received else "TCP closed, no Close frame"
    except TimeoutError:
        return "nothing"
    return f"a message ({show_bytes(str(message).encode(), 60)})"


def next_record(records: queue.Queue, what: str):
    try:
        return records.get(timeout=WAIT)
    except queue.Empty:
        pytest.fail(f"Within {WAIT} s the app never {what}.", pytrace=False)


def handshake_report(request: bytes, client: RawHttpClient, port: int, hint: str) -> str:
    return wire_report(client_sent=request, server_sent=client.wire, hint=hint,
                       reproduce=nc_command(request, port=port))


def open_websocket(server, request: bytes = UPGRADE) -> RawHttpClient:
    """A raw client whose handshake got its 101; the next bytes it reads are frames."""
    client = RawHttpClient(server.address, timeout=WAIT)
    client.send(request)
    try:
        status = client.read_response()[0]
    except (ConnectionError, ValueError, OSError) as error:
        status = f"no response ({error})"
    if status != 101:
        client.close()
        pytest.fail(handshake_report(
            request, client, server.address[1],
            f"expected 101 Switching Protocols, got {status}. Is the hook in\n"
            "  on_headers_complete there (is_websocket_request), and does the app's\n"
            "  websocket.accept reach WebSocketProtocol.accept()?"), pytrace=False)
    return client


def disconnect_code(records: queue.Queue, what: str) -> int | None:
    """The code of the websocket.disconnect the app recorded (the app records nothing else)."""
    message = next_record(records, f"got websocket.disconnect after {what}")
    assert message["type"] == "websocket.disconnect", f"the app's receive() gave {message!r}"
    return message.get("code")


def head_fields(client: RawHttpClient) -> dict[str, str]:
    head = client.wire.partition(b"\r\n\r\n")[0].decode("latin-1")
    return {name.strip().lower(): value.strip() for name, _, value in
            (line.partition(":") for line in head.split("\r\n")[1:])}


# --- 10.2 the handshake -----------------------------------------------------------------------

@pytest.mark.exercise("10.2")
def test_handshake_gets_101_with_the_rfc_accept_key_and_upgrade_headers(serve):
    server = serve(echo_app(), **NO_PINGS)
    with open_websocket(server) as client:
        fields = head_fields(client)
    got = (fields.get("upgrade", "").lower(), fields.get("connection", "").lower(),
           fields.get("sec-websocket-accept", "").encode())
    assert got == ("websocket", "upgrade", ACCEPT), handshake_report(
        UPGRADE, client, server.address[1],
        "RFC 6455 §4.2.2: a 101 carries Upgrade: websocket, Connection: Upgrade\n"
        f"  and Sec-WebSocket-Accept: {ACCEPT.decode()} for this key (base64 of\n"
        "  the SHA-1 of the key + the RFC's GUID): accept_key(), switching_protocols().")


@pytest.mark.exercise("10.2")
@pytest.mark.parametrize("request_bytes", [pytest.param(UPGRADE_CONNECTION_LIST, id="connection-keep-alive-upgrade"),
                                           pytest.param(UPGRADE_OTHER_CASE, id="tokens-in-other-case")])
def test_upgrade_and_connection_are_read_as_case_insensitive_token_lists(serve, request_bytes):
    server = serve(echo_app(), **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request_bytes)
        status = client.read_response()[0]
        assert status == 101, handshake_report(
            request_bytes, client, server.address[1],
            "Connection and Upgrade hold comma-separated tokens, in any case\n"
            "  (RFC 6455 §4.2.1, RFC 9110 §7.6.1): Firefox sends\n"
            "  `Connection: keep-alive, Upgrade`. Split the values on commas, strip\n"
            "  and lower-case each token (is_websocket_request).")


@pytest.mark.exercise("10.2")
def test_an_upgrade_in_an_http_1_0_request_is_not_a_websocket(serve):
    server = serve(echo_app(), **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(UPGRADE_OVER_HTTP_1_0)
        try:
            status = client.read_response()[0]
        except (ConnectionError, ValueError) as error:
            status = f"no response ({error})"
        assert status != 101 and isinstance(status, int), handshake_report(
            UPGRADE_OVER_HTTP_1_0, client, server.address[1],
            "a WebSocket handshake is an HTTP/1.1 GET (RFC 6455 §4.2.1), and a server\n"
            "  ignores Upgrade in an HTTP/1.0 request (RFC 9110 §7.8): serve it as a\n"
            "  plain request (or refuse it with 400). Check the version in the hook.")


@pytest.mark.exercise("10.2")
def test_the_app_gets_a_websocket_scope_and_websocket_connect_first(serve):
    records = queue.Queue()

    async def app(scope, receive, send):
        records.put(scope)
        records.put(await receive())
        await send({"type": "websocket.accept"})
        await receive()

    server = serve(app, **NO_PINGS)
    with open_websocket(server, UPGRADE_WITH_QUERY_AND_SUBPROTOCOLS) as client:
        scope = next_record(records, "was called")
        first = next_record(records, "got its first message")
        client_address = client.sock.getsockname()
    expected = {"type": "websocket", "scheme": "ws", "path": "/chat/room", "query_string": b"name=lobby&x=1",
                "subprotocols": ["chat", "superchat"], "client": client_address, "server": server.address}
    got = {key: scope.get(key) for key in expected}
    for key in ("client", "server"):  # a list is as good as a tuple here (ASGI: "Iterable[str, int]")
        got[key] = tuple(got[key]) if got[key] is not None else None
    assert got == expected, (
        f"The websocket scope (ASGI spec, websocket connection scope) differs:\n"
        f"  expected: {expected}\n  got:      {got}\n"
        "  Next step: websocket_scope() copies path, query_string, headers, client and\n"
        "  server from the http scope and adds scheme ws and the offered subprotocols.")
    assert (b"sec-websocket-key", KEY) in [tuple(header) for header in scope.get("headers", [])], (
        f"scope['headers'] must hold the request's headers (lower-case names,\n"
        f"  bytes): got {scope.get('headers')!r}")
    asgi = scope.get("asgi", {})
    assert asgi.get("version") == "3.0" and str(asgi.get("spec_version")).startswith("2."), (
        f"scope['asgi'] should be {{'version': '3.0', 'spec_version': '2.4'}}: got {scope.get('asgi')!r}")
    assert "websocket.http.response" in scope.get("extensions", {}), (
        f"scope['extensions'] should announce 'websocket.http.response' (the\n"
        f"  server supports it): got {scope.get('extensions')!r}")
    assert first == {"type": "websocket.connect"}, (
        f"the app's first receive() must give {{'type': 'websocket.connect'}}: got {first!r}")


@pytest.mark.exercise("10.2")
def test_the_subprotocol_and_headers_the_app_accepts_with_are_sent(serve):
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "superchat", "headers": [(b"x-room", b"lobby")]})
        await receive()

    server = serve(app, **NO_PINGS)
    with ws_client(server, subprotocols=["chat", "superchat"]) as client:
        chosen, room = client.subprotocol, client.response.headers.get("x-room")
        head = "\n    ".join(f"{name}: {value}" for name, value in client.response.headers.raw_items())
    assert (chosen, room) == ("superchat", "lobby"), (
        f"The client offered chat, superchat; the app accepted with subprotocol\n"
        f"  superchat and a header x-room: lobby. The 101's headers:\n    {head}\n"
        "  Next step: switching_protocols() writes sec-websocket-protocol (RFC 6455\n"
        "  §4.2.2) and the headers of websocket.accept.")


@pytest.mark.exercise("10.2")
def test_close_before_accept_gets_403(serve):
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.close"})

    server = serve(app, **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(UPGRADE)
        status = client.read_response()[0]
        assert status == 403, handshake_report(
            UPGRADE, client, server.address[1],
            "the app sent websocket.close before websocket.accept: the ASGI spec\n"
            "  says the server answers the handshake with HTTP 403\n"
            "  (answer_handshake, refuse()).")
        assert client.closed_by_server(), "after the 403, close the connection (no WebSocket was opened)"


@pytest.mark.exercise("10.2")
def test_the_websocket_http_response_extension_sends_the_apps_response(serve):
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/plain"), (b"x-why", b"no token")]})
        await send({"type": "websocket.http.response.body", "body": b"log in ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"first"})

    server = serve(app, **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(UPGRADE)
        status, _, headers, body = client.read_response()
        assert (status, dict(headers).get("x-why"), body) == (401, "no token", b"log in first"), handshake_report(
            UPGRADE, client, server.address[1],
            "the app answered with websocket.http.response.start (401, x-why: no token)\n"
            "  and two bodies 'log in ' + 'first': send that HTTP response (with its\n"
            "  length) instead of a 101 (answer_handshake, http_response).")


@pytest.mark.exercise("10.2")
@pytest.mark.parametrize("request_bytes", [pytest.param(UPGRADE_VERSION_12, id="version-12"),
                                           pytest.param(UPGRADE_VERSION_8, id="version-8")])
def test_a_version_other_than_13_gets_426_naming_version_13(serve, request_bytes):
    server = serve(echo_app(), **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request_bytes)
        status, _, headers, _ = client.read_response()
        assert (status, dict(headers).get("sec-websocket-version")) == (426, "13"), handshake_report(
            request_bytes, client, server.address[1],
            "RFC 6455 §4.4: a version the server does not speak gets\n"
            "  426 Upgrade Required and Sec-WebSocket-Version: 13 (handshake_refusal()).")


@pytest.mark.exercise("10.2")
@pytest.mark.parametrize("request_bytes", [pytest.param(UPGRADE_WITHOUT_KEY, id="no-key"),
                                           pytest.param(UPGRADE_KEY_NOT_BASE64, id="key-not-base64"),
                                           pytest.param(UPGRADE_KEY_OF_8_BYTES, id="key-of-8-bytes")])
def test_a_missing_or_malformed_key_gets_400_and_the_app_is_not_called(serve, request_bytes):
    records = queue.Queue()
    server = serve(echo_app(records), **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request_bytes)
        status = client.read_response()[0]
        assert status == 400, handshake_report(
            request_bytes, client, server.address[1],
            "RFC 6455 §4.2.1: Sec-WebSocket-Key is base64 of 16 bytes; without\n"
            "  one the handshake is a bad request (handshake_refusal(): 400).")
    assert records.empty(), f"the app was called for a refused handshake: it recorded {records.get()!r}"
    open_websocket(server).close()  # and the 400 was for the key: a good handshake gets its 101


@pytest.mark.exercise("10.3")  # the handshake's, checked with a message: needs 10.3
def test_permessage_deflate_offered_is_declined_and_plain_frames_work(serve):
    server = serve(echo_app(), **NO_PINGS)
    with open_websocket(server, UPGRADE_OFFERING_DEFLATE) as client:
        fields = head_fields(client)
        client.send(text_frame("plain"))
        echoed = next_message_or_close(client)
    assert "sec-websocket-extensions" not in fields, handshake_report(
        UPGRADE_OFFERING_DEFLATE, client, server.address[1],
        "the server does not compress, so its 101 must not name the extension\n"
        "  (RFC 6455 §9.1: only the extensions it names are in use); a client would\n"
        "  then send compressed frames (RSV1 set) the server cannot read.")
    assert echoed is not None and (echoed.opcode, echoed.payload) == (TEXT, b"plain"), (
        f"the client sent a text frame 'plain' and the app echoes it: the server sent\n"
        f"  {echoed or 'nothing'} (a text frame has opcode 0x1, binary 0x2: send_message()).")
    with ws_client(server) as library_client:  # the websockets client offers permessage-deflate too
        library_client.send("hello " * 100)
        assert library_client.recv(timeout=WAIT) == "hello " * 100


@pytest.mark.exercise("10.3")  # the handshake's, checked with a message: needs 10.3
def test_plain_http_requests_still_work_on_the_same_server_and_connection(serve):
    server = serve(echo_app(), **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(SIMPLE_GET + UPGRADE)  # one plain request, then the handshake on the same connection
        first = client.read_response()
        second = client.read_response()[0]
        assert (first[0], first[3], second) == (200, b"plain http", 101), handshake_report(
            SIMPLE_GET + UPGRADE, client, server.address[1],
            "a GET then a handshake on one keep-alive connection: 200 for the GET,\n"
            "  then 101. The WebSocket takes over only once the responses owed\n"
            "  before it are written (switch_to_websocket).")
        client.send(text_frame("after"))
        echoed = next_message_or_close(client)
    assert echoed is not None and echoed.payload == b"after", (
        f"the WebSocket opened after a plain request did not echo 'after': got {echoed}")


@pytest.mark.exercise("10.3")  # the handshake's, checked with a message: needs 10.3
def test_an_idle_websocket_outlives_the_http_timeouts(serve):
    server = serve(echo_app(), timeout_keep_alive=0.2, timeout_request_head=0.2, **NO_PINGS)
    with ws_client(server) as client:
        threading.Event().wait(0.8)  # four times either HTTP timeout, with nothing sent
        client.send("still open?")
        try:
            echoed = client.recv(timeout=WAIT)
        except (ConnectionClosed, TimeoutError) as error:
            pytest.fail(f"an idle WebSocket was closed ({error!r}) within 0.8 s, with\n"
                        "  timeout_keep_alive and timeout_request_head at 0.2 s: those clocks\n"
                        "  are HTTP's. Stop the connection's deadline when it becomes a\n"
                        "  WebSocket (switch_to_websocket); keep-alive pings watch it now.",
                        pytrace=False)
    assert echoed == "still open?"


async def returns_before_accepting(scope, receive, send):
    await receive()


async def raises_before_accepting(scope, receive, send):
    await receive()
    raise RuntimeError("this app crashes before it accepts (the test wants it to)")


@pytest.mark.exercise("10.2")
@pytest.mark.parametrize("app", [pytest.param(returns_before_accepting, id="returns"),
                                 pytest.param(raises_before_accepting, id="raises")])
def test_an_app_that_ends_without_accepting_gets_500(serve, app):
    server = serve(app, **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(UPGRADE)
        try:
            status = client.read_response()[0]
        except (ConnectionError, ValueError) as error:
            status = f"no response ({error})"
        assert status == 500, handshake_report(
            UPGRADE, client, server.address[1],
            "the app ended without websocket.accept, close or an HTTP response:\n"
            "  the handshake is still owed an answer: 500 (run_asgi, end_after_app).")


# --- 10.3 messages and closing ------------------------------------------------------------------

@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("message", [pytest.param("hello, κόσμε", id="text"),
                                     pytest.param(b"\x00\xffbytes", id="bytes"),
                                     pytest.param("x" * 100_000, id="text-100-kB"),
                                     pytest.param(bytes(range(256)) * 400, id="bytes-100-kB")])
def test_text_and_bytes_are_echoed_as_they_were_sent(serve, message):
    server = serve(echo_app(), **NO_PINGS)
    with ws_client(server) as client:
        client.send(message)
        try:
            echoed = client.recv(timeout=WAIT)
        except (TimeoutError, ConnectionClosed) as error:
            pytest.fail(f"the app echoes each message; the client got no echo ({error!r}).", pytrace=False)
    kind = "text" if isinstance(message, str) else "bytes"
    assert type(echoed) is type(message) and echoed == message, (
        f"sent {kind} {show_bytes(str(message).encode(), 60)}, got back {type(echoed).__name__} "
        f"{show_bytes(str(echoed).encode(), 60)}.\n"
        "  Next step: websocket.receive has 'text' for a text message and 'bytes' for a\n"
        "  binary one; websocket.send's 'text' goes out as a text frame (send_message).")


@pytest.mark.exercise("10.3")
def test_frames_sent_right_behind_the_handshake_reach_the_app_once_it_accepts(serve):
    records = queue.Queue()

    async def slow_to_accept(scope, receive, send):
        await receive()
        await asyncio.sleep(0.2)  # the frames are in by now, waiting for the accept
        await send({"type": "websocket.accept"})
        records.put(await receive())

    server = serve(slow_to_accept, **NO_PINGS)
    request = UPGRADE + text_frame("early")  # one write: the frame comes in the handshake's read
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request)
        message = next_record(records, "received the message sent behind the handshake")
    assert message.get("text") == "early", (
        f"the client sent its handshake and a text 'early' in one write (a client may\n"
        f"  send frames before the 101 arrives); the app's first message was {message!r}.\n"
        "  Next step: keep the bytes after the head (feed_past_upgrades), hand them\n"
        "  to the WebSocket, and read them once the app accepts (accept()).")


@pytest.mark.exercise("10.3")
def test_a_fragmented_message_reaches_the_app_whole(serve):
    records = queue.Queue()
    server = serve(echo_app(records), **NO_PINGS)
    with open_websocket(server) as client:
        client.send(FRAGMENTED_HELLO)
        message = next_record(records, "received the fragmented message")
        echoed = next_message_or_close(client)
    assert message.get("text") == "Hello, world", (
        f"the client sent 'Hel' + 'lo, ' + 'world' in three frames (a ping between the\n"
        f"  first two): the app must get one websocket.receive with the whole text;\n"
        f"  it got {message!r}")
    assert echoed is not None and echoed.payload == b"Hello, world", f"the echo was {echoed}"


@pytest.mark.exercise("10.3")
def test_a_ping_gets_a_pong_with_its_payload_and_the_app_never_sees_it(serve):
    records = queue.Queue()
    server = serve(echo_app(records), **NO_PINGS)
    with open_websocket(server) as client:
        client.send(PING_ARE_YOU_THERE + text_frame("after the ping"))
        first = read_frame(client)
        message = next_record(records, "received the text after the ping")
    assert first is not None and (first.opcode, first.payload) == (PONG, b"are you there?"), (
        f"RFC 6455 §5.5.2: a ping gets a pong with the same payload, before anything\n"
        f"  sent later; the server's first frame was: {first}\n"
        "  Next step: in read_events(), answer a Ping with pong_frame(event.payload).")
    assert message.get("text") == "after the ping", (
        f"the app's first message should be the text after the ping (the server answers\n"
        f"  pings itself): it got {message!r}")


@pytest.mark.exercise("10.3")
def test_the_clients_close_is_echoed_tcp_closed_and_the_app_gets_its_code(serve):
    records = queue.Queue()
    server = serve(waiting_app(records), **NO_PINGS)
    with open_websocket(server) as client:
        client.send(CLOSE_4000_BYE)
        answer = next_message_or_close(client)
        assert answer is not None and answer.code == 4000, (
            f"RFC 6455 §5.5.1: a Close is answered with a Close, usually echoing its code.\n"
            f"  The client closed with 4000 'bye'; the server sent: {answer or 'nothing'}\n"
            "  Next step: close_received() writes close_frame(code) while OPEN.")
        assert client.closed_by_server(), (
            "after the close handshake the server closes TCP (RFC 6455 §7.1.1):\n"
            "  see close_received().")
    code = disconnect_code(records, "the client's close 4000")
    assert code == 4000, (
        f"the client closed with 4000; the app's websocket.disconnect said {code}.\n"
        "  Next step: websocket.disconnect carries the code of the client's Close.")


@pytest.mark.exercise("10.3")
def test_a_close_without_a_code_is_answered_without_one_and_the_app_gets_1005(serve):
    records = queue.Queue()
    server = serve(waiting_app(records), **NO_PINGS)
    with open_websocket(server) as client:
        client.send(CLOSE_WITHOUT_CODE)
        answer = next_message_or_close(client)
    assert answer is not None and answer.opcode == CLOSE and answer.code in (None, 1000), (
        "the client's Close had no code (a browser's ws.close() sends that); answer\n"
        "  with a Close without a code (or 1000), never 1005: RFC 6455 §7.4.1 keeps\n"
        f"  1005 off the wire. The server sent: {answer or 'nothing'}")
    code = disconnect_code(records, "the client's close without a code")
    assert code == 1005, (
        f"a Close without a code gives websocket.disconnect code 1005 (RFC 6455 §7.1.5:\n"
        f"  no status code was present); the app got {code}.")


@pytest.mark.exercise("10.3")
def test_the_apps_close_reaches_the_client_with_its_code_and_reason(serve):
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4001, "reason": "done"})

    server = serve(app, **NO_PINGS)
    with ws_client(server) as client:
        got = close_seen_by(client)
    assert got == "close 4001 'done'", (
        f"the app sent websocket.close 4001 'done'; the client got: {got}.\n"
        "  Next step: start_closing(code, reason) writes close_frame(code, reason).")


async def returns_after_accepting(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})


async def raises_after_accepting(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    raise RuntimeError("this app crashes after it accepts (the test wants it to)")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("app, code", [pytest.param(returns_after_accepting, 1000, id="returns-1000"),
                                       pytest.param(raises_after_accepting, 1011, id="raises-1011")])
def test_an_app_that_ends_after_accepting_closes_the_websocket(serve, app, code):
    server = serve(app, **NO_PINGS)
    with open_websocket(server) as client:
        answer = next_message_or_close(client)
        if answer is not None and answer.opcode == CLOSE:
            client.send(close_frame(answer.code or 1000))
        closed = client.closed_by_server()
    what = "returned" if code == 1000 else "raised"
    assert answer is not None and answer.code == code, (
        f"the app {what} after accepting: the server closes with {code}\n"
        f"  (RFC 6455 §7.4.1: 1000 normal, 1011 an unexpected condition);\n"
        f"  it sent: {answer or 'nothing'}\n"
        "  Next step: run_asgi() ends an OPEN socket with start_closing().")
    assert closed, "after the client's Close answers the server's, the server closes TCP (§7.1.1)"


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("frame, code", [pytest.param(UNMASKED_TEXT, 1002, id="unmasked-1002"),
                                         pytest.param(RESERVED_BIT_TEXT, 1002, id="reserved-bit-1002"),
                                         pytest.param(TEXT_NOT_UTF8, 1007, id="bad-utf8-1007")])
def test_a_protocol_error_closes_with_its_code_and_the_app_sees_it(serve, frame, code):
    records = queue.Queue()
    server = serve(waiting_app(records), **NO_PINGS)
    with open_websocket(server) as client:
        client.send(frame)
        answer = next_message_or_close(client)
        client.sock.settimeout(2.0)
        closed = client.closed_by_server()
    assert answer is not None and answer.code == code, (
        f"the client sent {show_bytes(frame, 60)}: the server must send a Close\n"
        f"  with {code} (RFC 6455 §7.4.1); it sent: {answer or 'nothing (it closed TCP)'}\n"
        "  Next step: read_events() turns a ProtocolError into\n"
        "  start_closing(error.code).")
    assert closed, (
        f"after its Close {code} the server kept TCP open for 2 s. A protocol error\n"
        "  fails the connection (RFC 6455 §7.1.7): send the Close, then close TCP at\n"
        "  once; the bytes after the error cannot be parsed, the client's Close too.")
    seen = disconnect_code(records, f"a frame the server must refuse with {code}")
    assert seen == code, f"the app's websocket.disconnect said {seen}; the connection closed with {code}"


@pytest.mark.exercise("10.3")
def test_a_dropped_connection_gives_the_app_disconnect_1006(serve):
    records = queue.Queue()
    server = serve(waiting_app(records), **NO_PINGS)
    with open_websocket(server) as client:
        pass  # closes TCP with no Close frame: a crashed browser, a lost network
    code = disconnect_code(records, "the client dropped the TCP connection")
    assert code == 1006, (
        f"TCP closed with no Close frame: websocket.disconnect should say 1006\n"
        f"  (RFC 6455 §7.1.5: closed abnormally); it said {code}.\n"
        "  See connection_lost().")


@pytest.mark.exercise("10.3")
def test_send_after_the_close_raises_oserror_in_the_app(serve):
    records = queue.Queue()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as error:
            records.put(f"OSError ({type(error).__name__})")
        except Exception as error:  # noqa: BLE001 - the test reports what the app saw
            records.put(f"{type(error).__name__}: {error}")
        else:
            records.put("send() returned")

    server = serve(app, **NO_PINGS)
    with ws_client(server) as client:
        client.close()
    outcome = next_record(records, "tried its send() after the close")
    assert outcome.startswith("OSError"), (
        f"ASGI 2.4: send() on a closed WebSocket raises an OSError (a subclass of it);\n"
        f"  the app's send() after the client closed gave: {outcome}.\n"
        "  Next step: send() raises ClientDisconnected once the state is CLOSING or\n"
        "  CLOSED.")


# --- 10.4 flow control and limits --------------------------------------------------------------

@pytest.mark.exercise("10.4")
def test_a_message_over_ws_max_size_is_refused_with_1009_on_its_header_alone(serve):
    records = queue.Queue()
    server = serve(waiting_app(records), ws_max_size=1000, **NO_PINGS)
    frame_header = header_only(BINARY, 1_000_000)  # announces 1 MB, sends none of it
    with open_websocket(server) as client:
        client.send(frame_header)
        answer = next_message_or_close(client)
    assert answer is not None and answer.code == 1009, (
        f"with ws_max_size=1000 the client announced a 1 MB message (the header only):\n"
        f"  the server should close with 1009 at once (RFC 6455 §7.4.1, message too\n"
        f"  big); it sent: {answer or 'nothing (it closed TCP)'}\n"
        "  Next step: give FrameParser the server's ws_max_size.")
    seen = disconnect_code(records, "a message over ws_max_size")
    assert seen == 1009, f"the app's websocket.disconnect said {seen}; the server closed with 1009"


@pytest.mark.exercise("10.4")
@pytest.mark.timeout(20)
def test_reading_pauses_while_the_app_does_not_receive(serve):
    may_receive, records = threading.Event(), queue.Queue()
    message_count = 512  # 32 MB in 64 KiB messages: far more than the kernel's buffers hold

    async def reluctant_app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while not may_receive.is_set():  # the app is busy elsewhere before it receives
            await asyncio.sleep(0.02)
        received = 0
        while (await receive())["type"] == "websocket.receive":
            received += 1
            if received == message_count:
                records.put(received)
        records.put(received)

    server = serve(reluctant_app, ws_max_queue=4, **NO_PINGS)
    stream = client_frame(BINARY, b"m" * 65536) * message_count
    with open_websocket(server) as client:
        sent = push_until_stalled(client.sock, len(stream), piece=stream)
        assert sent < len(stream) // 2, (
            f"The app has not received a message, yet the server took {sent / MB:.0f} MB of\n"
            f"  frames from the client (ws_max_queue=4): it kept reading into memory.\n"
            "  Next step: once ws_max_queue messages wait for receive(), stop parsing\n"
            "  and call transport.pause_reading(); resume when receive() takes one\n"
            "  (update_reading).")
        may_receive.set()
        sent += push_until_stalled(client.sock, len(stream) - sent, stall=WAIT, limit=15.0, piece=stream[sent:])
        assert sent == len(stream), (
            f"after the app began to receive, the client could send only {sent / MB:.1f} of\n"
            f"  {len(stream) / MB:.0f} MB: once receive() makes room in the inbox, read again\n"
            "  (transport.resume_reading(), in update_reading()).")
        received = next_record(records, f"received all {message_count} messages")
    assert received == message_count, (
        f"the client sent {message_count} messages; the app received {received}:\n"
        "  once it receives, reading must resume until every message is in\n"
        "  (receive(), update_reading).")


@pytest.mark.exercise("10.4")
@pytest.mark.timeout(20)
def test_the_apps_send_waits_while_the_client_does_not_read(serve):
    produced, records = [], queue.Queue()

    async def firehose(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        try:
            for _ in range(800):  # 50 MB in 64 KiB messages
                await send({"type": "websocket.send", "bytes": b"f" * 65536})
                produced.append(65536)
        except OSError as error:
            records.put(f"send() raised {type(error).__name__}")
            return
        records.put("sent it all")

    server = serve(firehose, **NO_PINGS)
    with open_websocket(server) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        buffered = wait_until_stalled(produced, quiet=0.3)  # the client reads nothing meanwhile
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() resets
    assert buffered < 25 * MB, (
        f"The client read nothing, and the app's send() calls returned for {buffered / MB:.0f} MB:\n"
        "  the server kept every byte in memory. When the transport calls\n"
        "  pause_writing(), make send() wait (drain) until resume_writing() or\n"
        "  connection_lost.")
    ended = next_record(records, "ended after the client reset the connection")
    assert ended.startswith("send() raised"), (
        f"the client reset the connection while the app's send() waited for it to read;\n"
        f"  the app reported: {ended}.\n"
        "  Next step: connection_lost must wake drain(), which then raises.")


def answer_pings(client: RawHttpClient, pings: int) -> list[ServerFrame]:
    """Read frames, answering each ping with its pong, until `pings` pings came or something else did."""
    frames = []
    while len(frames) < pings and (frame := read_frame(client)) is not None:
        frames.append(frame)
        if frame.opcode != PING:
            break
        client.send(client_frame(PONG, frame.payload))
    return frames


@pytest.mark.exercise("10.4")
def test_keep_alive_pings_come_every_ws_ping_interval_while_pongs_answer(serve):
    server = serve(waiting_app(queue.Queue()), ws_ping_interval=0.2, ws_ping_timeout=2.0)
    with open_websocket(server) as client:
        started = time.monotonic()
        frames = answer_pings(client, 3)
        took = time.monotonic() - started
    assert [frame.opcode for frame in frames] == [PING] * 3, (
        f"with ws_ping_interval=0.2 the server pings every 0.2 s, and each pong (the\n"
        f"  client answers every ping) keeps the connection open; the server sent:\n"
        f"  {', '.join(map(str, frames)) or 'nothing'}\n"
        "  Next step: schedule_ping() after the 101 and after each pong.")
    assert took > 0.3, f"three pings came within {took:.2f} s: they should be ws_ping_interval (0.2 s) apart"


@pytest.mark.exercise("10.4")
def test_a_client_answering_pings_stays_connected(serve):
    # A pong may take up to 1 s (a loaded machine); a server that ignored pongs would close at 1.1 s.
    server = serve(echo_app(), ws_ping_interval=0.1, ws_ping_timeout=1.0)
    with ws_client(server) as client:  # the websockets library answers pings by itself
        threading.Event().wait(1.5)  # fifteen ping intervals
        client.send("still there?")
        try:
            echoed = client.recv(timeout=WAIT)
        except ConnectionClosed as error:
            pytest.fail(f"a client that answers every ping was closed within 1.5 s\n"
                        f"  ({error}): a pong with the ping's payload proves the peer alive\n"
                        "  (pong_received).", pytrace=False)
    assert echoed == "still there?"


@pytest.mark.exercise("10.4")
def test_a_client_that_never_answers_pings_is_closed_and_the_app_told(serve):
    records = queue.Queue()
    server = serve(waiting_app(records), ws_ping_interval=0.2, ws_ping_timeout=0.3)
    with open_websocket(server) as client:
        client.sock.settimeout(3.0)
        started = time.monotonic()
        frames = []
        while (frame := read_frame(client)) is not None and frame.opcode == PING:
            frames.append(frame)  # never answered
            if time.monotonic() - started > 3.0:
                break
        took = time.monotonic() - started
    sent = ", ".join(map(str, frames + [frame or "TCP closed"]))
    assert frames and (frame is None or frame.code == 1011) and took < 3.0, (
        f"with ws_ping_interval=0.2 and ws_ping_timeout=0.3 a client that never answers\n"
        f"  should be closed (1011, or TCP closed) about 0.5 s after the handshake; in\n"
        f"  {took:.1f} s the server sent: {sent}\n"
        "  Next step: send_ping() arms a timer for the pong; ping_timed_out() closes.")
    code = disconnect_code(records, "its client stopped answering pings")
    assert code in (1011, 1006), f"the app's websocket.disconnect said {code}: 1011 (or 1006) for a dead peer"


# --- 10.5 shutdown and limit_concurrency ------------------------------------------------------

@pytest.mark.exercise("10.5")
def test_shutdown_closes_an_open_websocket_with_1012_well_within_the_grace_period(serve):
    records = queue.Queue()
    server = serve(waiting_app(records), timeout_graceful_shutdown=4.0, **NO_PINGS)
    with ws_client(server) as client:
        started = time.monotonic()
        stopping = shut_down_now(server)
        received = close_seen_by(client)
        close_came = time.monotonic() - started
        wait_until_stopped(server, stopping)
        took = time.monotonic() - started
    assert received.startswith("close 1012") and close_came < 2.0, (
        f"shutdown() began with a WebSocket open (grace period 4 s); the client got\n"
        f"  {received} after {close_came:.1f} s. Expected close 1012 (service restart:\n"
        "  reconnect later) at once: shutdown() calls shut_down() on each connection in\n"
        "  server.connections, and an open WebSocket's starts its close handshake.")
    assert took < 2.0, (
        f"the client echoed the Close at once, yet shutdown() took {took:.1f} s (grace\n"
        "  period 4 s): once the close handshake ends, close TCP; connection_lost\n"
        "  tells the server the connection is gone.")
    code = disconnect_code(records, "shutdown closed its WebSocket")
    assert code == 1012, f"the app's websocket.disconnect said {code}: the server closed with 1012"


@pytest.mark.exercise("10.5")
def test_a_handshake_the_app_never_answers_gets_503_when_the_grace_period_ends(serve):
    records = queue.Queue()

    async def undecided_app(scope, receive, send):
        records.put((await receive())["type"])
        await asyncio.sleep(60)  # neither accepts nor refuses

    server = serve(undecided_app, timeout_graceful_shutdown=0.3, **NO_PINGS)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(UPGRADE)
        next_record(records, "got websocket.connect")
        stopping = shut_down_now(server)
        try:
            status = client.read_response()[0]
        except (ConnectionError, ValueError):
            status = 0  # closed with no response
        wait_until_stopped(server, stopping)
        assert status in (0, 503), handshake_report(
            UPGRADE, client, server.address[1],
            "the app never answered the handshake, and shutdown() ended its grace\n"
            "  period: as lesson 09 does for a request, answer 503 Service Unavailable\n"
            "  (or just close); 500 would say the app crashed (run_asgi:\n"
            "  CancelledError).")


@pytest.mark.exercise("10.5")
@pytest.mark.timeout(20)
def test_sigterm_closes_open_websockets_with_1012_and_the_server_exits_0(server_process):
    server = server_process("--timeout-graceful-shutdown", "10")
    with ws_client(server) as client:
        server.wait_for("APP: websocket open", WAIT)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        received = close_seen_by(client)
    try:
        code = server.process.wait(WAIT)
    except subprocess.TimeoutExpired:
        server.fail(f"SIGTERM was sent {WAIT:g} s ago (grace period 10 s, the client echoed the Close) and "
                    "the server still runs")
    took = time.monotonic() - started
    server.rest_of_output()
    assert received.startswith("close 1012"), (
        f"SIGTERM with a WebSocket open: the client got {received}; expected close 1012\n"
        "  (service restart). The signal starts shutdown(), which calls shut_down() on\n"
        "  every connection, the WebSocket's too.")
    assert code == 0 and "APP: websocket.disconnect 1012" in server.output, (
        f"after SIGTERM the server exited with {code} and the app printed:\n"
        f"{server.output[-1500:]}\n"
        "  expected exit status 0 and the app's 'APP: websocket.disconnect 1012'.")
    assert took < 5.0, f"the server took {took:.1f} s to exit after SIGTERM: its WebSocket closed at once"


@pytest.mark.exercise("10.5")
def test_websockets_count_against_limit_concurrency(serve):
    server = serve(echo_app(), limit_concurrency=1, **NO_PINGS)
    with ws_client(server) as first:
        first.send("one")
        assert first.recv(timeout=WAIT) == "one"
        with RawHttpClient(server.address, timeout=WAIT) as second:
            second.send(UPGRADE)
            status = second.read_response()[0]
            assert status == 503, handshake_report(
                UPGRADE, second, server.address[1],
                "one WebSocket is open and limit_concurrency=1: a second connection gets 503.\n"
                "  A WebSocketProtocol joins server.connections like an HTTP connection.")
    deadline = time.monotonic() + WAIT
    status = 0
    while status != 101 and time.monotonic() < deadline:  # the server notices the close a moment later
        with RawHttpClient(server.address, timeout=WAIT) as client:
            client.send(UPGRADE)
            status = client.read_response()[0]
    assert status == 101, (
        f"after the WebSocket closed, a new handshake got {status}: something still\n"
        "  counts against limit_concurrency=1. The HTTP connection leaves\n"
        "  server.connections when the WebSocket takes its place\n"
        "  (switch_to_websocket), and the WebSocket in connection_lost.")


@pytest.mark.exercise("10.4")
def test_the_close_handshake_completes_while_the_apps_inbox_is_full(serve):
    may_close = threading.Event()

    async def busy_app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while not may_close.is_set():  # busy: receives none of the client's messages
            await asyncio.sleep(0.02)
        await send({"type": "websocket.close", "code": 1000})

    server = serve(busy_app, ws_max_queue=2, **NO_PINGS)
    with open_websocket(server) as client:
        client.send(text_frame("unread") + PING_ARE_YOU_THERE)
        pong = read_frame(client)  # the server has read the message: it waits in the inbox
        assert pong is not None and pong.opcode == PONG, f"a ping got {pong}, not a pong"
        may_close.set()  # the app's close adds websocket.disconnect: the inbox is full (2)
        answer = next_message_or_close(client)
        client.send(close_frame(1000))  # the close handshake's second half
        client.sock.settimeout(2.0)
        closed = client.closed_by_server()
    assert answer is not None and answer.code == 1000, f"the app closed with 1000; the server sent {answer}"
    assert closed, (
        "the app closed (1000) with a message and the disconnect waiting for its\n"
        "  receive() (ws_max_queue=2); the client answered with its Close, yet 2 s\n"
        "  later the server still held TCP open. Once closing, nothing more is\n"
        "  queued for the app: the inbox limit must not keep read_events() from\n"
        "  reading the Close.")


# A stub behind a failure: see tests/harness.py, name_stubs_behind_failures.
globals().update(name_stubs_behind_failures(globals()))
