"""Lesson 03 — a scheduler of plain generators.

What you build (in this order):
  sleep(seconds)              a generator that asks for a timer                 exercise 3.1
  Scheduler.spawn(gen), now() give a task an id; read the scheduler's clock     exercise 3.2
  Scheduler.run(), _step()    run ready tasks in turns, collect their results   exercise 3.3
  _sleep_until(), _wake_timers()  the timer heap: sleep, then wake by deadline  exercise 3.4
  run_all(gens)               every task's result, in spawn order               exercise 3.5

Test your code:  make test-lesson 3        See it run:  make demo-lesson 3

How this works
--------------
A task is a generator. One step of a task (`next(gen)`) runs its code up to its
next `yield`, and what it yields says what it waits for:

    yield                 nothing: "let the others run"  -> back of the ready queue
    yield Sleep(s)        a timer: "wake me in s seconds" -> onto the timer heap

A task ends when its generator returns: Python raises StopIteration, and the
return value travels in `StopIteration.value`. A task that raises has crashed: its
exception becomes its result, and no other task notices.

Every task that is not running waits in exactly one of two containers:

    ready    deque of tasks that can run now, in the order they became ready
    timers   heap of (deadline, sequence, task); timers[0] has the earliest deadline

One turn of the loop (run()):

    1. wake  if there are timers: when nothing is ready, pause() until the earliest
             deadline; then move every timer that is due to the ready queue.
    2. run   step each task that was ready when the turn began, once. A task that
             yields again joins the back of the queue for the next turn, so timers
             are checked between turns and one busy task cannot starve a sleeper.

Time: the scheduler reads the time only through the module-level `clock()`
(time.monotonic, which never jumps when someone sets the wall clock) and waits
only through `pause(seconds)` (time.sleep). Tests replace both with a fake clock,
so they check the order of wake-ups exactly, without really waiting.
"""

from __future__ import annotations

import heapq
import itertools
import time
import types
from collections import deque
from dataclasses import dataclass
from typing import Generator, Iterable

# The scheduler's only clock and its only way to wait. Read them as `clock()` and
# `pause(s)` at the moment you need them (not `from time import ...` elsewhere):
# the tests put a fake clock in their place.
clock = time.monotonic  # seconds; only differences mean something (see `man 3 clock_gettime`, CLOCK_MONOTONIC)
pause = time.sleep  # blocks the whole program: call it only when no task is ready


@dataclass(frozen=True, slots=True)
class Sleep:
    """What a task yields to be woken after `seconds` (0 or less: at the next turn)."""

    seconds: float


def sleep(seconds: float) -> Generator[Sleep, None, None]:
    """Sleep inside a task: `yield from sleep(0.5)`.

    A generator that yields one Sleep request and returns None when the scheduler
    resumes it, so tasks never build the request by hand.
    """
    # EXERCISE 3.1: yield one Sleep(seconds) request; nothing else.
    # The scheduler resumes us only once the deadline has passed, so there is nothing left to do.
    yield Sleep(seconds)
    # END EXERCISE


@dataclass(eq=False, slots=True)  # eq=False: two tasks are the same task only if they are one object
class Task:
    id: int  # what spawn() returned; the key of the task's result
    gen: Generator  # the task's code; each next() runs it to its next yield


