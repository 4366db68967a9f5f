"""`make trace-lesson N`: run a lesson's demo and draw what the learner's loop did.

How it works
------------
Nothing in the learner's code changes. Before the demo runs (with runpy, as
`python demo.py` would), this module wraps what a loop can only reach through
the standard library, and records each call made *from a file under IMPL*
(so the demo's own HTTP server and the standard library's internals stay out):

- the selectors: every `selectors.*Selector` and `DefaultSelector` becomes a
  subclass that records register / modify / unregister and each select() with its
  timeout, how long it slept and what came back ready;
- `select.select`, `select.epoll` and `select.poll`, for loops written on them
  directly (lesson 05): the same records, from a thin proxy object;
- `time.sleep`, which is how a timers-only scheduler (lesson 03) waits;
- the socket calls (`connect`, `accept`, `recv`, `send`, `sendall`, `close`), with
  how many bytes moved or the error (BlockingIOError is the interesting one);
- task steps, with a profile hook (`sys.setprofile`): a generator or coroutine
  resumed from ordinary code (the scheduler calling `send()`/`next()`) is a task,
  and each resume until it yields, returns or raises is one step, recorded with
  what it yielded. Generators a task delegates to (`yield from`, `await`) belong
  to that task's step.

A socket that comes back ready is a wake-up for the task that waits on it: the
task whose step ended last before the socket was registered (the loop registers
what the task just yielded), or the generator given as the selector key's data.

The records are drawn with rich: one row per loop thread, task and socket, time
across. `--json FILE` writes them for other tools; the course's own tests read them.
"""

from __future__ import annotations

import argparse
import dis
import functools
import inspect
import itertools
import json
import os
import runpy
import select
import selectors
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.lessons import SOLUTIONS_DIR, lesson, resolve_impl

GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE
SUSPENDING_OPS = {"YIELD_VALUE", "YIELD_FROM", "SEND"}  # a step that ends on these has yielded
RETURNING_OPS = {"RETURN_VALUE", "RETURN_CONST"}
RESUME = dis.opmap.get("RESUME", -1)  # 3.11+: the instruction a frame starts (and resumes) at
SELECTOR_NAMES = ("SelectSelector", "PollSelector", "EpollSelector", "DevpollSelector", "KqueueSelector")
SOCKET_CALLS = ("connect", "connect_ex", "accept", "recv", "recv_into", "send", "sendall", "close")
EPOLL_READ = getattr(select, "EPOLLIN", 1) | getattr(select, "EPOLLPRI", 2)
EPOLL_WRITE = getattr(select, "EPOLLOUT", 4)
POLL_READ = getattr(select, "POLLIN", 1) | getattr(select, "POLLPRI", 2)
POLL_WRITE = getattr(select, "POLLOUT", 4)


