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
    # TODO: exercise 10.2
    raise NotImplementedError("Exercise 10.2: True for a GET whose Upgrade tokens include websocket and whose Connection tokens include upgrade.")


def handshake_refusal(headers: list[tuple[bytes, bytes]]) -> Optional[tuple[int, list[tuple[bytes, bytes]], str]]:
    """What is wrong with a WebSocket request's handshake, as (status, extra headers, reason), or None.

    426 Upgrade Required with `Sec-WebSocket-Version: 13` for another version (§4.4);
    400 for a missing or malformed Sec-WebSocket-Key (§4.2.1: base64 of 16 bytes).
    """
    # TODO: exercise 10.2
    raise NotImplementedError("Exercise 10.2: 426 (with sec-websocket-version: 13) unless the version is 13; 400 unless the key is base64 of 16 bytes.")


def accept_key(key: bytes) -> bytes:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).

        >>> accept_key(b"dGhlIHNhbXBsZSBub25jZQ==")
        b's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
    """
    # TODO: exercise 10.2
    raise NotImplementedError("Exercise 10.2: hash the key with the GUID appended (SHA-1), then base64-encode the 20-byte digest.")


def websocket_scope(http_scope: Scope) -> Scope:
    """The ASGI websocket scope for the request whose http scope lesson 08 built: type
    "websocket", scheme "ws", the requested subprotocols, no method; the
    websocket.http.response extension announced."""
    # TODO: exercise 10.2
    raise NotImplementedError("Exercise 10.2: copy the http scope's fields a websocket scope has; add scheme ws, subprotocols and the extension.")


def switching_protocols(key: bytes, subprotocol: Optional[str], headers: list[tuple[bytes, bytes]],
                        date_and_server: bytes) -> bytes:
    """The 101 response that accepts a handshake (§4.2.2): Upgrade, Connection, the
    accept key, the chosen subprotocol, the app's headers. No Sec-WebSocket-Extensions:
    we negotiate none, so a client offering permessage-deflate gets plain frames."""
    # TODO: exercise 10.2
    raise NotImplementedError("Exercise 10.2: status line, upgrade/connection/sec-websocket-accept, the subprotocol if any, the app's headers, date and server.")


def http_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes, date_and_server: bytes) -> bytes:
    """A whole HTTP response that ends the connection: a refusal (403, 500, 503) or the
    app's own (websocket.http.response). Its own content-length and connection
    headers are left out: the body is whole, so we write ours."""
    # TODO: exercise 10.2
    raise NotImplementedError("Exercise 10.2: status line (reason from HTTPStatus), the headers, content-length, connection: close, then the body.")


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
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: join server.connections and start the app in a task (remember it in server.tasks).")

    def data_received(self, data: bytes) -> None:
        # TODO: exercise 10.3
        raise NotImplementedError("Exercise 10.3: before accept, keep the bytes in early_data; once OPEN (or CLOSING), feed the parser and read its events.")

    def connection_lost(self, exc: Exception | None) -> None:
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: CLOSED; tell the app (1006 if no Close frame was exchanged); wake send(); leave the server's set.")

    # 10.3 Reading frames
    def read_events(self) -> None:
        """Act on every event the parser has, while the app's inbox has room."""
        # TODO: exercise 10.3
        raise NotImplementedError("Exercise 10.3: messages go to the inbox; pings get a pong; a Close is answered; a ProtocolError closes with its code.")

    def deliver(self, message: Message) -> None:
        """Queue a message for the app's receive() (and wake it) unless it already knows we are closing."""
        # TODO: exercise 10.3
        raise NotImplementedError("Exercise 10.3: unless the app has been told of the disconnect, append to the inbox and wake receive().")

    def close_received(self, close: Close) -> None:
        """The peer's Close: it starts the handshake (answer it) or ends ours; then close TCP (§7.1.1)."""
        # TODO: exercise 10.3
        raise NotImplementedError("Exercise 10.3: if OPEN, echo its code (none for 1005) and tell the app its code; then close the transport.")

    def start_closing(self, code: int, reason: str = "") -> None:
        """Send our Close (code, reason) and wait CLOSE_TIMEOUT at most for the peer's; the app is told `code`."""
        # TODO: exercise 10.3
        raise NotImplementedError("Exercise 10.3: write close_frame(code, reason), state CLOSING, tell the app, arm the close timer.")

    def disconnect_message(self) -> Message:
        return {"type": "websocket.disconnect", "code": self.close_code, "reason": self.close_reason}

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # The ASGI interface
    async def run_asgi(self) -> None:
        """Call the app once; whatever happens, the connection ends answered or closed."""
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: run the app; after it returns or crashes: 500 if it never answered the handshake, a Close (1000, or 1011 for a crash) if OPEN.")

    def end_after_app(self, code: int) -> None:
        """The app is done: refuse a handshake it never answered (500; 503 when shutdown ended
        it), close an open socket with `code`."""
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: CONNECTING or RESPONDING: 500 (503 for SERVICE_RESTART) and close; OPEN: start_closing(code).")

    async def receive(self) -> Message:
        """websocket.connect first, then each message, then websocket.disconnect (again and again)."""
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: wait while the inbox is empty; pop the next message; keep a disconnect for later calls; read more (10.4).")

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
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: CONNECTING takes accept, close or http.response.start; RESPONDING takes http.response.body.")

    async def send_open(self, message: Message) -> None:
        """A message from the app while the WebSocket is open: a message to send, or the app's close."""
        # TODO: exercise 10.3
        raise NotImplementedError("Exercise 10.3: websocket.send writes a text or a binary frame (then waits while the client does not read, 10.4); websocket.close starts closing.")

    def send_message(self, message: Message) -> None:
        """One websocket.send: exactly one of text and bytes (ASGI)."""
        # TODO: exercise 10.3
        raise NotImplementedError('Exercise 10.3: a text frame for "text", a binary frame for "bytes"; neither or both is the app\'s error.')

    # 10.2 The handshake's two endings
    def accept(self, message: Message) -> None:
        """websocket.accept: 101, then OPEN; frames that came early are read now."""
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: write switching_protocols(...) for the request's key, OPEN, start the keep-alive, hand early_data to data_received.")

    def refuse(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """An HTTP response instead of the 101 (close before accept, the extension, an app error); then close."""
        # TODO: exercise 10.2
        raise NotImplementedError("Exercise 10.2: write http_response(...), tell the app (1006: no WebSocket was ever open), CLOSED, close the transport.")

    # 10.4 Flow control and keep-alive
    def update_reading(self) -> None:
        """Stop reading while the inbox is full (the app is not receiving) or we are closed; read again otherwise."""
        # TODO: exercise 10.4
        raise NotImplementedError("Exercise 10.4: pause the transport while the inbox holds ws_max_queue messages; resume once it has room.")

    def pause_writing(self) -> None:
        # TODO: exercise 10.4
        raise NotImplementedError("Exercise 10.4: the transport's buffer is full: make the next send() wait.")

    def resume_writing(self) -> None:
        # TODO: exercise 10.4
        raise NotImplementedError("Exercise 10.4: the buffer drained: wake the waiting send().")

    async def drain(self) -> None:
        # TODO: exercise 10.4
        raise NotImplementedError("Exercise 10.4: wait for resume_writing (or connection_lost); raise ClientDisconnected if the socket closed meanwhile.")

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
        # TODO: exercise 10.4
        raise NotImplementedError("Exercise 10.4: write a ping with a fresh random payload; arm ping_timed_out after ws_ping_timeout.")

    def pong_received(self, payload: bytes) -> None:
        # TODO: exercise 10.4
        raise NotImplementedError("Exercise 10.4: the pong of our keep-alive ping (same payload): the peer lives; schedule the next ping.")

    def ping_timed_out(self) -> None:
        """No pong: the peer (or the path to it) is dead. Say 1011 and drop the connection."""
        # TODO: exercise 10.4
        raise NotImplementedError("Exercise 10.4: start_closing(1011, ...), then abort the transport: a dead peer will not answer.")

    # 10.5 Shutdown
    def shut_down(self) -> None:
        """The server is stopping: an open WebSocket closes with 1012 (service restart)."""
        # TODO: exercise 10.5
        raise NotImplementedError("Exercise 10.5: OPEN: start_closing(1012, ...); a handshake in progress is left to finish (the grace period bounds it).")
