"""Lesson 09: your lesson-08 server, hardened for production.

Start here
----------
This lesson starts from YOUR lesson-08 server, not from a blank file:

    make start-lesson 9

copies lessons/08_asgi_server/server.py (and http11.py) over the outline that
`make reset-lesson 9` gives you, and refuses if you have already changed lesson 09.
Then `make test-lesson 9`: the lesson-08 tests (exercise 9.0) pass at once, and
every other failure names the exercise to work on.

    9.0  Carry your lesson-08 server forward (make start-lesson 9); keep all its tests green.
    9.1  Timeouts: close idle keep-alive connections, request heads that trickle in,
         bodies that stop arriving, and clients that stop reading the response.
    9.2  Limits: 431 for a head over max_header_bytes (even one whose line never ends),
         413 for a body over max_body_bytes (without reading it), 503 beyond
         limit_concurrency connections; after a refusal, linger before closing.
    9.3  Flow control: stop reading while the app does not consume the body, or while
         the client pipelines requests and reads none of the answers; make send()
         wait while the client does not read. Memory stays bounded.
    9.4  Graceful shutdown on SIGTERM and SIGINT: stop accepting, finish what is in
         flight (within timeout_graceful_shutdown), run the lifespan shutdown, exit 0.
    9.5  Resilience: keep accepting after EMFILE; any bytes a client sends get an
         answer or a close, never a traceback and never a dead server.
    9.6  --workers N: N processes on one port (SO_REUSEPORT), a crashed one replaced,
         all stopped by one SIGTERM.

Server(app, host, port, *, lifespan, timeout_keep_alive, timeout_request_head,
timeout_request_body, timeout_send, max_header_bytes, max_body_bytes,
limit_concurrency, timeout_graceful_shutdown, backlog, reuse_port, access_log):
uvicorn's names where uvicorn has the setting.

How this works
--------------
The design is lesson 08's (Server / HttpProtocol / RequestCycle, one state field
per response); read that file's header first. What is new sits in methods of
their own under the comments `# 9.N ...`, called from the lesson-08 code at the
lines marked `# 9.N`. The rules they add:

1. Every wait has a bound. A connection waiting for bytes (a head, a body, the
   next request) has one `deadline` and at most one loop timer; the timer is
   re-armed lazily, only when it fires early, so a request costs a few float
   stores and no timer call. A client that does not read what we send has a
   second timer, armed only while writing is paused (9.1).
2. Every buffer has a bound: the head (max_header_bytes, counted in raw bytes
   too), the unread body (READ_HIGH_WATER, then pause_reading), the pipeline
   (PIPELINE_LIMIT: the parser is fed FEED_SLICE bytes at a time and stops when
   it is full; no pipelined request starts while the client is not reading), the
   unsent response (the transport's high-water mark, then send() waits) (9.2, 9.3).
3. A refusal is an answer: 400, 413, 431 and 503 are written like any response,
   after the responses already owed on that connection (9.2, 9.5); if the client
   may still be sending, the server lingers before it closes, so the answer is
   read and not lost to a reset (RFC 9112 §9.6). A timeout just closes (9.1).
4. Shutdown drains: the listener closes first, idle connections close, busy ones
   close after their last response, and only the grace period's end cancels (9.4).

The hot path (what `make bench` measures) stays short: one task per request and
no other allocation the request does not need, the response head and the first
body piece in one transport.write, Date and Server lines built once a second.
The lesson README shows the measurement behind each of these choices.
"""

from __future__ import annotations

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


