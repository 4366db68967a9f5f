"""Lesson 09: the hardened server, tested black-box.

Two ways of running the learner's server:
- in this process, on its own loop in a thread (`tests.harness.running_asgi_server`),
  for what a socket can observe: timeouts, limits, pausing, graceful shutdown, fuzz;
- as a separate process through its command line (`server_process`), for what needs
  a process of its own: signals, its memory (RSS), a lowered fd limit, --workers.
  Such a process runs in its own session and its whole group is killed in teardown.

Lesson 08's behaviour list runs too, in test_09_lesson08_*.py (exercise 9.0).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.client
import logging
import os
import queue
import random
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.harness import RawHttpClient, nc_command, push_until_stalled, wire_report
from tests.test_08_asgi_server import read_body  # the same app helper as lesson 08

WAIT = 5.0  # seconds a test waits for something the server should do at once
MB = 1024 * 1024

# --- Requests, as the bytes on the wire ------------------------------------------------

SIMPLE_GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
SLOW_GET = b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n"
HEAD_START = b"GET / HTTP/1.1\r\nHost: test\r\n"  # a head that never ends: no blank line


def post_head(length: int, path: str = "/upload", *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", f"Content-Length: {length}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


CHUNKED_POST_HEAD = b"POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"

# --- Apps ---------------------------------------------------------------------------------

async def send_bytes(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", b"%d" % len(body)), (b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def counting_app(records: queue.Queue | None = None, slow: float = 0.0):
    """Reads the body and answers with its length; reports each call; /slow takes `slow` seconds."""
    async def app(scope, receive, send):
        assert scope["type"] == "http"
        if records is not None:
            records.put(scope["path"])
        if scope["path"] == "/slow":
            await asyncio.sleep(slow)
        body = await read_body(receive)
        await send_bytes(send, 200, b"%d" % len(body))
    return app


# --- Fixtures and helpers ------------------------------------------------------------------

# Which exercise adds each keyword argument: a lesson-08 Server raises TypeError for them.
OPTION_EXERCISE = {"timeout_keep_alive": "9.1", "timeout_request_head": "9.1", "timeout_request_body": "9.1",
                   "timeout_send": "9.1", "max_header_bytes": "9.2",
                   "max_body_bytes": "9.2", "limit_concurrency": "9.2", "timeout_graceful_shutdown": "9.4"}


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(9)


def unknown_option_hint(options: dict, error: TypeError) -> str:
    name = next((n for n in options if f"'{n}'" in str(error)), next(iter(options), "?"))
    exercise = OPTION_EXERCISE.get(name, "9.1")
    return (f"Server(...) does not accept `{name}=` yet ({error}).\n"
            f"  Next step: exercise {exercise}. Add `{name}` to Server.__init__'s keyword arguments, keep it "
            f"on self, and use it where the protocol needs it. README.md, exercise {exercise}, says what it "
            "means; its default is in the table there.")


@pytest.fixture
def serve(serve):
    """The shared serve() (tests/conftest.py), with an option the learner's Server does not
    take yet turned into the exercise that adds it."""
    def start(app, **options):
        try:
            return serve(app, **options)
        except TypeError as error:
            if "keyword" not in str(error):
                raise
            hint = unknown_option_hint(options, error)
        pytest.fail(hint, pytrace=False)
    return start


def report(request: bytes, client: RawHttpClient, port: int, hint: str) -> str:
    return wire_report(client_sent=request, server_sent=client.wire, hint=hint,
                       reproduce=nc_command(request, port=port))


def shut_down_now(server):
    """Start `await server.shutdown()` on the server's loop; returns a concurrent future for it."""
    return asyncio.run_coroutine_threadsafe(server.server.shutdown(), server.loop)


def wait_until_stopped(server, stopping) -> None:
    """Wait for a shutdown the test began, and for the server's thread to end with it (so the
    fixture's teardown finds the server stopped, instead of asking a closing loop to stop it)."""
    stopping.result(WAIT)
    server._thread.join(WAIT)


def next_record(records: queue.Queue, what: str):
    try:
        return records.get(timeout=WAIT)
    except queue.Empty:
        pytest.fail(f"Within {WAIT} s the app never {what}.", pytrace=False)


