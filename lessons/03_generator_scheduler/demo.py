"""Lesson 03 demo: N calls that each wait one second, as processes, threads and generators.

    make demo-lesson 3                     # the table below, on your scheduler
    python demo.py --million               # add 1,000,000 generators (about 700 MiB, tens of seconds)
    python demo.py --measure threads 5000  # one measurement, printed as JSON

Every measurement runs in a fresh Python process, so one run's memory does not
count against the next; "peak memory" is that process's maximum resident set
(getrusage ru_maxrss), and for processes the figure of one worker, which each of
the N workers needs on top.

It first shows three tasks taking turns on the scheduler, with the time each woke.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import subprocess
import sys
import threading
import time

from rich.console import Console
from rich.table import Table

from scheduler import Scheduler, run_all, sleep

SECONDS = 1.0  # how long each call waits: the "I/O" every approach must overlap
RUNS = [  # (approach, N): where each one is comfortable, and where it starts to hurt
    ("processes", 10), ("processes", 100), ("processes", 500),
    ("threads", 100), ("threads", 1_000), ("threads", 10_000),
    ("generators", 20_000), ("generators", 100_000),
]
MILLION = ("generators", 1_000_000)
console = Console()


# -- the same work, three ways ----------------------------------------------------------

def wait_and_return(value: int) -> int:
    """The blocking version: sleeps a second, returns its argument."""
    time.sleep(SECONDS)
    return value


def wait_and_return_task(value: int):
    """The generator version: the same, but it lets others run while it waits."""
    yield from sleep(SECONDS)
    return value


def with_processes(n: int) -> list[int]:
    with concurrent.futures.ProcessPoolExecutor(max_workers=n) as pool:
        return list(pool.map(wait_and_return, range(n)))


def with_threads(n: int) -> list[int]:
    results = [None] * n

    def worker(i: int) -> None:
        results[i] = wait_and_return(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()  # each start() is a clone() syscall and a new stack (threading.stack_size())
    for thread in threads:
        thread.join()
    return results


def with_generators(n: int) -> list[int]:
    return run_all(wait_and_return_task(i) for i in range(n))


APPROACHES = {"processes": with_processes, "threads": with_threads, "generators": with_generators}


def measure(approach: str, n: int) -> dict:
    """Run one approach for n calls here; its time, peak memory, and whether it worked."""
    started = time.monotonic()
    try:
        results = APPROACHES[approach](n)
        error = None if results == list(range(n)) else "wrong results"
    except (OSError, RuntimeError, MemoryError) as failure:  # "can't start new thread", EAGAIN, ...
        error = f"{type(failure).__name__}: {failure}"
    elapsed = time.monotonic() - started
    who = resource.RUSAGE_CHILDREN if approach == "processes" else resource.RUSAGE_SELF
    peak_kib = resource.getrusage(who).ru_maxrss  # KiB on Linux (bytes on macOS)
    if sys.platform == "darwin":
        peak_kib //= 1024
    return {"approach": approach, "n": n, "seconds": elapsed, "peak_mib": peak_kib / 1024, "error": error}


def measure_in_fresh_process(approach: str, n: int) -> dict:
    command = [sys.executable, __file__, "--measure", approach, str(n)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"approach": approach, "n": n, "seconds": None, "peak_mib": None, "error": last_line}
    return json.loads(done.stdout)


# -- what the demo shows -------------------------------------------------------------------

def show_turns() -> None:
    """Three tasks on one scheduler: who ran when, and in what order the timers fired."""
    scheduler = Scheduler()
    start = scheduler.now()

    def say(name: str, what: str) -> None:
        console.print(f"  {scheduler.now() - start:5.2f} s  [bold]{name}[/]  {what}")

    def task(name: str, naps: list[float]):
        for nap in naps:
            say(name, f"sleeps {nap} s")
            yield from sleep(nap)
            say(name, "woke")
        yield  # a bare yield: let the others run before returning
        return f"{name} done"

    scheduler.spawn(task("A", [0.3, 0.1]))
    scheduler.spawn(task("B", [0.1, 0.1]))
    scheduler.spawn(task("C", [0.2]))
    results = scheduler.run()
    console.print(f"  results by task id: {results}\n")


def show_scale(runs: list[tuple[str, int]]) -> None:
    table = Table(title=f"N calls that each wait {SECONDS:g} s (this machine: {os.cpu_count()} CPUs)")
    for column in ("approach", "N", "wall time", "peak memory", "note"):
        table.add_column(column, justify="right" if column in ("N", "wall time", "peak memory") else "left")
    for approach, n in runs:
        with console.status(f"measuring {n:,} {approach} ..."):  # a spinner on a terminal only
            row = measure_in_fresh_process(approach, n)
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.2f} s"
        memory = "-" if row["peak_mib"] is None else f"{row['peak_mib']:,.0f} MiB"
        if approach == "processes" and row["peak_mib"] is not None:
            memory += " each"
        table.add_row(approach, f"{n:,}", seconds, memory, row["error"] or "")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 generators")
    parser.add_argument("--measure", nargs=2, metavar=("APPROACH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]))))
        return
    console.rule("Three tasks taking turns (sleeps on the timer heap)")
    show_turns()
    console.rule("Where each approach stops scaling")
    show_scale(RUNS + ([MILLION] if args.million else []))


if __name__ == "__main__":
    main()
