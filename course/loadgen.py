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