def seconds_until_closed(sock: socket.socket, limit: float) -> float | None:
    """Seconds until the server closes `sock` (recv returns b'' or a reset), None if not within `limit`."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None
    return time.monotonic() - started


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """(status, everything received until the close) from a socket that sent one request."""
    data = b""
    sock.settimeout(WAIT)
    try:
        while piece := sock.recv(65536):
            data += piece
    except (ConnectionResetError, socket.timeout):
        pass
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(match[1]) if match else 0), data


# --- 9.1 timeouts -----------------------------------------------------------------------------

@pytest.mark.exercise("9.1")
def test_idle_keep_alive_connection_is_closed_after_timeout_keep_alive(serve):
    server = serve(counting_app(), timeout_keep_alive=0.3)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(SIMPLE_GET)
        client.read_response()
        waited = seconds_until_closed(client.sock, 4.0)
    assert waited is not None, (
        "A keep-alive connection sat idle for 4 s after its response, with timeout_keep_alive=0.3: the server "
        "never closed it. Each idle connection holds a file descriptor and memory; 10,000 browsers that keep "
        "tabs open would exhaust both. When a response completes and nothing else is queued, give the "
        "connection a deadline (loop.time() + timeout_keep_alive) and close it when the deadline passes.")
    assert waited > 0.15, f"closed {waited:.2f} s after the response: at once, not after timeout_keep_alive=0.3"


@pytest.mark.exercise("9.1")
def test_keep_alive_timeout_does_not_cut_a_request_the_app_is_working_on(serve):
    server = serve(counting_app(slow=0.6), timeout_keep_alive=0.3, timeout_request_head=0.3)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(SLOW_GET)
        try:
            status, _, _, body = client.read_response()
        except ConnectionError as error:
            pytest.fail(report(SLOW_GET, client, server.address[1],
                               f"the app takes 0.6 s and both timeouts are 0.3 s; the server closed the "
                               f"connection mid-request ({error}). Those clocks run only while the connection "
                               "waits for the client: stop them when a request head is complete."), pytrace=False)
    assert status == 200 and body == b"0"


@pytest.mark.exercise("9.1")
@pytest.mark.parametrize("trickle", [pytest.param(True, id="head-trickles-in"), pytest.param(False, id="sends-nothing")])
def test_a_request_head_that_never_completes_is_dropped_after_timeout_request_head(serve, trickle):
    server = serve(counting_app(), timeout_request_head=0.5, timeout_keep_alive=30)
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        started = time.monotonic()
        closed_after = None
        if trickle:
            sock.sendall(HEAD_START)
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            sent = 0
            while time.monotonic() - started < 4.0:
                if selector.select(0.1):  # the server said something, or closed
                    if seconds_until_closed(sock, 0.5) is not None:
                        closed_after = time.monotonic() - started
                        break
                if trickle:  # a short header every 0.3 s, for ever: the slowloris attack
                    try:
                        sock.sendall(b"X-Slow: %d\r\n" % sent if sent % 3 == 0 else b"")
                    except (BrokenPipeError, ConnectionResetError):
                        closed_after = time.monotonic() - started
                        break
                    sent += 1
    what = "sent a head one header every 0.3 s (a slowloris)" if trickle else "connected and sent nothing"
    assert closed_after is not None, (
        f"A client {what} for 4 s, with timeout_request_head=0.5: the server kept the connection. A few hundred "
        "such clients hold every connection a server can have, at almost no cost to the attacker. Give a "
        "connection that waits for a head a deadline (loop.time() + timeout_request_head), set when the "
        "connection opens or a new head begins (not moved by each byte or header that trickles in), and close it "
        "when the deadline passes.")


@pytest.mark.exercise("9.1")
def test_normal_clients_are_served_at_once_while_a_slowloris_trickles(serve):
    server = serve(counting_app(), timeout_request_head=3.0)
    with socket.create_connection(server.address, timeout=WAIT) as slow:
        slow.sendall(HEAD_START + b"X-Slow: 1\r\n")
        started = time.monotonic()
        with RawHttpClient(server.address, timeout=WAIT) as client:
            client.send(SIMPLE_GET)
            status, _, _, _ = client.read_response()
        took = time.monotonic() - started
    assert status == 200 and took < 1.5, (
        f"With one client stuck in the middle of its head, another client's GET took {took:.2f} s: a slow head "
        "must never block the loop (no waiting for it anywhere but in its own connection's deadline).")


@pytest.mark.exercise("9.1")
def test_each_request_on_a_busy_connection_is_served_before_its_timeouts(serve):
    server = serve(counting_app(), timeout_keep_alive=0.4, timeout_request_head=0.4)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        for _ in range(4):  # four requests 0.2 s apart: 0.8 s in all, each well within both timeouts
            client.send(SIMPLE_GET)
            status, _, _, _ = client.read_response()
            assert status == 200
            assert seconds_until_closed(client.sock, 0.2) is None, (
                "the server closed a keep-alive connection 0.2 s after a response, with timeout_keep_alive=0.4: "
                "each new request must push the deadline back (a deadline set once per connection is wrong)")
            client.sock.settimeout(WAIT)


@pytest.mark.exercise("9.1")
def test_an_idle_connection_is_closed_after_its_second_request_too(serve):
    server = serve(counting_app(), timeout_keep_alive=0.4)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(SIMPLE_GET)
        client.read_response()
        threading.Event().wait(0.15)  # idle a while, within the keep-alive: the deadline moves later
        client.send(SIMPLE_GET)
        client.read_response()
        waited = seconds_until_closed(client.sock, 3.0)
    assert waited is not None, (
        "After its second response a keep-alive connection sat idle for 3 s, with\n"
        "timeout_keep_alive=0.4: the server never closed it (after one request it does).\n"
        "  Next step: when the timer fires before a deadline that has moved later,\n"
        "  arm it again for the new deadline, every time (on_deadline).")


def stalled_body_app(records: queue.Queue):
    """Reads the body and reports the message that ended its wait."""
    async def app(scope, receive, send):
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                records.put(message["type"])
                return
    return app


@pytest.mark.exercise("9.1")
def test_a_body_that_stops_arriving_is_closed_after_timeout_request_body(serve):
    records = queue.Queue()
    server = serve(stalled_body_app(records), timeout_request_body=0.3)
    request = post_head(1000) + b"b" * 10  # 10 of 1000 bytes, then silence
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(request)
        waited = seconds_until_closed(sock, 3.0)
    assert waited is not None, wire_report(
        client_sent=request, reproduce=nc_command(request, port=server.address[1]),
        hint="the body stopped after 10 of 1000 bytes; with timeout_request_body=0.3 the\n"
             "  server still held the connection (and the app) 3 s later. While a body is\n"
             "  due, every read sets deadline = now + timeout_request_body; close when it passes")
    assert next_record(records, "got a message after the close") == "http.disconnect", (
        "the connection was closed, so the app's receive() must return http.disconnect")


FIREHOSE_PIECES = 1600  # 100 MB in 64 KiB pieces


def firehose_app(records: queue.Queue, produced: list | None = None):
    """Sends 100 MB in 64 KiB pieces, appending to `produced` after each; reports "sent N"
    when it ends, or the error send() raised."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        sent = 0
        try:
            for _ in range(FIREHOSE_PIECES):
                await send({"type": "http.response.body", "body": b"d" * 65536, "more_body": True})
                sent += 1
                if produced is not None:
                    produced.append(65536)
            await send({"type": "http.response.body", "body": b""})
        except OSError as error:
            records.put(f"{type(error).__name__} after {sent} pieces")
            return
        records.put(f"sent {sent}")
    return app