def describe(value: Any, limit: int = 48) -> str:
    """A short text for what a task yielded or a key's data."""
    if value is None:
        return "None"
    if isinstance(value, tuple) and len(value) == 2 and hasattr(value[0], "fileno"):
        event = {selectors.EVENT_READ: "READ", selectors.EVENT_WRITE: "WRITE"}.get(value[1], str(value[1]))
        return f"(fd {_fd(value[0])}, {event})"
    if inspect.isgenerator(value) or inspect.iscoroutine(value):
        return f"<{type(value).__name__} {getattr(value, '__qualname__', '?')}>"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fd(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    try:
        return obj.fileno()
    except (OSError, ValueError, AttributeError):
        return -1


def interest(mask: int, api: str) -> str:
    """'r', 'w' or 'rw' for an event mask of this API (selectors, epoll, poll or select)."""
    read, write = {"epoll": (EPOLL_READ, EPOLL_WRITE), "poll": (POLL_READ, POLL_WRITE)}.get(
        api, (selectors.EVENT_READ, selectors.EVENT_WRITE))
    return ("r" if mask & read else "") + ("w" if mask & write else "")


@dataclass
class Task:
    id: int
    name: str  # "fetch#3": the generator's name and how many of that name came before
    steps: int = 0
    finished: str = ""  # "", "returned" or "raised"


@dataclass
class Recorder:
    """Collects events; installed process-wide by `install()`, removed by `uninstall()`."""
    root: str  # only calls made from files under this folder are recorded
    events: list[dict] = field(default_factory=list)
    tasks: dict[int, Task] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    active: bool = False

    def __post_init__(self) -> None:
        self._frames: dict[int, Task] = {}  # id(generator frame) -> its task, while it lives
        self._running: dict[int, list] = {}  # thread id -> stack of (frame, task, started)
        self._names = itertools.count(1)
        self._name_counts: dict[str, int] = {}
        self._first_resume: dict[Any, int] = {}
        self._owner: dict[int, int] = {}  # fd -> task id of the task waiting on it
        self._last_step_task: dict[int, int] = {}  # thread id -> the task whose step ended last
        self._patches: list[tuple[Any, str, Any]] = []

    # -- the record --------------------------------------------------------------

    def now(self) -> float:
        return time.perf_counter() - self.started

    def add(self, kind: str, t: float, **details) -> dict:
        event = {"t": round(t, 7), "kind": kind, "thread": threading.current_thread().name, **details}
        self.events.append(event)  # list.append is atomic: threads may record at once
        return event

    def mine(self, depth: int = 2) -> bool:
        """True when the call being wrapped was made from the learner's code."""
        if not self.active:
            return False
        try:
            return sys._getframe(depth).f_code.co_filename.startswith(self.root)
        except ValueError:
            return False

    # -- task steps, from the profile hook ---------------------------------------

    def _fresh(self, frame) -> bool:
        """Is this generator frame about to run its first line (a new task)?"""
        lasti = frame.f_lasti
        if lasti < 0:  # Python 3.10
            return True
        code = frame.f_code
        if code not in self._first_resume:  # 3.11+: a new frame stops at its first RESUME
            raw = code.co_code  # 2 bytes an instruction: opcode, argument
            self._first_resume[code] = next((i for i in range(0, len(raw), 2) if raw[i] == RESUME), -1)
        return lasti <= self._first_resume[code]

    def _new_task(self, frame) -> Task:
        code = frame.f_code
        name = getattr(code, "co_qualname", code.co_name).split(".")[-1]
        count = self._name_counts[name] = self._name_counts.get(name, 0) + 1
        task = Task(next(self._names), f"{name}#{count}")
        self.tasks[task.id] = task
        self._frames[id(frame)] = task
        return task

    def profile(self, frame, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            if not code.co_flags & GENERATOR_FLAGS or code.co_name.startswith("<"):
                return  # not a generator, or a generator expression / comprehension
            caller = frame.f_back
            if caller is not None and caller.f_code.co_flags & GENERATOR_FLAGS:
                return  # resumed by another generator: part of that task's step
            if not code.co_filename.startswith(self.root):
                return
            task = self._frames.get(id(frame))
            if self._fresh(frame):
                task = self._new_task(frame)
            elif task is None:
                return  # a generator we did not see start
            self._running.setdefault(threading.get_ident(), []).append((frame, task, self.now()))
        elif event == "return" and frame.f_code.co_flags & GENERATOR_FLAGS:
            stack = self._running.get(threading.get_ident())
            if stack and stack[-1][0] is frame:
                _, task, started = stack.pop()
                self._end_step(frame, task, started, arg)

    def _end_step(self, frame, task: Task, started: float, value: Any) -> None:
        try:
            op = dis.opname[frame.f_code.co_code[frame.f_lasti]]
        except (IndexError, ValueError):
            op = ""
        if op in SUSPENDING_OPS:
            outcome, text = "yield", describe(value)
        elif op in RETURNING_OPS:
            outcome, text = "return", describe(value)
        else:
            outcome, text = "raise", "an exception"
        task.steps += 1
        if outcome != "yield":
            task.finished = {"return": "returned", "raise": "raised"}[outcome]
            self._frames.pop(id(frame), None)  # its id may be reused by another frame
        self._last_step_task[threading.get_ident()] = task.id
        self.add("step", started, dur=round(self.now() - started, 7), task=task.id, outcome=outcome, value=text)

    def _current_task(self) -> int | None:
        """The task a registration is for: the one running, else the one whose step just ended."""
        stack = self._running.get(threading.get_ident())
        if stack:
            return stack[-1][1].id
        return self._last_step_task.get(threading.get_ident())

    def _task_of_data(self, data: Any) -> int | None:
        frame = getattr(data, "gi_frame", None) or getattr(data, "cr_frame", None)
        task = self._frames.get(id(frame)) if frame is not None else None
        return task.id if task else None

    # -- what the loop calls -------------------------------------------------------

    def interest_change(self, op: str, fd: int, mask: int, api: str, data: Any = None, error: str = "") -> None:
        task = self._task_of_data(data) or self._current_task()
        if op in ("register", "modify") and not error and task is not None:
            self._owner[fd] = task
        self.add(op, self.now(), fd=fd, interest=interest(mask, api) if op != "unregister" else "",
                 mask=mask, api=api, task=task if op != "unregister" else self._owner.get(fd),
                 data=describe(data) if data is not None else "", error=error)
        if op == "unregister" and not error:
            self._owner.pop(fd, None)

    def wait(self, api: str, started: float, timeout: float | None, ready: list[tuple[int, int]],
             watched: int | None = None) -> None:
        """One select()/poll(): `timeout` in seconds (None: forever), `ready` as (fd, mask)."""
        self.add("select", started, dur=round(self.now() - started, 7), api=api, timeout=timeout,
                 ready=[[fd, interest(mask, api) or str(mask)] for fd, mask in ready], watched=watched)
        for fd, _ in ready:
            if fd in self._owner:
                self.add("wake", self.now(), fd=fd, task=self._owner[fd])

    # -- installing the wrappers ---------------------------------------------------

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def install(self) -> None:
        traced = {}
        for name in SELECTOR_NAMES:
            if hasattr(selectors, name):
                traced[name] = traced_selector(getattr(selectors, name), self)
                self._patch(selectors, name, traced[name])
        default = next((traced[n] for n in traced if selectors.DefaultSelector.__name__ == n), None)
        self._patch(selectors, "DefaultSelector", default or traced_selector(selectors.DefaultSelector, self))
        self._patch(select, "select", traced_select(select.select, self))
        if hasattr(select, "epoll"):
            self._patch(select, "epoll", traced_epoll(select.epoll, self))
        if hasattr(select, "poll"):
            self._patch(select, "poll", traced_poll(select.poll, self))
        self._patch(time, "sleep", traced_sleep(time.sleep, self))
        for name in SOCKET_CALLS:
            self._patch(socket.socket, name, traced_socket_call(getattr(socket.socket, name), name, self))
        self.active = True
        sys.setprofile(self.profile)
        threading.setprofile(self.profile)

    def uninstall(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)
        self.active = False
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()

    def as_json(self) -> dict:
        return {"tasks": {t.id: {"name": t.name, "steps": t.steps, "finished": t.finished}
                          for t in self.tasks.values()},
                "events": self.events}


# -- the wrappers ----------------------------------------------------------------------
# Each records only when the call came from the learner's code (Recorder.mine), and
# always returns (or raises) exactly what the real call did.


def traced_selector(base: type, recorder: Recorder) -> type:
    class Traced(base):
        def register(self, fileobj, events, data=None):
            return self._traced("register", super().register, fileobj, events, data)

        def modify(self, fileobj, events, data=None):
            return self._traced("modify", super().modify, fileobj, events, data)

        def unregister(self, fileobj):
            mine = recorder.mine()
            fd = _fd(fileobj)
            try:
                key = super().unregister(fileobj)
            except Exception as error:
                if mine:
                    recorder.interest_change("unregister", fd, 0, "selectors", error=type(error).__name__)
                raise
            if mine:
                recorder.interest_change("unregister", key.fd, 0, "selectors")
            return key

        def select(self, timeout=None):
            mine = recorder.mine()
            started = recorder.now()
            ready = super().select(timeout)
            if mine:
                watched = len(self.get_map() or {})
                recorder.wait("selectors", started, timeout, [(key.fd, mask) for key, mask in ready], watched)
            return ready

        def _traced(self, op, call, fileobj, events, data):
            mine = recorder.mine(3)
            try:
                key = call(fileobj, events, data)
            except Exception as error:
                if mine:
                    recorder.interest_change(op, _fd(fileobj), events, "selectors", data, type(error).__name__)
                raise
            if mine:
                recorder.interest_change(op, key.fd, events, "selectors", data)
            return key

    Traced.__name__ = Traced.__qualname__ = base.__name__
    Traced.__module__ = base.__module__
    return Traced


def traced_select(original, recorder: Recorder):
    @functools.wraps(original)
    def select_(rlist, wlist, xlist, timeout=None):
        mine = recorder.mine()
        started = recorder.now()
        readable, writable, exceptional = original(rlist, wlist, xlist, timeout)
        if mine:
            ready = [(_fd(s), selectors.EVENT_READ) for s in readable] + \
                    [(_fd(s), selectors.EVENT_WRITE) for s in writable]
            recorder.wait("select", started, timeout, ready, len(set(map(_fd, [*rlist, *wlist]))))
        return readable, writable, exceptional
    return select_


class _TracedPoller:
    """A proxy for an epoll or poll object: records register/modify/unregister/poll."""
    api = ""

    def __init__(self, real, recorder: Recorder) -> None:
        self._real = real
        self._recorder = recorder
        self._watched: set[int] = set()

    def __getattr__(self, name):  # fileno(), close(), closed, ...: the real object's
        return getattr(self._real, name)

    def __enter__(self):
        self._real.__enter__()
        return self

    def __exit__(self, *exc):
        return self._real.__exit__(*exc)

    def _change(self, op, fd, mask, *args):
        mine = self._recorder.mine(3)
        try:
            getattr(self._real, op)(fd, *args)
        except Exception as error:
            if mine:
                self._recorder.interest_change(op, _fd(fd), mask, self.api, error=type(error).__name__)
            raise
        if mine:
            self._recorder.interest_change(op, _fd(fd), mask, self.api)
        (self._watched.discard if op == "unregister" else self._watched.add)(_fd(fd))

    def register(self, fd, eventmask=None):
        args = () if eventmask is None else (eventmask,)
        default = EPOLL_READ | EPOLL_WRITE if self.api == "epoll" else POLL_READ | POLL_WRITE
        self._change("register", fd, default if eventmask is None else eventmask, *args)

    def modify(self, fd, eventmask):
        self._change("modify", fd, eventmask, eventmask)

    def unregister(self, fd):
        self._change("unregister", fd, 0)


class _TracedEpoll(_TracedPoller):
    api = "epoll"

    def poll(self, timeout=None, maxevents=-1):
        mine = self._recorder.mine()
        started = self._recorder.now()
        ready = self._real.poll(timeout, maxevents)
        if mine:
            seconds = None if timeout is None or timeout < 0 else timeout
            self._recorder.wait("epoll", started, seconds, ready, len(self._watched))
        return ready


class _TracedPoll(_TracedPoller):
    api = "poll"

    def poll(self, timeout=None):
        mine = self._recorder.mine()
        started = self._recorder.now()
        ready = self._real.poll(timeout)
        if mine:
            seconds = None if timeout is None or timeout < 0 else timeout / 1000  # poll() takes milliseconds
            self._recorder.wait("poll", started, seconds, ready, len(self._watched))
        return ready


def traced_epoll(original, recorder: Recorder):
    def epoll(*args, **kwargs):
        return _TracedEpoll(original(*args, **kwargs), recorder)
    epoll.fromfd = original.fromfd  # type: ignore[attr-defined]
    return epoll


def traced_poll(original, recorder: Recorder):
    def poll():
        return _TracedPoll(original(), recorder)
    return poll


def traced_sleep(original, recorder: Recorder):
    @functools.wraps(original)
    def sleep(seconds):
        mine = recorder.mine()
        started = recorder.now()
        original(seconds)
        if mine:
            recorder.add("sleep", started, dur=round(recorder.now() - started, 7), seconds=seconds)
    return sleep


def traced_socket_call(original, name: str, recorder: Recorder):
    @functools.wraps(original)
    def call(self, *args, **kwargs):
        if not recorder.mine():
            return original(self, *args, **kwargs)
        fd = self.fileno()
        started = recorder.now()
        try:
            result = original(self, *args, **kwargs)
        except BaseException as error:
            recorder.add("io", started, fd=fd, call=name, result=type(error).__name__)
            raise
        recorder.add("io", started, fd=fd, call=name, result=_io_result(name, result, args))
        return result
    return call


def _io_result(name: str, result: Any, args: tuple) -> str:
    if name == "recv":
        return f"{len(result)} bytes" if result else "b'' (closed)"
    if name in ("send", "recv_into"):
        return f"{result} bytes"
    if name == "sendall":
        return f"{len(args[0]) if args else '?'} bytes"
    if name == "accept":
        return f"fd {result[0].fileno()} from {result[1]}"
    if name == "connect_ex":
        return os.strerror(result) if result else "0 (connected)"
    return "ok"


# -- running a demo under the recorder -------------------------------------------------


def run_traced(script: Path, root: Path, argv: list[str] | None = None) -> tuple[Recorder, BaseException | None]:
    """Run `script` as `python script` would, recording; returns the recorder and what stopped it."""
    recorder = Recorder(root=str(root.resolve()))
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *(argv or [])]
    sys.path.insert(0, str(script.parent))
    stopped: BaseException | None = None
    recorder.install()
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exit_:
        stopped = exit_ if exit_.code not in (None, 0) else None
    except BaseException as error:  # KeyboardInterrupt too: draw what was recorded
        stopped = error
    finally:
        recorder.uninstall()
        sys.argv, sys.path[:] = saved_argv, saved_path
    return recorder, stopped


def demo_path(number: str, impl: Path, script: str = "demo.py") -> Path:
    """The demo to trace, or SystemExit with what is missing and what to do."""
    lesson_ = lesson(number)
    path = impl / lesson_.folder / script
    if path.is_file():
        return path
    reference = SOLUTIONS_DIR / lesson_.folder / script
    if not (SOLUTIONS_DIR / lesson_.folder).is_dir():
        raise SystemExit(f"Lesson {lesson_.number} ({lesson_.title}) is not in this repository yet, "
                         "so it has no demo to trace.")
    if not reference.is_file():
        raise SystemExit(f"Lesson {lesson_.number} ({lesson_.title}) has no {script} yet "
                         f"(not even in solutions/), so there is nothing to trace.")
    raise SystemExit(f"{path} does not exist. `make trace-lesson {lesson_.number}` runs the lesson's {script} "
                     f"from IMPL ({impl}); `make reset-lesson {lesson_.number}` restores a deleted one, and "
                     f"`make trace-lesson {lesson_.number} IMPL=solutions` traces the reference.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course trace", description=__doc__.split("\n")[0])
    parser.add_argument("lesson")
    parser.add_argument("--impl", default=os.environ.get("IMPL") or "lessons")
    parser.add_argument("--script", default="demo.py", help="the file in the lesson folder to run (default demo.py)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    parser.add_argument("--events", type=int, default=30, help="list the first N events (default 30; 0: none)")
    parser.add_argument("--width", type=int, help="characters of timeline (default: the terminal's)")
    args = parser.parse_args(argv)

    from course.timeline import render

    impl = resolve_impl(args.impl)
    try:
        script = demo_path(args.lesson, impl, args.script)
    except SystemExit as missing:
        print(missing, file=sys.stderr)
        return 1
    if int(args.lesson) not in (3, 4, 5, 6):
        print(f"(The tracer is made for the loops of lessons 3-6; tracing lesson {args.lesson}'s demo anyway.)")
    print(f"Tracing {script} ...\n", flush=True)
    recorder, stopped = run_traced(script, impl)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(recorder.as_json(), indent=1))
    print()
    render(recorder.as_json(), width=args.width, events=args.events)
    if args.json:
        print(f"The records are in {args.json}")
    if stopped is not None:
        print("\nThe demo stopped with an error; the timeline shows what happened until then:", file=sys.stderr)
        traceback.print_exception(type(stopped), stopped, stopped.__traceback__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
