"""Lesson 02 — non-blocking sockets and generators. Each test names the exercise it checks.

Exercises 2.1–2.4 are generators. The tests run them with their own small driver,
`run_steps()` below, so a bug in your drive() (exercise 2.5) never fails them: it
checks every value your generator yields, and waits in select() like drive() should.

The peers are real loopback sockets. `tcp_pair` is a connected pair with small
buffers whose server end the test holds itself, so a test decides exactly when the
peer reads, sends or closes: no timing guesses. `ScriptedServer` and friends come
from tests/servers.py.
"""

import inspect
import select
import selectors
import socket
import threading
import time

import pytest

from tests.harness import show_bytes, wire_report
from tests.servers import (
    Close, IO_TIMEOUT, Pause, ReadRequest, ReadRequestSlowly, ScriptedServer, Send, StuckListener,
    refused_address,
)

pytestmark = pytest.mark.timeout(8)  # each test finishes in well under a second on the reference

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
EVENT_NAMES = {READ: "EVENT_READ", WRITE: "EVENT_WRITE"}
SMALL_BUFFER = 4096  # SO_SNDBUF asked for; Linux doubles it (man 7 socket)
# SO_RCVBUF of the test's end. Not smaller: on loopback (MSS 64 KiB) a receive window below one
# segment leaves the sender waiting for TCP's persist timer, seconds at a time (see ReadRequestSlowly).
RECEIVE_BUFFER = 64 * 1024
DRIVER_PATIENCE = 3.0  # seconds run_steps() waits for one socket to be ready before it gives up
SPIN_PATIENCE = 2.0  # seconds a generator may take to reach its first yield (the reference: microseconds)

BODY = b"Hello from the test server!\n" * 3
SIMPLE_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"Connection: close\r\n"
    b"\r\n" + BODY
)
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB: hundreds of times what the small buffers hold


@pytest.fixture(scope="module")
def nb(load_lesson):
    return load_lesson(2)


# -- the tests' own driver and checks -------------------------------------------------


def checked(step, who: str):
    """A yielded value must be (socket, EVENT_READ or EVENT_WRITE): what the generator waits for."""
    if not (isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], socket.socket)
            and step[1] in EVENT_NAMES):
        pytest.fail(f"{who} yielded {step!r}; it must yield a pair (sock, selectors.EVENT_READ) or "
                    "(sock, selectors.EVENT_WRITE): the socket, and what it waits for", pytrace=False)
    return step


def generator(steps, who: str):
    """What a call of the lesson's function returned must be a generator (a function with `yield`)."""
    if not inspect.isgenerator(steps):
        pytest.fail(f"{who}(...) returned {show_bytes(steps) if isinstance(steps, bytes) else repr(steps)}, not a "
                    "generator. A function becomes a generator when its body contains `yield`: yield (sock, event) "
                    "where it would wait, and `return` its result", pytrace=False)
    return steps


def is_ready(sock: socket.socket, event: int, timeout: float = 0.0) -> bool:
    """True when `sock` is readable (EVENT_READ) or writable (EVENT_WRITE) within `timeout` seconds."""
    readable, writable, _ = select.select([sock] if event & READ else [], [sock] if event & WRITE else [], [], timeout)
    return bool(readable or writable)


def run_steps(steps, who: str, *, on_wait=None, max_steps: int = 100_000, stuck_hint=lambda: "", waiting=None):
    """Run a generator like drive() does; returns (its return value, the (sock, event) pairs it yielded).

    `waiting` is the step it already yielded, when the test started it by hand.

    `on_wait(sock, event)` runs each time the generator waits, before the wait: that is
    where a test plays the peer (reads a little, sends the next piece). Fails the test
    when a socket is not ready within DRIVER_PATIENCE seconds or after `max_steps` yields.
    """
    yielded = []
    generator(steps, who)
    try:
        while True:
            if waiting is None:
                try:
                    step = steps.send(None)
                except StopIteration as finished:
                    return finished.value, yielded
            else:
                step, waiting = waiting, None
            sock, event = checked(step, who)
            yielded.append(step)
            if len(yielded) > max_steps:
                pytest.fail(f"{who} yielded {len(yielded)} times and was still not done: it keeps waiting on a "
                            f"socket whose state cannot change any more. {stuck_hint()}", pytrace=False)
            if on_wait is not None:
                on_wait(sock, event)
            if not is_ready(sock, event, DRIVER_PATIENCE):
                pytest.fail(f"{who} waited for {EVENT_NAMES[event]} and the socket was still not ready after "
                            f"{DRIVER_PATIENCE} s. {stuck_hint()}", pytrace=False)
    finally:
        steps.close()  # a generator the test gave up on runs its `finally`/`with` now


