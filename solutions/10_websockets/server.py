"""Lesson 10: your lesson-09 server, now with WebSockets (the other half of ASGI).

Start here
----------
This lesson starts from YOUR lesson-09 server, not from a blank file:

    make start-lesson 10

copies lessons/09_production/server.py (and http11.py) over this file, and refuses
if you have already changed lesson 10. Then `make test-lesson 10`: the lesson-09
tests (exercise 10.0) pass at once, and every other failure names the exercise.

    10.0  Carry your lesson-09 server forward (make start-lesson 10); keep its tests green.
    10.1  frames.py: read client frames, build server frames (sans-I/O, like lesson 07).
    10.2  websocket.py: the handshake; and here, the hook that hands a WebSocket
          request's connection to a WebSocketProtocol, and the four ws_* settings
          that WebSocketProtocol reads (below, `# 10.2`).
    10.3  websocket.py: messages, pings, the close handshake, websocket.disconnect.
    10.4  websocket.py: flow control, ws_max_size, keep-alive pings.
    10.5  websocket.py: shut_down() closes with 1012; here, nothing new: the
          WebSocketProtocol joins server.connections, so shutdown and
          limit_concurrency already count it.

What this file adds to lesson 09 (every line is marked `# 10.N`):
- on_headers_complete: a GET with Upgrade: websocket is checked (handshake_refusal:
  426, 400) and, if good, remembered in `self.upgrade` instead of starting a
  RequestCycle;
- feed_past_upgrades: where llhttp stops at the end of that head, the bytes after it
  are kept for the WebSocket (`self.upgrade_data`) and parsing stops for good;
- switch_to_websocket: once the responses owed before it are written, the transport
  gets a WebSocketProtocol (`transport.set_protocol`): from then on asyncio calls it;
- Server: ws_max_size, ws_max_queue, ws_ping_interval, ws_ping_timeout (uvicorn's
  names), and their command-line flags (10.2: WebSocketProtocol reads them from
  the start; 10.4 makes them do their work).

Everything else is lesson 09's, as you wrote it; read websocket.py's header next.
"""

from __future__ import annotations

# EXERCISE 10.0: run `make start-lesson 10`: it copies your lesson-09 server here; then add the WebSocket hook (README.md).
import argparse
import asyncio
import email.utils
import enum
import errno
import importlib
import logging
import os
import re
import signal
import socket
import struct
import sys
from collections import deque
from typing import Any, Awaitable, Callable
from urllib.parse import unquote

import httptools

from http11 import LAST_CHUNK, STATUS_LINES, BadRequest, check_head, chunk, reason_phrase
from websocket import (WS_MAX_QUEUE, WS_MAX_SIZE, WS_PING_INTERVAL, WS_PING_TIMEOUT, WebSocketProtocol,  # 10.2
                       handshake_refusal, is_websocket_request, websocket_scope)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("lesson09")

SERVER_NAME = b"sockets-to-asgi"
ASGI_HTTP = {"version": "3.0", "spec_version": "2.4"}  # 2.4: send() raises OSError once the client is gone
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
DISCONNECT: Message = {"type": "http.disconnect"}
NO_BODY_STATUSES = (204, 304)  # and every 1xx: RFC 9112 §6.3, rule 1

# The defaults, and where they come from.
TIMEOUT_KEEP_ALIVE = 5.0  # seconds an idle keep-alive connection stays open: uvicorn's default
TIMEOUT_REQUEST_HEAD = 10.0  # seconds for a whole request head (slowloris); nginx's client_header_timeout is 60
TIMEOUT_REQUEST_BODY = 60.0  # seconds between two reads of a body still arriving: nginx's client_body_timeout
TIMEOUT_SEND = 60.0  # seconds a client may leave our full send buffer unread: nginx's send_timeout
MAX_HEADER_BYTES = 16 * 1024  # h11's limit on a head; lesson 07's parser uses the same
TIMEOUT_GRACEFUL_SHUTDOWN = 30.0  # seconds in-flight requests get after SIGTERM (Kubernetes waits 30 s)
BACKLOG = 2048  # the listen() queue: uvicorn's default
READ_HIGH_WATER = 256 * 1024  # unread body bytes per request before we stop reading the socket
PIPELINE_LIMIT = 16  # parsed requests waiting behind the running one before we stop reading
FEED_SLICE = 4096  # bytes per parser call: a read of 256 KiB can hold 8,000 tiny requests; a slice, 200
LINGER = 2.0  # seconds a refused client may go on sending (read and dropped) before we close: RFC 9112 §9.6
TICK = 1.0  # seconds between refreshes of the Date header
ACCEPT_BURST = 64  # connections accepted per wake-up of the listener, so one wake-up stays short
ACCEPT_RETRY_DELAY, MAX_ACCEPT_RETRY_DELAY = 0.1, 2.0  # seconds between accept() tries after EMFILE

# Response splitting guards (lesson 07's rules for a header), and the usual methods' names, made once.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}


class ClientDisconnected(OSError):
    """send() after the client has gone: the app should stop producing the response."""


class LifespanFailure(RuntimeError):
    """The app refused to start (lifespan.startup.failed, or it crashed with lifespan="on")."""


class Rejected(Exception):
    """Raised from a parser callback: the request breaks a limit and gets this status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Response(enum.Enum):
    """Where a cycle's response is: the only state send() consults."""

    START = "waiting for http.response.start"
    BODY = "sending http.response.body messages"
    DONE = "complete"


class Framing(enum.Enum):
    """How the client will find the end of the body (RFC 9112 §6.3)."""

    NONE = "no body at all (HEAD, 1xx, 204, 304)"
    LENGTH = "Content-Length bytes"
    CHUNKED = "Transfer-Encoding: chunked"
    CLOSE = "the connection closes (an HTTP/1.0 client cannot read chunked)"


def http_date() -> bytes:
    """The Date header's value (RFC 9110 §6.6.1), e.g. b'Sun, 06 Nov 1994 08:49:37 GMT'."""
    return email.utils.formatdate(usegmt=True).encode("ascii")


def error_app(status: int, message: str = "", extra_headers: list[tuple[bytes, bytes]] = ()) -> ASGIApp:
    """An app that answers `status` with a short text body and closes: how refusals are sent."""
    body = (message or f"{status} {reason_phrase(status)}").encode() + b"\n"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body)),
               (b"connection", b"close"), *extra_headers]  # 10.2: 426 names the version we speak

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    return app


