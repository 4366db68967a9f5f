"""Drawing a trace (course/trace.py) as a timeline with rich: a row per loop, task and socket.

Each row is a strip of characters, time running left to right; when several things
fall into one character's slice of time, the most telling one is drawn (a step
over a wait, a ready socket over its registration).
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

MAX_ROWS = 12  # tasks and sockets each; more are summed up in one density row
DENSITY = " ▁▂▃▄▅▆▇█"
LABEL_WIDTH = 22
SLOW_STEP = 0.05  # seconds: a step this long holds up every other task noticeably

# What each mark means, in the order of the legend.
MARKS = {
    "step": ("█", "green", "task step running"),
    "blocked": ("━", "blue", "loop blocked in select/poll/sleep"),
    "nowait": ("·", "blue", "select/poll with timeout 0"),
    "suspended": ("·", "dim", "task suspended"),
    "wake": ("!", "bold yellow", "task woken by its socket"),
    "ready": ("!", "bold yellow", "socket came back ready"),
    "r": ("r", "cyan", "registered to read"),
    "w": ("w", "cyan", "to write"),
    "rw": ("b", "cyan", "both"),
    "io": (None, "magenta", "socket calls: < recv  > send  ? BlockingIOError  c connect  a accept  x close"),
}
WAIT_CALLS = {"selectors": "selector.select", "select": "select.select", "epoll": "epoll.poll", "poll": "poll.poll"}
IO_MARKS = {"recv": "<", "recv_into": "<", "send": ">", "sendall": ">", "connect": "c", "connect_ex": "c",
            "accept": "a", "close": "x"}


class Strip:
    """One row of the timeline: `width` cells, each keeping the mark of highest priority."""

    def __init__(self, width: int, total: float) -> None:
        self.width, self.total = width, total
        self.cells: list[tuple[int, str, str]] = [(0, " ", "")] * width

    def column(self, t: float) -> int:
        return max(0, min(self.width - 1, int(t / self.total * self.width)))

    def paint(self, start: float, end: float, char: str, style: str, priority: int) -> None:
        for column in range(self.column(start), self.column(end) + 1):
            if priority >= self.cells[column][0]:
                self.cells[column] = (priority, char, style)

    def point(self, t: float, char: str, style: str, priority: int) -> None:
        self.paint(t, t, char, style, priority)

    def text(self) -> Text:
        text = Text()
        for _, char, style in self.cells:
            text.append(char, style=style or None)
        return text


def density(width: int, total: float, times: list[float]) -> Text:
    counts = [0] * width
    strip = Strip(width, total)
    for t in times:
        counts[strip.column(t)] += 1
    peak = max(counts) or 1
    return Text("".join(DENSITY[0 if not c else max(1, round(c / peak * (len(DENSITY) - 1)))] for c in counts),
                style="green")


def _interest_spans(events: list[dict], end: float) -> dict[int, list[tuple[float, float, str]]]:
    """fd -> [(from, to, interest)] while it was in a selector."""
    spans: dict[int, list] = defaultdict(list)
    open_: dict[int, tuple[float, str]] = {}
    for event in events:
        kind, fd = event["kind"], event.get("fd")
        if kind in ("register", "modify", "unregister") and not event.get("error") or \
                (kind == "io" and event["call"] == "close"):
            if fd in open_:
                started, what = open_.pop(fd)
                spans[fd].append((started, event["t"], what))
            if kind in ("register", "modify") and event["interest"]:
                open_[fd] = (event["t"], event["interest"])
    for fd, (started, what) in open_.items():
        spans[fd].append((started, end, what))
    return spans


def build_rows(data: dict, width: int) -> tuple[list[tuple[str, Text]], float, float]:
    """[(label, strip)] for every row to draw, when the strips start, and how long they cover."""
    events = sorted(data["events"], key=lambda e: e["t"])
    tasks = {int(k): v for k, v in data["tasks"].items()}
    origin = events[0]["t"] if events else 0.0  # the strips start at the first event
    events = [{**e, "t": e["t"] - origin} for e in events]
    total = max([e["t"] + e.get("dur", 0) for e in events] or [0]) or 1e-6
    rows: list[tuple[str, Text]] = []

    # The loop: one row per thread that waited (select, poll or sleep).
    waiting_threads = sorted({e["thread"] for e in events if e["kind"] in ("select", "sleep")})
    for thread in waiting_threads:
        strip = Strip(width, total)
        for e in events:
            if e["thread"] != thread:
                continue
            if e["kind"] in ("select", "sleep"):
                if e["kind"] == "select" and e.get("timeout") == 0:
                    strip.point(e["t"], *MARKS["nowait"][:2], 1)
                else:
                    strip.paint(e["t"], e["t"] + e["dur"], *MARKS["blocked"][:2], 2)
            elif e["kind"] == "step":
                strip.paint(e["t"], e["t"] + e["dur"], *MARKS["step"][:2], 3)
        rows.append(("loop" if len(waiting_threads) == 1 else f"loop [{thread}]", strip.text()))

    # The tasks.
    steps = defaultdict(list)
    wakes = defaultdict(list)
    for e in events:
        if e["kind"] == "step":
            steps[e["task"]].append(e)
        elif e["kind"] == "wake":
            wakes[e["task"]].append(e["t"])
    for task_id in sorted(steps)[:MAX_ROWS]:
        strip = Strip(width, total)
        first, last = steps[task_id][0], steps[task_id][-1]
        end = last["t"] + last["dur"] if tasks[task_id]["finished"] else total
        strip.paint(first["t"], end, *MARKS["suspended"][:2], 1)
        for t in wakes[task_id]:
            strip.point(t, *MARKS["wake"][:2], 2)
        for step in steps[task_id]:
            strip.paint(step["t"], step["t"] + step["dur"], *MARKS["step"][:2], 3)
        rows.append((tasks[task_id]["name"], strip.text()))
    if len(steps) > MAX_ROWS:
        rows.append((f"steps of all {len(steps)} tasks", density(width, total, [e["t"] for e in events
                                                                                if e["kind"] == "step"])))

    # The sockets that were ever in a selector.
    spans = _interest_spans(events, total)
    owners = {e["fd"]: tasks.get(e["task"], {}).get("name") for e in events
              if e["kind"] == "register" and e.get("task") in tasks}
    ready = defaultdict(list)
    io = defaultdict(list)
    for e in events:
        if e["kind"] == "select":
            for fd, _ in e["ready"]:
                ready[fd].append(e["t"] + e["dur"])
        elif e["kind"] == "io":
            io[e["fd"]].append(e)
    for fd in list(spans)[:MAX_ROWS]:
        strip = Strip(width, total)
        for started, ended, what in spans[fd]:
            strip.paint(started, ended, *MARKS[what][:2], 1)
        for e in io[fd]:
            mark = "?" if e["result"] == "BlockingIOError" else IO_MARKS.get(e["call"], "*")
            strip.point(e["t"], mark, MARKS["io"][1], 2)
        for t in ready[fd]:
            strip.point(t, *MARKS["ready"][:2], 3)
        label = f"fd {fd}" + (f" ({owners[fd]})" if owners.get(fd) else "")
        rows.append((label, strip.text()))
    if len(spans) > MAX_ROWS:
        rows.append((f"ready, all {len(spans)} sockets", density(width, total, [
            e["t"] + e["dur"] for e in events if e["kind"] == "select" for _ in e["ready"]])))
    return rows, origin, total


def axis(width: int, origin: float, total: float) -> Text:
    left, middle, right = (f"{t:.3f} s" if total < 10 else f"{t:.1f} s"
                           for t in (origin, origin + total / 2, origin + total))
    gap = width - len(left) - len(middle) - len(right)
    return Text(left + " " * (gap // 2) + middle + " " * (gap - gap // 2) + right, style="dim")


def event_line(e: dict, tasks: dict) -> tuple[str, str]:
    """(row label, what happened) for the event list."""
    name = lambda task_id: tasks.get(task_id, {}).get("name", "?")  # noqa: E731
    kind = e["kind"]
    if kind == "step":
        return name(e["task"]), f"step ran {e['dur'] * 1000:.2f} ms, then {e['outcome']} {e['value']}"
    if kind == "select":
        timeout = "None (forever)" if e["timeout"] is None else f"{e['timeout']:.3g}"
        ready = ", ".join(f"fd {fd} {what}" for fd, what in e["ready"]) or "nothing"
        call = WAIT_CALLS.get(e["api"], e["api"])
        return "loop", f"{call}(timeout={timeout}) slept {e['dur'] * 1000:.2f} ms, ready: {ready}"
    if kind == "sleep":
        return "loop", f"time.sleep({e['seconds']:.3g}) slept {e['dur'] * 1000:.2f} ms"
    if kind in ("register", "modify", "unregister"):
        what = f" {e['interest']}" if e.get("interest") else ""
        who = f" for {name(e['task'])}" if e.get("task") in tasks else ""
        return f"fd {e['fd']}", f"{kind}{what}{who}" + (f" FAILED: {e['error']}" if e.get("error") else "")
    if kind == "wake":
        return name(e["task"]), f"woken: fd {e['fd']} ready"
    if kind == "io":
        return f"fd {e['fd']}", f"{e['call']}() -> {e['result']}"
    return "?", kind


def summary(data: dict) -> list[str]:
    events = data["events"]
    tasks = {int(k): v for k, v in data["tasks"].items()}
    lines = []
    steps = [e for e in events if e["kind"] == "step"]
    if steps:
        longest = max(steps, key=lambda e: e["dur"])
        lines.append(f"{len(tasks)} task(s), {len(steps)} step(s); the longest: "
                     f"{tasks[longest['task']]['name']} ran {longest['dur'] * 1000:.1f} ms, "
                     f"then {longest['outcome']} {longest['value']}")
        if longest["dur"] > SLOW_STEP:
            lines.append(f"[yellow]A step of {longest['dur'] * 1000:.0f} ms holds up every other task for that "
                         "long: something in it blocks (time.sleep, a blocking socket call, a long loop).[/]")
    else:
        lines.append("No task steps were seen (a loop of callbacks, or tasks not written as generators/coroutines).")
    waits = [e for e in events if e["kind"] in ("select", "sleep")]
    if waits:
        at_once = sum(1 for e in waits if e.get("timeout") == 0)
        blocked = sum(e["dur"] for e in waits)
        empty = sum(1 for e in waits if e["kind"] == "select" and not e["ready"] and e.get("timeout") != 0)
        lines.append(f"{len(waits)} wait(s) in select/poll/sleep, {blocked:.3f} s blocked in all; "
                     f"{at_once} with timeout 0; {empty} woke with nothing ready (a timer was due)")
    counts = {k: sum(1 for e in events if e["kind"] == k) for k in ("register", "modify", "unregister")}
    if any(counts.values()):
        lines.append(", ".join(f"{n} {k}" for k, n in counts.items()))
        failed = [e for e in events if e["kind"] in counts and e.get("error")]
        if failed:
            lines.append(f"[red]{len(failed)} registration call(s) failed[/], e.g. "
                         f"{failed[0]['kind']} fd {failed[0]['fd']}: {failed[0]['error']}")
        left = sorted(fd for fd, spans in _interest_spans(sorted(events, key=lambda e: e["t"]), float("inf")).items()
                      if spans[-1][1] == float("inf"))
        if left:
            lines.append(f"[yellow]Still registered when the trace ended: {', '.join(f'fd {fd}' for fd in left)}[/] "
                         "(unregister a socket when no task waits on it).")
    return lines


def render(data: dict, width: int | None = None, events: int = 30, console: Console | None = None) -> None:
    console = console or Console(width=width) if width else console or Console()
    if not data["events"]:
        console.print("Nothing was recorded: the demo made no select/poll/sleep calls, socket calls or task steps "
                      "from code under IMPL.")
        return
    strip_width = max(20, console.width - LABEL_WIDTH - 5)  # 4 cells of padding, 1 to spare
    rows, origin, total = build_rows(data, strip_width)
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column(width=LABEL_WIDTH, no_wrap=True, overflow="ellipsis")
    table.add_column(width=strip_width, no_wrap=True)
    for label, strip in rows:
        table.add_row(escape(label), strip)
    table.add_row("", axis(strip_width, origin, total))
    console.print("[bold]What your loop did[/] (time runs left to right; seconds since the demo started)")
    console.print(table)
    for keys in (("step", "suspended", "wake", "blocked", "nowait"), ("r", "w", "rw", "ready"), ("io",)):
        legend = Text("  ")
        for char, style, meaning in (MARKS[k] for k in keys):
            if char:
                legend.append(char, style=style)
                legend.append(f" {meaning}   ")
            else:
                legend.append(meaning, style=style)
        console.print(legend, no_wrap=True, overflow="ellipsis")
    console.print()
    for line in summary(data):
        console.print(f"  {line}")
    if events:
        tasks = {int(k): v for k, v in data["tasks"].items()}
        ordered = sorted(data["events"], key=lambda e: e["t"])
        console.print(f"\n[bold]The first {min(events, len(ordered))} of {len(ordered)} events[/] "
                      "(`--events N` for more):")
        for e in ordered[:events]:
            label, text = event_line(e, tasks)
            console.print(f"  {e['t']:9.5f} s  {escape(label):<18} {escape(text)}", highlight=False)
