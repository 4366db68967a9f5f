"""Demo: your lesson 09 server under the misbehaviour it was hardened against.

    make demo-lesson 9
    python lessons/09_production/demo.py

It starts `Server(app, ...)` with small limits, then plays a few clients against it
from a thread (plain blocking sockets, so you can read exactly what they send):
a normal GET, a slowloris, an oversized head, an oversized upload, and a request
still in flight when shutdown begins. Each line says what the client saw and when.
"""

from __future__ import annotations

import asyncio
import socket
import time

from server import Server

LIMITS = dict(timeout_keep_alive=2.0, timeout_request_head=1.0, max_header_bytes=4096,
              max_body_bytes=1024 * 1024, limit_concurrency=100, timeout_graceful_shutdown=5.0)


async def app(scope, receive, send):
    """Answers "hello"; /slow takes one second first."""
    if scope["path"] == "/slow":
        await asyncio.sleep(1.0)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})


def exchange(address, data: bytes, timeout: float = 5.0) -> tuple[str, float]:
    """Send `data` on a new connection; (the status line or what happened, seconds until then)."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        try:
            reply = sock.recv(65536)
        except (ConnectionResetError, socket.timeout) as error:
            return type(error).__name__, time.monotonic() - started
    first_line = reply.split(b"\r\n", 1)[0].decode("latin-1")
    return first_line or "closed, no answer", time.monotonic() - started


def show(what: str, outcome: tuple[str, float]) -> None:
    print(f"  {what:<42} -> {outcome[0]:<46} after {outcome[1] * 1000:5.0f} ms")


def tour(address) -> None:
    """Runs in a thread: each client is a plain blocking socket."""
    show("GET /", exchange(address, b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n"))
    with socket.create_connection(address, timeout=5) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: demo\r\nX-Slow: 1")  # and nothing more: a slowloris
        show("meanwhile, GET / from another client", exchange(address, b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n"))
        started = time.monotonic()
        outcome = "closed, no answer" if slow.recv(65536) == b"" else "answered"
        show("a head that never ends (slowloris)", (outcome, time.monotonic() - started))
    big_head = b"GET / HTTP/1.1\r\nHost: demo\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n"
    show("an 8 KB header (max_header_bytes=4096)", exchange(address, big_head))
    big_body = b"POST /upload HTTP/1.1\r\nHost: demo\r\nContent-Length: 50000000\r\n\r\n"
    show("a 50 MB upload announced (max 1 MiB)", exchange(address, big_body))


async def main() -> int:
    server = Server(app, "127.0.0.1", 0, lifespan="off", **LIMITS)
    await server.start()
    print(f"Serving on http://{server.address[0]}:{server.address[1]} with {LIMITS}\n")
    await asyncio.to_thread(tour, server.address)
    in_flight = asyncio.create_task(asyncio.to_thread(
        exchange, server.address, b"GET /slow HTTP/1.1\r\nHost: demo\r\n\r\n"))
    await asyncio.sleep(0.2)  # let /slow get going before shutdown begins: the point of this scene
    started = time.monotonic()
    await server.shutdown()
    show("GET /slow, in flight when shutdown began", await in_flight)
    print(f"\nshutdown() took {time.monotonic() - started:.2f} s: it waited for /slow, then stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