class HttpProtocol(asyncio.Protocol):
    """One TCP connection: its parser, its requests in order, its transport, its deadline.

    Your lesson-08 protocol goes here (`make start-lesson 9`); the methods below
    are what lesson 09 adds to it, called from the lesson-08 code where it matters.
    """

    # 9.1 Timeouts
    def wait_for_bytes(self, seconds: float) -> None:
        """Give the client `seconds` from now to send what it owes (a head, a body, the next
        request); arm the timer if none is armed."""
        # TODO: exercise 9.1
        raise NotImplementedError("Exercise 9.1: Timeouts: set self.deadline; arm one timer (loop.call_at) unless one is armed no later.")

    def on_deadline(self) -> None:
        """The timer fired: close if the deadline has passed; re-arm if it moved; nothing if busy."""
        # TODO: exercise 9.1
        raise NotImplementedError("Exercise 9.1: close an idle or slow connection; a deadline that moved later means re-arm.")

    def on_send_timeout(self) -> None:
        """Writing has been paused for timeout_send: the client is not reading. Reset the connection."""
        # TODO: exercise 9.1
        raise NotImplementedError("Exercise 9.1: abort the connection (with a reset): close() would wait for a buffer that never drains.")

    # 9.2 Limits
    def over_limit_check(self) -> None:
        """Beyond limit_concurrency connections, this one's requests get 503 and a close."""
        # TODO: exercise 9.2
        raise NotImplementedError("Exercise 9.2: Limits: beyond limit_concurrency connections, answer this one's requests with service_unavailable_app.")

    def check_content_length(self) -> None:
        """Raise Rejected(413) if the head announces a body over max_body_bytes."""
        # TODO: exercise 9.2
        raise NotImplementedError("Exercise 9.2: find content-length in self.headers and raise Rejected(413, ...) when it is over the limit.")

    def count_open_head(self, size: int) -> None:
        """`size` more bytes of a head that is still open: refuse with 431 past max_header_bytes."""
        # TODO: exercise 9.2
        raise NotImplementedError("Exercise 9.2: add size to self.open_head_bytes; past max_header_bytes, reject with 431.")

    def close_after(self, cycle: RequestCycle) -> None:
        """The connection ends with `cycle`'s response: close, or linger if the client may still be sending."""
        # TODO: exercise 9.2
        raise NotImplementedError("Exercise 9.2: close; but after a refusal, or with the body not all read, linger instead.")

    def linger(self) -> None:
        """Close our side, read and drop what the client still sends for LINGER s, then close."""
        # TODO: exercise 9.2
        raise NotImplementedError("Exercise 9.2: write_eof(), drop what arrives from now on, read again, close after LINGER s.")

    # 9.3 Flow control
    def update_reading(self) -> None:
        """Pause or resume reading the socket, from every reason there is to stop."""
        # TODO: exercise 9.3
        raise NotImplementedError("Exercise 9.3: Flow control: pause reading while stop_reading, a full pipeline or an unread body says so; resume otherwise.")

    def feed_unparsed(self) -> None:
        """Parse what was read, FEED_SLICE bytes at a time, until the pipeline is full."""
        # TODO: exercise 9.3
        raise NotImplementedError("Exercise 9.3: feed slices of self.unparsed while the pipeline has room; keep the rest for later.")

    def run_next(self) -> None:
        """Start the next pipelined request, unless the client is not reading our answers."""
        # TODO: exercise 9.3
        raise NotImplementedError("Exercise 9.3: unless writing is paused (resume_writing() calls again), start the next request and parse more.")

    def pause_writing(self) -> None:
        # TODO: exercise 9.3
        raise NotImplementedError("Exercise 9.3: the transport's buffer is over its high-water mark: make send() wait, and start the send clock (9.1).")

    def resume_writing(self) -> None:
        # TODO: exercise 9.3
        raise NotImplementedError("Exercise 9.3: the buffer drained below its low-water mark: stop the send clock, wake the waiting send(), run the next request.")

    async def drain(self) -> None:
        """Wait until the client has read enough; raises ClientDisconnected if it leaves instead."""
        # TODO: exercise 9.3
        raise NotImplementedError("Exercise 9.3: await a future that resume_writing (or connection_lost) resolves.")

    # 9.4 Graceful shutdown
    def shut_down(self) -> None:
        """Shutdown has begun: close if idle; else close after the responses already owed."""
        # TODO: exercise 9.4
        raise NotImplementedError("Exercise 9.4: Graceful shutdown: close an idle connection now; for a busy one, mark its last request not keep-alive.")


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
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, lifespan: str = "auto",
                 timeout_keep_alive: float = TIMEOUT_KEEP_ALIVE, timeout_request_head: float = TIMEOUT_REQUEST_HEAD,
                 timeout_request_body: float = TIMEOUT_REQUEST_BODY, timeout_send: float = TIMEOUT_SEND,
                 max_header_bytes: int = MAX_HEADER_BYTES, max_body_bytes: int | None = None,
                 limit_concurrency: int | None = None,
                 timeout_graceful_shutdown: float = TIMEOUT_GRACEFUL_SHUTDOWN,
                 backlog: int = BACKLOG, reuse_port: bool = False, access_log: bool = True) -> None:
        # TODO: exercise 9.0
        raise NotImplementedError("Exercise 9.0: run `make start-lesson 9`: it copies your lesson-08 server over this outline; then harden it (README.md).")
        # TODO: exercise 9.1
        raise NotImplementedError("Exercise 9.1: keep the timeouts, limits and listener options.")

    async def start(self) -> None:
        """Bind, run the lifespan startup, then accept connections.

        Raises LifespanFailure (with the listener closed again) if the app refuses to start.
        """
        # TODO: exercise 9.0
        raise NotImplementedError("Exercise 9.0: run `make start-lesson 9` to bring your lesson-08 start() here (listener, startup, serving).")

    # 9.5 Resilience: the accept loop
    def _accept(self) -> None:
        # TODO: exercise 9.5
        raise NotImplementedError("Exercise 9.5: Resilience: accept a bounded burst; on EMFILE and its kin stop accepting for a while (back off).")

    def _resume_accepting(self) -> None:
        # TODO: exercise 9.5
        raise NotImplementedError("Exercise 9.5: watch the listener again, unless shutdown has closed it.")

    def _make_protocol(self) -> HttpProtocol:
        return HttpProtocol(self)

    def _tick(self) -> None:
        # TODO: exercise 9.1
        raise NotImplementedError("Exercise 9.1: rebuild the Date line once a second (call_later), not once per response.")

    async def serve_forever(self) -> None:
        """Wait until shutdown() has finished."""
        # TODO: exercise 9.0
        raise NotImplementedError("Exercise 9.0: run `make start-lesson 9` to bring your lesson-08 serve_forever() here.")

    def connection_closed(self) -> None:
        """Called by every connection as it closes."""
        # TODO: exercise 9.4
        raise NotImplementedError("Exercise 9.4: once shutdown has begun and the last connection is gone, wake shutdown().")

    async def shutdown(self) -> None:
        """Stop accepting; let in-flight requests finish (up to timeout_graceful_shutdown);
        then close what is left, end the app calls, and run the lifespan shutdown.

        Safe to call more than once; a second call waits for the first.
        """
        # TODO: exercise 9.4
        raise NotImplementedError("Exercise 9.4: close the listener, shut down every connection, wait for them (bounded), then cancel and run the lifespan shutdown.")