bad_request_app = error_app(400, "Bad Request: the server could not parse this request.")
service_unavailable_app = error_app(503, "Service Unavailable: too many connections; try again soon.")


class RequestCycle:
    """One request and its response. The app's `receive` and `send` are its methods."""

    __slots__ = ("conn", "scope", "app", "keep_alive", "disconnected", "waiter", "body", "body_complete",
                 "body_delivered", "body_size", "expect_continue", "state", "framing", "bytes_left", "head", "task")

    def __init__(self, conn: HttpProtocol, scope: Scope, app: ASGIApp, keep_alive: bool,
                 expect_continue: bool) -> None:
        self.conn = conn  # owns the transport; told when the response is complete
        self.scope = scope
        self.app = app
        self.keep_alive = keep_alive  # may the connection carry another request after this one?
        self.disconnected = False  # the client has gone: receive() says so, send() raises
        self.waiter: asyncio.Future | None = None  # what receive() sleeps on, made only when it must sleep
        self.task: asyncio.Task | None = None
        # Request side
        self.body = bytearray()  # arrived, not yet handed to the app
        self.body_complete = False
        self.body_delivered = False  # the app has had more_body=False
        self.body_size = 0  # every body byte so far, for max_body_bytes
        self.expect_continue = expect_continue
        # Response side
        self.state = Response.START
        self.framing = Framing.NONE
        self.bytes_left = 0
        self.head = b""  # 9.3/hot path: a written-later head, joined to the first body piece

    # Told by the protocol
    def body_received(self, data: bytes) -> None:
        self.body += data
        self.expect_continue = False
        if len(self.body) >= READ_HIGH_WATER:  # 9.3: the app is not keeping up: stop reading
            self.conn.update_reading()
        self._wake()

    def end_of_body(self) -> None:
        self.body_complete = True
        self._wake()

    def disconnect(self) -> None:
        self.disconnected = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait_until(self, condition: Callable[[], bool]) -> None:
        # Every suspension of receive() goes through here. The future is made only
        # when receive() really has to wait: most GETs never do (see the README).
        while not condition():
            self.waiter = self.conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    # ASGI interface
    async def run_asgi(self) -> None:
        """Call the app once; whatever happens, the connection is left answered or closed."""
        try:
            await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass  # the client left mid-response: nobody to tell
        except asyncio.CancelledError:
            self.fail(503)  # 9.4: the grace period ended before the app did
            raise
        except Exception:
            logger.exception("Exception in ASGI application (%s %s)", self.scope["method"], self.scope["path"])
            self.fail(500)
        else:
            if self.state is not Response.DONE and not self.disconnected:
                logger.error("The ASGI application returned without completing its response")
                self.fail(500)
        finally:
            self.conn.shared.tasks.discard(self.task)  # cheaper than a done-callback per task

    def fail(self, status: int) -> None:
        """Answer `status` and close, if the response has not started; otherwise just close."""
        if self.state is Response.START and not self.disconnected:
            self.keep_alive = False
            body = f"{status} {reason_phrase(status)}\n".encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body))]
            self._start_response({"type": "http.response.start", "status": status, "headers": headers})
            self._send_body({"type": "http.response.body", "body": body})  # ends the connection (9.2: may linger)
            return
        if self.head:
            self.conn.transport.write(self.head)  # a head that waited for a body that never came
        self.conn.transport.close()

    async def receive(self) -> Message:
        """The next message for the app: the body as it arrives, then http.disconnect."""
        if self.body_delivered:
            await self._wait_until(lambda: self.disconnected or self.state is Response.DONE)
            return DISCONNECT
        if self.expect_continue:  # RFC 9110 §10.1.1: the client waits for this before sending the body
            self.expect_continue = False
            self.conn.transport.write(CONTINUE)
            self.conn.wait_for_bytes(self.conn.shared.timeout_request_body)  # 9.1: now the body owes us bytes
        if self.head:  # 9.3: the app waits for more body after starting its response: let the head go
            self.conn.transport.write(self.head)
            self.head = b""
        await self._wait_until(lambda: self.body or self.body_complete or self.disconnected
                               or self.state is Response.DONE)
        if self.disconnected or self.state is Response.DONE:
            return DISCONNECT
        body, more_body = bytes(self.body), not self.body_complete
        self.body.clear()
        self.body_delivered = not more_body
        if self.conn.reading_paused:  # 9.3: the app made room: maybe read again
            self.conn.update_reading()
        return {"type": "http.request", "body": body, "more_body": more_body}

    async def send(self, message: Message) -> None:
        """Write one message of the response; raises ClientDisconnected if the client is gone.

        Legal order: one http.response.start, then http.response.body until more_body
        is False. Anything else is the app's bug and raises RuntimeError. While the
        client does not read, send() waits (9.3), so an app cannot fill the memory.
        """
        if self.disconnected:
            raise ClientDisconnected(f"the client went away before {message['type']!r} could be sent")
        kind = message["type"]
        if self.state is Response.START and kind == "http.response.start":
            self._start_response(message)
        elif self.state is Response.BODY and kind == "http.response.body":
            self._send_body(message)
            if self.conn.writing_paused:  # 9.3: the transport's buffer is over its high-water mark
                await self.conn.drain()
        else:
            raise RuntimeError(f"ASGI message {kind!r} is not allowed while the response is {self.state.value}")

    def _start_response(self, message: Message) -> None:
        """Make the head: status line, the app's headers, then date, server and the framing's."""
        status = message["status"]
        conn = self.conn
        try:
            lines = [STATUS_LINES[status]]
        except (KeyError, TypeError):
            raise ValueError(f"status must be an int from 100 to 599, got {status!r}") from None
        content_length = None
        has = 0  # which of the headers the server may add the app gave itself (bit flags, see OWN_HEADERS)
        for name, value in message.get("headers", ()):
            name = bytes(name).lower()
            value = bytes(value)
            if _BAD_VALUE.search(value) or not _TOKEN.fullmatch(name):
                raise ValueError(f"invalid header {name!r}: {value!r}")  # response splitting
            flag = OWN_HEADERS.get(name)
            if flag is not None:
                has |= flag
                if flag == CONTENT_LENGTH and content_length is None:
                    content_length = int(value)
                elif flag == CONNECTION and value.lower() == b"close":
                    self.keep_alive = False
            lines.append(b"%s: %s\r\n" % (name, value))
        self.framing = self._choose_framing(status, content_length)
        if self.framing is Framing.CHUNKED and not has & TRANSFER_ENCODING:
            lines.append(b"transfer-encoding: chunked\r\n")
        if not self.keep_alive and not has & CONNECTION:
            lines.append(b"connection: close\r\n")  # RFC 9112 §9.6: say so before closing
        shared = conn.shared
        if not has & (DATE | SERVER):  # the usual case: both lines, built once a second
            lines.append(shared.date_and_server)
        else:
            if not has & DATE:
                lines.append(b"date: %s\r\n" % shared.date)
            if not has & SERVER:
                lines.append(b"server: %s\r\n" % SERVER_NAME)
        lines.append(b"\r\n")
        head = b"".join(lines)
        self.state = Response.BODY
        self.expect_continue = False
        if self.framing is Framing.LENGTH or self.framing is Framing.NONE:
            self.head = head  # the body comes next: one write for both (the README measures it)
        else:
            conn.transport.write(head)  # a stream: the client should see the head now
        if shared.log_access:
            client = self.scope["client"]
            logger.info('%s - "%s %s HTTP/%s" %d', "%s:%d" % client if client else "-", self.scope["method"],
                        self.scope["path"], self.scope["http_version"], status)

    def _choose_framing(self, status: int, content_length: int | None) -> Framing:
        if self.scope["method"] == "HEAD" or status < 200 or status in NO_BODY_STATUSES:
            return Framing.NONE
        if content_length is not None:
            self.bytes_left = content_length
            return Framing.LENGTH
        if self.scope["http_version"] == "1.0":
            self.keep_alive = False
            return Framing.CLOSE
        return Framing.CHUNKED

    def _send_body(self, message: Message) -> None:
        body, more_body = message.get("body", b""), message.get("more_body", False)
        framing = self.framing
        if framing is Framing.LENGTH:
            if len(body) > self.bytes_left:
                raise RuntimeError(f"the app sent {len(body)} body bytes; its Content-Length allows {self.bytes_left} more")
            self.bytes_left -= len(body)
            data = body
        elif framing is Framing.CHUNKED:
            data = (chunk(body) if body else b"") + (b"" if more_body else LAST_CHUNK)
        else:
            data = body if framing is Framing.CLOSE else b""
        if self.head:
            data = self.head + data
            self.head = b""
        if data:
            self.conn.transport.write(data)
        if more_body:
            return
        if framing is Framing.LENGTH and self.bytes_left:
            raise RuntimeError(f"the response ended {self.bytes_left} bytes short of its Content-Length")
        self.state = Response.DONE
        self._wake()
        self.conn.response_complete(self)


