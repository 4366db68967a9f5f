"""Ten thousand HTTP clients in one process, for lesson 05's C10K test.

    python tests/c10k_client.py HOST PORT COUNT

1. Connects COUNT non-blocking sockets (at most CONNECTING handshakes in flight,
   so the server's listen backlog never overflows and no SYN waits for a retry).
2. Only once every one is connected, sends one `GET /c10k/<n>` on each: the server
   holds COUNT connections at the same time.
3. Reads each whole answer and checks it names its own request.

Prints one JSON line: {"connected", "answered", "wrong", "failed", "seconds"}.
It is a separate process so the server under test gets a whole interpreter (and
its own file-descriptor limit) to itself. It raises nothing it can report instead.
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import sys
import time

CONNECTING = 500  # handshakes in flight at once: well under the server's backlog and tcp_max_syn_backlog
DEADLINE = 40.0  # seconds for the whole run; the test's own limit is longer
HEAD_END = b"\r\n\r\n"


def request(number: int) -> bytes:
    return b"GET /c10k/%d HTTP/1.1\r\nHost: c10k\r\n\r\n" % number


def connect_all(address, count: int, selector: selectors.BaseSelector, deadline: float, report: dict) -> list:
    """Non-blocking connects, CONNECTING at a time; returns the connected sockets."""
    connected, started = [], 0
    while (started < count or selector.get_map()) and time.monotonic() < deadline:
        while started < count and len(selector.get_map()) < CONNECTING:
            try:
                sock = socket.socket()
            except OSError as error:  # EMFILE: the file-descriptor limit is too low
                report["error"] = str(error)
                return connected
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                report["failed"] += 1
            else:
                selector.register(sock, selectors.EVENT_WRITE, started)
            started += 1
        for key, _ in selector.select(timeout=1.0):
            selector.unregister(key.fileobj)
            if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.append((key.data, key.fileobj))
            else:
                key.fileobj.close()
                report["failed"] += 1
    return connected


def ask_all(connected: list, selector: selectors.BaseSelector, deadline: float, report: dict) -> None:
    for number, sock in connected:
        sock.send(request(number))  # ~40 bytes into an empty send buffer: always taken whole
        selector.register(sock, selectors.EVENT_READ, [number, bytearray()])
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            number, received = key.data
            try:
                data = key.fileobj.recv(65536)
            except OSError:
                data = b""
            received += data
            if data and not complete(received):
                continue
            selector.unregister(key.fileobj)
            if not data:
                report["failed"] += 1
            elif received.endswith(b"you asked for /c10k/%d\n" % number):
                report["answered"] += 1
            else:
                report["wrong"] += 1


def complete(received: bytearray) -> bool:
    if HEAD_END not in received:
        return False
    head, _, body = bytes(received).partition(HEAD_END)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return len(body) >= length


def main() -> int:
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    report = {"connected": 0, "answered": 0, "wrong": 0, "failed": 0, "seconds": 0.0}
    started = time.monotonic()
    deadline = started + DEADLINE
    connected = []
    with selectors.DefaultSelector() as selector:
        try:
            connected = connect_all((host, port), count, selector, deadline, report)
            report["connected"] = len(connected)
            ask_all(connected, selector, deadline, report)
        finally:
            for key in list(selector.get_map().values()):
                selector.unregister(key.fileobj)
                key.fileobj.close()
            for _, sock in connected:
                sock.close()
    report["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
