"""`make bench`: the course's servers next to uvicorn, on the same apps and machine.

How it works
------------
Every server runs in its own process on 127.0.0.1, all started up front. The load
generator (wrk when installed, else course.loadgen) then loads them *in turns*,
A B C A B C ..., so that a slow minute of the machine falls on every server
alike, and the figures of each are averaged over its turns. The ratio column
compares each server with uvicorn on the same event loop. Afterwards each server
gets N idle keep-alive connections, and the growth of its resident memory divided
by N is its memory per idle connection.

The framework part (lesson 11, `--part framework`) keeps the server fixed (the
reference 09 server, asyncio loop) and changes the app: the same JSON endpoint with
a validated body and one dependency (course/bench_apps11.py) on FastAPI, on the
reference framework and on yours, loaded in turns the same way; its ratio column
compares each with FastAPI.

The WebSocket echo (`--apps ...,ws-echo`) is the same procedure with another load:
N connections each keep one small text message in flight (course.loadgen's
run_ws_load: raw sockets, prebuilt masked frames); lesson 10's server against
uvicorn's `--ws websockets`, each on asyncio and on uvloop; then N idle
WebSockets (handshake done, nothing more) for the memory figure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from course.lessons import LESSONS_DIR, ROOT, SOLUTIONS_DIR, lesson
from course.bench_apps11 import ORDER_BODY
from course.loadgen import WS_HANDSHAKE, run_load, run_ws_load

APPS = {"hello": "course.bench_apps:hello", "fastapi": "course.bench_apps:api"}
WS_APPS = {"ws-echo": "course.bench_apps:ws_echo"}  # measured by ws_bench(), with its own candidates
READY_TIMEOUT = 10.0  # seconds a server may take to start listening
# Lesson 11: app spec per framework, all on the reference 09 server.
FRAMEWORK_APPS = {"FastAPI": "course.bench_apps11:order_fastapi",
                  "reference framework": "course.bench_apps11:order_reference",
                  "your framework": "course.bench_apps11:order_yours"}
ORDER_REQUEST = (b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(ORDER_BODY), ORDER_BODY))
ORDER_WRK_SCRIPT = (f'wrk.method = "POST"\nwrk.body = \'{ORDER_BODY.decode()}\'\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')


@dataclass
class Candidate:
    name: str
    loop: str  # "asyncio" or "uvloop": ratios compare like with like
    command: list[str]  # to start it; "{app}" and "{port}" are filled in
    process: subprocess.Popen | None = None
    port: int = 0
    problems: dict[str, str] = field(default_factory=dict)  # app -> why it was not measured
    runs: dict[str, list[dict]] = field(default_factory=dict)  # app -> one dict per turn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def candidates(include_learner: bool, lessons: tuple[int, ...] = (8, 9),
               uvicorn_options: tuple[str, ...] = ()) -> list[Candidate]:
    """uvicorn and the servers of `lessons`, the reference's on asyncio and uvloop, yours on asyncio.
    `uvicorn_options` picks the implementation that matters (`--ws websockets` for the echo)."""
    python = sys.executable
    uvicorn = [python, "-m", "uvicorn", "{app}", "--port", "{port}", "--http", "httptools", *uvicorn_options,
               "--no-access-log", "--log-level", "warning"]
    found = [Candidate("uvicorn", "asyncio", [*uvicorn, "--loop", "asyncio"]),
             Candidate("uvicorn", "uvloop", [*uvicorn, "--loop", "uvloop"])]
    folders = [("reference", SOLUTIONS_DIR)] + ([("yours", LESSONS_DIR)] if include_learner else [])
    for label, folder in folders:
        for number in lessons:
            server = folder / lesson(number).folder / "server.py"
            if not server.exists():
                continue
            launch = [python, "-m", "course.bench_launch", str(server), "{app}", "--port", "{port}"]
            found.append(Candidate(f"{label} {number:02d}", "asyncio", [*launch, "--loop", "asyncio"]))
            if label == "reference":
                found.append(Candidate(f"{label} {number:02d}", "uvloop", [*launch, "--loop", "uvloop"]))
    return found


def wait_until_listening(port: int, process: subprocess.Popen) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)  # polling a subprocess's port: there is no event to wait on
    return False


def start(candidate: Candidate, app: str) -> None:
    """Start it on APPS[app] (or on the app spec `app` itself, for the framework part)."""
    candidate.port = free_port()
    command = [part.format(app={**APPS, **WS_APPS}.get(app, app), port=candidate.port) for part in candidate.command]
    candidate.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, start_new_session=True)
    if not wait_until_listening(candidate.port, candidate.process):
        stop(candidate)
        error = candidate.process.stderr.read().decode(errors="replace").strip().splitlines()
        candidate.problems[app] = error[-1] if error else "did not start listening"


def stop(candidate: Candidate) -> None:
    process = candidate.process
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def load_with_wrk(port: int, connections: int, duration: float, post_order: bool = False) -> dict:
    """wrk's figures for GET / (or, with post_order, the lesson-11 POST of ORDER_BODY)."""
    script = []
    if post_order:
        lua = Path(tempfile.mkstemp(suffix=".lua", prefix="bench-order-")[1])
        lua.write_text(ORDER_WRK_SCRIPT)
        script = ["-s", str(lua)]
    try:
        output = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", *script, f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=duration + 30,
        ).stdout
    finally:
        if script:
            lua.unlink()
    latency = {int(p): float(v) * UNIT_SECONDS[u] for p, v, u in WRK_LATENCY.findall(output)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx[1]) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return {"rps": float(rps[1]) if rps else 0.0, "requests": int(requests[1]) if requests else 0,
            "p50": latency.get(50), "p99": latency.get(99), "errors": errors}


