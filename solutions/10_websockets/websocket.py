"""Lesson 10 — WebSocket connections on your server (RFC 6455 §4, §5.5, §7; the ASGI websocket scope).

What you build (exercises 10.2-10.5; 10.1 is frames.py):
  10.2  the handshake: is_websocket_request, handshake_refusal, accept_key, websocket_scope,
        and WebSocketProtocol's CONNECTING state (websocket.connect, accept -> 101,
        close before accept -> 403, the websocket.http.response extension)
  10.3  messages and closing: websocket.receive / websocket.send, pings answered
        here, the close handshake both ways, websocket.disconnect with its code
  10.4  flow control and limits: stop reading while the app does not receive, send()
        waits while the client does not read, 1009 past ws_max_size, keep-alive pings
  10.5  shutdown: shut_down() closes an open WebSocket with 1012

Test your code:  make test-lesson 10       See it run:  make demo-lesson 10

How this works
--------------
A WebSocket starts life as an HTTP request (RFC 6455 §4.1):

    GET /chat HTTP/1.1
    Host: example.com
    Upgrade: websocket                      <- is_websocket_request() looks for these
    Connection: Upgrade
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
    Sec-WebSocket-Version: 13               <- anything else: 426 (handshake_refusal)

Your lesson-09 HttpProtocol parses that head like any other. Where it would start a
RequestCycle, it asks is_websocket_request(); if yes, and handshake_refusal() finds
nothing wrong, it hands the connection over (server.py, `switch_to_websocket`):

    transport.set_protocol(WebSocketProtocol(server, websocket_scope(http_scope), app))

From then on asyncio calls this class's data_received, and the bytes are frames.
One field, `state`, says where the connection is:

    CONNECTING  the app has the scope and websocket.connect; nothing is sent yet.
                websocket.accept -> 101 Switching Protocols, OPEN
                websocket.close  -> 403 Forbidden, CLOSED
                websocket.http.response.start/body -> that HTTP response, CLOSED
    OPEN        messages both ways; pings are answered here, never shown to the app
    CLOSING     we sent a Close frame and wait (CLOSE_TIMEOUT at most) for the peer's
    CLOSED      the TCP connection is closed or closing

The close handshake (§7.1.2, §7.1.1): whoever closes first sends a Close frame; the
other answers with one; then the server closes TCP. The app's receive() gets
{"type": "websocket.disconnect", "code": ...} with the code of that handshake: the
client's when the client closed first, ours when we did (the app's code, 1002/1007/
1009 for a protocol error, 1011 for a dead peer, 1012 at shutdown), and 1006 when
TCP went away with no Close frame at all.

What this module needs of the server (the reference's names; yours may differ):
`server.loop`, `server.connections` (the set limit_concurrency and shutdown count),
`server.tasks` (the app calls shutdown may cancel), `server.connection_closed()`,
`server.date_and_server` (the Date and Server header lines) and the settings
`ws_max_size`, `ws_max_queue`, `ws_ping_interval`, `ws_ping_timeout` (uvicorn's names).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import hashlib
import logging
import os
from collections import deque
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Optional

from frames import (ABNORMAL_CLOSURE, NO_STATUS_RECEIVED, NORMAL_CLOSURE, SERVICE_RESTART, BytesMessage, Close,
                    FrameParser, Ping, Pong, ProtocolError, TextMessage, binary_frame, close_frame, ping_frame,
                    pong_frame, text_frame)

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

logger = logging.getLogger("lesson10")

# RFC 6455 §1.3: the server proves it read the key by hashing it with this fixed GUID.
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ASGI_WEBSOCKET = {"version": "3.0", "spec_version": "2.4"}  # 2.4: send() raises OSError once closed
WS_MAX_SIZE = 1024 * 1024  # bytes of one message (frames.MAX_MESSAGE_SIZE; uvicorn allows 16 MiB)
WS_MAX_QUEUE = 32  # messages waiting for the app's receive() before we stop reading: uvicorn's default
WS_PING_INTERVAL = 20.0  # seconds between keep-alive pings: uvicorn's default (None: no pings)
WS_PING_TIMEOUT = 20.0  # seconds a pong may take before the peer counts as dead: uvicorn's default
CLOSE_TIMEOUT = 10.0  # seconds we wait for the peer's Close after sending ours: the websockets library's
INTERNAL_ERROR = 1011  # §7.4.1: "an unexpected condition": the app crashed, or the peer stopped answering pings


class ClientDisconnected(OSError):
    """send() on a WebSocket that is closing or closed (ASGI spec 2.4: an OSError)."""


class State(enum.Enum):
    CONNECTING = "the handshake waits for the app's accept"
    RESPONDING = "the app is sending an HTTP response instead of accepting (websocket.http.response)"
    OPEN = "messages flow both ways"
    CLOSING = "we sent a Close frame and wait for the peer's"
    CLOSED = "the TCP connection is closed or closing"


# -- Exercise 10.2: the handshake ------------------------------------------------------------


def header_tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> set[bytes]:
    """The comma-separated tokens of every `name` header, lower-cased: `Connection: keep-alive, Upgrade`
    gives {b"keep-alive", b"upgrade"} (RFC 9110 §5.3: repeated headers are one list)."""
    return {token.strip().lower() for header, value in headers if header == name for token in value.split(b",")}


def is_websocket_request(method: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """Does this request ask for a WebSocket (RFC 6455 §4.2.1: a GET with Upgrade: websocket
    and Connection: Upgrade)? `headers` are lesson 08's: lower-case names, raw values."""
    # EXERCISE 10.2: True for a GET whose Upgrade tokens include websocket and whose Connection tokens include upgrade.
    return (method == "GET" and b"websocket" in header_tokens(headers, b"upgrade")
            and b"upgrade" in header_tokens(headers, b"connection"))
    # END EXERCISE


