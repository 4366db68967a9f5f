"""Lesson 04 — the scheduler learns I/O.

First read lesson 03's scheduler.py: this file is that scheduler, renamed Loop, with
one new idea. Code that did not change is carried over as it was, so a diff of the
two files shows the idea and nothing else.

What you build (in this order):
  Loop.run(), _timeout()      the loop, with select(timeout) as its only wait    exercise 4.1
  _wait_io(), _update_registration(), _wake_io()
                              park tasks on sockets, wake them when ready        exercise 4.2
  run(task), run_all(tasks)   one task / many, generators or callables           exercise 4.3

Test your code:  make test-lesson 4        See it run:  make demo-lesson 4

How this works
--------------
A task is a generator, and what it yields says what it waits for:

    yield                     nothing: "let the others run"      -> ready queue
    yield Sleep(s)            a timer: "wake me in s seconds"     -> timer heap
    yield sock, EVENT_READ    "wake me when recv() won't block"   -> readers   (new)
    yield sock, EVENT_WRITE   "wake me when send() won't block"   -> writers   (new)

Every task that is not running waits in exactly one of four containers:

    ready     deque of tasks that can run now
    timers    heap of (deadline, sequence, task); timers[0] is due first
    readers   dict socket -> the task waiting to read it
    writers   dict socket -> the task waiting to write it

One turn of the loop (run()):

    1. wait    selector.select(timeout): sleep until a socket is ready or the next timer
               is due. timeout = 0 if a task is ready, the time to timers[0] if there
               are timers, None (no limit) if only sockets are left. The only place
               the loop blocks, so an idle loop costs no CPU.
    2. io      each socket select() reported wakes its reader and/or its writer.
    3. timers  every due timer's task moves to the ready queue.
    4. run     each task that was ready when this phase began runs to its next yield.

Rules about the selector:
  * It holds one registration per file descriptor, with a mask of events
    (`man 7 epoll`: EPOLL_CTL_ADD on a registered fd fails with EEXIST; selectors
    raises KeyError). Two tasks may wait on one socket, one to read and one to write:
    the mask is the union of what they wait for, kept equal to `readers`/`writers`
    by _update_registration (register, modify, unregister).
  * A socket nobody waits on is not registered. A registered socket that stays
    readable would make every select() return at once: a busy loop.
  * run() closes the selector when it returns, whatever happened.

Errors: a task that raises is finished, with the exception as its result; the
others go on. An I/O request the loop cannot honour (a closed socket, a second
reader on one socket) is raised inside the task that made it, as a failing syscall
would be.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import os
import selectors
import socket
import time
import types
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterable, Union

clock = time.monotonic  # seconds; only differences mean something (see `man 3 clock_gettime`, CLOCK_MONOTONIC)

EVENT_READ = selectors.EVENT_READ  # new: what a task yields with a socket to wait until it can recv()
EVENT_WRITE = selectors.EVENT_WRITE  # new: ... until it can send() (or its connect() has finished)

TaskLike = Union[Generator, Callable[[], Generator]]  # what run() and run_all() accept


@dataclass(frozen=True, slots=True)
class Sleep:
    """What a task yields to be woken after `seconds` (0 or less: at the next turn)."""

    seconds: float


def sleep(seconds: float) -> Generator[Sleep, None, None]:
    """Sleep inside a task: `yield from sleep(0.5)`.

    A generator that yields one Sleep request and returns None when the loop
    resumes it, so tasks never build the request by hand.
    """
    yield Sleep(seconds)


@dataclass(eq=False, slots=True)  # eq=False: two tasks are the same task only if they are one object
class Task:
    id: int  # what spawn() returned; the key of the task's result
    gen: Generator  # the task's code; each step runs it to its next yield
    error: BaseException | None = None  # new: raised inside the task at its next step (a failed I/O request)


class Loop:
    """A cooperative scheduler of generators that wait on timers and sockets: spawn, then run()."""

    def __init__(self) -> None:
        self.ready: deque[Task] = deque()  # can run now, in the order they became ready
        self.timers: list[tuple[float, int, Task]] = []  # a heap of (deadline, sequence, task)
        self.results: dict[int, object] = {}  # task id -> its return value, or the exception it raised
        self._ids = itertools.count(1)  # task ids: 1, 2, 3, ...
        self._sequence = itertools.count()  # numbers the timers, to break ties between equal deadlines
        # New in lesson 04:
        self.readers: dict[socket.socket, Task] = {}  # socket -> the task waiting to read it
        self.writers: dict[socket.socket, Task] = {}  # socket -> the task waiting to write it
        self.selector: selectors.BaseSelector | None = None  # exists only while run() runs

    def spawn(self, gen: Generator) -> int:
        """Add a task (a generator object) and return its id; it runs at the next run().

        Ids are increasing integers. Raises TypeError for anything that is not a
        generator object (a generator *function* not yet called, for instance).
        """
        if not isinstance(gen, types.GeneratorType):
            raise TypeError(f"spawn() takes a generator object, got {gen!r}: "
                            "did you pass the function instead of calling it, task() not task?")
        task = Task(next(self._ids), gen)
        self.ready.append(task)
        return task.id

    def now(self) -> float:
        """The loop's time in seconds, as `clock()` reads it."""
        return clock()

    def run(self) -> dict[int, object]:
        """Run every task until it finishes; return {task id: its result}.

        A task's result is its return value, or the exception it raised: one task's
        crash never stops the others or the loop. Returns when no task is left, and
        closes the selector it used, also when it returns by an exception.
        """
        # TODO: exercise 4.1
        raise NotImplementedError("Exercise 4.1: open a selector, then while any task is ready, sleeping or waiting on a socket: select(self._timeout()), wake its sockets' tasks, wake the timers, step the ready tasks; close the selector at the end.")

    def _timeout(self) -> float | None:
        """How long phase 1 may sleep: 0 if a task is ready, else until the earliest deadline, else no limit."""
        # TODO: exercise 4.1
        raise NotImplementedError("Exercise 4.1: return 0 if a task is ready; else the time until self.timers[0]'s deadline (never negative) if there are timers; else None.")

    def _step(self, task: Task) -> None:
        """Run `task` to its next yield and put it where its request says.

        Returned -> its value goes to self.results; raised -> the exception does;
        yielded None -> back of self.ready; yielded Sleep(s) -> the timer heap;
        yielded (sock, event) -> self._wait_io(); anything else -> a TypeError is its result.
        """
        try:
            if task.error is None:
                request = next(task.gen)
            else:  # new: a failed I/O request is raised where the task yielded it
                error, task.error = task.error, None
                request = task.gen.throw(error)
        except StopIteration as finished:
            self.results[task.id] = finished.value  # a generator's `return x` arrives here
            return
        except Exception as crash:  # not BaseException: Ctrl-C must still stop the program
            self.results[task.id] = crash
            return
        if request is None:
            self.ready.append(task)
        elif isinstance(request, Sleep):
            self._sleep_until(clock() + request.seconds, task)
        elif isinstance(request, tuple) and len(request) == 2:  # new: (sock, event)
            self._wait_io(task, *request)
        else:
            self.results[task.id] = TypeError(
                f"task {task.id} yielded {request!r}; a task yields Sleep(seconds), (sock, event), "
                "or nothing to let others run")
            task.gen.close()  # runs its `finally:` blocks now, not whenever it is garbage-collected

    def _sleep_until(self, deadline: float, task: Task) -> None:
        """Put `task` on the timer heap, to be woken once clock() >= deadline."""
        heapq.heappush(self.timers, (deadline, next(self._sequence), task))

    def _wake_timers(self) -> None:
        """Move every due timer's task to the ready queue, earliest deadline first.

        Lesson 03 paused here until the earliest deadline; now select() does that waiting.
        """
        now = clock()
        while self.timers and self.timers[0][0] <= now:
            _deadline, _sequence, task = heapq.heappop(self.timers)
            self.ready.append(task)

    def _close_unfinished(self) -> None:
        # Closing a generator runs its `finally:` blocks, which close its sockets.
        unfinished = [*self.ready, *(task for _, _, task in self.timers),
                      *self.readers.values(), *self.writers.values()]
        for task in unfinished:
            task.gen.close()
        self.ready.clear()
        self.timers.clear()
        self.readers.clear()
        self.writers.clear()

    # --- New in lesson 04: waiting on sockets ------------------------------------

    def _wait_io(self, task: Task, sock: socket.socket, event: int) -> None:
        """Park `task` in readers or writers until `sock` is ready for `event`.

        A request the loop cannot honour is raised inside the task at its next step.
        """
        # TODO: exercise 4.2
        raise NotImplementedError("Exercise 4.2: put the task in self.readers (EVENT_READ) or self.writers (EVENT_WRITE) under its socket and call self._update_registration(sock); if that fails, take the task out again and make it ready with the error in task.error.")

    def _update_registration(self, sock: socket.socket) -> None:
        """Make the selector's events for `sock` equal to what readers and writers wait for."""
        # TODO: exercise 4.2
        raise NotImplementedError("Exercise 4.2: compute the wanted mask from self.readers and self.writers; then register, modify or unregister `sock` so the selector holds exactly that mask (nothing if it is 0).")

    def _wake_io(self, sock: socket.socket, mask: int) -> None:
        """Phase 2 for one socket select() reported: wake who waits for what it is ready for."""
        # TODO: exercise 4.2
        raise NotImplementedError("Exercise 4.2: if mask has EVENT_READ, move the task in self.readers[sock] to ready; if EVENT_WRITE, the one in self.writers[sock]; then update the registration.")


