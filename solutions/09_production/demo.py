"""Demo: your lesson 09 server under the misbehaviour it was hardened against.

    make demo-lesson 9                                         # the tour below
    python lessons/09_production/demo.py --flow                # memory: 100 MB up and down (9.3)
    python lessons/09_production/demo.py --emfile              # out of file descriptors (9.5)
    python lessons/09_production/demo.py --hostile             # clients that attack memory and time
    python lessons/09_production/demo.py --flow --emfile --compare lessons/08_asgi_server

Without options it starts `Server(app, ...)` with small limits, then plays a few clients
against it from a thread (plain blocking sockets, so you can read exactly what they send):
a normal GET, a slowloris, an oversized head, an oversized upload, and a request still in
flight when shutdown begins. Each line says what the client saw and when.

--flow, --emfile and --hostile run `server.py` on its command line instead, in a process of its own
serving `process_app` below, and watch it from outside: its memory (VmRSS in
/proc/<pid>/status, so Linux only) and what it prints. --compare DIR does the same for
DIR/server.py, e.g. your lesson-08 server, so you see what the hardening changed.
Every server process is killed (with its process group) before the demo ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import queue
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024

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


async def run_tour() -> int:
    # Imported here, not at the top: --flow and --emfile servers import this file as their
    # app module (demo:process_app), and must not load a second server.py.
    from server import Server

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
    print(f"\nNext, server.py in a process of its own, under 100 MB nobody reads and out of file descriptors:\n"
          f"  python {shown(Path(__file__))} --flow --emfile --compare {shown(HERE.parent / '08_asgi_server')}")
    return 0


# --- --flow and --emfile: server.py in a process of its own ----------------------------------------------

async def process_app(scope, receive, send):
    """The app the server processes serve: /upload never reads its body, /read reads it all,
    /download sends 100 MB; anything else gets "hello"."""
    if scope["path"] == "/read":
        while (await receive()).get("more_body"):
            pass
    if scope["path"] == "/upload":
        print("APP: upload started", flush=True)
        await asyncio.sleep(60)  # longer than the demo: the body is never read
    if scope["path"] == "/download":  # 100 MB in 64 KiB pieces, whether the client reads or not
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(1600):
            await send({"type": "http.response.body", "body": b"d" * 65536, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})


class ServerDidNotStart(Exception):
    """server.py ended, or printed no address, before serving; the message holds its output."""


class ServerProcess:
    """`python server.py demo:process_app --port 0` in a session of its own; a thread collects its output."""

    def __init__(self, script: Path, *options: str) -> None:
        command = [sys.executable, str(script), "demo:process_app", "--port", "0", "--lifespan", "off",
                   "--app-dir", str(HERE), *options]
        # A session of its own, so stop() can kill the server and anything it forked in one go.
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        errors="replace", start_new_session=True)
        self.output: list[str] = []  # every line read so far
        # A thread drains the pipe, so a server that floods its log never blocks on a full pipe.
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        serving = self.wait_for("http://", 10)
        if serving is None:
            ended = self.process.poll()
            self.stop()
            what = "did not print its address within 10 s" if ended is None else f"ended (status {ended})"
            raise ServerDidNotStart(f"{shown(script)} {what} before serving; it printed:\n"
                                    + "".join(self.output[-20:]))
        self.address = ("127.0.0.1", int(re.search(r"http://[^:\s]+:(\d+)", serving)[1]))

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put("")  # the end of the output

    def wait_for(self, needle: str, seconds: float) -> str | None:
        """The next line of output that contains `needle`; None if none comes in time."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                return None
            if not line:  # the process has ended
                self._lines.put("")
                return None
            self.output.append(line)
            if needle in line:
                return line
        return None

    def new_lines(self) -> list[str]:
        """The lines printed since the last wait_for() or new_lines()."""
        lines = []
        while not self._lines.empty() and (line := self._lines.get()):
            lines.append(line)
        self.output += lines
        return lines

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def limit_descriptors(self, limit: int) -> None:
        """Lower the running server's soft RLIMIT_NOFILE, as `ulimit -n` would have before it started."""
        hard = resource.prlimit(self.process.pid, resource.RLIMIT_NOFILE)[1]
        resource.prlimit(self.process.pid, resource.RLIMIT_NOFILE, (limit, hard))

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)
        self._reader.join(5)
        self.process.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def warm_up(server: ServerProcess) -> None:
    # One request first, so what serving costs once (imports, buffers) is in the "before" figure.
    exchange(server.address, b"GET / HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n")


def push_until_stalled(sock: socket.socket, total: int, stall: float = 0.7, limit: float = 8.0) -> int:
    """Send up to `total` bytes; stop when the socket accepts nothing for `stall` s. Returns bytes sent."""
    sock.setblocking(False)
    piece = b"u" * (256 * 1024)
    sent = 0
    started = time.monotonic()
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_WRITE)
        while sent < total and time.monotonic() - started < limit:
            if not selector.select(stall):
                break  # the server has stopped reading: the kernel buffers on both sides are full
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(piece[:total - sent])
    return sent