def run(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1, **options: Any) -> int:
    """Serve `app` until SIGINT or SIGTERM; returns the exit status (3: the app refused to start).

    `options` are Server's keyword arguments; workers > 1 runs that many processes (9.6).
    """
    # TODO: exercise 9.0
    raise NotImplementedError("Exercise 9.0: run `make start-lesson 9` to bring your lesson-08 run() here.")
    # TODO: exercise 9.6
    raise NotImplementedError("Exercise 9.6: Workers: with workers > 1, hand over to run_workers() (SO_REUSEPORT, supervised).")


async def _serve(server: Server, banner: bool = True) -> int:
    # TODO: exercise 9.0
    raise NotImplementedError("Exercise 9.0: run `make start-lesson 9` to bring your lesson-08 _serve() here (start, print the address, wait for a signal).")
    # TODO: exercise 9.4
    raise NotImplementedError("Exercise 9.4: shut down gracefully, and exit 0.")


# 9.6 Workers
def run_workers(app: ASGIApp, host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Fork `workers` processes that each listen on host:port with SO_REUSEPORT; replace
    any that dies; on SIGINT or SIGTERM, pass SIGTERM on and wait for all. Returns 0
    (3 if a worker's app refused to start: starting more would fail the same way)."""
    # TODO: exercise 9.6
    raise NotImplementedError("Exercise 9.6: reserve the port, fork the workers, and supervise them with signal.sigwait.")


def _fork_worker(app: ASGIApp, host: str, port: int, options: dict[str, Any], holder: socket.socket) -> int:
    # TODO: exercise 9.6
    raise NotImplementedError("Exercise 9.6: fork; in the child, unblock the signals and serve with reuse_port=True, then os._exit.")


def _reap() -> list[tuple[int, int]]:
    """(pid, exit status) of every child that has ended; a signal's death counts as 128 + signal."""
    # TODO: exercise 9.6
    raise NotImplementedError("Exercise 9.6: waitpid(-1, WNOHANG) until no more children have ended.")


def import_app(spec: str) -> ASGIApp:
    """The object named by "package.module:attribute" (like uvicorn's APP argument)."""
    # TODO: exercise 9.0
    raise NotImplementedError("Exercise 9.0: run `make start-lesson 9` to bring your lesson-08 import_app() here.")


def main(argv: list[str] | None = None) -> int:
    """The command line: python server.py module:app [--host H] [--port P] [options]; --help lists them."""
    # TODO: exercise 9.0
    raise NotImplementedError("Exercise 9.0: run `make start-lesson 9` to bring your lesson-08 main() here.")
    # TODO: exercise 9.6
    raise NotImplementedError("Exercise 9.6: uvicorn's flags for the new options, and --workers.")
    # TODO: exercise 9.0
    raise NotImplementedError("Exercise 9.0: run `make start-lesson 9` to bring the rest of your lesson-08 main() here.")


if __name__ == "__main__":
    sys.exit(main())