def load_with_python(port: int, connections: int, duration: float, post_order: bool = False) -> dict:
    result = run_load(port, connections, duration, ORDER_REQUEST) if post_order else run_load(port, connections, duration)
    return {"rps": result.requests_per_second, "p50": result.percentile(0.5),
            "p99": result.percentile(0.99), "errors": result.errors}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


IDLE_HTTP = (b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n", b"HTTP/1.1 200")  # (what opens one, its answer)
IDLE_WEBSOCKET = (WS_HANDSHAKE, b"HTTP/1.1 101")


def idle_connection_memory(candidate: Candidate, count: int,
                           opening: tuple[bytes, bytes] = IDLE_HTTP) -> tuple[int, float]:
    """(connections that got their answer and stayed open, KiB of server RSS per connection).

    `opening`: a keep-alive request and its 200 (IDLE_HTTP), or a WebSocket handshake and
    its 101 (IDLE_WEBSOCKET)."""
    request, answer = opening
    before = rss_kib(candidate.process.pid)
    held = []
    try:
        for _ in range(count):
            try:
                sock = socket.create_connection(("127.0.0.1", candidate.port), timeout=2)
                sock.sendall(request)
                if not sock.recv(65536).startswith(answer):
                    sock.close()
                    break
                held.append(sock)
            except OSError:
                break
        time.sleep(0.2)  # let the server finish its bookkeeping for the last connections
        grown = rss_kib(candidate.process.pid) - before
    finally:
        for sock in held:
            sock.close()
    return len(held), grown / len(held) if held else float("nan")


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def mean(values: list[float]) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def report(console: Console, servers: list[Candidate], apps: list[str], generator: str,
           memory: dict[str, tuple[int, float]], args: argparse.Namespace) -> None:
    table = Table(title=f"make bench — {generator}, {args.connections} keep-alive connections, "
                        f"{args.rounds} turns of {args.duration:g} s each", title_justify="left")
    for column in ("app", "server", "loop", "req/s", "p50 ms", "p99 ms", "errors", "× uvicorn"):
        table.add_column(column, justify="left" if column in ("app", "server", "loop") else "right", no_wrap=True)
    problems: dict[str, str] = {}  # server name -> why it did not run (said once, under the table)
    for app in apps:
        baseline = {s.loop: mean([r["rps"] for r in s.runs.get(app, [])]) for s in servers if s.name == "uvicorn"}
        for server in servers:
            runs = server.runs.get(app, [])
            if not runs:
                problems.setdefault(server.name, server.problems.get(app, "not run"))
                table.add_row(app, server.name, server.loop, "—", "", "", "", "[dim]did not start[/]")
                continue
            rps = mean([r["rps"] for r in runs])
            ratio = rps / baseline[server.loop] if baseline.get(server.loop) else float("nan")
            table.add_row(app, server.name, server.loop, f"{rps:,.0f}",
                          f"{mean([r['p50'] for r in runs]) * 1e3:.2f}", f"{mean([r['p99'] for r in runs]) * 1e3:.2f}",
                          str(sum(r["errors"] for r in runs)), f"{ratio:.2f}")
        table.add_section()
    console.print(table)
    for name, problem in problems.items():
        console.print(f"[dim]{name} did not start: {escape(problem)}[/]")
    if memory:
        held = Table(title=f"Idle keep-alive connections (hello app, up to {args.idle} each)", title_justify="left")
        for column in ("server", "loop", "connections held", "KiB per connection"):
            held.add_column(column)
        for key, (count, per_connection) in memory.items():
            name, loop = key.split("|")
            held.add_row(name, loop, f"{count:,}", f"{per_connection:.1f}")
        console.print(held)


def framework_candidates(include_learner: bool) -> list[tuple[Candidate, str]]:
    """(the reference 09 server, the app spec) for each framework measured."""
    server = SOLUTIONS_DIR / lesson(9).folder / "server.py"
    launch = [sys.executable, "-m", "course.bench_launch", str(server), "{app}", "--port", "{port}",
              "--loop", "asyncio"]
    names = [name for name in FRAMEWORK_APPS if include_learner or name != "your framework"]
    return [(Candidate(name, "asyncio", launch), FRAMEWORK_APPS[name]) for name in names]


def framework_bench(console: Console, args: argparse.Namespace, load, generator: str) -> None:
    """Lesson 11: the same validated JSON endpoint on FastAPI and on the lesson's framework."""
    measured = framework_candidates(include_learner=not args.no_learner)
    with console.status(f"starting {len(measured)} servers on the framework app..."):
        for candidate, spec in measured:
            start(candidate, spec)
    try:
        running = [(c, spec) for c, spec in measured if spec not in c.problems]
        for turn in range(args.rounds):
            for candidate, _spec in running:
                console.log(f"framework: turn {turn + 1}/{args.rounds}, {candidate.name}")
                candidate.runs.setdefault("order", []).append(load(candidate.port, args.connections, args.duration,
                                                                   post_order=True))
    finally:
        for candidate, _spec in measured:
            stop(candidate)
    table = Table(title=f"make bench — frameworks on the reference 09 server (asyncio): POST / with a "
                        f"validated JSON body and one dependency; {generator}, {args.connections} "
                        f"connections, {args.rounds} turns of {args.duration:g} s", title_justify="left")
    for column in ("framework", "req/s", "p50 ms", "p99 ms", "errors", "× FastAPI"):
        table.add_column(column, justify="left" if column == "framework" else "right", no_wrap=True)
    baseline = mean([r["rps"] for r in measured[0][0].runs.get("order", [])])
    for candidate, spec in measured:
        runs = candidate.runs.get("order", [])
        if not runs:
            table.add_row(candidate.name, "—", "", "", "", "[dim]did not start[/]")
            console.print(f"[dim]{candidate.name} did not start: {escape(candidate.problems.get(spec, 'not run'))}[/]")
            continue
        rps = mean([r["rps"] for r in runs])
        table.add_row(candidate.name, f"{rps:,.0f}", f"{mean([r['p50'] for r in runs]) * 1e3:.2f}",
                      f"{mean([r['p99'] for r in runs]) * 1e3:.2f}", str(sum(r["errors"] for r in runs)),
                      f"{rps / baseline:.2f}" if baseline else "nan")
    console.print(table)

# --- WebSocket echo ---------------------------------------------------------------------------------------

def load_websockets(port: int, connections: int, duration: float) -> dict:
    result = run_ws_load(port, connections, duration)
    return {"rps": result.requests_per_second, "p50": result.percentile(0.5),
            "p99": result.percentile(0.99), "errors": result.errors, "messages": result.requests}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat fields 14 and 15); NaN without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")  # macOS: no /proc, so no CPU column
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ws_bench(console: Console, args: argparse.Namespace) -> list[Candidate]:
    """Start every WebSocket candidate, load them in turns, then hold idle WebSockets; print the table."""
    servers = candidates(not args.no_learner, lessons=(10,), uvicorn_options=("--ws", "websockets"))
    memory: dict[str, tuple[int, float]] = {}
    with console.status(f"starting {len(servers)} servers on the ws-echo app..."):
        for server in servers:
            start(server, "ws-echo")
    try:
        running = [s for s in servers if "ws-echo" not in s.problems]
        for turn in range(args.rounds):
            for server in running:
                console.log(f"ws-echo: turn {turn + 1}/{args.rounds}, {server.name} ({server.loop})")
                cpu_before = cpu_seconds(server.process.pid)
                run = load_websockets(server.port, args.connections, args.duration)
                # CPU per message: unlike messages/s, it hardly moves when other work shares the machine
                run["cpu_us"] = (cpu_seconds(server.process.pid) - cpu_before) / max(run["messages"], 1) * 1e6
                server.runs.setdefault("ws-echo", []).append(run)
        if args.ws_idle:
            for server in running:
                console.log(f"idle WebSockets: {server.name} ({server.loop})")
                memory[f"{server.name}|{server.loop}"] = idle_connection_memory(server, args.ws_idle,
                                                                                IDLE_WEBSOCKET)
    finally:
        for server in servers:
            stop(server)
    report_ws(console, servers, memory, args)
    return servers


