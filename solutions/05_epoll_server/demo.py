"""Lesson 05 demo: one epoll thread against a thread per connection.

Starts *your* EpollServer in a child process, opens N connections to it that all
stay open, sends K keep-alive requests on each, and reads the child's memory from
/proc while every connection is held. Then it does the same against a server with
one thread per connection (same handler, same take_heads(), only the concurrency
differs) and prints the two side by side.

Run it:  make demo-lesson 5   (or: python lessons/05_epoll_server/demo.py --clients 10000)
"""

from __future__ import annotations

import argparse
import errno
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time

from epoll_server import EpollServer, take_heads

BODY = b"hello from lesson 05\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
REQUEST = b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n"
CONNECTING = 500  # handshakes in flight at once: stays under the listen backlog
TIME_LIMIT = 30.0  # seconds of load per server; what is not answered by then is reported as such


def handler(head: bytes) -> bytes:
    return RESPONSE


# -- the two servers, each run in its own child process ------------------------------------


def serve_epoll() -> None:
    server = EpollServer(handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    print(server.address[1], flush=True)
    sys.stdin.read()  # the parent closes our stdin when it is done measuring
    server.shutdown()
    thread.join()


def serve_threads() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    print(listener.getsockname()[1], flush=True)
    threading.Thread(target=accept_forever, args=(listener,), daemon=True).start()
    sys.stdin.read()
    listener.close()  # daemon threads end with the process


def accept_forever(listener: socket.socket) -> None:
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve_one_client, args=(sock,), daemon=True).start()


def serve_one_client(sock: socket.socket) -> None:
    """The blocking version of the same job: this thread sleeps in recv() while its client is idle."""
    received = bytearray()
    with sock:
        while data := sock.recv(65536):
            received += data
            for head in take_heads(received):
                sock.sendall(handler(head))


# -- the load, from this process -----------------------------------------------------------


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as status:
        return dict(line.split(":", 1) for line in status if ":" in line)


def kib(pid: int, field: str) -> int:
    return int(proc_status(pid)[field].split()[0])


def open_connections(port: int, count: int) -> list[socket.socket]:
    """count connected non-blocking sockets, CONNECTING handshakes at a time."""
    connected, pending, started = [], {}, 0
    with selectors.DefaultSelector() as selector:
        while len(connected) < count:
            while started < count and len(pending) < CONNECTING:
                sock = socket.socket()
                sock.setblocking(False)
                if sock.connect_ex(("127.0.0.1", port)) not in (0, errno.EINPROGRESS):
                    raise ConnectionError(f"connect() failed on connection {started}")
                selector.register(sock, selectors.EVENT_WRITE)
                pending[sock] = started
                started += 1
            for key, _ in selector.select():
                selector.unregister(key.fileobj)
                del pending[key.fileobj]
                connected.append(key.fileobj)
    return connected


def run_requests(connections: list[socket.socket], per_connection: int) -> tuple[int, float]:
    """K requests on each connection, one after another on each; all connections at once.

    Stops after TIME_LIMIT seconds: a server that cannot keep up shows it in the count.
    """
    left = {sock: per_connection for sock in connections}
    unread = {sock: 0 for sock in connections}  # bytes of the current answer still to come
    answered = 0
    started = time.perf_counter()
    with selectors.DefaultSelector() as selector:
        for sock in connections:
            sock.send(REQUEST)
            unread[sock] = len(RESPONSE)
            selector.register(sock, selectors.EVENT_READ)
        while selector.get_map() and time.perf_counter() - started < TIME_LIMIT:
            for key, _ in selector.select(timeout=1.0):
                sock = key.fileobj
                unread[sock] -= len(sock.recv(65536))
                if unread[sock] > 0:
                    continue
                answered += 1
                left[sock] -= 1
                if left[sock]:
                    sock.send(REQUEST)
                    unread[sock] = len(RESPONSE)
                else:
                    selector.unregister(sock)
    return answered, time.perf_counter() - started


def measure(kind: str, clients: int, per_connection: int) -> dict:
    child = subprocess.Popen([sys.executable, __file__, "--serve", kind], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        if not line.strip().isdigit():
            raise SystemExit(f"The {kind} server did not start (its error is above). "
                             "Finish the exercises first: make test-lesson 5")
        port = int(line)
        idle_rss = kib(child.pid, "VmRSS")
        connections = open_connections(port, clients)
        try:
            answered, seconds = run_requests(connections, per_connection)
            status = proc_status(child.pid)  # every connection is still open here
            held_rss = int(status["VmRSS"].split()[0])
            result = {"held": len(connections), "answered": answered, "per_second": answered / seconds,
                      "idle_rss": idle_rss, "held_rss": held_rss, "peak_rss": kib(child.pid, "VmHWM"),
                      "threads": int(status["Threads"])}
        finally:
            for sock in connections:
                sock.close()
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    result["per_connection"] = (result["held_rss"] - result["idle_rss"]) / clients
    return result


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"{needed} open files are needed but the hard limit is {hard}: use fewer --clients")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))  # the children inherit it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000, help="connections held open at once")
    parser.add_argument("--requests", type=int, default=10, help="keep-alive requests on each connection")
    parser.add_argument("--only", choices=["epoll", "threads"], help="measure one server, not both")
    parser.add_argument("--serve", choices=["epoll", "threads"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve_epoll() if args.serve == "epoll" else serve_threads()

    raise_fd_limit(args.clients + 200)
    print(f"{args.clients:,} clients each hold a connection open and send {args.requests} requests on it.\n")
    results = {}
    for kind, title in [("epoll", "EpollServer"), ("threads", "thread per connection")]:
        if args.only not in (None, kind):
            continue
        print(f"  measuring {title} ...", flush=True)
        results[title] = measure(kind, args.clients, args.requests)
    rows = [("connections held", "held", "{:,}"), ("requests answered", "answered", "{:,}"),
            ("requests per second", "per_second", "{:,.0f}"), ("threads in the server", "threads", "{:,}"),
            ("server RSS before clients", "idle_rss", "{:,} KiB"), ("server RSS, all held", "held_rss", "{:,} KiB"),
            ("server RSS, peak", "peak_rss", "{:,} KiB"), ("memory per connection", "per_connection", "{:,.1f} KiB")]
    titles = list(results)
    print(f"\n  {'':26}" + "".join(f"{title:>24}" for title in titles))
    for label, key, form in rows:
        print(f"  {label:26}" + "".join(f"{form.format(results[t][key]):>24}" for t in titles))
    print("\nEach thread sleeps in its own recv(), with its own stack; the epoll server keeps a few")
    print("hundred bytes per client in a dict and sleeps in one epoll.poll() for all of them.")
    print("(The EpollServer process has 2 threads: the loop, and one that waits for this demo to finish.)")


if __name__ == "__main__":
    main()
