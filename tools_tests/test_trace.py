"""`make trace-lesson N`: the tracer's records, on small loops written here.

Each test writes a demo.py into a folder laid out like lessons/ and runs
`python -m course trace N --impl FOLDER --json FILE` in a separate process (the
tracer patches selectors, select, time and socket process-wide), then reads the
records back. The loops use socketpairs and timers: no network at all.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from course.lessons import ROOT, lesson
from course.timeline import build_rows, render

pytestmark = pytest.mark.timeout(60)

SELECTORS_LOOP = '''
import heapq, selectors, socket, time
from collections import deque

def reader(sock):
    got = b""
    while len(got) < 6:
        yield (sock, selectors.EVENT_READ)
        got += sock.recv(100)
    return got

def writer(sock):
    for piece in (b"abc", b"def"):
        yield ("sleep", 0.02)
        yield (sock, selectors.EVENT_WRITE)
        sock.send(piece)

def run(tasks):
    ready, timers, waiting, results = deque(tasks), [], {}, []
    with selectors.DefaultSelector() as sel:
        while ready or timers or waiting:
            timeout = 0 if ready else (max(0, timers[0][0] - time.monotonic()) if timers else None)
            for key, mask in sel.select(timeout):
                ready.append(waiting.pop(key.fileobj))
                sel.unregister(key.fileobj)
            while timers and timers[0][0] <= time.monotonic():
                ready.append(heapq.heappop(timers)[2])
            for _ in range(len(ready)):
                task = ready.popleft()
                try:
                    request = next(task)
                except StopIteration as stop:
                    results.append(stop.value)
                    continue
                if request[0] == "sleep":
                    heapq.heappush(timers, (time.monotonic() + request[1], id(task), task))
                else:
                    waiting[request[0]] = task
                    sel.register(request[0], request[1])
    return results

left, right = socket.socketpair()
with left, right:
    left.setblocking(False)
    right.setblocking(False)
    print("results:", run([reader(left), writer(right)]))
'''

TIMERS_ONLY = '''
import heapq, time

def sleep(seconds):
    yield ("Sleep", seconds)

def worker(seconds):
    yield from sleep(seconds)   # a nested generator: part of worker's step, not a task
    yield from sleep(seconds)
    return seconds

def run(tasks):
    timers = [(time.monotonic(), n, task) for n, task in enumerate(tasks)]
    while timers:
        deadline, n, task = heapq.heappop(timers)
        time.sleep(max(0, deadline - time.monotonic()))
        try:
            _, seconds = task.send(None)
        except StopIteration:
            continue
        heapq.heappush(timers, (time.monotonic() + seconds, n, task))

run([worker(0.01), worker(0.03)])
print("done")
'''

EPOLL_LOOP = '''
import select, socket
left, right = socket.socketpair()
with left, right:
    poller = select.epoll()
    with poller:
        poller.register(left.fileno(), select.EPOLLIN)
        print("first poll:", poller.poll(0.01))            # nothing yet: times out
        right.send(b"x")
        print("second poll:", poller.poll(1))
        poller.modify(left.fileno(), select.EPOLLIN | select.EPOLLOUT)
        poller.poll(-1)
        poller.unregister(left.fileno())
'''

SELECT_AND_POLL = '''
import select, socket
left, right = socket.socketpair()
with left, right:
    right.send(b"x")
    print(select.select([left], [right], [], 0.5))
    poller = select.poll()
    poller.register(left, select.POLLIN)
    print(poller.poll(250))
    poller.unregister(left)
'''

COROUTINES = '''
import types

class Wait:
    def __await__(self):      # a generator inside the coroutine: part of the task's step
        yield "waiting"

async def child(n):
    await Wait()
    return n

async def parent():
    first = await child(1)    # a coroutine awaited by a coroutine: same task
    await Wait()
    return first + 1

tasks = [parent(), parent()]
results = []
while tasks:
    for task in list(tasks):
        try:
            task.send(None)
        except StopIteration as stop:
            results.append(stop.value)
            tasks.remove(task)
print(results)
'''

FOREIGN_SELECTOR = '''
import selectors
def select_once():
    with selectors.DefaultSelector() as sel:
        return sel.select(0)
'''


def write_demo(impl: Path, number: int, code: str) -> Path:
    folder = impl / lesson(number).folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demo.py").write_text(textwrap.dedent(code))
    return impl


def trace(impl: Path, number: int, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = impl.parent / f"trace-{number}.json"
    result = subprocess.run(
        [sys.executable, "-m", "course", "trace", str(number), "--impl", str(impl), "--json", str(out), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=50, env={**os.environ, "COLUMNS": "100"})
    data = json.loads(out.read_text()) if out.exists() else {}
    return result, data


def of_kind(data: dict, kind: str) -> list[dict]:
    return sorted((e for e in data["events"] if e["kind"] == kind), key=lambda e: e["t"])


def task_names(data: dict) -> dict[int, str]:
    return {int(k): v["name"] for k, v in data["tasks"].items()}


def test_selectors_loop_steps_registrations_selects_and_wakeups(tmp_path):
    result, data = trace(write_demo(tmp_path / "impl", 4, SELECTORS_LOOP), 4)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "results: [None, b'abcdef']" in result.stdout, "the learner's loop must behave as without the tracer"
    names = task_names(data)
    assert sorted(names.values()) == ["reader#1", "writer#1"]
    by_name = {v: k for k, v in names.items()}
    reader_steps = [e for e in of_kind(data, "step") if e["task"] == by_name["reader#1"]]
    assert reader_steps[0]["outcome"] == "yield" and reader_steps[0]["value"].endswith("READ)")
    assert reader_steps[-1]["outcome"] == "return" and reader_steps[-1]["value"] == "b'abcdef'"
    assert data["tasks"][str(by_name["writer#1"])]["finished"] == "returned"

    registers = of_kind(data, "register")
    assert {(names[e["task"]], e["interest"]) for e in registers} == {("reader#1", "r"), ("writer#1", "w")}
    assert len(of_kind(data, "unregister")) == len(registers)

    selects = of_kind(data, "select")
    assert selects[0]["timeout"] == 0, "the first round has ready tasks: select(0)"
    assert any(e["timeout"] is None for e in selects), "with only sockets to wait for, the loop waits forever"
    timer_waits = [e for e in selects if e["timeout"] not in (0, None)]
    assert timer_waits and all(e["dur"] >= 0.005 for e in timer_waits if not e["ready"]), timer_waits
    reader_fd = next(e["fd"] for e in registers if names[e["task"]] == "reader#1")
    assert any([reader_fd, "r"] in e["ready"] for e in selects)
    wakes = of_kind(data, "wake")
    assert {(names[e["task"]], e["fd"]) for e in wakes} >= {("reader#1", reader_fd)}
    calls = {(e["call"], e["result"]) for e in of_kind(data, "io")}
    assert ("send", "3 bytes") in calls and ("recv", "3 bytes") in calls, calls


def test_the_timeline_draws_a_row_per_loop_task_and_socket(tmp_path):
    result, data = trace(write_demo(tmp_path / "impl", 4, SELECTORS_LOOP), 4)
    assert result.returncode == 0, result.stderr
    for label in ("loop", "reader#1", "writer#1", "(reader#1)", "What your loop did"):
        assert label in result.stdout, result.stdout
    rows, origin, total = build_rows(data, 60)
    labels = [label for label, _ in rows]
    assert labels[:3] == ["loop", "reader#1", "writer#1"] and len(labels) == 5, labels
    assert all(len(strip.plain) == 60 for _, strip in rows)
    loop_strip = rows[0][1].plain
    assert "━" in loop_strip and "█" in loop_strip, loop_strip
    assert total > 0.03, "two 20 ms timers in a row"
    console = Console(file=io.StringIO(), width=100, color_system=None)
    render(data, events=5, console=console)
    assert "The first 5 of" in console.file.getvalue()


def test_timers_only_scheduler_records_its_sleeps_and_nested_generators_are_not_tasks(tmp_path):
    result, data = trace(write_demo(tmp_path / "impl", 3, TIMERS_ONLY), 3)
    assert result.returncode == 0 and "done" in result.stdout, result.stderr
    assert sorted(task_names(data).values()) == ["worker#1", "worker#2"], "sleep() runs inside worker's steps"
    assert [e["value"] for e in of_kind(data, "step") if e["outcome"] == "yield"][:2] == [
        "('Sleep', 0.01)", "('Sleep', 0.03)"]
    sleeps = of_kind(data, "sleep")
    assert len(sleeps) == 6 and max(e["seconds"] for e in sleeps) > 0.005, sleeps


def test_epoll_register_modify_poll_unregister(tmp_path):
    if not hasattr(__import__("select"), "epoll"):
        pytest.skip("epoll is Linux only")
    result, data = trace(write_demo(tmp_path / "impl", 5, EPOLL_LOOP), 5)
    assert result.returncode == 0, result.stderr
    assert "first poll: []" in result.stdout and "second poll: [(" in result.stdout, result.stdout
    kinds = [e["kind"] for e in sorted(data["events"], key=lambda e: e["t"])
             if e["kind"] in ("register", "modify", "unregister", "select")]
    assert kinds == ["register", "select", "select", "modify", "select", "unregister"], kinds
    polls = of_kind(data, "select")
    assert [p["api"] for p in polls] == ["epoll"] * 3
    assert [p["timeout"] for p in polls] == [0.01, 1, None], "poll(-1) waits forever"
    assert polls[0]["ready"] == [] and polls[1]["ready"][0][1] == "r"
    assert of_kind(data, "modify")[0]["interest"] == "rw"


def test_select_select_and_poll_with_its_milliseconds(tmp_path):
    result, data = trace(write_demo(tmp_path / "impl", 2, SELECT_AND_POLL), 2)
    assert result.returncode == 0, result.stderr
    select_call, poll_call = of_kind(data, "select")
    assert select_call["api"] == "select" and select_call["timeout"] == 0.5
    assert sorted(what for _, what in select_call["ready"]) == ["r", "w"]
    assert poll_call["api"] == "poll" and poll_call["timeout"] == 0.25, "poll() takes milliseconds"
    assert [e["interest"] for e in of_kind(data, "register")] == ["r"]


def test_coroutines_are_tasks_and_what_they_await_is_part_of_their_step(tmp_path):
    result, data = trace(write_demo(tmp_path / "impl", 6, COROUTINES), 6)
    assert result.returncode == 0 and "[2, 2]" in result.stdout, result.stdout + result.stderr
    assert sorted(task_names(data).values()) == ["parent#1", "parent#2"]
    steps = of_kind(data, "step")
    assert len(steps) == 6 and {e["value"] for e in steps if e["outcome"] == "yield"} == {"'waiting'"}


def test_calls_from_code_outside_impl_are_not_recorded(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "helper_outside.py").write_text(FOREIGN_SELECTOR)
    demo = f"import sys\nsys.path.insert(0, {str(library)!r})\nimport helper_outside\nhelper_outside.select_once()\n"
    result, data = trace(write_demo(tmp_path / "impl", 4, demo), 4)
    assert result.returncode == 0, result.stderr
    assert data["events"] == [], data["events"]
    assert "Nothing was recorded" in result.stdout


def test_a_demo_that_raises_still_draws_and_fails(tmp_path):
    code = SELECTORS_LOOP + "\nraise RuntimeError('the demo broke')\n"
    result, data = trace(write_demo(tmp_path / "impl", 4, code), 4)
    assert result.returncode == 1
    assert "What your loop did" in result.stdout and "RuntimeError: the demo broke" in result.stderr
    assert of_kind(data, "step")


def test_a_missing_demo_is_named_with_what_to_do(tmp_path):
    (tmp_path / "impl" / lesson(4).folder).mkdir(parents=True)
    result, _ = trace(tmp_path / "impl", 4)
    assert result.returncode == 1
    message = result.stderr
    if "does not exist" in message:  # the course has a reference demo: point at it
        assert "IMPL=solutions" in message, message
    else:  # lesson 04's demo has not landed yet
        assert "no demo.py yet" in message or "not in this repository yet" in message, message


def test_make_trace_lesson_needs_a_lesson_number():
    result = subprocess.run(["make", "--no-print-directory", "trace-lesson"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode != 0 and "Which lesson?" in result.stdout, result.stdout + result.stderr