def run(task: TaskLike) -> Any:
    """Run one task on a new Loop; return its value, or raise the exception it raised.

    A task is a generator object, or a callable with no arguments that returns one.
    """
    # TODO: exercise 4.3
    raise NotImplementedError("Exercise 4.3: run the one task with run_all(); raise its result if that is an exception, else return it.")


def run_all(tasks: Iterable[TaskLike]) -> list:
    """Run these tasks on one new Loop, all at once; their results in spawn order.

    A task is a generator object, or a callable with no arguments that returns one.
    Each result is the task's return value, or the exception it raised.
    """
    # TODO: exercise 4.3
    raise NotImplementedError("Exercise 4.3: spawn each task on a new Loop (calling it first if it is callable), run() the loop, and list the results in the order of the ids spawn() returned.")


# --- Given: lesson 02's fetch, condensed into one task -------------------------------

def fetch_steps(host: str, port: int, path: str = "/") -> Generator[tuple[socket.socket, int], None, bytes]:
    """A task that GETs `path` over HTTP/1.1 without blocking; returns the raw response.

    It yields (sock, EVENT_WRITE) while connecting and sending and (sock, EVENT_READ)
    while receiving; a failed connect raises (ConnectionRefusedError, ...). The
    socket is closed when the task ends, however it ends.
    """
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("ascii")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        connect_error = sock.connect_ex((host, port))
        if connect_error == errno.EINPROGRESS:
            yield sock, EVENT_WRITE  # `man 2 connect`: the connect is over when the socket is writable
            connect_error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if connect_error:  # OSError(errno, text) builds the subclass, e.g. ConnectionRefusedError
            raise OSError(connect_error, f"{os.strerror(connect_error)} ({host}:{port})")
        sent = 0
        while sent < len(request):
            try:
                sent += sock.send(request[sent:])
            except BlockingIOError:  # the send buffer is full
                yield sock, EVENT_WRITE
        pieces = []
        while True:
            try:
                piece = sock.recv(65536)
            except BlockingIOError:  # nothing has arrived yet
                yield sock, EVENT_READ
                continue
            if not piece:  # b"": the server closed, the response is complete
                return b"".join(pieces)
            pieces.append(piece)
    finally:
        sock.close()
