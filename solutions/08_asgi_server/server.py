"""Lesson 08: an ASGI server on asyncio and httptools that runs FastAPI.

What you build
--------------
`Server(app, host, port, lifespan=...)`: asyncio accepts the connections, httptools
parses the requests, and every request becomes one call of an ASGI 3 application,
`await app(scope, receive, send)`. Starlette and FastAPI apps run on it unchanged.

    8.1  Server.start / serve_forever / shutdown: listen, and stop cleanly.
    8.2  HttpProtocol: wire the parser's callbacks into a scope and a queue of requests.
    8.3  RequestCycle.receive: the request body in pieces, 100 Continue, http.disconnect.
    8.4  RequestCycle.send: the response head and its framing (Content-Length, chunked, none).
    8.5  HttpProtocol.response_complete: keep-alive, pipelining, HTTP/1.0.
    8.6  Errors: a 400 for a malformed request, a 500 when the app fails before answering.
    8.7  Lifespan: startup before serving, shutdown after, a clean refusal when startup fails.
    8.8  The command line: `python server.py module:app --host 127.0.0.1 --port 8000`.

Run the tests: `make test-lesson 8`. Try it: `make demo-lesson 8`, then curl.

How this works
--------------
asyncio owns the sockets: it accepts, reads when data is there, and writes what we
hand to `transport.write()` as fast as the peer takes it. We never call a socket
method here. Three classes, each owning one level of state:

- `Server`: what every connection shares (the app, the lifespan state, the set of
  open connections and running app tasks, so shutdown can reach them).
- `HttpProtocol`: one per TCP connection. asyncio calls its *protocol interface*
  (connection_made, data_received, connection_lost); it feeds the bytes to its own
  httptools parser, which calls its *parser callbacks* (on_url, on_header, ...).
  Per-connection state lives here and nowhere else: two clients never share a
  parser, a header list or a body.
- `RequestCycle`: one per request. It holds the scope and the request body that has
  arrived, and it is where the app's `receive` and `send` lead (the *ASGI interface*).

Rules:
1. Callbacks never block: data_received parses and wakes tasks; the app runs in a task.
2. One app call at a time per connection. Requests that arrive while one runs wait
   in `pipeline`, so responses leave in the order the requests came (RFC 9112 §9.3.2).
3. The response side of a cycle is one state field, `RequestCycle.state`
   (START -> BODY -> DONE); `send()` checks every message against it.
4. Each resource has one owner that closes it: the protocol closes its transport,
   the server closes its listener, the lifespan awaits its task.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import enum
import importlib
import logging
import os
import signal
import sys
from collections import deque
from typing import Any, Awaitable, Callable
from urllib.parse import unquote

import httptools

from http11 import LAST_CHUNK, BadRequest, check_head, chunk, reason_phrase, response_head

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("lesson08")

SERVER_NAME = b"sockets-to-asgi"
# Spec version 2.4 promises that send() raises an OSError once the client is gone
# (ASGI HTTP spec, "Disconnected Client - Send Exception"); Starlette relies on it
# to stop a streaming response instead of polling receive() for http.disconnect.
ASGI_HTTP = {"version": "3.0", "spec_version": "2.4"}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
DISCONNECT: Message = {"type": "http.disconnect"}
NO_BODY_STATUSES = (204, 304)  # and every 1xx: RFC 9112 §6.3, rule 1


class ClientDisconnected(OSError):
    """send() after the client has gone: the app should stop producing the response."""


class LifespanFailure(RuntimeError):
    """The app refused to start (lifespan.startup.failed, or it crashed with lifespan="on")."""


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


def error_app(status: int) -> ASGIApp:
    """An app that answers `status` with a short text body: how the server refuses a request.

    The server runs it like any app, so the refusal waits its turn behind the
    responses owed to the requests before it.
    """
    body = f"{status} {reason_phrase(status)}\n".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body))]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    return app


class RequestCycle:
    """One request and its response. The app's `receive` and `send` are its methods."""

    def __init__(self, conn: HttpProtocol, scope: Scope, app: ASGIApp, *, keep_alive: bool,
                 expect_continue: bool) -> None:
        self.conn = conn  # owns the transport; told when the response is complete
        self.scope = scope
        self.app = app
        self.keep_alive = keep_alive  # may the connection carry another request after this one?
        self.disconnected = False  # the client has gone: receive() says so, send() raises
        self.wake = asyncio.Event()  # set whenever something receive() may be waiting for happens
        # Request side
        self.body = bytearray()  # arrived, not yet handed to the app
        self.body_complete = False  # the parser has seen the end of this request
        self.body_delivered = False  # the app has had more_body=False
        self.expect_continue = expect_continue  # a 100 Continue is owed before the first read
        # Response side
        self.state = Response.START
        self.framing = Framing.NONE
        self.bytes_left = 0  # Framing.LENGTH: body bytes the Content-Length still promises

    # Told by the protocol
    def body_received(self, data: bytes) -> None:
        # EXERCISE 8.3: keep the data for receive(), and wake it.
        self.body += data
        self.expect_continue = False  # the client did not wait for a 100: no need to send one
        self.wake.set()
        # END EXERCISE

    def end_of_body(self) -> None:
        # EXERCISE 8.3: note that the body is complete, and wake receive().
        self.body_complete = True
        self.wake.set()
        # END EXERCISE

    def disconnect(self) -> None:
        # EXERCISE 8.3: note that the client is gone, and wake receive().
        self.disconnected = True
        self.wake.set()
        # END EXERCISE

    async def _wait_until(self, condition: Callable[[], bool]) -> None:
        # Every suspension of receive() goes through here: check, sleep until woken, check again.
        while not condition():
            self.wake.clear()
            await self.wake.wait()

    # ASGI interface
    async def run_asgi(self) -> None:
        """Call the app once; whatever happens, the connection is left answered or closed."""
        try:
            await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            return  # the client left mid-response: nobody to tell
        except Exception:
            logger.exception("Exception in ASGI application (%s %s)", self.scope["method"], self.scope["path"])
            # EXERCISE 8.6: the app crashed: answer 500 if no response has started, else close.
            self.fail(500)
            # END EXERCISE
            return
        if self.state is not Response.DONE and not self.disconnected:
            logger.error("The ASGI application returned without completing its response")
            self.fail(500)

    def fail(self, status: int) -> None:
        """Answer `status` and close, if the response has not started; otherwise just close."""
        # EXERCISE 8.6: send a short text response with this status (and Connection: close), then close.
        if self.state is Response.START and not self.disconnected:
            self.keep_alive = False  # a failed request leaves the connection in an unknown state
            body = f"{status} {reason_phrase(status)}\n".encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body))]
            self._start_response({"type": "http.response.start", "status": status, "headers": headers})
            self._send_body({"type": "http.response.body", "body": body})
        self.conn.transport.close()
        # END EXERCISE

    async def receive(self) -> Message:
        """The next message for the app.

        http.request messages carry the body as it arrives (more_body=True until the
        last); after that, receive() waits and returns http.disconnect once the response
        is complete or the client has gone, whichever comes first.
        """
        # EXERCISE 8.3: hand over the body as it arrives; then wait for the end of the response or the client.
        if self.body_delivered:
            await self._wait_until(lambda: self.disconnected or self.state is Response.DONE)
            return DISCONNECT
        if self.expect_continue:  # RFC 9110 §10.1.1: the client waits for this before sending the body
            self.expect_continue = False
            self.conn.transport.write(CONTINUE)
        await self._wait_until(lambda: self.body or self.body_complete or self.disconnected
                               or self.state is Response.DONE)
        if self.disconnected or self.state is Response.DONE:
            return DISCONNECT
        body, more_body = bytes(self.body), not self.body_complete
        self.body.clear()
        self.body_delivered = not more_body
        return {"type": "http.request", "body": body, "more_body": more_body}
        # END EXERCISE

    async def send(self, message: Message) -> None:
        """Write one message of the response; raises ClientDisconnected if the client is gone.

        Legal order: one http.response.start, then http.response.body until more_body
        is False. Anything else is the app's bug and raises RuntimeError.
        """
        # EXERCISE 8.4: check the message against self.state, then start the response or send body.
        if self.disconnected:
            raise ClientDisconnected(f"the client went away before {message['type']!r} could be sent")
        kind = message["type"]
        if self.state is Response.START and kind == "http.response.start":
            self._start_response(message)
        elif self.state is Response.BODY and kind == "http.response.body":
            self._send_body(message)
        else:
            raise RuntimeError(f"ASGI message {kind!r} is not allowed while the response is {self.state.value}")
        # END EXERCISE

    def _start_response(self, message: Message) -> None:
        """Write the status line and headers: the app's, plus date, server, and the framing's."""
        # EXERCISE 8.4: choose the framing, add the headers the server owes, write the head, move to BODY.
        status = message["status"]
        headers = [(bytes(name).lower(), bytes(value)) for name, value in message.get("headers", ())]
        names = {name for name, _ in headers}
        if (b"connection", b"close") in headers:
            self.keep_alive = False
        self.framing = self._choose_framing(status, headers)
        extra = [] if b"date" in names else [(b"date", http_date())]  # RFC 9110 §6.6.1: an origin server must send it
        if b"server" not in names:
            extra.append((b"server", SERVER_NAME))
        if self.framing is Framing.CHUNKED and b"transfer-encoding" not in names:
            extra.append((b"transfer-encoding", b"chunked"))
        if not self.keep_alive and b"connection" not in names:
            extra.append((b"connection", b"close"))  # RFC 9112 §9.6: say so before closing
        self.conn.transport.write(response_head(status, headers + extra))
        self.state = Response.BODY
        self.expect_continue = False  # a final response replaces the 100 Continue
        # END EXERCISE
        logger.info('%s:%d - "%s %s HTTP/%s" %d', *self.scope["client"], self.scope["method"],
                    self.scope["path"], self.scope["http_version"], status)

    def _choose_framing(self, status: int, headers: list[tuple[bytes, bytes]]) -> Framing:
        """How this response's body is delimited; sets bytes_left, and keep_alive for CLOSE."""
        # EXERCISE 8.4: apply RFC 9112 §6.3: no body, the app's Content-Length, chunked, or (HTTP/1.0) close.
        # In the RFC's order: no body for HEAD, 1xx, 204 and 304; else the app's
        # Content-Length; else chunked, which an HTTP/1.0 client cannot read (§7.1),
        # so for it the end of the body is the end of the connection.
        if self.scope["method"] == "HEAD" or status < 200 or status in NO_BODY_STATUSES:
            return Framing.NONE
        lengths = [value for name, value in headers if name == b"content-length"]
        if lengths:
            self.bytes_left = int(lengths[0])
            return Framing.LENGTH
        if self.scope["http_version"] == "1.0":
            self.keep_alive = False
            return Framing.CLOSE
        return Framing.CHUNKED
        # END EXERCISE

    def _send_body(self, message: Message) -> None:
        """Write one piece of the body, framed; on the last piece, report the response complete."""
        # EXERCISE 8.4: frame the body for self.framing, write it, and on more_body=False finish the response.
        body, more_body = message.get("body", b""), message.get("more_body", False)
        if self.framing is Framing.CHUNKED:
            # One write per message: the chunk and, on the last message, the end marker.
            data = (chunk(body) if body else b"") + (b"" if more_body else LAST_CHUNK)
        elif self.framing is Framing.LENGTH:
            if len(body) > self.bytes_left:
                raise RuntimeError(f"the app sent {len(body)} body bytes; its Content-Length allows {self.bytes_left} more")
            self.bytes_left -= len(body)
            data = body
        else:
            data = body if self.framing is Framing.CLOSE else b""  # HEAD, 1xx, 204, 304: drop what the app sent
        if data:
            self.conn.transport.write(data)
        if more_body:
            return
        if self.framing is Framing.LENGTH and self.bytes_left:
            raise RuntimeError(f"the response ended {self.bytes_left} bytes short of its Content-Length")
        self.state = Response.DONE
        self.wake.set()  # a receive() waiting for the end of the response returns http.disconnect
        self.conn.response_complete(self)
        # END EXERCISE