# The headers the server adds unless the app gave them, as bit flags: one dict
# lookup per header tells _start_response everything it needs.
CONTENT_LENGTH, CONNECTION, DATE, SERVER, TRANSFER_ENCODING = 1, 2, 4, 8, 16
OWN_HEADERS = {b"content-length": CONTENT_LENGTH, b"connection": CONNECTION, b"date": DATE,
               b"server": SERVER, b"transfer-encoding": TRANSFER_ENCODING}


class HttpProtocol(asyncio.Protocol):
    """One TCP connection: its parser, its requests in order, its transport, its deadline.

    Lesson 09's protocol, and the lines marked `# 10.2` that hand a WebSocket
    request's connection over to a WebSocketProtocol.
    """

    def __init__(self, server: Server) -> None:
        self.shared = server
        self.loop = server.loop
        self.app = server.app  # 9.2: service_unavailable_app beyond limit_concurrency
        # Per-connection state
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.pipeline: deque[RequestCycle] = deque()
        self.running: RequestCycle | None = None
        self.parsing: RequestCycle | None = None
        # 9.1 the one deadline: when this connection, waiting for bytes, gets closed (None: busy)
        self.deadline: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0  # when the armed timer fires
        self.send_timer: asyncio.TimerHandle | None = None  # 9.1: armed only while writing is paused
        # 9.3 flow control
        self.reading_paused = False
        self.stop_reading = False  # for good: after a refusal (the bytes after it cannot be trusted)
        self.writing_paused = False
        self.drained: asyncio.Future | None = None
        self.unparsed = b""  # read but not yet parsed: the pipeline was full
        self.lingering = False  # 9.2: the answer is sent and our side closed; what arrives is dropped
        self.upgrade: Scope | None = None  # 10.2: the websocket scope waiting for the responses owed before it
        self.upgrade_data = b""  # 10.2: bytes after the handshake's head: the first frames, if any
        # Per-request state, while the parser reads a request head
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0  # as the parser hands the head over (on_url, on_header)
        self.open_head_bytes: int | None = None  # 9.2: raw bytes of the head still open (None: no head open)
        self.head_began = False  # in the slice being parsed

    # Protocol interface
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        self.client = tuple(peer[:2]) if peer else None  # 9.5: None if the client reset before we looked
        self.server = tuple(local[:2]) if local else None
        shared = self.shared
        shared.connections.add(self)
        if shared.stopping:
            transport.close()
            return
        self.over_limit_check()  # 9.2
        self.wait_for_bytes(shared.timeout_request_head)  # 9.1: a new connection owes us a request head

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # 9.2: a refused client's bytes, read only so that it can read our answer
        if self.upgrade is not None:
            self.upgrade_data += data  # 10.2: frames for the WebSocket, once its turn comes
            return
        if len(data) <= FEED_SLICE and not self.unparsed:
            self.feed(data)  # the usual case: a read of one or a few requests, one parser call
        else:
            self.unparsed += data
            self.feed_unparsed()
        parsing = self.parsing
        if parsing is not None and not self.reading_paused and not parsing.expect_continue:
            self.wait_for_bytes(self.shared.timeout_request_body)  # 9.1: a body is arriving: its clock runs

    def feed(self, data: bytes) -> None:
        """Parse `data`; a parse error, or a limit a callback found broken, becomes a refusal."""
        self.head_began = False
        try:
            self.feed_past_upgrades(data)
        except httptools.HttpParserError as error:
            # An exception raised in one of our callbacks reaches us as HttpParserCallbackError,
            # with ours as its __context__: a Rejected one (9.2) carries its own status.
            rejection = error.__context__
            if isinstance(rejection, BadRequest):  # lesson 08: check_head's refusal, with its status
                rejection = Rejected(rejection.status, str(rejection))
            if isinstance(rejection, Rejected):
                self.reject(rejection.status, str(rejection))
            else:
                self.reject(400, str(error))
            return
        if self.open_head_bytes is not None and not self.head_began:
            self.count_open_head(len(data))  # 9.2: a head was open before this slice and still is

    def feed_past_upgrades(self, data: bytes) -> None:
        # Lesson 08: llhttp stops after a request with Upgrade (or CONNECT). An upgrade we
        # do not speak is served as HTTP (RFC 9110 §7.8); what follows is the next request.
        while True:
            try:
                return self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as upgrade:
                data = data[upgrade.args[0]:]
                if self.upgrade is not None:  # 10.2: a WebSocket: the rest are frames, never parsed here
                    self.upgrade_data = bytes(data) + self.unparsed
                    self.unparsed = b""
                    if self.running is None and not self.pipeline:
                        self.switch_to_websocket()
                    return

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
        self.deadline = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.running is not None:
            self.running.disconnect()
        self.pipeline.clear()
        self.unparsed = b""
        self.writing_paused = False
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)  # 9.3: a send() waiting to drain wakes and finds the client gone
        self.shared.connection_closed()  # 9.4: shutdown waits for the last one

    # Parser callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.head_bytes = 0
        self.open_head_bytes = 0  # 9.2: counted from the next slice on (this one may hold other bytes)
        self.head_began = True
        if self.running is None:  # 9.1: a head is on its way: it gets timeout_request_head
            self.wait_for_bytes(self.shared.timeout_request_head)

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head_bytes += len(url)
        if self.head_bytes > self.shared.max_header_bytes:  # 9.2
            raise Rejected(431, f"request line over {self.shared.max_header_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))
        self.head_bytes += len(name) + len(value) + 4  # ": " and CRLF count too
        if self.head_bytes > self.shared.max_header_bytes:  # 9.2
            raise Rejected(431, f"request head over {self.shared.max_header_bytes} bytes")

    def on_headers_complete(self) -> None:
        self.deadline = None  # 9.1: the head is complete: the connection is busy, no deadline
        self.open_head_bytes = None
        http_version = self.parser.get_http_version()
        headers = self.headers
        expect = False
        if len(headers) != 1 or headers[0][0] != b"host" or http_version != "1.1":  # most GETs: 1.1, Host only
            check_head(http_version, headers)  # lesson 08: Host (RFC 9112 §3.2), framing, version
            if self.parser.should_upgrade() and self.declares_body():
                raise BadRequest("an Upgrade or CONNECT request with a body")  # lesson 08: llhttp skips it
            expect = any(name == b"expect" and value.lower() == b"100-continue" for name, value in headers)
            if self.shared.max_body_bytes is not None:
                self.check_content_length()  # 9.2: refuse before a byte of body is read
        app = self.app
        keep_alive = http_version == "1.1" and self.parser.should_keep_alive() and not self.shared.stopping
        # 10.2: a WebSocket needs HTTP/1.1 (RFC 6455 §4.2.1); an HTTP/1.0 Upgrade is ignored (RFC 9110 §7.8)
        if (self.parser.should_upgrade() and http_version != "1.0"
                and is_websocket_request(self.parser.get_method().decode(), headers)):
            refusal = handshake_refusal(headers)  # 10.2: 426 for another version, 400 for a bad key
            if self.shared.stopping:
                refusal = 503, [], "the server is shutting down"
            elif app is service_unavailable_app:
                refusal = 503, [], "over limit_concurrency"  # 9.2: a WebSocket counts like any connection
            if refusal is None:
                self.upgrade = websocket_scope(self.build_scope(http_version))
                return  # feed_past_upgrades() takes over at the end of this head
            status, extra_headers, reason = refusal
            app, keep_alive = error_app(status, reason, extra_headers), False
        cycle = RequestCycle(
            self, self.build_scope(http_version), app, keep_alive, expect and http_version == "1.1",
        )
        self.parsing = cycle
        if self.running is None and not self.pipeline:
            self.running = cycle
            self.start(cycle)
        else:
            self.pipeline.append(cycle)
            if len(self.pipeline) >= PIPELINE_LIMIT:  # 9.3: a client that pipelines without reading
                self.update_reading()

    def on_body(self, body: bytes) -> None:
        cycle = self.parsing
        cycle.body_size += len(body)
        limit = self.shared.max_body_bytes
        if limit is not None and cycle.body_size > limit:  # 9.2: a chunked body that never ends
            raise Rejected(413, f"request body over {limit} bytes")
        cycle.body_received(body)

    def on_message_complete(self) -> None:
        if self.parsing is not None:
            self.parsing.end_of_body()
            self.parsing = None
            self.deadline = None  # 9.1: the body is complete: its clock stops

    def declares_body(self) -> bool:
        """Does the request head just parsed announce a body (RFC 9112 §6.3)?"""
        return any(name == b"transfer-encoding" or (name == b"content-length" and value != b"0")
                   for name, value in self.headers)

    def build_scope(self, http_version: str) -> Scope:
        """The ASGI HTTP connection scope for the request whose head was just parsed."""
        url = httptools.parse_url(self.url)  # skipping it for plain paths saved nothing measurable
        raw_path = url.path or b"/"
        path = raw_path.decode("latin-1")
        if "%" in path:
            path = unquote(path)  # %-escapes decode as UTF-8
        method = self.parser.get_method()
        return {
            "type": "http",
            "asgi": ASGI_HTTP,
            "http_version": http_version,
            "method": METHODS.get(method) or method.decode("ascii"),
            "scheme": "http",
            "path": path,
            "raw_path": raw_path,
            "query_string": url.query or b"",
            "root_path": "",
            "headers": self.headers,
            "client": self.client,
            "server": self.server,
            "state": self.shared.lifespan.state.copy(),
        }

    # Running requests in order
    def start(self, cycle: RequestCycle) -> None:
        # One task per request, and nothing else: the task is remembered on the cycle
        # and in the server's set, and removes itself when it ends (run_asgi's finally).
        cycle.task = task = self.loop.create_task(cycle.run_asgi())
        self.shared.tasks.add(task)

    def response_complete(self, cycle: RequestCycle) -> None:
        """Called by a cycle once the last byte of its response is written."""
        if not cycle.keep_alive or not cycle.body_complete or self.transport.is_closing():
            self.close_after(cycle)
            return
        self.running = None
        if self.pipeline:
            self.run_next()
            return
        if self.upgrade is not None:  # 10.2: the responses owed before the handshake are written
            self.switch_to_websocket()
            return
        if self.shared.stopping:  # 9.4: no new requests once shutdown has begun
            self.transport.close()
            return
        if self.reading_paused:
            self.update_reading()
        if self.deadline is None:  # 9.1: idle now; a pipelined head may have started its own clock
            self.wait_for_bytes(self.shared.timeout_keep_alive)

    def reject(self, status: int, reason: str) -> None:
        """Refuse what the parser just read: queue `status` after the responses owed, then close."""
        logger.info("Refused a request from %s with %d: %s", self.client, status, reason)
        self.stop_reading = True
        self.update_reading()
        self.deadline = None
        broken, self.parsing = self.parsing, None
        if broken is not None and broken is self.running:
            broken.fail(status)
            broken.disconnect()
            return
        if broken is not None:
            self.pipeline.remove(broken)
        app = bad_request_app if status == 400 else error_app(status)
        scope = {"type": "http", "method": "GET", "path": "", "http_version": "1.1", "client": self.client}
        cycle = RequestCycle(self, scope, app, False, False)
        if self.running is None and not self.pipeline:
            self.running = cycle
            self.start(cycle)
        else:
            self.pipeline.append(cycle)

    # 10.2 WebSocket
    def switch_to_websocket(self) -> None:
        """Hand the connection to a WebSocketProtocol: from now on asyncio calls it, not us."""
        scope, self.upgrade = self.upgrade, None
        self.deadline = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.shared.connections.discard(self)  # the WebSocket takes this connection's place
        websocket = WebSocketProtocol(self.shared, scope, self.app)
        self.transport.set_protocol(websocket)
        websocket.connection_made(self.transport)
        if self.reading_paused:
            self.transport.resume_reading()
        if self.upgrade_data:
            websocket.data_received(self.upgrade_data)

    # 9.1 Timeouts
    def wait_for_bytes(self, seconds: float) -> None:
        """Give the client `seconds` from now to send what it owes (a head, a body, the next
        request); arm the timer if none is armed."""
        self.deadline = deadline = self.loop.time() + seconds
        if self.timer is None or deadline < self.timer_at:  # an earlier deadline cannot wait for a later timer
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = deadline
            self.timer = self.loop.call_at(deadline, self.on_deadline)

    def on_deadline(self) -> None:
        """The timer fired: close if the deadline has passed; re-arm if it moved; nothing if busy."""
        # The timer is armed once and re-armed only here, when it fires before a
        # deadline that requests have pushed later: per request, moving the deadline
        # is a float store, not a cancel() and a new call_at() (the README measures it).
        self.timer = None
        deadline = self.deadline
        if deadline is None or self.transport.is_closing():
            return
        if self.loop.time() < deadline:
            self.timer_at = deadline
            self.timer = self.loop.call_at(deadline, self.on_deadline)
            return
        logger.info("Closing the connection from %s: its deadline passed", self.client)
        self.transport.close()

    def on_send_timeout(self) -> None:
        """Writing has been paused for timeout_send: the client is not reading. Reset the connection."""
        self.send_timer = None
        logger.info("Resetting the connection from %s: it read nothing for %g s", self.client,
                    self.shared.timeout_send)
        # SO_LINGER with a zero timeout makes close() send RST and drop the unsent bytes at
        # once (man 7 socket): otherwise the kernel would keep them, and retry, for minutes.
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()  # connection_lost follows: the app's send() raises, receive() says disconnect

    # 9.2 Limits
    def over_limit_check(self) -> None:
        """Beyond limit_concurrency connections, this one's requests get 503 and a close."""
        limit = self.shared.limit_concurrency
        if limit is not None and len(self.shared.connections) > limit:
            self.app = service_unavailable_app  # swapped once per connection: no test per request

    def check_content_length(self) -> None:
        """Raise Rejected(413) if the head announces a body over max_body_bytes."""
        limit = self.shared.max_body_bytes
        for name, value in self.headers:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise Rejected(413, f"Content-Length {int(value)} is over {limit} bytes")

    def count_open_head(self, size: int) -> None:
        """`size` more bytes of a head that is still open: refuse with 431 past max_header_bytes."""
        # httptools keeps a header line until its CRLF arrives, and only then calls
        # on_header: a line that never ends would grow in its buffer, unseen by the
        # count in on_header. So the raw bytes count too, whole slices only (a slice
        # in which the head began may hold the end of the request before it).
        self.open_head_bytes += size
        if self.open_head_bytes > self.shared.max_header_bytes:
            self.reject(431, f"request head still open after {self.open_head_bytes} bytes")

    def close_after(self, cycle: RequestCycle) -> None:
        """The connection ends with `cycle`'s response: close, or linger if the client may still be sending."""
        if (cycle.body_complete and not self.stop_reading) or self.transport.is_closing():
            self.transport.close()
        else:
            self.linger()

    def linger(self) -> None:
        """Close our side, read and drop what the client still sends for LINGER s, then close."""
        # RFC 9112 §9.6: closing a socket with unread bytes in its buffer sends RST, and a
        # reset can destroy our answer in the client's buffer before it reads it. Half-close
        # instead (the client reads the answer, then EOF), and drain its bytes a while.
        self.lingering = True
        self.parsing = None
        self.pipeline.clear()
        self.unparsed = b""
        self.stop_reading = False
        self.transport.write_eof()  # asyncio sends the FIN once the answer has left the buffer
        self.update_reading()
        self.wait_for_bytes(LINGER)  # on_deadline closes; so does the client's own FIN (eof_received)

    # 9.3 Flow control
    def update_reading(self) -> None:
        """Pause or resume reading the socket, from every reason there is to stop."""
        parsing = self.parsing
        should_pause = (self.stop_reading or len(self.pipeline) >= PIPELINE_LIMIT
                        or (parsing is not None and len(parsing.body) >= READ_HIGH_WATER))
        if should_pause and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()
            self.deadline = None  # 9.1: we are the ones not reading: no clock runs against the client
        elif not should_pause and self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()
            if parsing is not None and not parsing.expect_continue:  # 9.1: a body is due: its clock runs again
                self.wait_for_bytes(self.shared.timeout_request_body)

    def feed_unparsed(self) -> None:
        """Parse what was read, FEED_SLICE bytes at a time, until the pipeline is full."""
        # Pausing the transport stops the reads, not the parser: one feed_data() of a
        # 256 KiB read parses all 8,000 tiny requests in it. So the parser gets a slice
        # at a time, and what is left waits here until run_next() makes room.
        data = memoryview(self.unparsed)
        offset = 0
        while offset < len(data) and len(self.pipeline) < PIPELINE_LIMIT and not self.stop_reading:
            self.feed(data[offset:offset + FEED_SLICE])
            offset += FEED_SLICE
        self.unparsed = bytes(data[offset:]) if offset < len(data) and not self.stop_reading else b""

    def run_next(self) -> None:
        """Start the next pipelined request, unless the client is not reading our answers."""
        # Each answer would otherwise join the transport's buffer: a client that
        # pipelines without reading could make us buffer every answer it asked for.
        if self.writing_paused:
            return
        self.running = cycle = self.pipeline.popleft()
        self.start(cycle)
        if self.unparsed:
            self.feed_unparsed()
        if self.reading_paused:
            self.update_reading()

    def pause_writing(self) -> None:
        self.writing_paused = True
        # A second timer, not the deadline: rare (a big answer, a slow reader), and it
        # runs while the connection may be busy or idle alike.
        self.send_timer = self.loop.call_later(self.shared.timeout_send, self.on_send_timeout)

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        if self.running is None and self.pipeline:  # run_next() waited for this
            self.run_next()

    async def drain(self) -> None:
        """Wait until the client has read enough; raises ClientDisconnected if it leaves instead."""
        if self.writing_paused:
            if self.drained is None or self.drained.done():
                self.drained = self.loop.create_future()
            await self.drained
        if self.transport.is_closing():
            raise ClientDisconnected("the client went away while the server waited for it to read")

    # 9.4 Graceful shutdown
    def shut_down(self) -> None:
        """Shutdown has begun: close if idle; else close after the responses already owed."""
        if self.running is None and not self.pipeline:
            self.transport.close()
            return
        # Reading goes on: the body of a request in flight may still be arriving.
        last = self.pipeline[-1] if self.pipeline else self.running
        last.keep_alive = False  # its response says connection: close, and the connection closes


class Lifespan:
    """Runs the app's lifespan protocol: startup before serving, shutdown after (lesson 08)."""

    def __init__(self, app: ASGIApp, mode: str) -> None:
        self.app = app
        self.mode = mode
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[Message] | None = None
        self.started: asyncio.Future | None = None
        self.stopped: asyncio.Future | None = None
        self.task: asyncio.Task | None = None
        self.supported = True

    async def startup(self) -> None:
        if self.mode == "off":
            return
        loop = asyncio.get_running_loop()
        self.inbox, self.started, self.stopped = asyncio.Queue(), loop.create_future(), loop.create_future()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self.task = loop.create_task(self._run(scope))
        await self.inbox.put({"type": "lifespan.startup"})
        try:
            await self.started
        except LifespanFailure:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
            raise

    async def shutdown(self) -> None:
        if self.task is None:
            return
        if self.supported and not self.task.done():
            await self.inbox.put({"type": "lifespan.shutdown"})
            try:
                await self.stopped
            except LifespanFailure as error:
                logger.error("%s", error)
        await self.task

    async def _run(self, scope: Scope) -> None:
        try:
            await self.app(scope, self.inbox.get, self._send)
        except Exception as error:
            if self.started.done() or self.mode == "on":
                logger.exception("Exception in the app's lifespan")
            else:
                self.supported = False
                logger.info("The app does not support the lifespan protocol (%r); going on without it", error)
            self._settle(self.started, LifespanFailure(f"the app crashed during startup: {error!r}"))
        else:
            if not self.started.done() and self.mode == "auto":  # lesson 08: returned, so no lifespan
                self.supported = False
                logger.info("The app returned from the lifespan call without starting up; going on without it")
        finally:
            self._settle(self.started, LifespanFailure("the app returned during startup"))
            self._settle(self.stopped, None)

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        outcomes = {
            "lifespan.startup.complete": (self.started, None),
            "lifespan.startup.failed": (self.started, LifespanFailure(f"startup failed: {message.get('message', '')}")),
            "lifespan.shutdown.complete": (self.stopped, None),
            "lifespan.shutdown.failed": (self.stopped, LifespanFailure(f"shutdown failed: {message.get('message', '')}")),
        }
        if kind not in outcomes:
            raise RuntimeError(f"unexpected lifespan message {kind!r}")
        self._settle(*outcomes[kind])

    def _settle(self, future: asyncio.Future, outcome: BaseException | None) -> None:
        if future.done():
            return
        if outcome is None or not self.supported:
            future.set_result(None)
        else:
            future.set_exception(outcome)


class Server:
    """An ASGI 3 server on one address, hardened. Use from a running event loop:

        server = Server(app, "127.0.0.1", 0, timeout_keep_alive=5, limit_concurrency=1000)
        await server.start()          # bound and serving; server.address is the real port
        await server.serve_forever()  # returns once shutdown() has finished

    timeout_keep_alive    seconds an idle keep-alive connection stays open
    timeout_request_head  seconds a client has to send a whole request head
    timeout_request_body  seconds a body may stop arriving (between two reads) before we close
    timeout_send          seconds a client may leave our full send buffer unread before we reset
    max_header_bytes      request line + headers beyond this get 431
    max_body_bytes        a body beyond this gets 413, unread (None: no limit)
    limit_concurrency     connections beyond this get 503 (None: no limit)
    timeout_graceful_shutdown  seconds shutdown() lets in-flight requests run
    backlog, reuse_port   passed to listen() and SO_REUSEPORT (--workers sets it)
    access_log            one INFO line per response on the "lesson09" logger
    ws_max_size           bytes of one WebSocket message; more closes with 1009 (10.4)
    ws_max_queue          WebSocket messages waiting for the app before we stop reading (10.4)
    ws_ping_interval      seconds between keep-alive pings (None: no pings) (10.4)
    ws_ping_timeout       seconds a pong may take before the peer counts as dead (10.4)
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, lifespan: str = "auto",
                 timeout_keep_alive: float = TIMEOUT_KEEP_ALIVE, timeout_request_head: float = TIMEOUT_REQUEST_HEAD,
                 timeout_request_body: float = TIMEOUT_REQUEST_BODY, timeout_send: float = TIMEOUT_SEND,
                 max_header_bytes: int = MAX_HEADER_BYTES, max_body_bytes: int | None = None,
                 limit_concurrency: int | None = None,
                 timeout_graceful_shutdown: float = TIMEOUT_GRACEFUL_SHUTDOWN,
                 backlog: int = BACKLOG, reuse_port: bool = False, access_log: bool = True,
                 ws_max_size: int = WS_MAX_SIZE, ws_max_queue: int = WS_MAX_QUEUE,
                 ws_ping_interval: float | None = WS_PING_INTERVAL,
                 ws_ping_timeout: float | None = WS_PING_TIMEOUT) -> None:
        if lifespan not in ("auto", "on", "off"):
            raise ValueError(f'lifespan must be "auto", "on" or "off", got {lifespan!r}')
        self.app = app
        self.host, self.port = host, port
        self.address: tuple[str, int] | None = None
        self.lifespan = Lifespan(app, lifespan)
        self.connections: set[HttpProtocol] = set()
        self.tasks: set[asyncio.Task] = set()
        self.listener: socket.socket | None = None  # 9.5: our own listening socket and accept loop
        self.stopping = False
        self.stopped = asyncio.Event()
        self.timeout_keep_alive = timeout_keep_alive
        self.timeout_request_head = timeout_request_head
        self.timeout_request_body = timeout_request_body
        self.timeout_send = timeout_send
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.limit_concurrency = limit_concurrency
        self.timeout_graceful_shutdown = timeout_graceful_shutdown
        self.backlog, self.reuse_port = backlog, reuse_port
        self.access_log = access_log
        self.ws_max_size, self.ws_max_queue = ws_max_size, ws_max_queue  # 10.2
        self.ws_ping_interval, self.ws_ping_timeout = ws_ping_interval, ws_ping_timeout
        self.log_access = False  # access_log, and INFO enabled: checked once per response
        self.loop: asyncio.AbstractEventLoop | None = None
        self.date = self.date_and_server = b""  # refreshed every TICK by _tick()
        self.ticker: asyncio.TimerHandle | None = None
        self.all_closed: asyncio.Future | None = None  # 9.4: set when the last connection closes
        self.accept_delay = ACCEPT_RETRY_DELAY  # 9.5: the back-off after EMFILE, doubled while it lasts

    async def start(self) -> None:
        """Bind, run the lifespan startup, then accept connections.

        Raises LifespanFailure (with the listener closed again) if the app refuses to start.
        """
        self.loop = asyncio.get_running_loop()
        self.log_access = self.access_log and logger.isEnabledFor(logging.INFO)
        # 9.5: not loop.create_server: its accept loop, on EMFILE, logs a traceback and
        # schedules a retry once per *backlog slot* (2048 here) each time (README, "Resilience").
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.listener = socket.create_server((self.host, self.port), family=family, backlog=self.backlog,
                                             reuse_port=self.reuse_port)
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()[:2]
        self._tick()
        try:
            await self.lifespan.startup()
        except BaseException:
            self.listener.close()  # a server whose app refused to start must not accept anyone
            self.ticker.cancel()
            raise
        self.loop.add_reader(self.listener.fileno(), self._accept)

    # 9.5 Resilience: the accept loop
    def _accept(self) -> None:
        for _ in range(ACCEPT_BURST):
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                self.accept_delay = ACCEPT_RETRY_DELAY  # the queue is empty: all is well again
                return
            except OSError as error:
                if error.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    logger.warning("accept() failed: %s", error)  # e.g. ECONNABORTED: that client is gone
                    continue
                # Out of descriptors or memory: accept() would fail again at once and the
                # listener stays readable, so retrying now is a busy loop. Step back.
                logger.error("Out of resources (%s); not accepting for %.2f s", error.strerror, self.accept_delay)
                self.loop.remove_reader(self.listener.fileno())
                self.loop.call_later(self.accept_delay, self._resume_accepting)
                self.accept_delay = min(self.accept_delay * 2, MAX_ACCEPT_RETRY_DELAY)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.loop.create_task(self.loop.connect_accepted_socket(self._make_protocol, sock))

    def _resume_accepting(self) -> None:
        if not self.stopping:
            self.loop.add_reader(self.listener.fileno(), self._accept)

    def _make_protocol(self) -> HttpProtocol:
        return HttpProtocol(self)

    def _tick(self) -> None:
        self.date = http_date()
        self.date_and_server = b"date: %s\r\nserver: %s\r\n" % (self.date, SERVER_NAME)
        self.ticker = self.loop.call_later(TICK, self._tick)

    async def serve_forever(self) -> None:
        """Wait until shutdown() has finished."""
        await self.stopped.wait()

    def connection_closed(self) -> None:
        """Called by every connection as it closes."""
        if self.stopping and not self.connections and self.all_closed is not None and not self.all_closed.done():
            self.all_closed.set_result(None)

    async def shutdown(self) -> None:
        """Stop accepting; let in-flight requests finish (up to timeout_graceful_shutdown);
        then close what is left, end the app calls, and run the lifespan shutdown.

        Safe to call more than once; a second call waits for the first.
        """
        if self.listener is None or self.stopping:
            return await self.stopped.wait()
        self.stopping = True
        self.loop.remove_reader(self.listener.fileno())
        self.listener.close()  # no new connections from here on
        self.all_closed = self.loop.create_future()
        for conn in list(self.connections):
            conn.shut_down()
        if self.connections:
            logger.info("Waiting up to %g s for %d connection(s) to finish", self.timeout_graceful_shutdown,
                        len(self.connections))
            try:
                await asyncio.wait_for(asyncio.shield(self.all_closed), self.timeout_graceful_shutdown)
            except asyncio.TimeoutError:
                logger.warning("Grace period over: closing %d connection(s)", len(self.connections))
        for task in list(self.tasks):
            task.cancel()  # run_asgi answers 503 if the response has not started
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for conn in list(self.connections):
            conn.transport.close()
        await self.lifespan.shutdown()
        self.ticker.cancel()
        self.stopped.set()


def run(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1, **options: Any) -> int:
    """Serve `app` until SIGINT or SIGTERM; returns the exit status (3: the app refused to start).

    `options` are Server's keyword arguments; workers > 1 runs that many processes (9.6).
    """
    if workers <= 1:
        return asyncio.run(_serve(Server(app, host, port, **options)))
    return run_workers(app, host, port, workers, options)


async def _serve(server: Server, banner: bool = True) -> int:
    try:
        await server.start()
    except LifespanFailure as error:
        logger.error("The app did not start: %s", error)
        return 3
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    host, port = server.address
    if banner:
        print(f"Serving on http://{host}:{port} (press Ctrl-C to stop)", flush=True)
    await stop.wait()
    print(f"Shutting down (pid {os.getpid()}): waiting up to {server.timeout_graceful_shutdown:g} s "
          "for requests in flight", flush=True)
    await server.shutdown()
    return 0


# 9.6 Workers
def run_workers(app: ASGIApp, host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Fork `workers` processes that each listen on host:port with SO_REUSEPORT; replace
    any that dies; on SIGINT or SIGTERM, pass SIGTERM on and wait for all. Returns 0
    (3 if a worker's app refused to start: starting more would fail the same way)."""
    # The supervisor holds a bound (not listening) SO_REUSEPORT socket: port 0 becomes
    # one real port that every worker then binds too, and no other program can take it.
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    port = holder.getsockname()[1]
    print(f"Serving on http://{host}:{port} with {workers} workers (press Ctrl-C to stop)", flush=True)
    # Signals are blocked and then waited for with sigwait: no handler runs at an
    # awkward moment, and a SIGCHLD that arrives while we fork is not lost.
    watched = {signal.SIGCHLD, signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    children: set[int] = set()
    status = 0
    try:
        for _ in range(workers):
            children.add(_fork_worker(app, host, port, options, holder))
        while status == 0:
            if signal.sigwait(watched) != signal.SIGCHLD:
                break
            for pid, code in _reap():
                children.discard(pid)  # every worker reaped, also those after a refusal: no kill() of a gone pid
                if code == 3:
                    status = 3  # its app refused to start: a new worker's app would too
                elif status == 0:
                    print(f"Worker {pid} exited ({code}); starting another", flush=True)
                    children.add(_fork_worker(app, host, port, options, holder))
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)
    finally:
        holder.close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, watched)
    return status