def upload_figures(script: Path) -> tuple[float, float]:
    """A 100 MB upload the app never reads: (MB the client got to send, MB the server's RSS grew)."""
    with ServerProcess(script) as server:
        warm_up(server)
        before = server.rss_mb()
        with socket.create_connection(server.address, timeout=5) as sock:
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: demo\r\nContent-Length: %d\r\n\r\n" % (100 * MB))
            server.wait_for("APP: upload started", 5)  # the app is running, and not reading
            sent = push_until_stalled(sock, 100 * MB)
            return sent / MB, server.rss_mb() - before


def download_growth(script: Path, watch: float = 1.5) -> float:
    """A 100 MB download the client never reads: the most the server's RSS grew within `watch` s, in MB."""
    with ServerProcess(script) as server:
        warm_up(server)
        before = server.rss_mb()
        with socket.create_connection(server.address, timeout=5) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # small, so the kernel holds little
            sock.sendall(b"GET /download HTTP/1.1\r\nHost: demo\r\n\r\n")
            peak = 0.0
            deadline = time.monotonic() + watch
            while time.monotonic() < deadline:
                peak = max(peak, server.rss_mb() - before)
                time.sleep(0.05)  # the sampling interval
            return peak


def show_flow(scripts: list[Path]) -> None:
    print("Flow control (9.3): 100 MB each way, nobody reading. The server's memory (VmRSS) before and after.\n")
    print(f"  {'server':<36} {'upload, the app never reads':<48} download, the client never reads")
    for script in scripts:
        sent, upload_grown = upload_figures(script)
        download_grown = download_growth(script)
        stalled = "sent all 100 MB" if sent >= 100 else f"stalled after {sent:.1f} MB"
        print(f"  {shown(script):<36} {f'the client {stalled}; RSS {upload_grown:+.1f} MB':<48} "
              f"RSS {download_grown:+.1f} MB within 1.5 s", flush=True)


FD_LIMIT, HELD_CONNECTIONS, HOLD = 64, 90, 3.0  # more connections than descriptors, for long enough to see


def emfile_figures(script: Path) -> tuple[list[str], float, str]:
    """(the lines printed while out of descriptors, the CPU seconds used meanwhile, what a GET got after)."""
    with ServerProcess(script) as server, contextlib.ExitStack() as held:
        server.limit_descriptors(FD_LIMIT)
        server.new_lines()
        cpu_before = server.cpu_seconds()
        for _ in range(HELD_CONNECTIONS):
            held.enter_context(socket.create_connection(server.address, timeout=5))
        time.sleep(HOLD)  # the window we measure: does the server flood its log, or spin, meanwhile?
        logged, busy = server.new_lines(), server.cpu_seconds() - cpu_before
        held.close()
        return logged, busy, status_after(server)


def status_after(server: ServerProcess, seconds: float = 10.0) -> str:
    """The status line a new GET gets once descriptors are free again, trying for up to `seconds`."""
    deadline = time.monotonic() + seconds
    outcome = "no answer"
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            outcome = exchange(server.address, b"GET / HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n",
                               timeout=2.0)[0]
        if outcome.startswith("HTTP/1.1 200"):
            break
        time.sleep(0.1)  # between tries, so a server that is still recovering is not hammered
    return outcome


def show_emfile(scripts: list[Path]) -> None:
    print(f"Out of file descriptors (9.5): server.py limited to {FD_LIMIT} (like `ulimit -n {FD_LIMIT}`), "
          f"{HELD_CONNECTIONS} connections held open for {HOLD:g} s.\n")
    for script in scripts:
        logged, busy, after = emfile_figures(script)
        tracebacks = sum(line.startswith("Traceback") for line in logged)
        print(f"  {shown(script)}: printed {len(logged)} lines, {tracebacks} of them tracebacks; "
              f"used {busy:.2f} s of CPU; then a new GET / got {after}")
        if logged:
            print(f"      its first line: {logged[0].strip()[:100]}")


# --- --hostile: clients that attack memory and time ----------------------------------------------------

ATTACK = 4.0  # seconds each memory attack streams its bytes
HOSTILE_OPTIONS = ("--no-access-log", "--timeout-request-body", "2", "--timeout-send", "2")
STUCK_LIMIT = 8.0  # seconds we watch a stuck connection before saying "still open"