class HttpProtocol(asyncio.Protocol):
    """One TCP connection: its parser, its requests in order, and its transport."""

    def __init__(self, server: Server) -> None:
        self.shared = server  # app, lifespan state, connection and task sets
        # Per-connection state
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.pipeline: deque[RequestCycle] = deque()  # parsed, waiting for the request before them
        self.running: RequestCycle | None = None  # the cycle whose app is running (or answering)
        self.parsing: RequestCycle | None = None  # the cycle whose body the parser is reading
        # Per-request state, while the parser reads a request head
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []

    # Protocol interface
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # EXERCISE 8.2: keep the transport and both addresses, and join the server's connections.
        self.transport = transport
        self.client = transport.get_extra_info("peername")[:2]
        self.server = transport.get_extra_info("sockname")[:2]
        self.shared.connections.add(self)
        if self.shared.stopping:  # accepted just as shutdown() began: it will not see this one
            transport.close()
        # END EXERCISE

    def data_received(self, data: bytes) -> None:
        # EXERCISE 8.2: feed the parser, going on after an Upgrade request; a parse error or a BadRequest goes to bad_request().
        while data:
            try:
                self.parser.feed_data(data)
                return
            except httptools.HttpParserUpgrade as upgrade:
                # llhttp stops after a request with `Upgrade:` (or CONNECT), for us to switch
                # protocols. We speak no other protocol, and RFC 9110 §7.8 lets a server ignore
                # Upgrade: that request was served as plain HTTP, and the bytes after it
                # (args[0] is where they start) are the next request.
                data = data[upgrade.args[0]:]
            except httptools.HttpParserCallbackError as error:
                # A callback of ours raised. BadRequest, or httptools refusing the URL
                # (parse_url), is the client's fault; anything else is a bug of ours,
                # which must not pass for a 400.
                cause = error.__context__
                if not isinstance(cause, (BadRequest, httptools.HttpParserError)):
                    raise
                self.bad_request(str(cause), getattr(cause, "status", 400))
                return
            except httptools.HttpParserError as error:
                self.bad_request(str(error))
                return
        # END EXERCISE

    def connection_lost(self, exc: Exception | None) -> None:
        # EXERCISE 8.2: leave the server's connections; tell the running cycle the client is gone.
        self.shared.connections.discard(self)
        if self.running is not None:
            self.running.disconnect()
        self.pipeline.clear()  # requests that never started have nobody to answer
        # END EXERCISE

    # Parser callbacks (httptools calls them from inside feed_data)
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url += url  # may come in pieces when the request line spans two reads

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        # EXERCISE 8.2: check the head, build the scope, make a RequestCycle, queue it, and run it if nothing is running.
        http_version = self.parser.get_http_version()
        check_head(http_version, self.headers)  # a BadRequest raised here reaches data_received
        if self.parser.should_upgrade() and self.declares_body():
            # llhttp skips the body of an Upgrade or CONNECT request (the other protocol
            # would own those bytes), so we would read it as the next request: refuse.
            raise BadRequest("an Upgrade or CONNECT request with a body")
        expect = any(name == b"expect" and value.lower() == b"100-continue" for name, value in self.headers)
        cycle = RequestCycle(
            self, self.build_scope(http_version), self.shared.app,
            # HTTP/1.0 connections close after one response; keep-alive there is an old
            # extension (RFC 9112 appendix C.2.2) this server does not offer.
            keep_alive=http_version == "1.1" and self.parser.should_keep_alive(),
            expect_continue=expect and http_version == "1.1",  # RFC 9110 §10.1.1: ignore it from 1.0
        )
        self.parsing = cycle
        self.pipeline.append(cycle)
        if self.running is None:
            self._run_next()
        # END EXERCISE

    def on_body(self, body: bytes) -> None:
        self.parsing.body_received(body)

    def on_message_complete(self) -> None:
        if self.parsing is not None:  # None after a bad request, which has no cycle
            self.parsing.end_of_body()
            self.parsing = None

    def declares_body(self) -> bool:
        """Does the request head just parsed announce a body (RFC 9112 §6.3)?"""
        return any(name == b"transfer-encoding" or (name == b"content-length" and value != b"0")
                   for name, value in self.headers)

    def build_scope(self, http_version: str) -> Scope:
        """The ASGI HTTP connection scope for the request whose head was just parsed."""
        # EXERCISE 8.2: return the scope with every key the ASGI HTTP spec defines.
        url = httptools.parse_url(self.url)
        return {
            "type": "http",
            "asgi": dict(ASGI_HTTP),
            "http_version": http_version,
            "method": self.parser.get_method().decode("ascii"),
            "scheme": "http",
            "path": unquote(url.path.decode("latin-1")),  # %-escapes decode as UTF-8
            "raw_path": url.path,
            "query_string": url.query or b"",
            "root_path": "",
            "headers": self.headers,
            "client": self.client,
            "server": self.server,
            # A shallow copy per request of what the lifespan startup stored (ASGI lifespan spec).
            "state": dict(self.shared.lifespan.state),
        }
        # END EXERCISE

    # Running requests in order
    def _run_next(self) -> None:
        # EXERCISE 8.2: start the app for the oldest queued cycle in a task, or mark the connection idle.
        if not self.pipeline:
            self.running = None
            return
        self.running = self.pipeline.popleft()
        task = asyncio.get_running_loop().create_task(self.running.run_asgi())
        self.shared.tasks.add(task)  # a strong reference, and something for shutdown to cancel
        task.add_done_callback(self.shared.tasks.discard)
        # END EXERCISE

    def response_complete(self, cycle: RequestCycle) -> None:
        """Called by a cycle once the last byte of its response is written."""
        # EXERCISE 8.5: close unless the connection can carry another request; else run the next one.
        if not cycle.keep_alive or not cycle.body_complete or self.transport.is_closing():
            # The client asked to close, or the app answered before the request body ended:
            # the next bytes on this connection would be body, not a request, so stop here.
            self.transport.close()
            return
        self._run_next()
        # END EXERCISE

    def bad_request(self, reason: str, status: int = 400) -> None:
        """The request must be refused: queue `status` after the requests before it, then close."""
        logger.info("Bad request from %s (%d): %s", self.client, status, reason)
        # EXERCISE 8.6: stop reading; queue a cycle that runs error_app(status) (or answer for a broken running one).
        self.transport.pause_reading()  # nothing after a malformed byte can be trusted
        broken, self.parsing = self.parsing, None  # a request whose body can never complete
        if broken is not None and broken is self.running:
            broken.fail(status)
            broken.disconnect()  # its app sees http.disconnect and stops
            return
        if broken is not None:
            self.pipeline.remove(broken)  # it never started: forget it
        scope = {"type": "http", "method": "GET", "path": "", "http_version": "1.1", "client": self.client}
        self.pipeline.append(RequestCycle(self, scope, error_app(status), keep_alive=False, expect_continue=False))
        if self.running is None:
            self._run_next()
        # END EXERCISE


