"""Lesson 05: the epoll server. Black-box over loopback, each test names its exercise.

Every server test starts `EpollServer(handler)` with the tiny `handler` below,
runs `serve_forever()` in a thread, talks to it with plain blocking sockets
(`Client`, which records the bytes on the wire), then calls `shutdown()` from the
test's thread and checks that `serve_forever()` returned without raising.

Most tests run twice, level-triggered and edge-triggered (ids `level`, `edge`).
Tests that must see what is queued *before* the loop starts (connections in the
backlog, bytes and a FIN in a socket) build the server, set the scene, and only
then start `serve_forever()`: that makes the edge-triggered mistakes deterministic.

The C10K test runs its clients in another process (tests/c10k_client.py) and is
last in the file, marked slow.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

from tests.harness import learner_frames, nc_command, open_fds, show_bytes, stack_of, traceback_of

if not hasattr(select, "epoll"):
    pytest.skip(
        "select.epoll exists only on Linux, so lesson 05 cannot run here. On macOS the same "
        "ideas work through `selectors` (kqueue): see lesson 04 and the README's 'Not on Linux?'.",
        allow_module_level=True,
    )

CLIENT_TIMEOUT = 2.0  # a test client waits this long for an answer that takes a millisecond
STOP_TIMEOUT = 2.0  # serve_forever() must return within this after shutdown()
IDLE_WAIT = 0.8  # seconds a test keeps a connection idle while measuring the server's CPU time
IDLE_CPU_LIMIT = 0.05  # an idle epoll loop uses ~0.001 s of CPU in that time; a spinning one ~0.8 s
SMALL_RCVBUF = 4096  # set before connect(): a small window, and no autotuning up to 32 MiB
SLOW_READER_PAUSE = 0.3  # the slow client reads nothing for this long: the misbehaviour under test
C10K = 10_000  # concurrent connections in the scale test (the curriculum's figure)
C10K_CLIENT = Path(__file__).with_name("c10k_client.py")

BIG_BODY = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than the socket buffers between us hold


def make_request(path: str, extra: bytes = b"") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra + b"\r\n"


SIMPLE_GET = make_request("/hello")
SECOND_GET = make_request("/second")
BIG_GET = make_request("/big")


def handler(head: bytes) -> bytes:
    """The application every test serves: echo the target, or 8 MiB for /big."""
    target = head.split(b" ", 2)[1]
    body = BIG_BODY if target == b"/big" else b"you asked for " + target + b"\n"
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


SIMPLE_RESPONSE = handler(SIMPLE_GET)
SECOND_RESPONSE = handler(SECOND_GET)
BIG_RESPONSE = handler(BIG_GET)


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(5)


@pytest.fixture(params=[pytest.param(False, id="level"), pytest.param(True, id="edge")])
def edge(request):
    return request.param


# -- running a server, talking to it ----------------------------------------------------


SHOWN_BYTES = 160  # of a long answer in a failure message: its start and its end


def server_whereabouts(thread: threading.Thread) -> tuple[str, str]:
    """(the source line the server thread's innermost learner frame is on, the lines that show
    where it is): a stalled test names the call the learner's loop is sitting in."""
    frame = sys._current_frames().get(thread.ident) if thread.ident else None
    located = learner_frames(stack_of(frame)) if frame is not None else []
    if not located:
        return "", ""
    innermost = located[-1]
    if ".poll(" in innermost["source"]:  # idle: no event it would act on came
        return innermost["source"], (f"\n  Your server thread sat idle in epoll.poll() "
                                     f"({innermost['path']}:{innermost['line']}).")
    code = innermost["source"].split("  #")[0]  # its comment would only push the hint off the screen
    return innermost["source"], (
        "\n  Your server thread was blocked here (a socket in blocking mode?):"
        f"\n    {innermost['path']}:{innermost['line']} in {innermost['function']}\n      {code}")


def close_unserved(server) -> None:
    """Close what EpollServer() opened (5.2), for a test that never runs serve_forever() (5.3):
    a finished 5.2 then passes its tests before 5.3 is written."""
    for name in ("_listener", "_epoll", "_wake_recv", "_wake_send"):  # named in the stub's __init__
        opened = getattr(server, name, None)
        if opened is not None:
            opened.close()