class Scheduler:
    """A cooperative scheduler of generators: spawn tasks, then run() them all."""

    def __init__(self) -> None:
        self.ready: deque[Task] = deque()  # can run now, in the order they became ready
        self.timers: list[tuple[float, int, Task]] = []  # a heap of (deadline, sequence, task)
        self.results: dict[int, object] = {}  # task id -> its return value, or the exception it raised
        self._ids = itertools.count(1)  # task ids: 1, 2, 3, ...
        self._sequence = itertools.count()  # numbers the timers, to break ties between equal deadlines

    def spawn(self, gen: Generator) -> int:
        """Add a task (a generator object) and return its id; it runs at the next run().

        Ids are increasing integers. Raises TypeError for anything that is not a
        generator object (a generator *function* not yet called, for instance).
        """
        # EXERCISE 3.2: reject what is not a generator with TypeError, wrap it in a Task with the next id, put it on the ready queue and return the id.
        if not isinstance(gen, types.GeneratorType):
            raise TypeError(f"spawn() takes a generator object, got {gen!r}: "
                            "did you pass the function instead of calling it, task() not task?")
        task = Task(next(self._ids), gen)
        self.ready.append(task)
        return task.id
        # END EXERCISE

    def now(self) -> float:
        """The scheduler's time in seconds, as `clock()` reads it."""
        # EXERCISE 3.2: return what clock() says (never time.time(): it jumps when the wall clock is set).
        return clock()
        # END EXERCISE

    def run(self) -> dict[int, object]:
        """Run every task until it finishes; return {task id: its result}.

        A task's result is its return value, or the exception it raised: one task's
        crash never stops the others or the scheduler. Returns when no task is left.
        """
        # EXERCISE 3.3: while tasks are ready or sleeping: if self.timers, call self._wake_timers(); then step each task that is ready right now once with self._step(); return self.results.
        while self.ready or self.timers:
            if self.timers:
                self._wake_timers()
            # Only the tasks ready at the start of this turn: one that yields now goes to
            # the back and runs next turn, after the timers have been checked again.
            for _ in range(len(self.ready)):
                self._step(self.ready.popleft())
        return self.results
        # END EXERCISE

    def _step(self, task: Task) -> None:
        """Run `task` to its next yield and put it where its request says.

        Returned -> its value goes to self.results; raised -> the exception does;
        yielded None -> back of self.ready; yielded Sleep(s) -> self._sleep_until(
        clock() + s, task); yielded anything else -> a TypeError is its result.
        """
        # EXERCISE 3.3: call next(task.gen); catch StopIteration (its .value is the result) and any other Exception (the exception is the result); then handle what it yielded.
        try:
            request = next(task.gen)
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
        else:
            self.results[task.id] = TypeError(
                f"task {task.id} yielded {request!r}; a task yields Sleep(seconds), or nothing to let others run")
            task.gen.close()  # runs its `finally:` blocks now, not whenever it is garbage-collected
        # END EXERCISE

    def _sleep_until(self, deadline: float, task: Task) -> None:
        """Put `task` on the timer heap, to be woken once clock() >= deadline."""
        # EXERCISE 3.4: push (deadline, next sequence number, task) onto the heap self.timers with heapq.
        # The sequence number decides between equal deadlines (the first to sleep wakes first),
        # so the heap never compares two Tasks, which cannot be ordered.
        heapq.heappush(self.timers, (deadline, next(self._sequence), task))
        # END EXERCISE

    def _wake_timers(self) -> None:
        """Move every due timer's task to the ready queue, earliest deadline first.

        When no task is ready, first pause() until the earliest deadline.
        """
        # EXERCISE 3.4: if nothing is ready, pause() until self.timers[0]'s deadline (never a negative time); then pop every timer whose deadline <= clock() onto self.ready.
        if not self.ready:
            # A slow task may have run past the deadline already: time.sleep() rejects
            # a negative length with ValueError, so wait max(0, ...).
            pause(max(0.0, self.timers[0][0] - clock()))
        now = clock()
        while self.timers and self.timers[0][0] <= now:
            _deadline, _sequence, task = heapq.heappop(self.timers)
            self.ready.append(task)
        # END EXERCISE


def run_all(gens: Iterable[Generator]) -> list:
    """Run these generators as tasks of one new Scheduler; their results in spawn order.

    Each result is the task's return value, or the exception it raised.
    """
    # EXERCISE 3.5: spawn each generator on a new Scheduler, run() it, and list the results in the order of the ids spawn() returned.
    scheduler = Scheduler()
    ids = [scheduler.spawn(gen) for gen in gens]
    results = scheduler.run()  # in the order tasks finished, which is not spawn order
    return [results[task_id] for task_id in ids]
    # END EXERCISE