class Lifespan:
    """Runs the app's lifespan protocol: startup before serving, shutdown after."""

    def __init__(self, app: ASGIApp, mode: str) -> None:
        self.app = app
        self.mode = mode  # "on": the app must support it; "auto": fine if it does not; "off": skip
        self.state: dict[str, Any] = {}  # what the app keeps for its requests (scope["state"])
        self.inbox: asyncio.Queue[Message] | None = None  # what the app's receive() returns next
        self.started: asyncio.Future | None = None  # None: started; LifespanFailure: refused
        self.stopped: asyncio.Future | None = None
        self.task: asyncio.Task | None = None
        self.supported = True  # "auto" turns this off when the app rejects the lifespan scope

    async def startup(self) -> None:
        """Run the app's startup; raises LifespanFailure if it fails (or, with "on", crashes)."""
        # EXERCISE 8.7: start the app with the lifespan scope in a task, send lifespan.startup, await the outcome.
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
            # The spec says the server should exit now: end the lifespan call, whatever it is doing.
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
            raise
        # END EXERCISE

    async def shutdown(self) -> None:
        """Run the app's shutdown (if startup ran) and wait for the lifespan call to end."""
        # EXERCISE 8.7: send lifespan.shutdown, await the app's answer, then its task.
        if self.task is None:
            return
        if self.supported and not self.task.done():
            await self.inbox.put({"type": "lifespan.shutdown"})
            try:
                await self.stopped
            except LifespanFailure as error:
                logger.error("%s", error)
        await self.task
        # END EXERCISE

    async def _run(self, scope: Scope) -> None:
        """The app's lifespan call, in its own task; settles `started` and `stopped` whatever happens."""
        # EXERCISE 8.7: await the app with inbox.get and _send; in auto mode, a crash or a return before startup means "unsupported".
        try:
            await self.app(scope, self.inbox.get, self._send)
        except Exception as error:
            if self.started.done() or self.mode == "on":
                logger.exception("Exception in the app's lifespan")
            else:  # "auto": an app that only speaks HTTP may reject the lifespan scope
                self.supported = False
                logger.info("The app does not support the lifespan protocol (%r); going on without it", error)
            self._settle(self.started, LifespanFailure(f"the app crashed during startup: {error!r}"))
        else:
            if not self.started.done() and self.mode == "auto":
                # `if scope["type"] != "http": return` is how many apps say they have no
                # lifespan: like uvicorn, serve them. With "on" it stays a failed startup.
                self.supported = False
                logger.info("The app returned from the lifespan call without starting up; going on without it")
        finally:
            # Whoever still waits must not wait forever for an app that has returned.
            self._settle(self.started, LifespanFailure("the app returned during startup"))
            self._settle(self.stopped, None)
        # END EXERCISE

    async def _send(self, message: Message) -> None:
        """The lifespan `send`: each message settles the startup or the shutdown future."""
        # EXERCISE 8.7: map startup.complete/failed and shutdown.complete/failed onto the two futures.
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
        # END EXERCISE

    def _settle(self, future: asyncio.Future, outcome: BaseException | None) -> None:
        # Resolve a future once: None is success, an exception is failure (success, when
        # "auto" found the app does not support lifespan at all).
        if future.done():
            return
        if outcome is None or not self.supported:
            future.set_result(None)
        else:
            future.set_exception(outcome)