@pytest.mark.exercise("9.1")
def test_a_client_that_reads_nothing_is_dropped_after_timeout_send(serve):
    records = queue.Queue()
    server = serve(firehose_app(records), timeout_send=0.3)
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(SIMPLE_GET)  # and read nothing of the 100 MB answer
        try:
            ended = records.get(timeout=3.0)
        except queue.Empty:
            ended = None
    assert ended is not None and not ended.startswith("sent"), (
        "The client read nothing of a 100 MB response; with timeout_send=0.3 the app's\n"
        f"send() was still waiting 3 s later (the app reported: {ended or 'nothing'}).\n"
        "  Next step: when writing pauses (pause_writing), start a timer of timeout_send;\n"
        "  resume_writing cancels it; if it fires, abort the connection: the waiting\n"
        "  send() then raises, as it does when the client leaves.")


# --- 9.2 limits ---------------------------------------------------------------------------------

def big_header_request(size: int) -> bytes:
    return b"GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * size + b"\r\n\r\n"


@pytest.mark.exercise("9.2")
@pytest.mark.parametrize("request_bytes", [
    pytest.param(big_header_request(2000), id="big-header"),
    pytest.param(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: test\r\n\r\n", id="long-url"),
    pytest.param(b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % n for n in range(300)) + b"\r\n",
                 id="many-headers"),
])
def test_a_head_over_max_header_bytes_gets_431_then_a_close(serve, request_bytes):
    records = queue.Queue()
    server = serve(counting_app(records), max_header_bytes=1024)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request_bytes)
        try:
            status, _, _, _ = client.read_response()
        except (ConnectionError, ValueError, socket.timeout) as error:
            status = f"no response ({type(error).__name__})"
        assert status == 431, report(
            request_bytes, client, server.address[1],
            f"expected 431 Request Header Fields Too Large for a head over max_header_bytes=1024, got {status}. "
            "Count the bytes of the request line and headers as the parser hands them over (on_url, on_header), "
            "and refuse once the count passes the limit: a server that buffers any head will buffer a 1 GB one.")
        assert client.closed_by_server(), "after a 431, close the connection"
    assert records.empty(), "the app was called for a request the server refused"


@pytest.mark.exercise("9.2")
def test_a_head_within_max_header_bytes_is_served(serve):
    server = serve(counting_app(), max_header_bytes=1024)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(big_header_request(800))
        assert client.read_response()[0] == 200, "a 860-byte head is within max_header_bytes=1024: serve it"


ENDLESS_HEADER_START = b"GET / HTTP/1.1\r\nHost: test\r\nX-Long: "  # then "aaaa..." with no CRLF, ever


def send_until_answered(sock: socket.socket, piece: bytes, total: int) -> int:
    """Send `piece` again and again, up to `total` bytes, until the server says something or
    closes, or stops reading for a second. Returns the bytes sent."""
    sock.setblocking(False)
    sent = 0
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while sent < total:
            events = selector.select(1.0)
            if not events or any(mask & selectors.EVENT_READ for _, mask in events):
                break
            try:
                sent += sock.send(piece)
            except BlockingIOError:
                continue
            except OSError:  # a reset: read_response() shows what came before it
                break
    sock.setblocking(True)
    return sent


@pytest.mark.exercise("9.2")
def test_a_header_line_that_never_ends_gets_431_before_it_ends(serve):
    records = queue.Queue()
    server = serve(counting_app(records), max_header_bytes=1024, timeout_request_head=3)
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(ENDLESS_HEADER_START)
        sent = send_until_answered(sock, b"a" * 4096, 8 * MB)
        status, data = read_response(sock)
    assert status == 431, wire_report(
        client_sent=ENDLESS_HEADER_START + b"aaaa...", server_sent=data,
        hint=f"one header line, {sent / MB:.1f} MB long and never ended: expected 431 at once\n"
             "  (max_header_bytes=1024), got " + (f"{status}" if status else "no answer") + ".\n"
             "  httptools calls on_header only when the line's CRLF arrives, so a line\n"
             "  that never ends is never counted there, while it grows in memory.\n"
             "  Next step: count the raw bytes fed while a head is open (from\n"
             "  on_message_begin to on_headers_complete) and refuse past the limit.")
    assert records.empty(), "the app was called for a request the server refused"


@pytest.mark.exercise("9.2")
def test_content_length_over_max_body_bytes_gets_413_without_the_body_being_sent(serve):
    records = queue.Queue()
    server = serve(counting_app(records), max_body_bytes=1000)
    request = post_head(50 * MB)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request)  # the head only: the server must not wait for 50 MB to refuse them
        try:
            status, _, _, _ = client.read_response()
        except (ConnectionError, ValueError, socket.timeout) as error:
            status = f"no response within {WAIT} s ({type(error).__name__})"
        assert status == 413, report(
            request, client, server.address[1],
            f"got {status}. The head says Content-Length: {50 * MB} and max_body_bytes is 1000: answer 413 "
            "Content Too Large as soon as the head is complete, before reading (or waiting for) the body, and close.")
        assert client.closed_by_server(), "after a 413, close: the body the client may still send is not a request"
    assert records.empty(), "the app was called for a body the server had already refused"


@pytest.mark.exercise("9.2")
@pytest.mark.parametrize("refusal", [pytest.param(413, id="413-content-length"),
                                     pytest.param(503, id="503-over-limit-concurrency")])
