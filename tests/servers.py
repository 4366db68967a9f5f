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

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

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
