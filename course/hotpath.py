"""What each hot-path choice of the lesson-09 reference saves, measured by undoing it.

    .venv/bin/python -m course.hotpath [--turns N] [--duration S] [--loop asyncio|uvloop]

How it works
------------
A variant is the reference `solutions/09_production/server.py` with one choice
undone: one or more exact text replacements, applied to a copy of the lesson
folder in a temporary directory. A replacement that no longer matches exactly
once stops the run with a `ReplacementError` naming the variant, so an edit of
the reference cannot silently turn a variant into a copy of it.

Every variant and the reference run at once, each in its own process on
127.0.0.1 with the hello app, started like `make bench` starts servers
(`course.bench_launch`). wrk (-t1 -c64) then loads them in turns, A B C A B C ...,
so that a busy moment of the shared machine falls on all of them alike. Around
each turn the server's CPU time (user + system) is read from /proc/<pid>/stat;
divided by the requests wrk counted, it is the server's CPU per request, which
is steadier than requests per second when other work shares the cores. The
table shows the median turn of each server and its mean req/s as a ratio to the
reference's. Compare figures within one run only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from course.bench import Candidate, load_with_wrk, start, stop
from course.bench_apps import HELLO_BODY
from course.lessons import SOLUTIONS_DIR, lesson

REFERENCE_FOLDER = SOLUTIONS_DIR / lesson(9).folder
CONNECTIONS = 64  # as in make bench: keep-alive connections held by wrk
READ_TIMEOUT = 5.0  # seconds for one request of the start-up check
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # the unit of utime and stime in /proc/<pid>/stat


@dataclass(frozen=True)
class Variant:
    name: str  # the reference's choice that this variant undoes
    edit: str  # what the variant does instead
    replacements: tuple[tuple[str, str], ...]  # (exact text in server.py, its replacement)


VARIANTS = (
    Variant("one write for head and body",
            "head written at http.response.start",
            (("        if self.framing is Framing.LENGTH or self.framing is Framing.NONE:\n"
              "            self.head = head",
              "        if False:  # hotpath: the head is never held back for the body\n"
              "            self.head = head"),)),
    Variant("one lazy timer per connection",
            "call_at + cancel per change of state",
            (("        if self.timer is None or deadline < self.timer_at:",
              "        if True:  # hotpath: cancel and re-arm the timer every time"),)),
    Variant("date line built once a second",
            "email.utils.formatdate() per response",
            (("            lines.append(shared.date_and_server)",
              '            lines.append(b"date: %s\\r\\nserver: %s\\r\\n" % (http_date(), SERVER_NAME))'),)),
    Variant("a future only when receive() waits",
            "an asyncio.Event per request (lesson 08)",
            (('"bytes_left", "head", "task")', '"bytes_left", "head", "task", "wake")'),
             ("        self.task: asyncio.Task | None = None\n        # Request side",
              "        self.task: asyncio.Task | None = None\n"
              "        self.wake = asyncio.Event()  # hotpath: lesson 08 made one per request\n"
              "        # Request side"),
             ("    def _wake(self) -> None:\n",
              "    def _wake(self) -> None:\n"
              "        self.wake.set()  # hotpath: and set it whenever receive() might be waiting\n"))),
    Variant("the task removes itself from the set",
            "add_done_callback(tasks.discard)",
            (("        self.shared.tasks.add(task)\n",
              "        self.shared.tasks.add(task)\n"
              "        task.add_done_callback(self.shared.tasks.discard)  # hotpath\n"),)),
    Variant("parse_url always (shortcut dropped)",
            "skip parse_url for plain paths",
            (("        url = httptools.parse_url(self.url)  # skipping it for plain paths saved nothing measurable\n"
              "        raw_path = url.path or b\"/\"\n",
              "        if self.url[:1] != b\"/\" or b\"?\" in self.url:  # hotpath: parse only what needs it\n"
              "            url = httptools.parse_url(self.url)\n"
              "            raw_path, query = url.path or b\"/\", url.query or b\"\"\n"
              "        else:\n"
              "            raw_path, query = self.url, b\"\"\n"),
             ("            \"query_string\": url.query or b\"\",",
              "            \"query_string\": query,"))),
)


class ReplacementError(Exception):
    """A variant's text no longer occurs exactly once in the reference."""


def apply_replacements(variant: Variant, source: str) -> str:
    for old, new in variant.replacements:
        count = source.count(old)
        if count != 1:
            raise ReplacementError(
                f"variant {variant.name!r} ({variant.edit}): the text to replace occurs {count} times in "
                f"{REFERENCE_FOLDER / 'server.py'} (it must occur exactly once; has the reference "
                f"changed? update VARIANTS in course/hotpath.py):\n{old}")
        source = source.replace(old, new)
    return source