def test_a_refused_client_still_sending_its_body_can_send_it_and_read_the_answer(serve, refusal):
    if refusal == 413:
        server = serve(counting_app(), max_body_bytes=1000)
    else:
        server = serve(counting_app(), limit_concurrency=1)
    request = post_head(4 * MB)
    with contextlib.ExitStack() as stack:
        if refusal == 503:  # one connection, open: the next one is over the limit
            stack.enter_context(socket.create_connection(server.address, timeout=WAIT)).sendall(SIMPLE_GET)
        sock = stack.enter_context(socket.create_connection(server.address, timeout=WAIT))
        try:
            sock.sendall(request + b"b" * (4 * MB))  # the whole request, then read: what many clients do
            problem = None
        except OSError as error:
            problem = f"the client's send failed with {type(error).__name__} ({error})"
        status, data = read_response(sock)
    assert problem is None and status == refusal, wire_report(
        client_sent=request + b"bbbb...", server_sent=data,
        hint=f"expected the client to send its 4 MB body and then read {refusal}; "
             f"{problem or f'it got {status}'}.\n"
             "  Closing a socket with unread bytes sends RST (RFC 9112 §9.6), and a reset\n"
             "  can fail the client before it reads the answer. Next step: after the\n"
             "  answer, transport.write_eof(); read and drop what comes for a few\n"
             "  seconds (or until the client's EOF); then close.")


@pytest.mark.exercise("9.2")
def test_a_chunked_body_that_grows_over_max_body_bytes_gets_413(serve):
    server = serve(counting_app(), max_body_bytes=1000)
    request = CHUNKED_POST_HEAD + b"".join(b"100\r\n" + b"z" * 256 + b"\r\n" for _ in range(8))  # 2048 bytes, no end
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request)
        try:
            status, _, _, _ = client.read_response()
        except (ConnectionError, ValueError, socket.timeout) as error:
            status = f"no response ({type(error).__name__})"
        assert status == 413, report(
            request, client, server.address[1],
            f"got {status}: a chunked body has no Content-Length, so count the bytes as they arrive (on_body) and "
            "refuse once they pass max_body_bytes=1000")


@pytest.mark.exercise("9.2")
def test_a_body_within_max_body_bytes_is_served(serve):
    server = serve(counting_app(), max_body_bytes=1000)
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(post_head(1000) + b"b" * 1000)
        status, _, _, body = client.read_response()
    assert (status, body) == (200, b"1000"), "a body of exactly max_body_bytes is allowed"


@pytest.mark.exercise("9.2")
def test_connections_beyond_limit_concurrency_get_503_and_the_limit_frees_up(serve):
    server = serve(counting_app(), limit_concurrency=2)
    first, second = RawHttpClient(server.address, timeout=WAIT), RawHttpClient(server.address, timeout=WAIT)
    with first, second:
        for client in (first, second):
            client.send(SIMPLE_GET)
            assert client.read_response()[0] == 200, "the first two connections are within limit_concurrency=2"
        with RawHttpClient(server.address, timeout=WAIT) as third:
            third.send(SIMPLE_GET)
            status, _, headers, _ = third.read_response()
            assert status == 503, report(
                SIMPLE_GET, third, server.address[1],
                "two keep-alive connections are open and limit_concurrency=2: a third must get "
                "503 Service Unavailable (and a close), not service")
            assert third.closed_by_server(), "after the 503, close the connection: it counts toward the limit"
        first.close()
    deadline = time.monotonic() + WAIT
    status = 0
    while status != 200 and time.monotonic() < deadline:  # the server notices the close a moment later
        with RawHttpClient(server.address, timeout=WAIT) as client:
            client.send(SIMPLE_GET)
            status = client.read_response()[0]
    assert status == 200, "after the other connections closed, a new one must be served again"


# --- 9.3 flow control ------------------------------------------------------------------------------

@pytest.mark.exercise("9.3")
@pytest.mark.timeout(20)
def test_reading_pauses_while_the_app_does_not_read_and_resumes_when_it_does(serve):
    may_read = threading.Event()

    async def reluctant_app(scope, receive, send):
        while not may_read.is_set():  # the app is busy elsewhere before it reads the body
            await asyncio.sleep(0.02)
        size, more_body = 0, True
        while more_body:  # count the body, do not keep it
            message = await receive()
            size += len(message.get("body", b""))
            more_body = message.get("more_body", False) and message["type"] == "http.request"
        await send_bytes(send, 200, b"%d" % size)

    server = serve(reluctant_app, timeout_request_body=0.5)  # shorter than the app's pause: that clock must stop
    total = 32 * MB  # far more than the kernel's buffers on both sides hold (a few MB)
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(post_head(total, "/upload", "Connection: close"))  # the close ends read_response()
        sent = push_until_stalled(sock, total)
        assert sent < 16 * MB, (
            f"The app has not read a byte of the body, yet the server took {sent / MB:.0f} MB of it from the client "
            "(it kept reading into memory). With a body it does not consume, call transport.pause_reading() once "
            "the unread body passes a high-water mark (e.g. 256 KiB), and resume_reading() when receive() has "
            "taken it: TCP then makes the client wait, and the server's memory stays bounded.")
        may_read.set()
        sent += push_until_stalled(sock, total - sent, stall=WAIT, limit=15.0)
        assert sent == total, (
            f"after the app started reading, the client could send only {sent} of {total} bytes. If the server "
            "closed the connection: timeout_request_body is 0.5 s here, and its clock must not run while the "
            "server itself has paused reading (the client is not the one who is late).")
        status, data = read_response(sock)
    assert status == 200 and data.endswith(b"%d" % total), (
        f"got {data[-200:]!r}: once the app reads, reading must resume (resume_reading) until the body is complete")


@pytest.mark.exercise("9.3")
@pytest.mark.timeout(20)
def test_send_waits_while_the_client_does_not_read(serve):
    produced = []

    server = serve(firehose_app(queue.Queue(), produced))
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(SIMPLE_GET)
        buffered = wait_until_stalled(produced, quiet=0.3)  # the client reads nothing meanwhile
        assert buffered < 40 * MB, (
            f"The client read nothing, and the app's send() calls returned for {buffered / MB:.0f} MB: the server "
            "kept every byte in memory. asyncio calls your protocol's pause_writing() when the transport's buffer "
            "passes its high-water mark: from then on make send() await a future that resume_writing() resolves.")
        received = 0
        sock.settimeout(WAIT)
        while piece := sock.recv(4 * MB):  # now read it all: send() must wake up again
            received += len(piece)
            if received >= 100 * MB and piece.endswith(b"0\r\n\r\n"):
                break
    assert received >= 100 * MB, f"the client read {received} bytes of a 100 MB response; resume_writing must wake send()"