def report_ws(console: Console, servers: list[Candidate], memory: dict[str, tuple[int, float]],
              args: argparse.Namespace) -> None:
    table = Table(title=f"make bench — WebSocket echo, {args.connections} connections, one small message "
                        f"in flight on each, {args.rounds} turns of {args.duration:g} s",
                  title_justify="left")
    for column in ("server", "loop", "msg/s", "p50 ms", "p99 ms", "errors", "× uvicorn", "CPU µs/msg", "KiB idle"):
        table.add_column(column, justify="left" if column in ("server", "loop") else "right", no_wrap=True)
    baseline = {s.loop: mean([r["rps"] for r in s.runs.get("ws-echo", [])]) for s in servers if s.name == "uvicorn"}
    for server in servers:
        runs = server.runs.get("ws-echo", [])
        if not runs:
            table.add_row(server.name, server.loop, "—", "", "", "", "—", "", "")  # why: under the table
            continue
        rps = mean([r["rps"] for r in runs])
        ratio = rps / baseline[server.loop] if baseline.get(server.loop) else float("nan")
        held, per_socket = memory.get(f"{server.name}|{server.loop}", (0, float("nan")))
        table.add_row(server.name, server.loop, f"{rps:,.0f}", f"{mean([r['p50'] for r in runs]) * 1e3:.2f}",
                      f"{mean([r['p99'] for r in runs]) * 1e3:.2f}", str(sum(r["errors"] for r in runs)),
                      f"{ratio:.2f}", f"{mean([r['cpu_us'] for r in runs]):.0f}", f"{per_socket:.1f}" + ("" if held in (0, args.ws_idle) else f" ({held})"))
    console.print(table)
    console.print(f"[dim]CPU µs/msg: the server's CPU time per message echoed. KiB idle: its memory growth per "
                  f"idle WebSocket, {args.ws_idle:,} held (fewer if it refused some: the count in brackets).[/]")
    for server in servers:
        if "ws-echo" in server.problems:
            console.print(f"[dim]{server.name} ({server.loop}) did not start: {escape(server.problems['ws-echo'])}[/]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of load per turn (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="turns per server and app (default 2)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--idle", type=int, default=5000, help="idle connections for the memory figure")
    parser.add_argument("--apps", default="hello,fastapi,ws-echo")
    parser.add_argument("--ws-idle", type=int, default=2000, help="idle WebSockets for the memory figure")
    parser.add_argument("--no-learner", action="store_true", help="measure only the reference and uvicorn")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk is there")
    parser.add_argument("--part", choices=["all", "servers", "framework"], default="all",
                        help="servers: the lesson 08-10 servers against uvicorn; framework: lesson 11 against FastAPI")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.duration != int(args.duration):
        parser.error(f"--duration {args.duration:g}: wrk counts whole seconds; give 1 or more")

    console = Console()
    console.width = max(console.width, 100)  # the table is 96 columns; a pipe or a narrow terminal would fold it
    raise_fd_limit()
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    generator = "wrk" if use_wrk else "Python load generator (install wrk for real figures)"
    load = load_with_wrk if use_wrk else load_with_python
    if args.part in ("all", "servers"):
        servers_bench(console, args, load, generator)
    if args.part in ("all", "framework"):
        framework_bench(console, args, load, generator)
    return 0


def servers_bench(console: Console, args: argparse.Namespace, load, generator: str) -> None:
    """The lessons' servers and uvicorn, each app in turn (see the module's docstring)."""
    ws_apps = [app for app in args.apps.split(",") if app in WS_APPS]
    apps = [app for app in args.apps.split(",") if app not in WS_APPS]
    servers = candidates(include_learner=not args.no_learner)
    memory: dict[str, tuple[int, float]] = {}
    for app in apps:
        with console.status(f"starting {len(servers)} servers on the {app} app..."):
            for server in servers:
                start(server, app)
        try:
            running = [s for s in servers if app not in s.problems]
            for turn in range(args.rounds):
                for server in running:
                    console.log(f"{app}: turn {turn + 1}/{args.rounds}, {server.name} ({server.loop})")
                    server.runs.setdefault(app, []).append(load(server.port, args.connections, args.duration))
            if app == "hello" and args.idle:
                for server in running:
                    console.log(f"idle connections: {server.name} ({server.loop})")
                    memory[f"{server.name}|{server.loop}"] = idle_connection_memory(server, args.idle)
        finally:
            for server in servers:
                stop(server)
    if apps:
        report(console, servers, apps, generator, memory, args)
    if ws_apps:
        ws_bench(console, args)


if __name__ == "__main__":
    sys.exit(main())