def server_crash(running: "Running | None") -> str:
    """If serve_forever() has ended by an exception: which, and the learner's line it came from."""
    if running is None or running.error is None:
        return ""
    located = learner_frames(traceback_of(running.error))
    at = f" at {located[-1]['path']}:{located[-1]['line']}: {located[-1]['source']}" if located else ""
    return (f"\n  serve_forever() had already stopped: it raised {running.error!r}{at}. One client's "
            "error must close that client only: catch OSError around its recv()/send()")


def expected_answers(sent: bytes) -> bytes:
    """What the server owes a client that sent these bytes: handler(head) for each whole head."""
    return b"".join(handler(head) for head in sent.split(b"\r\n\r\n")[:-1])


def owed_report(got: bytes, expected: bytes, closed: bool) -> str:
    """A sentence for answer bytes that differ from the ones owed (bytes lost or repeated), or
    that stop short of them at a close; '' if neither."""
    offset = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), None)
    if offset is None:
        if closed and len(got) < len(expected):
            return (f"\n  Only {len(got):,} of the {len(expected):,} bytes owed came before the close: "
                    "answers still pending were dropped (at the client's FIN? or after a send() that "
                    "took only part of them? send() returns how many bytes it took)")
        return ""
    return (f"\n  From byte {offset:,} on, the bytes differ from handler()'s answer: part of it was "
            "lost or sent twice. send() takes only what fits in the socket buffer: drop exactly the "
            "bytes it took (its return value) and send the rest later")


RUNNING: "weakref.WeakValueDictionary[int, Running]" = weakref.WeakValueDictionary()  # port -> its server



class Running:
    """An EpollServer and the thread running its serve_forever()."""

    def __init__(self, server):
        self.server = server
        self.address = server.address
        self.port = server.address[1]
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, name="epoll-server", daemon=True)
        RUNNING[self.port] = self

    def _serve(self):
        try:
            self.server.serve_forever()
        except BaseException as error:  # reported by stop(), in the test's thread
            self.error = error

    def start(self) -> "Running":
        self.thread.start()
        return self

    def cpu_time(self) -> float:
        """CPU seconds the server's thread has used so far."""
        return time.clock_gettime(time.pthread_getcpuclockid(self.thread.ident))

    def stop(self) -> float:
        """shutdown() from this thread; returns how long serve_forever() took to return."""
        if not self.thread.is_alive() and self.thread.ident is None:
            self.start()  # a test that never started the loop: it still has to close everything
        started = time.monotonic()
        self.server.shutdown()
        self.thread.join(STOP_TIMEOUT)
        if self.thread.is_alive():
            line, where = server_whereabouts(self.thread)
            if not line or ".poll(" in line:
                cause = ("The loop sleeps in epoll.poll() and nothing wakes it: shutdown() must write a byte "
                         "to a socketpair whose other end is registered with the epoll.")
            else:
                cause = ("Its thread is stuck in a call that waits (below): a blocking accept(), recv() or "
                         "send()? Make every socket non-blocking, and stop at BlockingIOError.")
            pytest.fail(f"serve_forever() did not return within {STOP_TIMEOUT} s of shutdown() being called "
                        f"from another thread. {cause}{where}", pytrace=False)
        if self.error is not None:
            raise AssertionError(
                f"serve_forever() raised {type(self.error).__name__}: {self.error}. A server must survive "
                "anything a client does: catch OSError around one client's recv()/send() and close that "
                "client only.") from self.error
        return time.monotonic() - started


@contextlib.contextmanager
def serving(lesson, *, edge_triggered: bool = False, start: bool = True):
    """An EpollServer serving `handler`, stopped (and checked) when the block ends."""
    running = Running(lesson.EpollServer(handler, edge_triggered=edge_triggered))
    if start:
        running.start()
    failed = True
    try:
        yield running
        failed = False
    finally:
        if failed:  # the test's own failure is the one to report: just clean up
            running.server.shutdown()
            if running.thread.ident is None:
                running.start()  # serve_forever() after shutdown() returns at once, closing its sockets
            running.thread.join(STOP_TIMEOUT)
        else:
            running.stop()