def handshake_refusal(headers: list[tuple[bytes, bytes]]) -> Optional[tuple[int, list[tuple[bytes, bytes]], str]]:
    """What is wrong with a WebSocket request's handshake, as (status, extra headers, reason), or None.

    426 Upgrade Required with `Sec-WebSocket-Version: 13` for another version (§4.4);
    400 for a missing or malformed Sec-WebSocket-Key (§4.2.1: base64 of 16 bytes).
    """
    # EXERCISE 10.2: 426 (with sec-websocket-version: 13) unless the version is 13; 400 unless the key is base64 of 16 bytes.
    versions = [value.strip() for name, value in headers if name == b"sec-websocket-version"]
    if versions != [b"13"]:
        return 426, [(b"sec-websocket-version", b"13")], "this server speaks WebSocket version 13 only"
    keys = [value.strip() for name, value in headers if name == b"sec-websocket-key"]
    try:
        nonce = base64.b64decode(keys[0], validate=True) if len(keys) == 1 else b""
    except binascii.Error:
        nonce = b""
    if len(nonce) != 16:
        return 400, [], "Sec-WebSocket-Key must be one base64-encoded 16-byte value"
    return None
    # END EXERCISE


def accept_key(key: bytes) -> bytes:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).

        >>> accept_key(b"dGhlIHNhbXBsZSBub25jZQ==")
        b's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
    """
    # EXERCISE 10.2: hash the key with the GUID appended (SHA-1), then base64-encode the 20-byte digest.
    return base64.b64encode(hashlib.sha1(key.strip() + GUID).digest())
    # END EXERCISE


def websocket_scope(http_scope: Scope) -> Scope:
    """The ASGI websocket scope for the request whose http scope lesson 08 built: type
    "websocket", scheme "ws", the requested subprotocols, no method; the
    websocket.http.response extension announced."""
    # EXERCISE 10.2: copy the http scope's fields a websocket scope has; add scheme ws, subprotocols and the extension.
    headers = http_scope["headers"]
    offered = [token.strip().decode("latin-1") for name, value in headers if name == b"sec-websocket-protocol"
               for token in value.split(b",") if token.strip()]
    scope = {key: http_scope[key] for key in ("http_version", "path", "raw_path", "query_string", "root_path",
                                              "headers", "client", "server", "state") if key in http_scope}
    scope.update(type="websocket", asgi=ASGI_WEBSOCKET, scheme="ws", subprotocols=offered,
                 extensions={"websocket.http.response": {}})
    return scope
    # END EXERCISE


# SOLUTION ONLY
def _header_block(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Header lines from an app's list, refusing what would split the response."""
    lines = []
    for name, value in headers:
        name, value = bytes(name).lower(), bytes(value)
        if b"\r" in name + value or b"\n" in name + value or b":" in name:
            raise ValueError(f"invalid header {name!r}: {value!r}")
        lines.append(b"%s: %s\r\n" % (name, value))
    return b"".join(lines)