def write_variant(variant: Variant, folder: Path) -> Path:
    """Copy the reference lesson folder to `folder` with the variant's edits; return its server.py."""
    shutil.copytree(REFERENCE_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    server = folder / "server.py"
    server.write_text(apply_replacements(variant, server.read_text()))
    return server


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (proc(5): fields 14 and 15 of stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Turn:
    rps: float
    cpu_us_per_request: float
    errors: int


@dataclass
class Contender:
    variant: Variant | None  # None: the reference itself
    server: Candidate  # course.bench's handle: command, process, port, problems
    turns: list[Turn] = field(default_factory=list)


def measure_turn(server: Candidate, duration: float) -> Turn:
    before = cpu_seconds(server.process.pid)
    load = load_with_wrk(server.port, CONNECTIONS, duration)
    used = cpu_seconds(server.process.pid) - before
    per_request = used / load["requests"] * 1e6 if load["requests"] else float("nan")
    return Turn(load["rps"], per_request, load["errors"])


def answers_hello(port: int) -> bool:
    """Does the server answer one GET with the hello app's 200 and body? (A broken variant must not be timed.)"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: hotpath\r\n\r\n")
            answer = b""
            while not answer.endswith(HELLO_BODY):
                piece = client.recv(65536)
                if not piece:
                    break
                answer += piece
    except OSError:
        return False
    return answer.startswith(b"HTTP/1.1 200") and answer.endswith(HELLO_BODY)


def prepare(scratch: Path, loop: str) -> list[Contender]:
    """The reference and a copy per variant, not yet started."""
    contenders = [Contender(None, Candidate("reference", loop, launch_command(REFERENCE_FOLDER / "server.py", loop)))]
    for number, variant in enumerate(VARIANTS, 1):
        server_py = write_variant(variant, scratch / f"variant{number}")
        contenders.append(Contender(variant, Candidate(f"variant{number}", loop, launch_command(server_py, loop))))
    return contenders


def start_all(contenders: list[Contender]) -> None:
    """Start every server; one that does not listen or does not answer 200 gets a problem, not a turn."""
    for contender in contenders:
        server = contender.server
        start(server, "hello")
        if not server.problems and not answers_hello(server.port):
            server.problems["hello"] = "does not answer GET / with 200 Hello, world!"


def stop_all(contenders: list[Contender]) -> None:
    for contender in contenders:
        stop(contender.server)
        process = contender.server.process
        if process is not None and process.stderr is not None:
            process.stderr.close()  # course.bench keeps it open to read a failed start's error


def launch_command(server_py: Path, loop: str) -> list[str]:
    return [sys.executable, "-m", "course.bench_launch", str(server_py), "{app}",
            "--port", "{port}", "--loop", loop]


def report(console: Console, contenders: list[Contender], args: argparse.Namespace) -> None:
    table = Table(title=f"python -m course.hotpath: hello app, wrk -t1 -c{CONNECTIONS}, {args.loop} loop, "
                        f"{args.turns} turns of {args.duration:g} s", title_justify="left")
    for column, justify in (("variant", "left"), ("edit", "left"), ("CPU µs/req", "right"),
                            ("Δ µs", "right"), ("req/s", "right"), ("× ref", "right")):
        table.add_column(column, justify=justify)
    reference = contenders[0].turns
    reference_us = statistics.median(t.cpu_us_per_request for t in reference)
    reference_rps = statistics.mean(t.rps for t in reference)
    for contender in contenders:
        variant, server = contender.variant, contender.server
        name, edit = (variant.name, variant.edit) if variant else ("(the reference)", "")
        if server.problems:
            table.add_row(name, edit, "—", "", "", f"[red]{server.problems['hello']}[/]")
            continue
        us = statistics.median(t.cpu_us_per_request for t in contender.turns)
        rps = statistics.mean(t.rps for t in contender.turns)
        table.add_row(name, edit, f"{us:.1f}", f"{us - reference_us:+.1f}" if variant else "",
                      f"{rps:,.0f}", f"{rps / reference_rps:.2f}")
    console.print(table)
    errors = sum(t.errors for contender in contenders for t in contender.turns)
    if errors:
        console.print(f"[red]wrk counted {errors} failed requests: those figures are not comparable[/]")
    console.print("CPU µs/req: the server's CPU time per request, median turn; req/s: mean of the turns.\n"
                  "Compare rows of this run (Δ µs, × ref), not figures of different runs: other work on the\n"
                  "machine moves them all. CPU per request is the steadier of the two.")


def stop_on_sigterm() -> None:
    # A SIGTERM becomes SystemExit, so the finally clauses stop the servers and remove the copies.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def run_turns(console: Console, contenders: list[Contender], args: argparse.Namespace) -> None:
    running = [c for c in contenders if not c.server.problems]
    for turn in range(args.turns):
        for contender in running:
            console.log(f"turn {turn + 1}/{args.turns}: {contender.server.name} "
                        f"({contender.variant.name if contender.variant else 'reference'})")
            contender.turns.append(measure_turn(contender.server, args.duration))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.hotpath", description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=5, help="turns of load per server (default 5)")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds of load per turn (default 2)")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args(argv)
    if args.turns < 1 or args.duration <= 0:
        parser.error("--turns must be at least 1 and --duration above 0")
    console = Console()
    if shutil.which("wrk") is None:
        console.print("[red]wrk is not installed[/] (apt-get install wrk): this measurement needs it, and the "
                      "Python load generator would take the CPU it measures.")
        return 2
    stop_on_sigterm()
    try:
        with tempfile.TemporaryDirectory(prefix="hotpath-") as scratch:
            contenders = prepare(Path(scratch), args.loop)
            try:
                with console.status(f"starting {len(contenders)} servers..."):
                    start_all(contenders)
                if contenders[0].server.problems:
                    console.print(f"[red]the reference did not start: {contenders[0].server.problems['hello']}[/]")
                    return 1
                run_turns(console, contenders, args)
            finally:
                stop_all(contenders)
    except KeyboardInterrupt:
        console.print("interrupted: every server stopped, the copies removed")
        return 130
    report(console, contenders, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
