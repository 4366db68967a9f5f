"""A small keep-alive HTTP load generator, for machines without wrk.

It is Python, so on a fast server it measures itself as much as the server:
compare its figures only with each other, never with wrk's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, one per request

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def _read_response(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return head.startswith(b"HTTP/1.1 200")


async def _client(port: int, deadline: float, result: LoadResult, request: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            ok = await _read_response(reader)
            result.latencies.append(time.perf_counter() - started)
            result.requests += 1
            result.errors += not ok
    except (OSError, asyncio.IncompleteReadError):
        result.errors += 1
    finally:
        writer.close()


async def _run(port: int, connections: int, duration: float, request: bytes) -> LoadResult:
    result = LoadResult()
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, started + duration, result, request) for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


def run_load(port: int, connections: int = 64, duration: float = 3.0, request: bytes = REQUEST) -> LoadResult:
    """`request` (whole, bytes) sent again and again on each connection; a 200 counts as success."""
    return asyncio.run(_run(port, connections, duration, request))


# --- WebSocket echo load (make bench's "ws-echo" row) ------------------------------------------------------

WS_HANDSHAKE = (b"GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
WS_TEXT = b"hello, websocket"  # a small text message, as a chat or a live update sends
WS_MASK = b"\x37\xfa\x21\x3d"  # RFC 6455 §5.3 wants a fresh key per frame; a fixed one is fine for load
WS_FRAME = bytes([0x81, 0x80 | len(WS_TEXT)]) + WS_MASK + bytes(b ^ WS_MASK[i % 4] for i, b in enumerate(WS_TEXT))
WS_ECHO_SIZE = 2 + len(WS_TEXT)  # the server's echo: unmasked, a 2-byte header
WS_CLOSE = bytes([0x88, 0x82]) + WS_MASK + bytes(b ^ WS_MASK[i] for i, b in enumerate((1000).to_bytes(2, "big")))
WS_MAX_MESSAGES = 5_000_000  # per run: a bound on the count as well as the time
WS_GRACE = 5.0  # seconds past the run's end a connection may take to finish its last echo


class _EchoClient(asyncio.Protocol):
    """One WebSocket: the handshake, then one message in flight at a time until the deadline.

    An asyncio.Protocol with prebuilt frames, so the client costs as little as it can:
    it only counts reply bytes (the echo's size is known) and times each round trip."""

    def __init__(self, deadline: float, result: LoadResult, done: asyncio.Future) -> None:
        self.deadline, self.result, self.done = deadline, result, done
        self.transport: asyncio.Transport | None = None
        self.head = b""  # the 101 response, until its blank line
        self.pending = 0  # bytes of the current echo still to come
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.write(WS_HANDSHAKE)

    def data_received(self, data: bytes) -> None:
        if self.head is not None:  # still reading the handshake's answer
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, _, data = self.head.partition(b"\r\n\r\n")
            self.head = None
            if not head.startswith(b"HTTP/1.1 101"):
                self.finish(error=True)
                return
            self.send_next()
        self.pending -= len(data)
        if self.pending <= 0 and self.transport is not None:
            now = time.perf_counter()
            self.result.latencies.append(now - self.sent_at)
            self.result.requests += 1
            self.send_next()

    def send_next(self) -> None:
        if time.perf_counter() >= self.deadline or self.result.requests >= WS_MAX_MESSAGES:
            self.finish()
            return
        self.pending, self.sent_at = WS_ECHO_SIZE, time.perf_counter()
        self.transport.write(WS_FRAME)

    def finish(self, error: bool = False) -> None:
        self.result.errors += error
        self.transport.write(WS_CLOSE)  # polite, though we do not wait for the server's answer
        self.transport.close()
        self.transport = None
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():  # the server closed first: count it
            self.result.errors += 1
            self.done.set_result(None)


async def _run_ws(port: int, connections: int, duration: float) -> LoadResult:
    loop = asyncio.get_running_loop()
    result = LoadResult()
    started = time.perf_counter()
    clients: list[_EchoClient] = []
    for _ in range(connections):
        try:
            _, client = await loop.create_connection(
                lambda: _EchoClient(started + duration, result, loop.create_future()), "127.0.0.1", port)
        except OSError:
            result.errors += 1
            continue
        clients.append(client)
    # A server that never answers a handshake or an echo must not hold the bench up.
    await asyncio.wait([client.done for client in clients], timeout=duration + WS_GRACE)
    for client in clients:
        if not client.done.done():
            result.errors += 1
            client.done.set_result(None)
            client.transport.abort()
    result.seconds = time.perf_counter() - started
    return result


def run_ws_load(port: int, connections: int = 64, duration: float = 3.0) -> LoadResult:
    """`connections` WebSockets echoing a small text message for `duration` seconds."""
    return asyncio.run(_run_ws(port, connections, duration))