# END SOLUTION ONLY
def switching_protocols(key: bytes, subprotocol: Optional[str], headers: list[tuple[bytes, bytes]],
                        date_and_server: bytes) -> bytes:
    """The 101 response that accepts a handshake (§4.2.2): Upgrade, Connection, the
    accept key, the chosen subprotocol, the app's headers. No Sec-WebSocket-Extensions:
    we negotiate none, so a client offering permessage-deflate gets plain frames."""
    # EXERCISE 10.2: status line, upgrade/connection/sec-websocket-accept, the subprotocol if any, the app's headers, date and server.
    lines = [b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n",
             b"sec-websocket-accept: %s\r\n" % accept_key(key)]
    if subprotocol is not None:
        lines.append(b"sec-websocket-protocol: %s\r\n" % subprotocol.encode("latin-1"))
    lines += [_header_block(headers), date_and_server, b"\r\n"]
    return b"".join(lines)
    # END EXERCISE


def http_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes, date_and_server: bytes) -> bytes:
    """A whole HTTP response that ends the connection: a refusal (403, 500, 503) or the
    app's own (websocket.http.response). Its own content-length and connection
    headers are left out: the body is whole, so we write ours."""
    # EXERCISE 10.2: status line (reason from HTTPStatus), the headers, content-length, connection: close, then the body.
    # An app's content-length (every Starlette response has one) beside ours would be two,
    # which a client must treat as an error (RFC 9112 §6.3); its connection header, a contradiction.
    headers = [(name, value) for name, value in headers
               if bytes(name).lower() not in (b"content-length", b"connection")]
    try:
        phrase = HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"".join([b"HTTP/1.1 %d %s\r\n" % (status, phrase), _header_block(headers),
                     b"content-length: %d\r\nconnection: close\r\n" % len(body), date_and_server, b"\r\n", body])
    # END EXERCISE


# -- Exercises 10.2-10.5: one WebSocket connection -------------------------------------------