def stream_attack(server: ServerProcess, first: bytes, piece: bytes) -> tuple[float, float, str]:
    """Send `first`, then `piece` again and again for ATTACK s or until an answer arrives,
    reading nothing. Returns (MB sent, the most the server's RSS grew in MB, what came back)."""
    before = server.rss_mb()
    sent, peak = 0, 0.0
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # a client that reads nothing
        sock.sendall(first)
        sock.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_WRITE | (selectors.EVENT_READ if first else 0))
            deadline = time.monotonic() + ATTACK
            while time.monotonic() < deadline:
                peak = max(peak, server.rss_mb() - before)
                events = selector.select(0.05)
                if not events:
                    continue  # the server is not reading: our send buffer is full
                if any(mask & selectors.EVENT_READ for _, mask in events):
                    break  # an answer to a head that never ended: a refusal
                try:
                    sent += sock.send(piece)
                except BlockingIOError:
                    continue
                except OSError:  # the server closed the connection
                    break
            peak = max(peak, server.rss_mb() - before)
            return sent / MB, peak, first_line_received(sock)


def first_line_received(sock: socket.socket) -> str:
    sock.setblocking(True)
    sock.settimeout(0.5)
    try:
        reply = sock.recv(65536)
    except socket.timeout:
        return "nothing"
    except OSError as error:
        return type(error).__name__
    return reply.split(b"\r\n", 1)[0].decode("latin-1") or "a close"


def seconds_until_closed(server: ServerProcess, request: bytes, reads: bool) -> float | None:
    """Send `request` and then nothing; None if the server keeps the connection STUCK_LIMIT s.
    A client that `reads` waits for the close; one that does not watches for a reset."""
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(request)
        started = time.monotonic()
        while time.monotonic() - started < STUCK_LIMIT:
            if reads:
                sock.settimeout(0.1)
                with contextlib.suppress(socket.timeout):
                    if not sock.recv(65536):
                        return time.monotonic() - started
            elif sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):  # the server reset it
                return time.monotonic() - started
            else:
                time.sleep(0.1)  # the polling interval
    return None


def show_hostile(scripts: list[Path]) -> None:
    print(f"Hostile clients: each memory attack streams for {ATTACK:g} s at a fresh server (its VmRSS growth);"
          f"\nthen how long a stuck connection lives (watched up to {STUCK_LIMIT:g} s).\n")
    endless_header = (b"GET / HTTP/1.1\r\nHost: demo\r\nX-Long: ", b"a" * 65536)
    pipelined = (b"", b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n" * 2048)
    stalled_body = b"POST /read HTTP/1.1\r\nHost: demo\r\nContent-Length: 1000\r\n\r\n" + b"b" * 10
    unread_download = b"GET /download HTTP/1.1\r\nHost: demo\r\n\r\n"
    for script in scripts:
        options = HOSTILE_OPTIONS if script == HERE / "server.py" else ("--no-access-log",)
        print(f"  {shown(script)} {' '.join(options)}")
        for what, (first, piece) in (("a header line that never ends:", endless_header),
                                     ("tiny GETs pipelined, none read:", pipelined)):
            with ServerProcess(script, *options) as server:
                warm_up(server)
                sent, grown, got = stream_attack(server, first, piece)
            print(f"    {what:<40}RSS {grown:+6.1f} MB; the client sent {sent:.1f} MB, got {got}", flush=True)
        with ServerProcess(script, *options) as server:
            for what, request, reads in (("a body that stops after 10 bytes:", stalled_body, True),
                                         ("100 MB response, the client reads none:", unread_download, False)):
                seconds = seconds_until_closed(server, request, reads)
                outcome = f"closed after {seconds:.1f} s" if seconds is not None else f"still open after {STUCK_LIMIT:g} s"
                print(f"    {what:<40}{outcome}", flush=True)

def shown(path: Path) -> str:
    """`path` as the learner would type it: relative to the current folder when it is inside it."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Your lesson 09 server under misbehaving clients.")
    parser.add_argument("--flow", action="store_true", help="100 MB upload and download nobody reads: RSS")
    parser.add_argument("--emfile", action="store_true", help=f"RLIMIT_NOFILE {FD_LIMIT}, {HELD_CONNECTIONS} "
                        "connections: what the server prints")
    parser.add_argument("--hostile", action="store_true", help="endless header, unread pipeline, stalled "
                        "body, unread response: RSS and seconds")
    parser.add_argument("--compare", metavar="DIR", type=Path, help="also run DIR/server.py, e.g. lessons/08_asgi_server")
    args = parser.parse_args(argv)
    if not (args.flow or args.emfile or args.hostile):
        if args.compare:
            parser.error("--compare goes with --flow, --emfile or --hostile")
        return asyncio.run(run_tour())
    if not Path("/proc/self/status").exists():
        parser.error("--flow, --emfile and --hostile read /proc (Linux)")
    scripts = [HERE / "server.py"] + ([args.compare / "server.py"] if args.compare else [])
    for script in scripts:
        if not script.exists():
            parser.error(f"there is no {script}")
    try:
        if args.flow:
            show_flow(scripts)
        if args.flow and args.emfile:
            print()
        if args.emfile:
            show_emfile(scripts)
        if args.hostile and (args.flow or args.emfile):
            print()
        if args.hostile:
            show_hostile(scripts)
    except ServerDidNotStart as error:
        print(error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