class Client:
    """A blocking test client that keeps every byte it sent and got, for failure messages."""

    def __init__(self, address, *, rcvbuf: int | None = None, nodelay: bool = False):
        self.port = address[1]
        self.sock = socket.socket()
        if rcvbuf:  # before connect(), so the window is small from the handshake on
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if nodelay:  # every send() its own TCP segment
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(CLIENT_TIMEOUT)
        self.sent = b""
        self.received = bytearray()  # everything, for the report
        self.unread = bytearray()  # what response() has not returned yet
        try:
            self.sock.connect(address)
        except (ConnectionError, socket.timeout) as error:  # the listener is gone, or nobody accepts
            self.sock.close()
            crash = server_crash(RUNNING.get(self.port))
            pytest.fail(f"a new client could not connect ({error})."
                        + (crash or "\n  Is serve_forever() still running, and accepting?"), pytrace=False)

    def send(self, data: bytes, hint: str = "") -> None:
        try:
            self.sock.sendall(data)
        except ConnectionError as error:  # the server closed (or reset) while this client still sent
            self.sent += data
            pytest.fail(f"the server closed the connection while the client was still sending ({error})."
                        + self.report(hint or "close a connection only when the client closed it (recv() "
                                      "returned b'') and every answer due has been sent"), pytrace=False)
        self.sent += data

    def report(self, hint: str, stalled: bool = False, closed: bool = False) -> str:
        """The wire (long answers shortened), what went wrong in them, and, if the server
        `stalled`, where its thread is."""
        got = bytes(self.received)
        lines = [f"  the client sent:  {show_bytes(self.sent, SHOWN_BYTES)}",
                 f"  your code gave:   {show_bytes(got, SHOWN_BYTES)}"]
        if hint:
            lines.append(f"  hint: {hint}")
        lines.append(f"  try it by hand:   {nc_command(self.sent, port=self.port)}")
        lost = owed_report(got, expected_answers(self.sent), closed)
        running = RUNNING.get(self.port)
        crash = server_crash(running)
        where = server_whereabouts(running.thread)[1] if stalled and running and not crash else ""
        return "\n" + "\n".join(lines) + lost + crash + where

    def _recv_more(self, hint: str, size: int = 65536) -> None:
        try:
            data = self.sock.recv(size)
        except socket.timeout:
            pytest.fail(f"no answer within {CLIENT_TIMEOUT} s." + self.report(hint, stalled=True), pytrace=False)
        except ConnectionError as error:
            pytest.fail(f"the server reset the connection ({error})." + self.report(hint), pytrace=False)
        if not data:
            pytest.fail("the server closed the connection before the whole answer came."
                        + self.report(hint, closed=True), pytrace=False)
        self.received += data
        self.unread += data

    def response(self, hint: str = "", recv_size: int = 65536) -> bytes:
        """One whole response (head and Content-Length body), or the test fails with the wire."""
        while b"\r\n\r\n" not in self.unread:
            self._recv_more(hint, recv_size)
        head_end = self.unread.index(b"\r\n\r\n") + 4
        length = int(bytes(self.unread[:head_end]).lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(self.unread) < head_end + length:
            self._recv_more(hint, recv_size)
        response = bytes(self.unread[:head_end + length])
        del self.unread[:head_end + length]
        return response

    def expect_closed(self, hint: str) -> None:
        """The server closes its side (recv() returns b"" or a reset) within the time limit."""
        try:
            while data := self.sock.recv(65536):
                self.received += data
        except socket.timeout:
            pytest.fail(f"the server did not close the connection within {CLIENT_TIMEOUT} s."
                        + self.report(hint, stalled=True), pytrace=False)
        except ConnectionError:
            pass

    def reset(self) -> None:
        """Abort the connection: close with SO_LINGER 0 sends an RST, not a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def fd_target(fd: int) -> str:
    """What an open fd is, e.g. 'socket:[123]' or 'anon_inode:[eventpoll]' (the epoll)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"


def assert_response(got: bytes, expected: bytes, client: Client, hint: str) -> None:
    assert got == expected, f"expected {show_bytes(expected, 200)}, got {show_bytes(got, 200)}" + client.report(hint)


# -- exercise 5.1: take_heads (no sockets) ------------------------------------------------


@pytest.mark.exercise("5.1")
def test_take_heads_cuts_one_whole_head(lesson):
    buffer = bytearray(SIMPLE_GET)
    heads = lesson.take_heads(buffer)
    assert heads == [SIMPLE_GET], f"expected [{SIMPLE_GET!r}], got {heads!r}: a head runs through b'\\r\\n\\r\\n'"
    assert buffer == b"", f"the head must be removed from the buffer; left: {bytes(buffer)!r}"


@pytest.mark.exercise("5.1")
def test_take_heads_waits_for_the_blank_line(lesson):
    buffer = bytearray()
    heads = []
    for byte in SIMPLE_GET:  # one byte at a time, as a slow network may deliver it
        buffer.append(byte)
        heads += lesson.take_heads(buffer)
    assert heads == [SIMPLE_GET], (
        f"fed one byte at a time, expected exactly one head {SIMPLE_GET!r}, got {heads!r}: "
        "return [] until b'\\r\\n\\r\\n' is in the buffer, and keep the partial bytes there")
    assert buffer == b""


@pytest.mark.exercise("5.1")
def test_take_heads_returns_pipelined_heads_in_order(lesson):
    buffer = bytearray(SIMPLE_GET + SECOND_GET)
    heads = lesson.take_heads(buffer)
    assert heads == [SIMPLE_GET, SECOND_GET], (
        f"two requests in one buffer: expected both heads in order, got {heads!r}. Keep cutting until "
        "no b'\\r\\n\\r\\n' is left")


@pytest.mark.exercise("5.1")
def test_take_heads_keeps_the_start_of_the_next_request(lesson):
    buffer = bytearray(SIMPLE_GET + SECOND_GET[:10])
    heads = lesson.take_heads(buffer)
    assert heads == [SIMPLE_GET] and buffer == SECOND_GET[:10], (
        f"expected [SIMPLE_GET] and {SECOND_GET[:10]!r} left in the buffer, got {heads!r} and "
        f"{bytes(buffer)!r}: bytes after the last complete head belong to the next request")


@pytest.mark.exercise("5.1")
def test_take_heads_of_an_empty_buffer_is_empty(lesson):
    buffer = bytearray()
    assert lesson.take_heads(buffer) == [] and buffer == b""


# -- exercise 5.2: the listening socket ----------------------------------------------------


@pytest.mark.exercise("5.2")
def test_address_is_bound_on_loopback_after_construction(lesson):
    server = lesson.EpollServer(handler)
    try:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0, (
            f"EpollServer(handler).address must be ('127.0.0.1', <the port the kernel chose>), got "
            f"{server.address!r}: bind to (host, port) and read getsockname()")
        # listen() was called: the kernel completes the handshake even before the loop runs.
        with socket.create_connection((host, port), timeout=CLIENT_TIMEOUT):
            pass
        assert not server._listener.getblocking(), (
            "the listening socket is in blocking mode. The loop accept()s until BlockingIOError (edge-"
            "triggered epoll reports a backlog once); a blocking accept() would instead wait for the next "
            "client and stop the whole server: self._listener.setblocking(False)")
    finally:
        close_unserved(server)


@pytest.mark.exercise("5.2")
def test_given_port_is_used(lesson):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = lesson.EpollServer(handler, "127.0.0.1", port)
    close_unserved(server)
    assert server.address[1] == port, f"EpollServer(handler, '127.0.0.1', {port}) listens on {server.address!r}"


# -- exercise 5.3: the loop, shutdown(), closing everything ----------------------------------


@pytest.mark.exercise("5.3")
def test_shutdown_from_another_thread_stops_an_idle_loop(lesson, fd_leak_check):
    with serving(lesson) as running:
        pass  # serving() calls shutdown() from this thread and checks serve_forever() returns
    assert not running.thread.is_alive()


@pytest.mark.exercise("5.3")
def test_shutdown_is_prompt(lesson):
    running = Running(lesson.EpollServer(handler)).start()
    time.sleep(0.1)  # let the loop reach epoll.poll(): the point is to wake it from there
    took = running.stop()
    assert took < 0.5, (
        f"serve_forever() returned {took:.2f} s after shutdown(). Waking the loop with a byte on the "
        "socketpair takes a millisecond; polling a flag with a timeout wastes wake-ups and time")


@pytest.mark.exercise("5.3")
def test_shutdown_before_serve_forever_makes_it_return_at_once(lesson):
    server = lesson.EpollServer(handler)
    server.shutdown()
    running = Running(server).start()
    running.thread.join(STOP_TIMEOUT)
    assert not running.thread.is_alive(), (
        "shutdown() was called before serve_forever(); serve_forever() must then return at once "
        "(check the stop flag before polling, or leave the wake-up byte for the poll to find)")
    assert running.error is None, f"serve_forever() raised {running.error!r}"


@pytest.mark.exercise("5.3")
def test_shutdown_twice_and_after_the_loop_ended_is_harmless(lesson):
    with serving(lesson) as running:
        pass
    running.server.shutdown()  # the loop has closed its sockets: this must not raise


@pytest.mark.exercise("5.3")
def test_every_fd_is_closed_after_serving_clients(lesson, fd_leak_check, edge):
    before = open_fds()
    with serving(lesson, edge_triggered=edge) as running:
        for _ in range(3):
            with Client(running.address) as client:
                client.send(SIMPLE_GET)
                client.response()
    left_open = {fd: fd_target(fd) for fd in open_fds() - before}  # checked while `running` holds the server
    assert not left_open, (
        f"serve_forever() returned but left {len(left_open)} file descriptor(s) open: {left_open}. "
        "In a finally: close every client socket, the listener, both ends of the socketpair, and the epoll")


# -- exercise 5.4: accepting -------------------------------------------------------------


@pytest.mark.exercise("5.4")
def test_clients_one_after_another_are_all_answered(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running:
        for number in range(3):
            with Client(running.address) as client:
                client.send(SIMPLE_GET)
                got = client.response(hint=(
                    f"client {number + 1} of 3 got no answer. If the first works and a later one does not, "
                    "is accept() blocking? The listener must be non-blocking, so accepting until "
                    "BlockingIOError ends instead of waiting for the next client"))
                assert_response(got, SIMPLE_RESPONSE, client, "")


@pytest.mark.exercise("5.4")
def test_clients_queued_before_the_loop_starts_are_all_answered(lesson, edge):
    clients = 12
    with serving(lesson, edge_triggered=edge, start=False) as running:
        with contextlib.ExitStack() as stack:
            waiting = [stack.enter_context(Client(running.address)) for _ in range(clients)]
            for client in waiting:  # all 12 wait in the backlog: one EPOLLIN edge for all of them
                client.send(SIMPLE_GET)
            running.start()
            for number, client in enumerate(waiting):
                got = client.response(hint=(
                    f"{clients} clients connected before the loop started; client {number + 1} got nothing. "
                    "Edge-triggered: epoll reports the listener once for the whole backlog, so accept() "
                    "until it raises BlockingIOError, not once per event"))
                assert_response(got, SIMPLE_RESPONSE, client, "")


@pytest.mark.exercise("5.4")
def test_shutdown_closes_connected_clients(lesson, fd_leak_check, edge):
    with serving(lesson, edge_triggered=edge) as running:
        client = Client(running.address)
        client.send(SIMPLE_GET)
        client.response()  # now the server surely holds this connection
    with client:
        client.expect_closed(
            "shutdown() was called while this client was connected: close every client socket when "
            "serve_forever() ends, so the client sees the connection end")


# -- exercise 5.5: reading and answering ---------------------------------------------------


@pytest.mark.exercise("5.5")
def test_a_request_is_answered(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address) as client:
        client.send(SIMPLE_GET)
        got = client.response(hint="recv() the request, give its head to handler(), send what it returns")
        assert_response(got, SIMPLE_RESPONSE, client, "the answer is handler(head), byte for byte")


@pytest.mark.exercise("5.5")
def test_keep_alive_several_requests_on_one_connection(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address) as client:
        for request, expected in [(SIMPLE_GET, SIMPLE_RESPONSE), (SECOND_GET, SECOND_RESPONSE),
                                  (SIMPLE_GET, SIMPLE_RESPONSE)]:
            client.send(request)
            got = client.response(hint=(
                "connections are keep-alive: after an answer, keep the connection registered and wait "
                "for the next request; close only when the client closes"))
            assert_response(got, expected, client, "")


@pytest.mark.exercise("5.5")
def test_two_requests_in_one_packet_are_answered_in_order(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address) as client:
        client.send(SIMPLE_GET + SECOND_GET)  # one sendall(): one segment, one recv() on the server
        hint = ("both requests arrived in one recv(): answer every complete head in the buffer, in order, "
                "not just the first")
        assert_response(client.response(hint=hint), SIMPLE_RESPONSE, client, hint)
        assert_response(client.response(hint=hint), SECOND_RESPONSE, client, hint)


@pytest.mark.exercise("5.5")
def test_a_request_split_across_many_packets_is_answered_once(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address, nodelay=True) as client:
        for start in range(0, len(SIMPLE_GET), 3):
            client.send(SIMPLE_GET[start:start + 3])
            time.sleep(0.002)  # the misbehaviour under test: 3 bytes per segment, with gaps
        got = client.response(hint=(
            "the request came 3 bytes at a time: keep the bytes in a per-connection buffer until "
            "it holds a whole head (b'\\r\\n\\r\\n'); one recv() is not one request"))
        assert_response(got, SIMPLE_RESPONSE, client, "")
        client.send(SECOND_GET)
        assert_response(client.response(), SECOND_RESPONSE, client, (
            "after the split request, the next one got the wrong answer: did a piece of the first stay "
            "in the buffer, or was a piece answered as if it were a request?"))


@pytest.mark.exercise("5.5")
def test_half_closed_client_gets_its_answers_then_eof(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address, rcvbuf=SMALL_RCVBUF) as client:
        client.send(BIG_GET + SIMPLE_GET)
        client.sock.shutdown(socket.SHUT_WR)  # FIN: "no more requests", not "stop answering"
        hint = ("the client sent two requests and shut down its sending side (recv() returned b''). "
                "That is a half-close: send every answer still due, then close")
        assert client.response(hint=hint) == BIG_RESPONSE, client.report(hint)
        assert_response(client.response(hint=hint), SIMPLE_RESPONSE, client, hint)
        client.expect_closed("after the last answer to a half-closed client, close the connection")


@pytest.mark.exercise("5.5")
def test_edge_triggered_reads_until_eagain(lesson):
    with serving(lesson, edge_triggered=True, start=False) as running:
        with Client(running.address) as client:
            client.send(SIMPLE_GET)
            client.sock.shutdown(socket.SHUT_WR)
            running.start()  # bytes and FIN are both queued: one edge for the two of them
            hint = ("edge-triggered, the request and the FIN were queued before the loop ran, so epoll "
                    "reports the socket once. Call recv() until BlockingIOError (or b''): one recv() per "
                    "event never sees the FIN, and no later event comes")
            assert_response(client.response(hint=hint), SIMPLE_RESPONSE, client, hint)
            client.expect_closed(hint)


@pytest.mark.exercise("5.5")
@pytest.mark.parametrize("sent_first", [pytest.param(b"", id="nothing"), pytest.param(SIMPLE_GET[:9], id="half-a-head"),
                                        pytest.param(BIG_GET, id="a-request-for-8-MiB")])
def test_a_client_reset_does_not_take_the_server_down(lesson, edge, sent_first):
    with serving(lesson, edge_triggered=edge) as running:
        with Client(running.address, rcvbuf=SMALL_RCVBUF) as rude:
            rude.send(SIMPLE_GET)
            rude.response()  # the server holds this connection for sure
            rude.send(sent_first)
            if sent_first == BIG_GET:
                rude.sock.recv(100)  # the answer has started: the server is mid-send
            rude.reset()
        with Client(running.address) as polite:
            polite.send(SIMPLE_GET)
            hint = ("a client reset its connection (RST) just before this one connected; recv() or send() on "
                    "the reset socket raises ConnectionResetError or BrokenPipeError: catch OSError for that "
                    "one client, close it, and carry on")
            assert_response(polite.response(hint=hint), SIMPLE_RESPONSE, polite, hint)
    # serving() fails the test if serve_forever() raised


# -- exercise 5.6: writing, and the interest mask --------------------------------------------


@pytest.mark.exercise("5.6")
def test_a_big_response_to_a_slow_reader_arrives_whole(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address, rcvbuf=SMALL_RCVBUF) as client:
        client.send(BIG_GET)
        time.sleep(SLOW_READER_PAUSE)  # the misbehaviour under test: the client does not read yet
        got = client.response(recv_size=SMALL_RCVBUF, hint=(
            f"the answer is {len(BIG_RESPONSE):,} bytes and the client reads slowly through a small window: "
            "send() takes only what fits in the socket buffer and returns how much. Keep the rest pending, "
            "register for EPOLLOUT, and send more when it fires"))
        assert got == BIG_RESPONSE, (
            f"the {len(BIG_RESPONSE):,}-byte answer arrived changed ({len(got):,} bytes): send the bytes "
            "send() did not take, in order, and only those")
        client.send(SIMPLE_GET)
        assert_response(client.response(), SIMPLE_RESPONSE, client, "the connection must work after a big answer")


def idle_cpu(running: Running) -> float:
    before = running.cpu_time()
    time.sleep(IDLE_WAIT)  # the measurement itself: the server has nothing to do for this long
    return running.cpu_time() - before


@pytest.mark.exercise("5.6")
def test_an_idle_connection_costs_no_cpu(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address) as client:
        client.send(SIMPLE_GET)
        client.response()
        used = idle_cpu(running)
        assert used < IDLE_CPU_LIMIT, (
            f"with one idle keep-alive client, the server thread used {used:.3f} s of CPU in {IDLE_WAIT} s "
            f"(an idle loop uses about 0.001 s). It is spinning: a level-triggered EPOLLOUT stays ready while "
            "the send buffer has room, so switch EPOLLOUT off (epoll.modify) as soon as nothing is pending")


@pytest.mark.exercise("5.6")
def test_a_half_closed_client_that_reads_slowly_costs_no_cpu(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address, rcvbuf=SMALL_RCVBUF) as client:
        client.send(BIG_GET)
        client.sock.shutdown(socket.SHUT_WR)
        used = idle_cpu(running)  # the server can do nothing: the client's window is full
        assert used < IDLE_CPU_LIMIT, (
            f"the server thread used {used:.3f} s of CPU in {IDLE_WAIT} s while waiting for a half-closed "
            "client to read. After recv() returned b'', EPOLLIN (and EPOLLRDHUP) stay ready forever: drop "
            "them from the mask and wait for EPOLLOUT only")
        assert client.response() == BIG_RESPONSE
        client.expect_closed("after the last answer to a half-closed client, close the connection")


@pytest.mark.exercise("5.6")
@pytest.mark.parametrize("stall", [pytest.param(SIMPLE_GET[:12], id="stops-mid-head"),
                                   pytest.param(BIG_GET, id="never-reads-its-8-MiB")])
def test_one_stalled_client_does_not_delay_the_others(lesson, edge, stall):
    with serving(lesson, edge_triggered=edge) as running, \
            Client(running.address, rcvbuf=SMALL_RCVBUF) as stalled:
        stalled.send(stall)  # and then nothing, for the rest of the test
        for number in range(3):
            with Client(running.address) as other:
                other.send(SIMPLE_GET)
                started = time.monotonic()
                got = other.response(hint=(
                    f"another client is stalled ({'it sent half a head' if stall != BIG_GET else 'it reads nothing'}); "
                    "this one was not answered. Nothing may wait for one client: no blocking recv() until a "
                    "head is complete, no sendall() of a big answer; keep the state and return to the loop"))
                assert_response(got, SIMPLE_RESPONSE, other, "")
                assert time.monotonic() - started < CLIENT_TIMEOUT


@pytest.mark.exercise("5.6")
def test_pipelined_big_then_small_answers_keep_their_order(lesson, edge):
    with serving(lesson, edge_triggered=edge) as running, Client(running.address, rcvbuf=SMALL_RCVBUF) as client:
        client.send(BIG_GET + SIMPLE_GET)
        hint = "answers go out in the order the requests came, even when the first is big and still pending"
        assert client.response(hint=hint) == BIG_RESPONSE, client.report(hint)
        assert_response(client.response(hint=hint), SIMPLE_RESPONSE, client, hint)


# -- C10K: ten thousand connections at once (slow; last) --------------------------------------


@pytest.fixture
def fd_limit_for_c10k():
    """Raise this process's soft limit on open files (the client process inherits it); restore it after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = C10K + 1000  # the connections, plus what pytest and the interpreter hold
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the C10K test needs {needed} open files per process, but the hard limit here is {hard}. "
                    f"Raise it (e.g. `ulimit -Hn {needed}` as root, or nofile in /etc/security/limits.conf).")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.exercise("5.6")
def test_c10k_ten_thousand_concurrent_connections_are_all_answered(lesson, fd_limit_for_c10k):
    with serving(lesson) as running:
        command = [sys.executable, str(C10K_CLIENT), "127.0.0.1", str(running.port), str(C10K)]
        try:
            finished = subprocess.run(command, capture_output=True, text=True, timeout=45)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the {C10K:,} clients were not all answered within 45 s ({' '.join(command)})", pytrace=False)
        lines = finished.stdout.strip().splitlines()
        result = json.loads(lines[-1]) if lines else {"error": finished.stderr[-2000:]}
    assert result.get("answered") == C10K, (
        f"{C10K:,} clients connected and held their connections open, then each sent one request: "
        f"{result}. Every one must be answered. If 'connected' is short, accept until BlockingIOError; "
        f"if 'answered' is short, look for a client that waits on another. Run it by hand: {' '.join(command)}")