def wait_until_stalled(produced: list, quiet: float = 0.2, limit: float = WAIT) -> int:
    """Wait until the app has produced something and then nothing more for `quiet` s
    (its send() waits), or `limit` s pass. Returns the bytes produced."""
    deadline = time.monotonic() + limit
    seen = -1
    while time.monotonic() < deadline and (not produced or len(produced) != seen):
        seen = len(produced)
        threading.Event().wait(quiet)
    return sum(produced)


@pytest.mark.exercise("9.3")
def test_a_send_waiting_for_the_client_to_read_wakes_when_the_client_leaves(serve):
    records, produced = queue.Queue(), []
    server = serve(firehose_app(records, produced), timeout_graceful_shutdown=1.0)
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(SIMPLE_GET)  # and read nothing: soon send() waits for the client
        wait_until_stalled(produced)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() resets
    try:
        ended = records.get(timeout=WAIT)
    except queue.Empty:
        ended = None
    assert ended is not None and not ended.startswith("sent"), (
        f"The client reset the connection while the app's send() waited for it to read;\n"
        f"{WAIT} s later that send() still waited (the app reported: {ended or 'nothing'}).\n"
        "  Next step: connection_lost must wake what drain() awaits, and drain() then\n"
        "  raises ClientDisconnected: the app stops, its task ends.")


SERVER_APP = textwrap.dedent('''
    """Apps for the lesson 09 process tests: each path is one behaviour."""
    import asyncio, os, sys

    def say(line):
        print(line, flush=True)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    say("APP: lifespan shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":  # lesson 10 (its server passes WebSockets on): wait for the end
            await receive()
            await send({"type": "websocket.accept"})
            say("APP: websocket open")
            while (message := await receive())["type"] != "websocket.disconnect":
                pass
            say(f"APP: websocket.disconnect {message.get('code')}")
            return
        path = scope["path"]
        if path == "/upload":  # never reads the body
            say("APP: upload started")
            await asyncio.sleep(60)
        body = b"pid %d" % os.getpid()
        if path == "/16k":
            body = b"k" * 16384
        if path == "/slow":
            say("APP: slow started")
            await asyncio.sleep(0.3)
            body = b"slow done"
        if path == "/download":  # 100 MB, whether the client reads or not
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for _ in range(1600):
                await send({"type": "http.response.body", "body": b"d" * 65536, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    async def failing(scope, receive, send):  # refuses to start, every time
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})
''')

# Lowers the soft RLIMIT_NOFILE, then runs the server script as `python server.py ...` would.
FD_LIMITED = ("import os, resource, runpy, sys; limit = int(sys.argv.pop(1)); "
              "resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1])); "
              "sys.argv = sys.argv[1:]; sys.path.insert(0, os.path.dirname(sys.argv[0])); "
              "runpy.run_path(sys.argv[0], run_name='__main__')")


