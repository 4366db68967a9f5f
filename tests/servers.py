"""Servers that misbehave on purpose, for testing clients.

A `ScriptedServer` listens on 127.0.0.1 on a free port and plays the same script
to every client it accepts: read the request, send in tiny pieces, pause, close
early, reset. It records what each client sent and what it sent back, so a
failing test can show the bytes on the wire.

    with ScriptedServer([ReadRequest(), Send(RESPONSE, piece=3), Close()]) as server:
        raw = fetch("127.0.0.1", server.port)
    server.connections[0].received  # the request bytes the client sent

Each client gets its own thread; `close()` stops accepting, closes every socket
and joins every thread, so nothing outlives the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

IO_TIMEOUT = 5.0  # a server thread never waits longer than this on a client


@dataclass
class Connection:
    received: bytes = b""  # what the client sent
    sent: bytes = b""  # what the script sent back
    error: str = ""  # what went wrong on the server side, if anything


class Action:
    def run(self, sock: socket.socket, record: Connection) -> None:
        raise NotImplementedError


@dataclass
class ReadRequest(Action):
    """Read until the end of a request head (a blank line), or until the client closes."""

    def run(self, sock, record):
        while b"\r\n\r\n" not in record.received and b"\n\n" not in record.received:
            data = sock.recv(65536)
            if not data:
                return
            record.received += data


@dataclass
class ReadAll(Action):
    """Read until the client shuts down its side."""

    def run(self, sock, record):
        while data := sock.recv(65536):
            record.received += data


@dataclass
class Send(Action):
    """Send bytes, in pieces of `piece` bytes with `pause` seconds between them if asked."""

    data: bytes
    piece: int = 0
    pause: float = 0.0

    def run(self, sock, record):
        size = self.piece or len(self.data) or 1
        for start in range(0, len(self.data), size):
            if start and self.pause:
                time.sleep(self.pause)  # the pause *is* the misbehaviour under test
            part = self.data[start:start + size]
            sock.sendall(part)
            record.sent += part


@dataclass
class Pause(Action):
    seconds: float

    def run(self, sock, record):
        time.sleep(self.seconds)


@dataclass
class Close(Action):
    """Close normally (FIN): the client's recv() returns b''."""

    def run(self, sock, record):
        sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Reset(Action):
    """Abort the connection (RST): the client sees ConnectionResetError."""

    def run(self, sock, record):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class ScriptedServer:
    script: list[Action]
    connections: list[Connection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.1)  # lets the accept loop notice close() promptly
        self.port: int = self._listener.getsockname()[1]
        self.address = ("127.0.0.1", self.port)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client_sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, name="scripted-accept", daemon=True)
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            record = Connection()
            with self._lock:
                self.connections.append(record)
                self._client_sockets.append(client)
            thread = threading.Thread(target=self._play, args=(client, record), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _play(self, client: socket.socket, record: Connection) -> None:
        client.settimeout(IO_TIMEOUT)
        try:
            for action in self.script:
                action.run(client, record)
        except OSError as error:
            record.error = f"{type(error).__name__}: {error}"
        finally:
            client.close()

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> bool:
        """True once `count` clients have connected (a readiness check, not a sleep)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.connections) >= count:
                return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=2)
        self._listener.close()
        with self._lock:
            for client in self._client_sockets:
                try:
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(timeout=IO_TIMEOUT + 1)

    def __enter__(self) -> "ScriptedServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def refused_address() -> tuple[str, int]:
    """An address on loopback where nothing listens: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()


@contextlib.contextmanager
def silent_address() -> Iterator[tuple[str, int]]:
    """An address on loopback that neither accepts nor refuses a new connection.

    A listener with listen(0) whose accept queue already holds one connection that
    nobody accepts: Linux then drops every new SYN (the queue counts as full once it
    holds more than the backlog), so a connect() there gets no answer at all and
    ends with ETIMEDOUT when the client's SYN retries run out. `short_syn_timeout`
    brings that down from about two minutes to about a second.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname(), timeout=IO_TIMEOUT):
            readable, _, _ = select.select([listener], [], [], IO_TIMEOUT)
            if not readable:  # a readiness check, not a sleep: the queue now holds it
                raise RuntimeError("the filler connection never reached the accept queue")
            yield listener.getsockname()


def short_syn_timeout(sock: socket.socket) -> None:
    """Make a connect() on `sock` give up after its first unanswered SYN (Linux).

    TCP_SYNCNT=1: one retry, so about 3 s (the initial retransmission timeout of 1 s,
    doubled) instead of tcp_syn_retries' 6 (about 127 s). TCP_USER_TIMEOUT: on the
    kernels where it covers the handshake too, ETIMEDOUT at the first retransmission
    (measured on 6.18: 1.02 s).
    """
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 300)  # milliseconds


class DelayedHttpServer:
    """An HTTP server that answers every request `delay` seconds after its head arrives.

    It runs an asyncio protocol in one background thread, so it holds thousands of
    connections open at once without a thread each (a lesson 04 test fetches 1,000 at
    a time; raise the soft RLIMIT_NOFILE first: each connection costs two fds in this
    process). `peak_open` is the most connections it had open at once, `answered` how
    many responses it sent: evidence of concurrency that does not depend on timing.

        with DelayedHttpServer(delay=0.5) as server:
            fetch("127.0.0.1", server.port)
    """

    def __init__(self, delay: float, body: bytes = b"ok\n", backlog: int = 4096) -> None:
        self.delay = delay
        self.response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.peak_open = 0
        self.answered = 0
        self._open: set = set()  # transports of the connections open now
        self._setting_up: set = set()  # tasks wrapping an accepted socket in a transport
        self.stopping = False
        # Accepting by hand, not with loop.create_server(): in Python 3.11 a connection
        # accepted just before Server.close() trips an assertion and its socket leaks.
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self.address = ("127.0.0.1", self.port)
        self._loop = asyncio.new_event_loop()
        self._loop.add_reader(self._listener, self._accept)
        self._thread = threading.Thread(target=self._loop.run_forever, name="delayed-http", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # BlockingIOError: none left; ECONNABORTED: the client gave up
                return
            conn.setblocking(False)
            setup = self._loop.create_task(
                self._loop.connect_accepted_socket(lambda: _DelayedHttpProtocol(self), conn))
            self._setting_up.add(setup)
            setup.add_done_callback(self._setting_up.discard)

    async def _stop(self) -> None:
        self.stopping = True  # a connection set up from now on is aborted in connection_made
        self._loop.remove_reader(self._listener)
        self._listener.close()
        await asyncio.gather(*self._setting_up, return_exceptions=True)
        for transport in list(self._open):
            transport.abort()
        for _ in range(10):  # let the aborted transports run connection_lost and drop their sockets
            await asyncio.sleep(0)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(IO_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(IO_TIMEOUT)
        self._loop.close()

    def __enter__(self) -> "DelayedHttpServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _DelayedHttpProtocol(asyncio.Protocol):
    """One connection of a DelayedHttpServer: read a head, wait, answer, close."""

    def __init__(self, server: DelayedHttpServer) -> None:
        self.server = server
        self.received = b""
        self.timer = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        if self.server.stopping:
            transport.abort()
            return
        self.server._open.add(transport)
        self.server.peak_open = max(self.server.peak_open, len(self.server._open))

    def data_received(self, data: bytes) -> None:
        self.received += data
        if self.timer is None and b"\r\n\r\n" in self.received:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(self.server.delay, self.answer)  # the slowness under test

    def answer(self) -> None:
        self.transport.write(self.server.response)
        self.server.answered += 1
        self.transport.close()  # after the buffered response is sent

    def connection_lost(self, exc) -> None:
        self.server._open.discard(self.transport)
        if self.timer is not None:
            self.timer.cancel()


@dataclass
class ReadRequestSlowly(Action):
    """Read a request head `piece` bytes at a time, `pause` seconds apart: a client that sends
    a large request finds its send buffer full, and send() takes only part of what it offers."""

    piece: int = 4096
    pause: float = 0.001
    # SO_RCVBUF, set after the handshake. Not smaller: on loopback (MSS 64 KiB) a window that
    # shrinks below one segment makes the sender wait for TCP's persist timer, seconds at a time
    # (measured: a 512 KiB request took 8.6 s with 4 KiB, 0.15 s with 64 KiB).
    receive_buffer: int = 64 * 1024

    def run(self, sock, record):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        received = bytearray(record.received)  # requests are big: append in place, search the tail
        record.received = received  # so a failing test can show how far the client got
        try:
            while b"\r\n\r\n" not in received[-self.piece - 4:]:
                data = sock.recv(self.piece)
                if not data:
                    return
                received += data
                time.sleep(self.pause)  # the slowness is the misbehaviour under test
        finally:
            record.received = bytes(received)


class StuckListener:
    """A listening socket whose accept queue is full, so a new connect() stays in progress:
    the kernel drops its SYNs (Linux; the client sends them again after about 1 s, 2 s, ...).
    After `close()` the next SYN finds no listener and the connect is refused.

        with StuckListener() as address:
            sock.connect_ex(address)  # EINPROGRESS, and the socket stays unwritable
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)  # the queue holds one connection; nobody accepts it
        self.address = self._listener.getsockname()
        self._filler = socket.create_connection(self.address, timeout=IO_TIMEOUT)  # fills the queue

    def close(self) -> None:
        self._filler.close()
        self._listener.close()

    def __enter__(self) -> tuple[str, int]:
        return self.address

    def __exit__(self, *exc_info) -> None:
        self.close()
