"""Lesson 04 demo: several fetches and a timer on one thread, drawn as a timeline.

    make demo-lesson 4              # on your selectors_loop.py

A local server answers `/delay/<s>` after s seconds (course/demo.py, a thread per
request, so the server never serialises anything). Each task is wrapped in
`traced()`, a generator that passes every request through to the loop and notes
what the task waited for and when the loop woke it. Nothing in the loop is changed
for the demo: it runs your Loop as the tests do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from course.demo import slow_http_server
from selectors_loop import EVENT_READ, EVENT_WRITE, Loop, Sleep, fetch_steps, sleep

DELAYS = [0.9, 0.3, 1.2, 0.6]  # seconds the server waits before answering each fetch
TICK = 0.25  # the ticker task's period: it shows timers firing while sockets are idle
WIDTH = 64  # characters of the timeline
console = Console()


@dataclass
class Wait:
    task: str
    what: str  # "read", "write", "sleep", "ready"
    detail: str  # "fd 7", "0.25 s"
    start: float
    end: float | None = None  # when the loop resumed the task


def describe(request) -> tuple[str, str]:
    if isinstance(request, Sleep):
        return "sleep", f"{request.seconds:g} s"
    if isinstance(request, tuple) and len(request) == 2:
        sock, event = request
        return ("read" if event == EVENT_READ else "write" if event == EVENT_WRITE else "?"), f"fd {sock.fileno()}"
    return "ready", "yield"


def traced(name: str, task, waits: list[Wait], started: float):
    """Run `task` inside this generator, noting each wait; its result passes through."""
    try:
        request = next(task)
        while True:
            wait = Wait(name, *describe(request), start=time.monotonic() - started)
            waits.append(wait)
            try:
                yield request
            except BaseException as error:  # thrown in by the loop (or closed): pass it on
                wait.end = time.monotonic() - started
                request = task.throw(error)
            else:
                wait.end = time.monotonic() - started
                request = next(task)
    except StopIteration as finished:
        return finished.value


def ticker(count: int):
    for _ in range(count):
        yield from sleep(TICK)
    return f"{count} ticks"


STYLE = {"write": "yellow", "read": "magenta", "sleep": "blue", "ready": "white"}
MARK = {"write": "w", "read": "r", "sleep": "z", "ready": "."}


def bar(task_waits: list[Wait], total: float) -> Text:
    """One row of the timeline: a cell per WIDTH-th of the run, marked with what the task waited for."""
    cells = [Text(" ")] * WIDTH
    def cell(seconds: float) -> int:
        return min(int(seconds / total * WIDTH), WIDTH - 1)

    for wait in task_waits:
        for index in range(cell(wait.start), cell(wait.end if wait.end is not None else total) + 1):
            cells[index] = Text(MARK[wait.what], style=STYLE[wait.what])
    for wait in task_waits:  # drawn last, so the next wait does not paint over them
        if wait.end is not None:
            cells[cell(wait.end)] = Text("|", style="bold green")
    return Text.assemble(*cells)


def timeline(host: str, port: int) -> None:
    waits: list[Wait] = []
    loop = Loop()
    started = time.monotonic()
    names = {}
    for delay in DELAYS:
        name = f"GET /delay/{delay}"
        names[loop.spawn(traced(name, fetch_steps(host, port, f"/delay/{delay}"), waits, started))] = name
    ticks = int(max(DELAYS) / TICK) + 1
    names[loop.spawn(traced("ticker", ticker(ticks), waits, started))] = "ticker"
    cpu_before = time.process_time()
    results = loop.run()
    cpu = time.process_time() - cpu_before
    total = time.monotonic() - started

    table = Table(title=f"{len(DELAYS)} fetches and a ticker on one thread: {total:.2f} s in all "
                        f"(one after another: {sum(DELAYS):.1f} s), {cpu * 1000:.0f} ms of CPU")
    table.add_column("task")
    table.add_column(f"0 s {'time →':^{WIDTH - 12}} {total:.1f} s", no_wrap=True)
    table.add_column("result")
    for task_id, name in names.items():
        result = results[task_id]
        shown = result.split(b"\r\n")[0].decode() if isinstance(result, bytes) else repr(result)
        table.add_row(name, bar([w for w in waits if w.task == name], total), shown)
    console.print(table)
    console.print("  [yellow]w[/] waits to write (connect, send)   [magenta]r[/] waits to read (the answer)   "
                  "[blue]z[/] sleeps   [bold green]|[/] the loop resumed it\n")

    log = Table(title="The same run as a log: each wait, in the order the loop ended it")
    for column in ("woke at", "task", "had waited for", "since", "waited"):
        log.add_column(column, justify="left" if column in ("task", "had waited for") else "right")
    for wait in sorted((w for w in waits if w.end is not None), key=lambda w: w.end):
        log.add_row(f"{wait.end * 1000:.0f} ms", wait.task, f"{wait.what} {wait.detail}",
                    f"{wait.start * 1000:.0f} ms", f"{(wait.end - wait.start) * 1000:.0f} ms")
    console.print(log)


def main() -> None:
    with slow_http_server() as (host, port):
        timeline(host, port)


if __name__ == "__main__":
    main()