def _fork_worker(app: ASGIApp, host: str, port: int, options: dict[str, Any], holder: socket.socket) -> int:
    pid = os.fork()
    if pid:
        print(f"Worker {pid} started", flush=True)
        return pid
    status = 1
    try:  # the child: never return into the supervisor's loop
        holder.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        options = {**options, "reuse_port": True}
        status = asyncio.run(_serve(Server(app, host, port, **options), banner=False))
    except BaseException:
        logger.exception("Worker %d failed", os.getpid())
    finally:
        sys.stdout.flush()
        os._exit(status)


def _reap() -> list[tuple[int, int]]:
    """(pid, exit status) of every child that has ended; a signal's death counts as 128 + signal."""
    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        ended.append((pid, code))


def import_app(spec: str) -> ASGIApp:
    """The object named by "package.module:attribute" (like uvicorn's APP argument)."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(f'expected "module:attribute", e.g. "examples.hello:app"; got {spec!r}')
    app: Any = importlib.import_module(module_name)
    for name in attribute.split("."):
        try:
            app = getattr(app, name)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r}") from None
    return app


def main(argv: list[str] | None = None) -> int:
    """The command line: python server.py module:app [--host H] [--port P] [options]; --help lists them."""
    parser = argparse.ArgumentParser(description="Serve an ASGI app with the lesson 10 server.")
    parser.add_argument("app", help='where the app is, as "module:attribute", e.g. examples.fastapi_app:app')
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind, 0 for any free one (default: 8000)")
    parser.add_argument("--lifespan", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--app-dir", default=".", help="folder to import the app from (default: the current one)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes, with SO_REUSEPORT (default: 1)")
    parser.add_argument("--timeout-keep-alive", type=float, default=TIMEOUT_KEEP_ALIVE, metavar="S")
    parser.add_argument("--timeout-request-head", type=float, default=TIMEOUT_REQUEST_HEAD, metavar="S")
    parser.add_argument("--timeout-request-body", type=float, default=TIMEOUT_REQUEST_BODY, metavar="S")
    parser.add_argument("--timeout-send", type=float, default=TIMEOUT_SEND, metavar="S")
    parser.add_argument("--timeout-graceful-shutdown", type=float, default=TIMEOUT_GRACEFUL_SHUTDOWN, metavar="S")
    parser.add_argument("--limit-concurrency", type=int, default=None, metavar="N")
    parser.add_argument("--max-header-bytes", type=int, default=MAX_HEADER_BYTES, metavar="N")
    parser.add_argument("--max-body-bytes", type=int, default=None, metavar="N")
    parser.add_argument("--backlog", type=int, default=BACKLOG, metavar="N")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument("--ws-max-size", type=int, default=WS_MAX_SIZE, metavar="N")  # 10.2
    parser.add_argument("--ws-max-queue", type=int, default=WS_MAX_QUEUE, metavar="N")
    parser.add_argument("--ws-ping-interval", type=float, default=WS_PING_INTERVAL, metavar="S")
    parser.add_argument("--ws-ping-timeout", type=float, default=WS_PING_TIMEOUT, metavar="S")
    args = parser.parse_args(argv)
    options = {name: getattr(args, name) for name in (
        "lifespan", "timeout_keep_alive", "timeout_request_head", "timeout_request_body", "timeout_send",
        "timeout_graceful_shutdown", "limit_concurrency", "max_header_bytes", "max_body_bytes", "backlog",
        "access_log", "ws_max_size", "ws_max_queue", "ws_ping_interval", "ws_ping_timeout")}
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    sys.path.insert(0, os.path.abspath(args.app_dir))
    try:
        app = import_app(args.app)
    except (ImportError, ValueError) as error:
        print(f"Could not load the app {args.app!r}: {error}", file=sys.stderr)
        return 1
    return run(app, args.host, args.port, workers=args.workers, **options)


if __name__ == "__main__":
    sys.exit(main())
# END EXERCISE
