"""What the lesson demos share: a local HTTP server whose answers take a while.

    with slow_http_server() as (host, port):
        fetch(host, port, "/delay/0.5")   # answered after half a second

Paths: `/delay/<seconds>` waits that long and answers with a short text body;
anything else answers at once. One thread per request, so it never serialises
the clients: whatever is slow in a demo is the code under study, not this server.
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

MAX_DELAY = 10.0  # seconds; a demo asking for more is a typo


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        delay = 0.0
        if self.path.startswith("/delay/"):
            delay = min(float(self.path.split("/")[2]), MAX_DELAY)
            time.sleep(delay)  # the slowness the demo is about
        body = f"answered {self.path} after {delay:.2f} s\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # keep the demo's output clean
        pass


@contextlib.contextmanager
def slow_http_server() -> Iterator[tuple[str, int]]:
    """Serve on 127.0.0.1 on a free port until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    server.request_queue_size = 1024  # demos open many connections at once
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