def first_step(start, who: str, *, release):
    """Call `start()` and run the generator it makes up to its first yield, in a thread.

    Returns ("yielded", step) or ("returned", value); the generator is closed.

    A generator that neither yields nor returns within SPIN_PATIENCE seconds spins in a
    loop (or blocks): `release()` then lets the peer close so the thread can finish, and
    the test fails with what the process's CPU time says it was doing.
    """
    outcome = {}

    def resume():
        try:
            steps = start()  # a function that is not a generator runs right here, so it too is watched
            if not inspect.isgenerator(steps):
                outcome["not a generator"] = steps
                return
            outcome["yielded"] = next(steps)
            steps.close()
        except StopIteration as finished:
            outcome["returned"] = finished.value
        except BaseException as error:  # re-raised in the test's thread below
            outcome["error"] = error

    cpu_before = time.process_time()
    thread = threading.Thread(target=resume, name=f"first-step-of-{who}", daemon=True)
    thread.start()
    thread.join(SPIN_PATIENCE)
    if thread.is_alive():
        cpu = time.process_time() - cpu_before
        release()
        thread.join(IO_TIMEOUT)
        doing = (f"it used {cpu:.2f} s of CPU meanwhile: it spins, retrying the call in a loop"
                 if cpu > 0.25 * SPIN_PATIENCE else
                 f"it used only {cpu:.2f} s of CPU meanwhile: it blocks (is the socket in blocking mode?)")
        pytest.fail(f"{who} neither yielded nor returned within {SPIN_PATIENCE} s; {doing}. When the "
                    "syscall raises BlockingIOError, `yield` (sock, event) so whoever runs you can wait "
                    "for the socket; never retry without yielding.", pytrace=False)
    if "error" in outcome:
        raise outcome["error"]
    if "not a generator" in outcome:
        generator(outcome["not a generator"], who)
    return next(iter(outcome.items()))


# -- fixtures: peers the tests control ---------------------------------------------------


@pytest.fixture
def tcp_pair():
    """(client, server): a connected loopback pair. The client is non-blocking with a small send
    buffer; the server end is blocking (with a time-out), and the test reads from and writes to
    it by hand."""
    with socket.socket() as listener:
        # Set before listen(): accepted sockets inherit it, and TCP sizes its window from it.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
        client.connect(listener.getsockname())
        server, _ = listener.accept()
    client.setblocking(False)
    server.settimeout(IO_TIMEOUT)
    with client, server:
        yield client, server