class WebSocketProtocol(asyncio.Protocol):
    """One WebSocket connection, from the handshake on. The app's receive and send are its methods.

    `server` gives the loop, the settings and the sets this connection joins (see the
    module's header); `scope` is websocket_scope()'s; `app` the ASGI app.
    """

    def __init__(self, server: Any, scope: Scope, app: ASGIApp) -> None:
        self.shared = server
        self.loop: asyncio.AbstractEventLoop = server.loop
        self.scope = scope
        self.app = app
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task | None = None
        self.state = State.CONNECTING
        self.parser = FrameParser(server.ws_max_size)
        self.inbox: deque[Message] = deque([{"type": "websocket.connect"}])  # what receive() hands out next
        self.waiter: asyncio.Future | None = None  # receive() sleeps on it while the inbox is empty
        self.close_code: int | None = None  # the code of the close handshake: websocket.disconnect's
        self.close_reason = ""
        self.response: Message | None = None  # websocket.http.response.start, kept until its body is whole
        self.response_body: list[bytes] = []
        # 10.4 flow control and keep-alive
        self.reading_paused = False
        self.drained: asyncio.Future | None = None  # send() waits on it while the client does not read
        self.timer: asyncio.TimerHandle | None = None  # the next ping, the pong's deadline, or the close's
        self.ping_payload = b""  # the keep-alive ping awaiting its pong
        self.early_data = b""  # frames a client sent before our 101 reached it: read once OPEN

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # EXERCISE 10.2: join server.connections and start the app in a task (remember it in server.tasks).
        self.transport = transport
        self.shared.connections.add(self)
        self.task = self.loop.create_task(self.run_asgi())
        self.shared.tasks.add(self.task)
        # END EXERCISE

    def data_received(self, data: bytes) -> None:
        # EXERCISE 10.3: before accept, keep the bytes in early_data; once OPEN (or CLOSING), feed the parser and read its events.
        if self.state is State.CONNECTING:
            self.early_data += data  # nothing may answer them before the 101: accept() reads them
        elif self.state is State.OPEN or self.state is State.CLOSING:
            self.parser.feed(data)
            self.read_events()
        # END EXERCISE

    def connection_lost(self, exc: Exception | None) -> None:
        # EXERCISE 10.2: CLOSED; tell the app (1006 if no Close frame was exchanged); wake send(); leave the server's set.
        if self.state is not State.CLOSED and self.close_code is None:
            self.close_code = ABNORMAL_CLOSURE  # no Close frame either way: TCP just went (§7.1.5)
            self.inbox.append(self.disconnect_message())
        self.state = State.CLOSED
        self.wake()
        self.cancel_timer()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.shared.connections.discard(self)
        self.shared.connection_closed()
        # END EXERCISE

    # 10.3 Reading frames
    def read_events(self) -> None:
        """Act on every event the parser has, while the app's inbox has room."""
        # EXERCISE 10.3: messages go to the inbox; pings get a pong; a Close is answered; a ProtocolError closes with its code.
        parser = self.parser
        # 10.4: a full inbox leaves the rest in the parser; once closing, nothing more is queued
        # for the app, so the limit must not keep the peer's Close unread (§7.1.2).
        while len(self.inbox) < self.shared.ws_max_queue or self.state is not State.OPEN:
            try:
                event = parser.next_event()
            except ProtocolError as error:
                if self.state is State.OPEN:
                    logger.info("WebSocket protocol error from %s: %s", self.scope["client"], error)
                    self.start_closing(error.code, error.reason)
                    # §7.1.7: once failed we "MUST NOT" read the peer's answering Close, so we
                    # do not wait for it either: our FIN follows our Close (as websockets does).
                    self.transport.write_eof()
                return  # while CLOSING a broken peer's bytes are just dropped
            if event is None:
                break
            if isinstance(event, TextMessage):
                self.deliver({"type": "websocket.receive", "text": event.text})
            elif isinstance(event, BytesMessage):
                self.deliver({"type": "websocket.receive", "bytes": event.data})
            elif isinstance(event, Ping):
                if self.state is State.OPEN:  # §5.5.2: as soon as practical, with the same payload
                    self.transport.write(pong_frame(event.payload))
            elif isinstance(event, Pong) and self.ping_payload:  # a pong we asked for (10.4); others
                self.pong_received(event.payload)  # need nothing (§5.5.3: an unasked pong is a heartbeat)
            elif isinstance(event, Close):
                self.close_received(event)
                return
        if self.reading_paused or len(self.inbox) >= self.shared.ws_max_queue:
            self.update_reading()  # 10.4: the inbox is full, or was: pause or resume reading
        # END EXERCISE

    def deliver(self, message: Message) -> None:
        """Queue a message for the app's receive() (and wake it) unless it already knows we are closing."""
        # EXERCISE 10.3: unless the app has been told of the disconnect, append to the inbox and wake receive().
        if self.state is State.OPEN:
            self.inbox.append(message)
            self.wake()
        # END EXERCISE

    def close_received(self, close: Close) -> None:
        """The peer's Close: it starts the handshake (answer it) or ends ours; then close TCP (§7.1.1)."""
        # EXERCISE 10.3: if OPEN, echo its code (none for 1005) and tell the app its code; then close the transport.
        if self.state is State.OPEN:
            self.transport.write(close_frame(None if close.code == NO_STATUS_RECEIVED else close.code))
            self.close_code, self.close_reason = close.code, close.reason
            self.inbox.append(self.disconnect_message())
            self.wake()
        self.state = State.CLOSED
        self.cancel_timer()
        self.transport.close()  # the server closes TCP first: its side then keeps TIME_WAIT, not the client's
        # END EXERCISE

    def start_closing(self, code: int, reason: str = "") -> None:
        """Send our Close (code, reason) and wait CLOSE_TIMEOUT at most for the peer's; the app is told `code`."""
        # EXERCISE 10.3: write close_frame(code, reason), state CLOSING, tell the app, arm the close timer.
        self.transport.write(close_frame(code, reason))
        self.state = State.CLOSING
        self.close_code, self.close_reason = code, reason
        self.inbox.append(self.disconnect_message())
        self.wake()
        self.set_timer(CLOSE_TIMEOUT, self.transport.close)
        if self.reading_paused:
            self.update_reading()  # 10.4: read again, so that the peer's Close gets through
        # END EXERCISE

    def disconnect_message(self) -> Message:
        return {"type": "websocket.disconnect", "code": self.close_code, "reason": self.close_reason}

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # The ASGI interface
    async def run_asgi(self) -> None:
        """Call the app once; whatever happens, the connection ends answered or closed."""
        # EXERCISE 10.2: run the app; after it returns or crashes: 500 if it never answered the handshake, a Close (1000, or 1011 for a crash) if OPEN.
        try:
            await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass  # the app sent after the close: nothing left to do
        except asyncio.CancelledError:
            self.end_after_app(SERVICE_RESTART)  # 10.5: the grace period ended before the app did
            raise
        except Exception:
            logger.exception("Exception in ASGI application (websocket %s)", self.scope["path"])
            self.end_after_app(INTERNAL_ERROR)
        else:
            if self.state in (State.CONNECTING, State.RESPONDING):
                logger.error("The ASGI application returned without accepting or refusing the WebSocket")
            self.end_after_app(NORMAL_CLOSURE)
        finally:
            self.shared.tasks.discard(self.task)
        # END EXERCISE

    def end_after_app(self, code: int) -> None:
        """The app is done: refuse a handshake it never answered (500; 503 when shutdown ended
        it), close an open socket with `code`."""
        # EXERCISE 10.2: CONNECTING or RESPONDING: 500 (503 for SERVICE_RESTART) and close; OPEN: start_closing(code).
        if self.state is State.CONNECTING or self.state is State.RESPONDING:
            if code == SERVICE_RESTART:  # 10.5: shutdown cut the app off; the app did not crash (lesson 09: 503)
                self.refuse(503, [], b"503 Service Unavailable\n")
                return
            self.refuse(500, [], b"500 Internal Server Error\n")
        elif self.state is State.OPEN:
            self.start_closing(code)
        # END EXERCISE

    async def receive(self) -> Message:
        """websocket.connect first, then each message, then websocket.disconnect (again and again)."""
        # EXERCISE 10.2: wait while the inbox is empty; pop the next message; keep a disconnect for later calls; read more (10.4).
        while not self.inbox:
            self.waiter = self.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        message = self.inbox[0] if self.inbox[0]["type"] == "websocket.disconnect" else self.inbox.popleft()
        if self.reading_paused:
            self.read_events()  # 10.4: room in the inbox: take what the parser holds, then read again
        return message
        # END EXERCISE

    async def send(self, message: Message) -> None:
        """Carry out one message from the app; raises ClientDisconnected once the socket is closing.

        Legal order: websocket.accept, websocket.close or websocket.http.response.start
        first; then websocket.send and websocket.close (after accept) or
        websocket.http.response.body (after the response's start). Anything else is the
        app's bug and raises RuntimeError.
        """
        if self.state is State.CONNECTING or self.state is State.RESPONDING:
            self.answer_handshake(message)
        elif self.state is State.OPEN:
            await self.send_open(message)
        else:
            raise ClientDisconnected(f"{message['type']!r} after the WebSocket closed (code {self.close_code})")

    def answer_handshake(self, message: Message) -> None:
        """The app's answer to websocket.connect: accept, close (403) or its own HTTP response."""
        # EXERCISE 10.2: CONNECTING takes accept, close or http.response.start; RESPONDING takes http.response.body.
        kind = message["type"]
        if self.state is State.CONNECTING and kind == "websocket.accept":
            self.accept(message)
        elif self.state is State.CONNECTING and kind == "websocket.close":
            self.refuse(403, [], b"403 Forbidden\n")  # ASGI: a close before accept is an HTTP 403
        elif self.state is State.CONNECTING and kind == "websocket.http.response.start":
            self.response = message
            self.state = State.RESPONDING
        elif self.state is State.RESPONDING and kind == "websocket.http.response.body":
            self.response_body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                self.refuse(self.response["status"], list(self.response.get("headers", ())),
                            b"".join(self.response_body))
        else:
            raise RuntimeError(f"ASGI message {kind!r} is not allowed while the WebSocket is {self.state.name}")
        # END EXERCISE

    async def send_open(self, message: Message) -> None:
        """A message from the app while the WebSocket is open: a message to send, or the app's close."""
        # EXERCISE 10.3: websocket.send writes a text or a binary frame (then waits while the client does not read, 10.4); websocket.close starts closing.
        kind = message["type"]
        if kind == "websocket.send":
            self.send_message(message)
            if self.drained is not None:  # 10.4: the client is not reading: wait until it does
                await self.drain()
        elif kind == "websocket.close":
            self.start_closing(message.get("code") or NORMAL_CLOSURE, message.get("reason") or "")
        else:
            raise RuntimeError(f"ASGI message {kind!r} is not allowed while the WebSocket is OPEN")
        # END EXERCISE

    def send_message(self, message: Message) -> None:
        """One websocket.send: exactly one of text and bytes (ASGI)."""
        # EXERCISE 10.3: a text frame for "text", a binary frame for "bytes"; neither or both is the app's error.
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None):
            raise RuntimeError("websocket.send needs exactly one of 'text' and 'bytes'")
        self.transport.write(text_frame(text) if text is not None else binary_frame(data))
        # END EXERCISE

    # 10.2 The handshake's two endings
    def accept(self, message: Message) -> None:
        """websocket.accept: 101, then OPEN; frames that came early are read now."""
        # EXERCISE 10.2: write switching_protocols(...) for the request's key, OPEN, start the keep-alive, hand early_data to data_received.
        key = next(value for name, value in self.scope["headers"] if name == b"sec-websocket-key")
        subprotocol = message.get("subprotocol")
        if subprotocol is not None and subprotocol not in self.scope["subprotocols"]:
            raise RuntimeError(f"subprotocol {subprotocol!r} was not offered by the client (§4.2.2)")
        self.transport.write(switching_protocols(key, subprotocol, list(message.get("headers", ())),
                                                 self.shared.date_and_server))
        self.state = State.OPEN
        self.schedule_ping()
        if self.early_data:  # rare: a client that did not wait for the 101 (10.3 reads them)
            early, self.early_data = self.early_data, b""
            self.data_received(early)
        # END EXERCISE

    def refuse(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """An HTTP response instead of the 101 (close before accept, the extension, an app error); then close."""
        # EXERCISE 10.2: write http_response(...), tell the app (1006: no WebSocket was ever open), CLOSED, close the transport.
        self.transport.write(http_response(status, headers, body, self.shared.date_and_server))
        self.close_code = ABNORMAL_CLOSURE
        self.inbox.append(self.disconnect_message())
        self.wake()
        self.state = State.CLOSED
        self.transport.close()
        # END EXERCISE

    # 10.4 Flow control and keep-alive
    def update_reading(self) -> None:
        """Stop reading while the inbox is full (the app is not receiving) or we are closed; read again otherwise."""
        # EXERCISE 10.4: pause the transport while the inbox holds ws_max_queue messages; resume once it has room.
        should_pause = len(self.inbox) >= self.shared.ws_max_queue and self.state is State.OPEN
        if should_pause != self.reading_paused:
            self.reading_paused = should_pause
            if should_pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()
        # END EXERCISE

    def pause_writing(self) -> None:
        # EXERCISE 10.4: the transport's buffer is full: make the next send() wait.
        self.drained = self.loop.create_future()
        # END EXERCISE

    def resume_writing(self) -> None:
        # EXERCISE 10.4: the buffer drained: wake the waiting send().
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)
        # END EXERCISE

    async def drain(self) -> None:
        # EXERCISE 10.4: wait for resume_writing (or connection_lost); raise ClientDisconnected if the socket closed meanwhile.
        if self.drained is not None:
            await self.drained
        if self.state is State.CLOSED:
            raise ClientDisconnected("the client went away while the server waited for it to read")
        # END EXERCISE

    def set_timer(self, seconds: float, callback: Callable[[], None]) -> None:
        """The connection's one timer: a new one replaces the old."""
        self.cancel_timer()
        self.timer = self.loop.call_later(seconds, callback)

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def schedule_ping(self) -> None:
        """Arm the next keep-alive ping, if pings are on (ws_ping_interval is not None)."""
        if self.shared.ws_ping_interval is not None:
            self.set_timer(self.shared.ws_ping_interval, self.send_ping)

    def send_ping(self) -> None:
        """A keep-alive ping; its pong must come within ws_ping_timeout or the peer is dead."""
        # EXERCISE 10.4: write a ping with a fresh random payload; arm ping_timed_out after ws_ping_timeout.
        self.ping_payload = os.urandom(4)
        self.transport.write(ping_frame(self.ping_payload))
        if self.shared.ws_ping_timeout is not None:
            self.set_timer(self.shared.ws_ping_timeout, self.ping_timed_out)
        # END EXERCISE

    def pong_received(self, payload: bytes) -> None:
        # EXERCISE 10.4: the pong of our keep-alive ping (same payload): the peer lives; schedule the next ping.
        if self.ping_payload and payload == self.ping_payload and self.state is State.OPEN:
            self.ping_payload = b""
            self.schedule_ping()
        # END EXERCISE

    def ping_timed_out(self) -> None:
        """No pong: the peer (or the path to it) is dead. Say 1011 and drop the connection."""
        # EXERCISE 10.4: start_closing(1011, ...), then abort the transport: a dead peer will not answer.
        logger.info("WebSocket %s did not answer a ping within %g s", self.scope["client"],
                    self.shared.ws_ping_timeout)
        self.start_closing(INTERNAL_ERROR, "keepalive ping timeout")
        self.transport.abort()
        # END EXERCISE

    # 10.5 Shutdown
    def shut_down(self) -> None:
        """The server is stopping: an open WebSocket closes with 1012 (service restart)."""
        # EXERCISE 10.5: OPEN: start_closing(1012, ...); a handshake in progress is left to finish (the grace period bounds it).
        if self.state is State.OPEN:
            self.start_closing(SERVICE_RESTART, "server shutting down")
        # END EXERCISE