class Server:
    """An ASGI 3 server on one address. Use from a running event loop:

        server = Server(app, "127.0.0.1", 0)
        await server.start()          # bound and serving; server.address is the real port
        await server.serve_forever()  # returns once shutdown() has finished
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, lifespan: str = "auto") -> None:
        if lifespan not in ("auto", "on", "off"):
            raise ValueError(f'lifespan must be "auto", "on" or "off", got {lifespan!r}')
        self.app = app
        self.host, self.port = host, port
        self.address: tuple[str, int] | None = None  # (host, port) once start() has bound
        self.lifespan = Lifespan(app, lifespan)
        # Shared by every connection
        self.connections: set[HttpProtocol] = set()
        self.tasks: set[asyncio.Task] = set()  # running app calls
        self.listener: asyncio.AbstractServer | None = None
        self.stopping = False  # shutdown() has begun: new connections are closed at once
        self.stopped = asyncio.Event()  # set when shutdown() is done

    async def start(self) -> None:
        """Bind, run the lifespan startup, then accept connections.

        Raises LifespanFailure (with the listener closed again) if the app refuses to start.
        """
        # EXERCISE 8.1: create the listener (one HttpProtocol per connection), run the startup, start serving.
        loop = asyncio.get_running_loop()
        self.listener = await loop.create_server(lambda: HttpProtocol(self), self.host, self.port,
                                                 start_serving=False)
        self.address = self.listener.sockets[0].getsockname()[:2]
        try:
            await self.lifespan.startup()
        except BaseException:
            self.listener.close()  # a server whose app refused to start must not accept anyone
            await self.listener.wait_closed()
            raise
        await self.listener.start_serving()
        # END EXERCISE

    async def serve_forever(self) -> None:
        """Wait until shutdown() has finished."""
        # EXERCISE 8.1: wait for the stopped event.
        await self.stopped.wait()
        # END EXERCISE

    async def shutdown(self) -> None:
        """Stop accepting, close every connection, end the app calls, run the lifespan shutdown.

        Safe to call more than once. (Lesson 09 lets in-flight requests finish first.)
        """
        # EXERCISE 8.1: close the listener and every connection, cancel the app tasks, run the lifespan shutdown.
        if self.listener is None or self.stopping:
            return await self.stopped.wait()
        self.stopping = True
        self.listener.close()
        for conn in list(self.connections):
            conn.transport.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.listener.wait_closed()
        await self.lifespan.shutdown()
        self.stopped.set()
        # END EXERCISE


def run(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000, *, lifespan: str = "auto") -> int:
    """Serve `app` until Ctrl-C or SIGTERM; returns the exit status (3: the app refused to start)."""
    # EXERCISE 8.8: run a Server in asyncio.run, print where it listens, and shut down on SIGINT/SIGTERM.
    return asyncio.run(_serve(Server(app, host, port, lifespan=lifespan)))
    # END EXERCISE


async def _serve(server: Server) -> int:
    # EXERCISE 8.8: start (3 if the app refuses), print the address, wait for a signal, shut down.
    try:
        await server.start()
    except LifespanFailure as error:
        logger.error("The app did not start: %s", error)
        return 3  # uvicorn's exit status for a failed startup
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    host, port = server.address
    print(f"Serving on http://{host}:{port} (press Ctrl-C to stop)", flush=True)
    await stop.wait()
    print("Shutting down", flush=True)
    await server.shutdown()
    return 0
    # END EXERCISE


def import_app(spec: str) -> ASGIApp:
    """The object named by "package.module:attribute" (like uvicorn's APP argument)."""
    # EXERCISE 8.8: split at the colon, import the module, and follow the attribute path.
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
    # END EXERCISE


def main(argv: list[str] | None = None) -> int:
    """The command line: python server.py module:app [--host H] [--port P] [--lifespan MODE]."""
    parser = argparse.ArgumentParser(description="Serve an ASGI app with the lesson 08 server.")
    parser.add_argument("app", help='where the app is, as "module:attribute", e.g. examples.fastapi_app:app')
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind, 0 for any free one (default: 8000)")
    parser.add_argument("--lifespan", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--app-dir", default=".", help="folder to import the app from (default: the current one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    # Like uvicorn's --app-dir: the module is looked up in this folder first. The server's
    # own folder is on sys.path too (Python puts a script's folder there), so
    # `python .../server.py examples.fastapi_app:app` works from anywhere.
    sys.path.insert(0, os.path.abspath(args.app_dir))
    try:
        app = import_app(args.app)
    except (ImportError, ValueError) as error:
        print(f"Could not load the app {args.app!r}: {error}", file=sys.stderr)
        return 1
    return run(app, args.host, args.port, lifespan=args.lifespan)


if __name__ == "__main__":
    sys.exit(main())