@pytest.fixture
def listening_address():
    """An address where the kernel completes handshakes (into the accept queue) at once."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()


@pytest.fixture
def fresh_socket():
    """A new TCP socket as a caller would pass it: in blocking mode. The 2 s time-out only
    turns a connect() that would block for minutes into a TimeoutError."""
    with socket.socket() as sock:
        sock.settimeout(2.0)
        yield sock


# -- exercise 2.1: connect_steps ------------------------------------------------------


@pytest.mark.exercise("2.1")
def test_connect_steps_first_yields_the_socket_waiting_to_write(nb, fd_leak_check, listening_address, fresh_socket):
    kind, step = first_step(lambda: nb.connect_steps(fresh_socket, listening_address), "connect_steps",
                            release=lambda: None)
    assert kind == "yielded", (
        f"connect_steps returned {step!r} without yielding once. A non-blocking connect() only starts the "
        "handshake (BlockingIOError, EINPROGRESS): yield (sock, selectors.EVENT_WRITE) to wait for its end")
    assert step == (fresh_socket, WRITE), (
        f"connect_steps yielded {step!r}; expected (sock, selectors.EVENT_WRITE) with the socket you were given: "
        "a connecting socket becomes *writable* when the handshake has finished (man 2 connect)")


@pytest.mark.exercise("2.1")
def test_connect_steps_makes_the_socket_non_blocking(nb, fd_leak_check, listening_address, fresh_socket):
    kind, step = first_step(lambda: nb.connect_steps(fresh_socket, listening_address), "connect_steps",
                            release=lambda: None)
    assert not fresh_socket.getblocking(), (
        "the socket was still in blocking mode when connect_steps yielded, so its connect() waited for the "
        "whole handshake and every later recv() can stall the program: call sock.setblocking(False) first")


@pytest.mark.exercise("2.1")
def test_connect_steps_reads_the_outcome_only_after_the_wait(nb, fd_leak_check, fresh_socket):
    # StuckListener's accept queue is full: the kernel drops our SYN, so the connect stays in progress.
    # Then the listener closes, and the SYN the kernel sends again (after about 1 s) is refused.
    stuck = StuckListener()
    try:
        steps = generator(nb.connect_steps(fresh_socket, stuck.address), "connect_steps")
        try:
            step = checked(next(steps), "connect_steps")
        except StopIteration:
            pytest.fail("connect_steps returned while the handshake was still in progress: it must yield "
                        "(sock, EVENT_WRITE) right after starting connect(), and find out how it went after", pytrace=False)
        except TimeoutError:
            pytest.fail("connect_steps blocked in connect() (the test's 2 s time-out stopped it): "
                        "call sock.setblocking(False) before connect()", pytrace=False)
        except OSError as error:
            pytest.fail(f"connect_steps used the socket before its connect had finished and got {error!r}: "
                        "yield (sock, EVENT_WRITE) right after starting connect()", pytrace=False)
        assert step == (fresh_socket, WRITE), f"connect_steps yielded {step!r}; expected (sock, selectors.EVENT_WRITE)"
        if is_ready(fresh_socket, WRITE):
            steps.close()
            pytest.skip("this system finished the handshake anyway; the test needs a connect that stays in progress")
        stuck.close()
        with pytest.raises(ConnectionRefusedError):
            value, yielded = run_steps(steps, "connect_steps", waiting=step, max_steps=3)
            pytest.fail(
                f"connect_steps returned {value!r}, but this connect was refused once it finished. Right after "
                "connect() SO_ERROR is 0 because nothing has failed *yet*: read it only after the wait, when the "
                "socket is writable (and raise if it is not 0)", pytrace=False)
    finally:
        stuck.close()


@pytest.mark.exercise("2.1")
def test_connect_steps_connects(nb, fd_leak_check, listening_address, fresh_socket):
    value, yielded = run_steps(nb.connect_steps(fresh_socket, listening_address), "connect_steps", max_steps=3)
    assert value is None, f"connect_steps returned {value!r}; it returns None (the socket itself is the result)"
    assert fresh_socket.getpeername() == listening_address, (
        f"after connect_steps the socket is connected to {fresh_socket.getpeername()}, not {listening_address}")


@pytest.mark.exercise("2.1")
def test_connect_steps_raises_connection_refused(nb, fd_leak_check, fresh_socket):
    address = refused_address()
    with pytest.raises(ConnectionRefusedError):
        value, yielded = run_steps(
            nb.connect_steps(fresh_socket, address), "connect_steps", max_steps=3,
            stuck_hint=lambda: "Once a connecting socket is writable the connect is over, failed or not: "
                               "read SO_ERROR and raise (e.g. OSError(code, os.strerror(code))) if it is not 0.")
        pytest.fail(f"nothing listens on {address}, yet connect_steps returned {value!r} after {len(yielded)} "
                    "wait(s): the refusal was swallowed. When the socket is writable, read "
                    "sock.getsockopt(SOL_SOCKET, SO_ERROR); if it is not 0, raise OSError(code, os.strerror(code)), "
                    "which is a ConnectionRefusedError for ECONNREFUSED", pytrace=False)


# -- exercise 2.2: send_steps ----------------------------------------------------------


@pytest.mark.exercise("2.2")
def test_send_steps_sends_a_small_message(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair
    message = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
    value, yielded = run_steps(nb.send_steps(client, message), "send_steps")
    received = server.recv(65536)
    assert received == message, wire_report(client_sent=received, hint=f"send_steps must send exactly {message!r}")
    assert value == len(message), f"send_steps returned {value!r}; it returns how many bytes it sent ({len(message)})"


@pytest.mark.exercise("2.2")
def test_send_steps_yields_write_when_the_send_buffer_is_full(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair  # the server end reads nothing until the test says so
    kind, step = first_step(lambda: nb.send_steps(client, PAYLOAD), "send_steps", release=server.close)
    assert kind == "yielded", (
        f"send_steps returned {step!r} although the peer had read nothing of the {len(PAYLOAD)} bytes, and the "
        "buffers hold a few KiB: send() takes what fits and *returns how many bytes that was*. "
        "Keep sending the rest; when send() raises BlockingIOError, yield (sock, EVENT_WRITE)")
    assert step == (client, WRITE), (
        f"send_steps yielded {step!r}; when the send buffer is full, wait for room: (sock, selectors.EVENT_WRITE)")


@pytest.mark.exercise("2.2")
def test_send_steps_delivers_every_byte_to_a_slow_reader(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair
    received = bytearray()

    def read_what_is_there(sock, event):  # the slow reader: reads only while the sender waits
        assert event == WRITE, f"send_steps waited for {EVENT_NAMES[event]}; a full send buffer needs EVENT_WRITE"
        # Take everything buffered: reading less may not reopen TCP's window (the sender would
        # stall until the persist timer), and this test is about the sender, not TCP.
        patience = 1.0  # for the first piece; then only what is already there
        while is_ready(server, READ, patience):
            received.extend(server.recv(1024 * 1024))
            patience = 0.0

    value, yielded = run_steps(nb.send_steps(client, PAYLOAD), "send_steps", on_wait=read_what_is_there)
    server.settimeout(0.5)
    try:
        while len(received) < len(PAYLOAD) and (piece := server.recv(65536)):
            received.extend(piece)
    except TimeoutError:
        pass  # nothing more is coming
    if bytes(received) != PAYLOAD:
        how = ("more bytes than it was given: after a partial send, carry on from where send() stopped, "
               "not from the start" if len(received) > len(PAYLOAD) else
               "fewer bytes than it was given: send() returns how many bytes the kernel took, often fewer than "
               "offered. Send the rest, and when send() raises BlockingIOError yield (sock, EVENT_WRITE)")
        pytest.fail(f"the reader got {len(received)} bytes of {len(PAYLOAD)} (send_steps waited {len(yielded)} "
                    f"times); the bytes differ or are missing. send_steps delivered {how}", pytrace=False)
    assert value == len(PAYLOAD), f"send_steps returned {value!r}; it returns the number of bytes sent, {len(PAYLOAD)}"


# -- exercise 2.3: recv_steps ----------------------------------------------------------


@pytest.mark.exercise("2.3")
def test_recv_steps_yields_read_while_nothing_has_arrived(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair  # the server end sends nothing
    try:
        kind, step = first_step(lambda: nb.recv_steps(client), "recv_steps", release=lambda: server.shutdown(socket.SHUT_WR))
    except BlockingIOError as error:
        pytest.fail(f"recv_steps let {error!r} escape. On a non-blocking socket, recv() raises BlockingIOError "
                    "when nothing has arrived yet: catch it, yield (sock, EVENT_READ), and try again", pytrace=False)
    assert kind == "yielded", (
        f"recv_steps returned {step!r}, but the peer has neither sent anything nor closed: only b'' from recv() "
        "means the end. When nothing has arrived yet, yield (sock, selectors.EVENT_READ)")
    assert step == (client, READ), f"recv_steps yielded {step!r}; to wait for data, yield (sock, selectors.EVENT_READ)"


@pytest.mark.exercise("2.3")
def test_recv_steps_reads_every_piece_until_the_peer_closes(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair
    pieces = [SIMPLE_RESPONSE[start:start + 20] for start in range(0, len(SIMPLE_RESPONSE), 20)]
    to_send = list(pieces)

    def send_next_piece(sock, event):  # the peer sends one piece each time recv_steps waits, then closes
        assert event == READ, f"recv_steps waited for {EVENT_NAMES[event]}; to wait for data, use EVENT_READ"
        if to_send:
            server.sendall(to_send.pop(0))
        else:
            server.shutdown(socket.SHUT_WR)

    value, yielded = run_steps(nb.recv_steps(client), "recv_steps", on_wait=send_next_piece)
    assert value == SIMPLE_RESPONSE, wire_report(
        server_sent=SIMPLE_RESPONSE, got=value,
        hint=f"the peer sent {len(pieces)} pieces, one each time you waited, then closed. Keep going after a "
             "BlockingIOError (yield, then recv() again) and after a short read: only b'' means the end")


@pytest.mark.exercise("2.3")
def test_recv_steps_returns_empty_bytes_when_the_peer_closes_at_once(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair
    server.shutdown(socket.SHUT_WR)
    value, yielded = run_steps(nb.recv_steps(client), "recv_steps")
    assert value == b"", wire_report(server_sent=b"", got=value, hint="the peer closed without a byte: return b''")


@pytest.mark.exercise("2.3")
def test_recv_steps_reads_a_large_response(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair
    pieces = [PAYLOAD[start:start + 65536] for start in range(0, len(PAYLOAD), 65536)]

    def send_next_piece(sock, event):
        if pieces:
            server.sendall(pieces.pop(0))
        else:
            server.shutdown(socket.SHUT_WR)

    value, yielded = run_steps(nb.recv_steps(client), "recv_steps", on_wait=send_next_piece)
    assert value == PAYLOAD, (
        f"the peer sent {len(PAYLOAD)} bytes and closed; recv_steps returned {len(value or b'')}: "
        "keep reading until recv() returns b''")


# -- exercise 2.4: fetch_steps ---------------------------------------------------------


def request_progress(server) -> str:
    """How much of the request a stalled fetch_steps delivered, and the likely cause if the head is not whole."""
    received = b"".join(connection.received for connection in server.connections)
    said = f"The server has received {len(received)} bytes of the request so far"
    if received and b"\r\n\r\n" not in received:
        return (said + ", not the whole head, so it cannot answer: send every byte of the request "
                "(`yield from send_steps(sock, request)`) before you wait to read.")
    return said + "."


def fetch_with(nb, script, path="/", on_wait=None):
    with ScriptedServer(script) as server:
        got, yielded = run_steps(
            nb.fetch_steps("127.0.0.1", server.port, path), "fetch_steps", on_wait=on_wait,
            stuck_hint=lambda: request_progress(server))
    return got, yielded, server


@pytest.mark.exercise("2.4")
def test_fetch_steps_returns_the_whole_response(nb, fd_leak_check):
    got, yielded, server = fetch_with(nb, [ReadRequest(), Send(SIMPLE_RESPONSE, piece=7, pause=0.01), Close()])
    assert got == SIMPLE_RESPONSE, wire_report(
        client_sent=server.connections[0].received if server.connections else b"", server_sent=SIMPLE_RESPONSE,
        got=got, hint="fetch_steps returns what recv_steps returns: `return (yield from recv_steps(sock))`")


@pytest.mark.exercise("2.4")
def test_fetch_steps_sends_a_get_for_the_path(nb, fd_leak_check):
    got, yielded, server = fetch_with(nb, [ReadRequest(), Send(SIMPLE_RESPONSE), Close()], path="/hello")
    received = server.connections[0].received if server.connections else b""
    assert received.startswith(b"GET /hello HTTP/1.1\r\n") and received.endswith(b"\r\n\r\n"), wire_report(
        client_sent=received, hint="send build_request(host, path) with send_steps, after connect_steps")


@pytest.mark.exercise("2.4")
def test_fetch_steps_yields_only_non_blocking_sockets(nb, fd_leak_check):
    def check_mode(sock, event):
        assert not sock.getblocking(), (
            f"fetch_steps yielded a socket in blocking mode (waiting for {EVENT_NAMES[event]}): one blocking "
            "call stalls everything else a loop runs. connect_steps makes it non-blocking: use it")

    script = [ReadRequest(), Pause(0.05), Send(SIMPLE_RESPONSE), Close()]
    got, yielded, server = fetch_with(nb, script, on_wait=check_mode)
    first = EVENT_NAMES[yielded[0][1]] if yielded else "nothing (it never waited)"
    assert yielded and yielded[0][1] == WRITE, (
        f"fetch_steps first waited for {first}; expected EVENT_WRITE, the wait of connect_steps. Did it "
        "connect without it? A blocking connect() never yields: start with `yield from connect_steps(...)`")


@pytest.mark.exercise("2.4")
def test_fetch_steps_sends_a_large_request_to_a_slow_reader(nb, fd_leak_check):
    path = "/" + "a" * (512 * 1024)  # half a MiB of request head; the server reads 4 KiB per millisecond
    shrunk = set()

    def shrink_send_buffer(sock, event):
        if sock not in shrunk:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
            shrunk.add(sock)

    got, yielded, server = fetch_with(
        nb, [ReadRequestSlowly(), Send(SIMPLE_RESPONSE), Close()], path=path, on_wait=shrink_send_buffer)
    received = server.connections[0].received if server.connections else b""
    expected_start = f"GET {path} HTTP/1.1\r\n".encode()
    assert received.startswith(expected_start) and received.endswith(b"\r\n\r\n"), wire_report(
        client_sent=received,
        hint=f"the request is {len(expected_start)}+ bytes and the server reads slowly, so send() takes only "
             "part of it each time: send the whole request with send_steps")
    assert got == SIMPLE_RESPONSE, wire_report(server_sent=SIMPLE_RESPONSE, got=got)
    # (The reference waits for EVENT_WRITE about 10 times while sending this request.)


@pytest.mark.exercise("2.4")
def test_fetch_steps_does_not_block_while_connecting(nb, fd_leak_check):
    stuck = StuckListener()  # its accept queue is full: a connect to it stays in progress
    try:
        kind, step = first_step(lambda: nb.fetch_steps(*stuck.address), "fetch_steps", release=stuck.close)
    except ConnectionRefusedError:
        pytest.fail("fetch_steps blocked in connect() until the test gave up on it: start the connect with "
                    "`yield from connect_steps(sock, (host, port))`, which yields while the handshake is in "
                    "progress", pytrace=False)
    finally:
        stuck.close()
    assert kind == "yielded" and step[1] == WRITE, (
        f"while the handshake was in progress, fetch_steps {kind} {step!r}; it must yield (sock, EVENT_WRITE) "
        "as connect_steps does")


@pytest.mark.exercise("2.4")
def test_fetch_steps_closes_its_socket_when_abandoned(nb, fd_leak_check, listening_address):
    steps = generator(nb.fetch_steps(*listening_address), "fetch_steps")
    sock, event = checked(next(steps), "fetch_steps")
    steps.close()  # what a loop does with a task it cancels: GeneratorExit at the yield
    assert sock.fileno() == -1, (
        "fetch_steps was closed while waiting and left its socket open: create it in a `with` block "
        "(or close it in `finally:`), so it is closed however the generator ends")


@pytest.mark.exercise("2.4")
def test_fetch_steps_raises_when_the_connection_is_refused(nb, fd_leak_check):
    host, port = refused_address()
    with pytest.raises(ConnectionRefusedError):
        value, yielded = run_steps(nb.fetch_steps(host, port), "fetch_steps", max_steps=3)
        pytest.fail(f"nothing listens on {host}:{port}, yet fetch_steps returned {value!r}: let the error "
                    "from connect_steps propagate (and close the socket)", pytrace=False)


# -- exercise 2.5: drive ---------------------------------------------------------------


@pytest.fixture
def select_calls(nb, monkeypatch):
    """Counts the calls to select.select (however the lesson module imported it); a list of their arguments."""
    calls = []
    original = select.select

    def counting_select(*args, **kwargs):
        calls.append(args + tuple(kwargs.values()))
        return original(*args, **kwargs)

    monkeypatch.setattr(select, "select", counting_select)
    for name, value in vars(nb).items():
        if value is original:  # `from select import select`
            monkeypatch.setattr(nb, name, counting_select)
    return calls


def later(seconds: float, action):
    """Run `action` in `seconds` on a timer thread (the delay *is* what the test is about); stop it in finally."""
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def wait_then_read(sock, log):
    """A test generator: waits for `sock` to be readable, records whether it really was when resumed."""
    yield sock, READ
    ready = is_ready(sock, READ)
    log.append(ready)
    return sock.recv(100) if ready else None


@pytest.mark.exercise("2.5")
def test_drive_returns_the_generators_return_value(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair

    server.sendall(b"x")  # readable, and writable (an empty send buffer): ready for any event at once

    def answer_after_a_wait():
        yield client, READ
        return 42

    got = nb.drive(answer_after_a_wait())
    assert got == 42, (
        f"drive() returned {got!r}; expected 42, the generator's return value, which arrives as "
        "StopIteration.value")


@pytest.mark.exercise("2.5")
def test_drive_resumes_only_when_the_socket_is_readable(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair
    resumed_when_ready = []
    timer = later(0.3, lambda: server.sendall(b"hello"))
    try:
        value = nb.drive(wait_then_read(client, resumed_when_ready))
    finally:
        timer.cancel()
        timer.join()
    assert resumed_when_ready == [True], (
        f"drive() resumed the generator {len(resumed_when_ready)} time(s), readable each time: {resumed_when_ready}. "
        "It must wait in select.select([sock], [], []) until the socket is readable, then resume it once")
    assert value == b"hello", f"drive() returned {value!r}; expected the generator's return value b'hello'"


@pytest.mark.exercise("2.5")
def test_drive_waits_for_the_event_the_generator_named(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair
    filled = 0
    try:
        while True:  # fill the client's send buffer and the server's receive buffer
            filled += client.send(PAYLOAD)
    except BlockingIOError:
        pass
    rescued = threading.Event()

    def make_room():
        server.settimeout(1.0)
        drained = 0
        while drained < filled:
            drained += len(server.recv(65536))

    def rescue():  # only a drive() that waits for the wrong event still needs this
        rescued.set()
        server.sendall(b"!")

    def wait_for_room():
        yield client, WRITE
        return "rescued" if rescued.is_set() else "woken"

    timers = [later(0.2, make_room), later(2.0, rescue)]
    try:
        value = nb.drive(wait_for_room())
    finally:
        for timer in timers:
            timer.cancel()
            timer.join()
    assert value == "woken", (
        "the generator yielded (sock, EVENT_WRITE) and the socket became writable, but drive() slept on until the "
        "socket became readable: put the socket in select's write list for EVENT_WRITE, in its read list for EVENT_READ")


@pytest.mark.exercise("2.5")
def test_drive_sleeps_in_select_instead_of_polling(nb, fd_leak_check, tcp_pair, select_calls):
    client, server = tcp_pair
    resumed_when_ready = []
    timer = later(0.5, lambda: server.sendall(b"hello"))
    cpu_before, wall_before = time.process_time(), time.monotonic()
    try:
        nb.drive(wait_then_read(client, resumed_when_ready))
    finally:
        timer.cancel()
        timer.join()
    cpu, wall = time.process_time() - cpu_before, time.monotonic() - wall_before
    assert select_calls, "drive() never called select.select(): that is where it must wait for the socket"
    assert len(select_calls) <= 3 and resumed_when_ready == [True], (
        f"drive() called select.select {len(select_calls)} times and resumed the generator {len(resumed_when_ready)} "
        f"times while the socket stayed unready for 0.5 s (it used {cpu:.2f} s of CPU in {wall:.2f} s): it polls. "
        "Call select.select(readers, writers, []) with no timeout, so the kernel puts the process to sleep "
        "until the socket is ready. First arguments seen: " + repr(select_calls[:3]))


@pytest.mark.exercise("2.5")
def test_drive_lets_the_generators_exception_propagate(nb, fd_leak_check, tcp_pair):
    client, server = tcp_pair

    server.sendall(b"x")  # readable at once

    def refused_after_a_wait():
        yield client, READ
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(ConnectionRefusedError):
        value = nb.drive(refused_after_a_wait())
        pytest.fail(f"the generator raised ConnectionRefusedError, yet drive() returned {value!r}: let it propagate",
                    pytrace=False)
