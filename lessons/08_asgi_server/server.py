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
        # TODO: exercise 8.3
        raise NotImplementedError("Exercise 8.3: keep the data for receive(), and wake it.")

    def end_of_body(self) -> None:
        # TODO: exercise 8.3
        raise NotImplementedError("Exercise 8.3: note that the body is complete, and wake receive().")

    def disconnect(self) -> None:
        # TODO: exercise 8.3
        raise NotImplementedError("Exercise 8.3: note that the client is gone, and wake receive().")

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
            # TODO: exercise 8.6
            raise NotImplementedError("Exercise 8.6: the app crashed: answer 500 if no response has started, else close.")
            return
        if self.state is not Response.DONE and not self.disconnected:
            logger.error("The ASGI application returned without completing its response")
            self.fail(500)

    def fail(self, status: int) -> None:
        """Answer `status` and close, if the response has not started; otherwise just close."""
        # TODO: exercise 8.6
        raise NotImplementedError("Exercise 8.6: send a short text response with this status (and Connection: close), then close.")

    async def receive(self) -> Message:
        """The next message for the app.

        http.request messages carry the body as it arrives (more_body=True until the
        last); after that, receive() waits and returns http.disconnect once the response
        is complete or the client has gone, whichever comes first.
        """
        # TODO: exercise 8.3
        raise NotImplementedError("Exercise 8.3: hand over the body as it arrives; then wait for the end of the response or the client.")

    async def send(self, message: Message) -> None:
        """Write one message of the response; raises ClientDisconnected if the client is gone.

        Legal order: one http.response.start, then http.response.body until more_body
        is False. Anything else is the app's bug and raises RuntimeError.
        """
        # TODO: exercise 8.4
        raise NotImplementedError("Exercise 8.4: check the message against self.state, then start the response or send body.")

    def _start_response(self, message: Message) -> None:
        """Write the status line and headers: the app's, plus date, server, and the framing's."""
        # TODO: exercise 8.4
        raise NotImplementedError("Exercise 8.4: choose the framing, add the headers the server owes, write the head, move to BODY.")
        logger.info('%s:%d - "%s %s HTTP/%s" %d', *self.scope["client"], self.scope["method"],
                    self.scope["path"], self.scope["http_version"], status)

    def _choose_framing(self, status: int, headers: list[tuple[bytes, bytes]]) -> Framing:
        """How this response's body is delimited; sets bytes_left, and keep_alive for CLOSE."""
        # TODO: exercise 8.4
        raise NotImplementedError("Exercise 8.4: apply RFC 9112 §6.3: no body, the app's Content-Length, chunked, or (HTTP/1.0) close.")

    def _send_body(self, message: Message) -> None:
        """Write one piece of the body, framed; on the last piece, report the response complete."""
        # TODO: exercise 8.4
        raise NotImplementedError("Exercise 8.4: frame the body for self.framing, write it, and on more_body=False finish the response.")


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
        # TODO: exercise 8.2
        raise NotImplementedError("Exercise 8.2: keep the transport and both addresses, and join the server's connections.")

    def data_received(self, data: bytes) -> None:
        # TODO: exercise 8.2
        raise NotImplementedError("Exercise 8.2: feed the parser, going on after an Upgrade request; a parse error or a BadRequest goes to bad_request().")

    def connection_lost(self, exc: Exception | None) -> None:
        # TODO: exercise 8.2
        raise NotImplementedError("Exercise 8.2: leave the server's connections; tell the running cycle the client is gone.")

    # Parser callbacks (httptools calls them from inside feed_data)
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url += url  # may come in pieces when the request line spans two reads

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        # TODO: exercise 8.2
        raise NotImplementedError("Exercise 8.2: check the head, build the scope, make a RequestCycle, queue it, and run it if nothing is running.")

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
        # TODO: exercise 8.2
        raise NotImplementedError("Exercise 8.2: return the scope with every key the ASGI HTTP spec defines.")

    # Running requests in order
    def _run_next(self) -> None:
        # TODO: exercise 8.2
        raise NotImplementedError("Exercise 8.2: start the app for the oldest queued cycle in a task, or mark the connection idle.")

    def response_complete(self, cycle: RequestCycle) -> None:
        """Called by a cycle once the last byte of its response is written."""
        # TODO: exercise 8.5
        raise NotImplementedError("Exercise 8.5: close unless the connection can carry another request; else run the next one.")

    def bad_request(self, reason: str, status: int = 400) -> None:
        """The request must be refused: queue `status` after the requests before it, then close."""
        logger.info("Bad request from %s (%d): %s", self.client, status, reason)
        # TODO: exercise 8.6
        raise NotImplementedError("Exercise 8.6: stop reading; queue a cycle that runs error_app(status) (or answer for a broken running one).")


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
        # TODO: exercise 8.7
        raise NotImplementedError("Exercise 8.7: start the app with the lifespan scope in a task, send lifespan.startup, await the outcome.")

    async def shutdown(self) -> None:
        """Run the app's shutdown (if startup ran) and wait for the lifespan call to end."""
        # TODO: exercise 8.7
        raise NotImplementedError("Exercise 8.7: send lifespan.shutdown, await the app's answer, then its task.")

    async def _run(self, scope: Scope) -> None:
        """The app's lifespan call, in its own task; settles `started` and `stopped` whatever happens."""
        # TODO: exercise 8.7
        raise NotImplementedError('Exercise 8.7: await the app with inbox.get and _send; in auto mode, a crash or a return before startup means "unsupported".')

    async def _send(self, message: Message) -> None:
        """The lifespan `send`: each message settles the startup or the shutdown future."""
        # TODO: exercise 8.7
        raise NotImplementedError("Exercise 8.7: map startup.complete/failed and shutdown.complete/failed onto the two futures.")

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
        # TODO: exercise 8.1
        raise NotImplementedError("Exercise 8.1: create the listener (one HttpProtocol per connection), run the startup, start serving.")

    async def serve_forever(self) -> None:
        """Wait until shutdown() has finished."""
        # TODO: exercise 8.1
        raise NotImplementedError("Exercise 8.1: wait for the stopped event.")

    async def shutdown(self) -> None:
        """Stop accepting, close every connection, end the app calls, run the lifespan shutdown.

        Safe to call more than once. (Lesson 09 lets in-flight requests finish first.)
        """
        # TODO: exercise 8.1
        raise NotImplementedError("Exercise 8.1: close the listener and every connection, cancel the app tasks, run the lifespan shutdown.")


def run(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000, *, lifespan: str = "auto") -> int:
    """Serve `app` until Ctrl-C or SIGTERM; returns the exit status (3: the app refused to start)."""
    # TODO: exercise 8.8
    raise NotImplementedError("Exercise 8.8: run a Server in asyncio.run, print where it listens, and shut down on SIGINT/SIGTERM.")


async def _serve(server: Server) -> int:
    # TODO: exercise 8.8
    raise NotImplementedError("Exercise 8.8: start (3 if the app refuses), print the address, wait for a signal, shut down.")


def import_app(spec: str) -> ASGIApp:
    """The object named by "package.module:attribute" (like uvicorn's APP argument)."""
    # TODO: exercise 8.8
    raise NotImplementedError("Exercise 8.8: split at the colon, import the module, and follow the attribute path.")


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