class ServerProcess:
    """The learner's server.py on its command line, in a session of its own; its output is read by line."""

    def __init__(self, impl_dir: Path, app_dir: Path, *options: str, fd_limit: int | None = None,
                 app: str = "app", folder: str = "09_production") -> None:
        (app_dir / "lesson09_app.py").write_text(SERVER_APP)
        script = impl_dir / folder / "server.py"
        command = [sys.executable, str(script), f"lesson09_app:{app}", "--port", "0", "--app-dir", str(app_dir),
                   "--lifespan", "on", *options]
        if fd_limit is not None:
            command[1:1] = ["-c", FD_LIMITED, str(fd_limit)]
        self.command = command
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self.output = ""
        # A thread drains the output, so a server that logs a lot never blocks on a full pipe.
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        self.address = ("127.0.0.1", 0)

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put("")  # the end of the output

    def wait_until_serving(self) -> None:
        line = self.wait_for("http://", 10)
        self.address = ("127.0.0.1", int(re.search(r"http://[^:\s]+:(\d+)", line)[1]))

    def wait_for(self, needle: str, seconds: float) -> str:
        """The next line of output that contains `needle`; fails the test if none comes in time."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                self._lines.put("")
                break
            self.output += line
            if needle in line:
                return line
        self.fail(f"The server never printed a line with {needle!r} within {seconds} s")

    def new_lines(self) -> list[str]:
        """The lines printed since the last wait_for() or new_lines() (they join self.output too)."""
        lines = []
        while not self._lines.empty():
            line = self._lines.get()
            if not line:
                self._lines.put("")
                break
            lines.append(line)
        self.output += "".join(lines)
        return lines

    def rest_of_output(self) -> str:
        """Everything printed so far that wait_for() has not read (after the process has ended)."""
        self._reader.join(WAIT)
        while not self._lines.empty():
            self.output += self._lines.get()
        return self.output

    def fail(self, problem: str) -> None:
        stub = re.search(r"NotImplementedError: (Exercise 9\.\d+: .*)", self.output)
        if stub:
            raise NotImplementedError(stub[1])
        unknown = re.search(r"unrecognized arguments: (--[\w-]+)", self.output)
        if unknown:
            flag = unknown[1]
            exercise = OPTION_EXERCISE.get(flag[2:].replace("-", "_"), "9.6" if flag == "--workers" else "9.1")
            problem = (f"Your command line does not accept {flag} yet (argparse: unrecognized arguments).\n"
                       f"  Next step: exercise {exercise}. Add {flag} to main()'s arguments, named as uvicorn names "
                       "it, and pass it on (to Server, or to run() for --workers). README.md has the table of options")
        pytest.fail(f"{problem}.\n  command: {' '.join(self.command)}\n  its output:\n"
                    + textwrap.indent(self.output[-3000:] or "(nothing)", "    "), pytrace=False)

    def rss_mb(self, pid: int | None = None) -> float:
        for line in Path(f"/proc/{pid or self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def get(self, path: str = "/", timeout: float = WAIT) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(*self.address, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        # The whole group, even if the server has exited: a supervisor that died may have left
        # workers behind, and they hold the output pipe open (closing it would then block).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the server and any worker it forked
        self.process.wait(WAIT)
        self._reader.join(WAIT)
        self.process.stdout.close()


@pytest.fixture
def server_folder() -> str:
    """The lesson folder whose server.py server_process runs (lesson 10 runs these tests on its own)."""
    return "09_production"


@pytest.fixture
def server_process(impl_dir, tmp_path, server_folder):
    """server_process(*options, fd_limit=None, app="app") -> a running ServerProcess (SERVER_APP's `app`
    or `failing`); killed (with its group) after."""
    if not Path("/proc/self/status").exists():
        pytest.skip("these tests read /proc (Linux)")
    started: list[ServerProcess] = []

    def start(*options, fd_limit=None, app="app"):
        started.append(ServerProcess(impl_dir, tmp_path, *options, fd_limit=fd_limit, app=app, folder=server_folder))
        started[-1].wait_until_serving()
        return started[-1]

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.mark.exercise("9.3")
@pytest.mark.timeout(30)
def test_memory_stays_bounded_for_a_100_mb_upload_the_app_never_reads(server_process):
    server = server_process()
    assert server.get()[0] == 200
    before = server.rss_mb()
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(post_head(100 * MB))
        server.wait_for("APP: upload started", WAIT)
        sent = push_until_stalled(sock, 100 * MB)
        grown = server.rss_mb() - before
    assert grown < 40, (
        f"The app never reads its body; the client pushed {sent / MB:.0f} MB and the server's memory (RSS) grew by "
        f"{grown:.0f} MB. Stop reading the socket (transport.pause_reading) while the app does not consume the body.")


@pytest.mark.exercise("9.3")
@pytest.mark.timeout(30)
def test_memory_stays_bounded_for_a_100_mb_download_the_client_never_reads(server_process):
    server = server_process()
    assert server.get()[0] == 200
    before = server.rss_mb()
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(b"GET /download HTTP/1.1\r\nHost: test\r\n\r\n")
        peak = 0.0
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:  # the client reads nothing; watch the server's memory meanwhile
            peak = max(peak, server.rss_mb() - before)
            threading.Event().wait(0.05)
    assert peak < 40, (
        f"The client read nothing of a 100 MB response and the server's memory (RSS) grew by {peak:.0f} MB: every "
        "send() was accepted into the transport's buffer. Make send() wait (pause_writing / resume_writing).")


PIPELINED_GETS = b"GET /16k HTTP/1.1\r\nHost: test\r\n\r\n" * 2048  # 68 KiB of tiny requests, again and again


@pytest.mark.exercise("9.3")
@pytest.mark.timeout(20)
def test_memory_stays_bounded_for_pipelined_requests_the_client_never_reads(server_process):
    server = server_process("--no-access-log")
    assert server.get()[0] == 200
    before = server.rss_mb()
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # it reads none of the answers
        sent = push_until_stalled(sock, 64 * MB, stall=0.6, limit=0.6, piece=PIPELINED_GETS)  # for 0.6 s
        grown = server.rss_mb() - before
    assert grown < 2, (
        f"The client pipelined {sent / MB:.1f} MB of tiny GETs (16 KiB answers) and read none; the server's\n"
        f"memory (RSS) grew by {grown:.0f} MB: it kept parsing requests and buffering answers.\n"
        "  Next step: start no pipelined request while writing is paused, and feed the\n"
        "  parser slices of a few KiB, stopping while the pipeline is full: pausing the\n"
        "  transport stops the reads, not the parsing of a 256 KiB read already made.")


# --- 9.4 graceful shutdown --------------------------------------------------------------------------

@pytest.mark.exercise("9.4")
def test_shutdown_lets_an_in_flight_request_finish_and_refuses_new_connections(serve):
    records = queue.Queue()
    server = serve(counting_app(records, slow=0.5))
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(SLOW_GET)
        assert next_record(records, "was called") == "/slow"
        stopping = shut_down_now(server)
        try:
            status, _, headers, body = client.read_response()
        except (ConnectionError, ValueError) as error:
            wait_until_stopped(server, stopping)
            pytest.fail(report(SLOW_GET, client, server.address[1],
                               f"shutdown() began while the app was working on this request, and the client got "
                               f"no response ({error}). Close idle connections at once, but let a busy one finish "
                               "its response first (within timeout_graceful_shutdown)."), pytrace=False)
        wait_until_stopped(server, stopping)
        assert (status, body) == (200, b"0")
        assert dict(headers).get("connection") == "close", (
            "a response sent while the server shuts down should say 'connection: close': the client must not "
            "send another request on this connection")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=WAIT).close()


@pytest.mark.exercise("9.4")
def test_shutdown_gives_up_on_a_stuck_app_after_the_grace_period(serve):
    records = queue.Queue()

    async def stuck_app(scope, receive, send):
        records.put("started")
        await asyncio.sleep(60)

    server = serve(stuck_app, timeout_graceful_shutdown=0.3)
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(SIMPLE_GET)
        next_record(records, "was called")
        started = time.monotonic()
        stopping = shut_down_now(server)
        try:
            stopping.result(4.0)
        except concurrent.futures.TimeoutError:  # not the builtin TimeoutError on Python 3.10
            pytest.fail("shutdown() was still waiting for an app that never returns 4 s after it began, with "
                        "timeout_graceful_shutdown=0.3: after the grace period, close the connections and cancel "
                        "the app tasks.", pytrace=False)
        took = time.monotonic() - started
        wait_until_stopped(server, stopping)
        status, _ = read_response(sock)
    assert took > 0.15, f"shutdown() returned after {took:.2f} s: the app should get its grace period of 0.3 s"
    assert status in (0, 503), f"a request cut off by the end of the grace period got {status}; 503 or a close"


@pytest.mark.exercise("9.4")
@pytest.mark.timeout(20)
@pytest.mark.parametrize("signum", [pytest.param(signal.SIGTERM, id="SIGTERM"),
                                    pytest.param(signal.SIGINT, id="SIGINT")])
def test_a_signal_lets_in_flight_requests_finish_runs_lifespan_shutdown_and_exits_0(server_process, signum):
    server = server_process("--timeout-graceful-shutdown", "10")
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(SLOW_GET)
        server.wait_for("APP: slow started", WAIT)
        server.process.send_signal(signum)
        status, data = read_response(sock)
    assert status == 200 and data.endswith(b"slow done"), (
        f"The app was working on GET /slow (0.3 s) when the server got {signum.name}; the client got "
        f"{data[:300]!r}. Stop accepting, but let requests in flight finish before closing their connections.")
    try:
        code = server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.fail(f"{signum.name} was sent 10 s ago and the server still runs")
    server.rest_of_output()
    assert code == 0, f"after {signum.name} the server exited with status {code}; a clean shutdown exits 0"
    assert "APP: lifespan shutdown" in server.output, (
        f"the app never got lifespan.shutdown; the server's output was:\n{server.output[-2000:]}")


# --- 9.5 resilience -------------------------------------------------------------------------------------

MALFORMED = [  # each must get a 400 (or 431) and a close
    pytest.param(b"GET / HTTP/1.1\r\nHost: test\r\nBad Header: x\r\n\r\n", id="space-in-name"),
    pytest.param(b"G\x00T / HTTP/1.1\r\nHost: test\r\n\r\n", id="nul-in-method"),
    pytest.param(b"GET / HTTP/9.9\r\nHost: test\r\n\r\n", id="http-9.9"),
    pytest.param(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", id="negative-length"),
    pytest.param(b"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", id="huge-length"),
    pytest.param(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", id="two-lengths"),
    pytest.param(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nXX\r\n", id="bad-chunk"),
    pytest.param(b"GET /\x7f HTTP/1.1\r\nHost: test\r\n\r\n", id="del-in-url"),
    pytest.param(b"\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", id="tls-hello"),
]


@pytest.mark.exercise("9.5")
@pytest.mark.parametrize("request_bytes", MALFORMED)
def test_malformed_request_gets_400_and_the_server_lives_on(serve, request_bytes):
    server = serve(counting_app())
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(request_bytes)
        status, data = read_response(client.sock)
    assert status in (400, 431) and b"Traceback" not in data, wire_report(
        client_sent=request_bytes, server_sent=data, reproduce=nc_command(request_bytes, port=server.address[1]),
        hint=f"expected 400 Bad Request and a close, got {status or 'no response'}")
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(SIMPLE_GET)
        assert client.read_response()[0] == 200, "after a malformed request the server must go on serving others"


def mutations(count: int, seed: int = 9) -> list[bytes]:
    """`count` requests made from valid ones by random byte edits: the same ones on every run."""
    rng = random.Random(seed)
    bases = [SIMPLE_GET, post_head(5, "/p") + b"hello", CHUNKED_POST_HEAD + b"5\r\nhello\r\n0\r\n\r\n",
             b"GET /a?b=c%20d HTTP/1.1\r\nHost: test\r\nAccept: */*\r\nCookie: x=1\r\n\r\n"]
    nasty = b"\x00\r\n :\t\x7f\xff%0-;\"/?#"
    cases = []
    for _ in range(count):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(data))
            edit = rng.randrange(4)
            if edit == 0:
                data[position] = rng.choice(nasty)
            elif edit == 1:
                data.insert(position, rng.choice(nasty))
            elif edit == 2:
                del data[position]
            else:
                data[position:position] = data[position:position + rng.randint(1, 20)] * rng.randint(2, 50)
        cases.append(bytes(data))
    return cases


@pytest.mark.exercise("9.5")
@pytest.mark.timeout(20)
def test_fuzzed_requests_get_answers_or_closes_never_a_traceback_or_a_dead_server(serve, caplog):
    caplog.set_level(logging.ERROR, logger="asyncio")
    server = serve(counting_app(), timeout_request_head=0.5, timeout_request_body=0.5, timeout_keep_alive=0.5)
    cases = mutations(300)
    replies = {n: b"" for n in range(len(cases))}
    with selectors.DefaultSelector() as selector:
        sockets = []
        try:
            for number, case in enumerate(cases):  # all at once: a few seconds in all, not one per case
                sock = socket.create_connection(server.address, timeout=WAIT)
                sockets.append(sock)
                sock.sendall(case)
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, number)
            deadline = time.monotonic() + 2.0  # cut-off heads and bodies, and idle connections, close after 0.5 s
            while selector.get_map() and time.monotonic() < deadline:
                for key, _ in selector.select(0.2):
                    try:
                        data = key.fileobj.recv(65536)
                    except (BlockingIOError, ConnectionResetError):
                        data = b""
                    replies[key.data] += data
                    if not data:
                        selector.unregister(key.fileobj)
        finally:
            for sock in sockets:
                sock.close()
    for number, data in replies.items():
        if not data:
            continue  # closed without an answer (a cut-off request), or still waiting for more: both fine
        status = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
        assert status and status[1] in (b"200", b"400", b"413", b"431", b"501", b"505") and b"Traceback" not in data, wire_report(
            client_sent=cases[number], server_sent=data, reproduce=nc_command(cases[number], port=server.address[1]),
            hint="a malformed request gets 400 and a close; the server's own errors must never reach a client")
    crashes = [record.getMessage() for record in caplog.records if record.name == "asyncio"]
    assert not crashes, (
        f"asyncio logged {len(crashes)} error(s), e.g. {crashes[0][:300]!r}: an exception escaped one of your "
        "protocol's callbacks. Catch what the parser can raise in data_received and answer 400.")
    with RawHttpClient(server.address, timeout=WAIT) as client:
        client.send(SIMPLE_GET)
        assert client.read_response()[0] == 200, "after the fuzzing, the server must still serve"


@pytest.mark.exercise("9.5")
@pytest.mark.timeout(30)
def test_server_keeps_accepting_after_running_out_of_file_descriptors(server_process):
    server = server_process("--timeout-request-head", "30", fd_limit=64)
    held = []
    try:
        for _ in range(90):  # more connections than the server has descriptors left
            held.append(socket.create_connection(server.address, timeout=WAIT))
        threading.Event().wait(0.3)  # the server has hit EMFILE by now; measure the next 0.8 s
        server.new_lines()
        cpu_before = server.cpu_seconds()
        threading.Event().wait(0.8)  # a window to measure: does the server spin, or flood its log, meanwhile?
        busy = server.cpu_seconds() - cpu_before
        logged = server.new_lines()
    finally:
        for sock in held:
            sock.close()
    assert len(logged) < 100, (
        f"While out of file descriptors (EMFILE), the server printed {len(logged)} lines in 0.8 s, e.g.:\n"
        + "".join(logged[:12]) + "A server in trouble that floods its log fills the disk next. asyncio's "
        "create_server logs a traceback for every slot of the listen backlog at each retry: accept connections "
        "yourself (loop.add_reader on the listening socket), and on EMFILE log once and back off.")
    assert busy < 0.4, (
        f"While out of file descriptors (EMFILE), the server used {busy:.2f} s of CPU in 0.8 s: it retries "
        "accept() in a loop. Stop accepting for a moment and try again later (asyncio's create_server does: "
        "it removes the listener from the selector for a second).")
    deadline = time.monotonic() + 10
    status = 0
    while status != 200 and time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            status = server.get(timeout=2.0)[0]
    if server.process.poll() is not None:
        server.fail(f"the server died (status {server.process.returncode}) after running out of file descriptors")
    assert status == 200, "once descriptors were free again, the server did not serve a new connection within 10 s"


# --- 9.6 workers ----------------------------------------------------------------------------------------

def pids_answering(server: ServerProcess, count: int, want: int, seconds: float, spacing: float = 0.0) -> set[int]:
    """The worker pids that answer new connections, until `want` distinct ones (or `count` tries or time),
    `spacing` s apart."""
    seen: set[int] = set()
    deadline = time.monotonic() + seconds
    for _ in range(count):
        if len(seen) >= want or time.monotonic() > deadline:
            break
        try:
            status, body = server.get(timeout=2.0)
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        if status == 200 and body.startswith(b"pid "):
            seen.add(int(body.split()[1]))
        threading.Event().wait(spacing if status else 0.05)  # refused: no worker listens yet
    return seen


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"  # a zombie has exited; only its parent's wait() is missing


@pytest.mark.exercise("9.6")
@pytest.mark.timeout(40)
def test_workers_share_one_port_are_replaced_when_they_crash_and_stop_on_one_sigterm(server_process):
    server = server_process("--workers", "2")
    # The supervisor prints its address before it forks: the first worker up may take every
    # connection for a while, so the tries are spaced to cover seconds, not milliseconds.
    workers = pids_answering(server, 200, want=2, seconds=10, spacing=0.01)
    assert len(workers) == 2 and server.process.pid not in workers, (
        f"With --workers 2, new connections were answered by processes {sorted(workers)} (the server itself is "
        f"{server.process.pid}): start two worker processes that each listen on the same port with SO_REUSEPORT "
        "(the kernel spreads connections over them); the first process only supervises.")
    crashed = min(workers)
    os.kill(crashed, signal.SIGKILL)
    replacement = pids_answering(server, 300, want=3, seconds=15) - workers
    fresh = pids_answering(server, 300, want=2, seconds=5) if not replacement else replacement
    new = (fresh | replacement) - workers
    assert new, (
        f"Worker {crashed} was killed; no new worker answered within 15 s. The supervisor must notice a worker's "
        "death (SIGCHLD, waitpid) and start another, so the server keeps its capacity.")
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.fail("one SIGTERM to the supervisor: it was still running 15 s later")
    leftover = [pid for pid in workers | new if pid != crashed and not gone(pid)]
    assert code == 0 and not leftover, (
        f"After one SIGTERM the supervisor exited with {code} and workers {leftover} still run: pass SIGTERM on to "
        "every worker, wait for them, then exit 0.")


@pytest.mark.exercise("9.6")
@pytest.mark.timeout(20)
def test_workers_whose_app_refuses_to_start_stop_the_supervisor_with_status_3(server_process):
    server = server_process("--workers", "2", app="failing")
    try:
        code = server.process.wait(5)
    except subprocess.TimeoutExpired:
        code = None
    forks = len(re.findall(r"Worker \d+ started", server.rest_of_output() if code is not None else
                           server.output + "".join(server.new_lines())))
    assert code == 3, (
        f"Every worker's app refuses to start (lifespan.startup.failed); 5 s later the\n"
        f"supervisor had {'not exited' if code is None else f'exited with {code}'} and had started {forks} workers.\n"
        "  A worker that exits 3 will fail the same way again: stop forking, stop the\n"
        "  other workers, and exit 3 yourself.")


@pytest.mark.exercise("9.6")
@pytest.mark.timeout(20)
def test_workers_stop_on_sigint_to_the_supervisor(server_process):
    server = server_process("--workers", "2")
    workers = {int(server.wait_for("started", WAIT).split()[1]) for _ in range(2)}
    server.process.send_signal(signal.SIGINT)  # Ctrl-C in a terminal
    try:
        code = server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.fail("SIGINT to the supervisor: it was still running 10 s later")
    leftover = [pid for pid in workers if not gone(pid)]
    assert code == 0 and not leftover, (
        f"After SIGINT the supervisor exited with {code} and workers {leftover} still run.\n"
        "  Next step: treat SIGINT as SIGTERM: block it with the others, and when\n"
        "  sigwait returns it, pass SIGTERM on to every worker, wait, exit 0.\n"
        f"  Its output:\n{server.rest_of_output()[-1500:]}")
