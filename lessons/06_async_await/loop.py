"""Lesson 06: async/await, a small asyncio of your own.

First read lesson 04's selectors_loop.py: the rounds of that loop come back here,
almost unchanged. What is new is what the loop runs. Lesson 04's loop resumed
generators; this one runs *callbacks* (plain functions in a queue), and a `Task`
is the callback that resumes an `async def` coroutine one step at a time.
Every name is asyncio's, so moving to the real thing is a rename:
`loop.EventLoop` -> `asyncio.SelectorEventLoop`, `loop.run` -> `asyncio.run`.

What you build (in this order):
  6.1  the loop: `call_soon`, `call_later`, `call_at`, `_timeout`, `_run_once`
  6.2  `Future`: result, exception, cancel, done-callbacks, `__await__`
  6.3  `Task` stepping a coroutine; `create_task`, `ensure_future`, `run_until_complete`
  6.4  `sleep`, `gather`, `run`
  6.5  `Task.cancel`: throw `CancelledError` into the coroutine
  6.6  readiness callbacks: `add_reader`, `remove_reader`, `add_writer`, `remove_writer`
  6.7  the socket coroutines: `sock_recv`, `sock_sendall`, `sock_connect`, `sock_accept`

Test your code:  make test-lesson 6        See it run:  make demo-lesson 6

How this works
--------------
The loop owns three containers:

  _ready      deque of Handles: callbacks that run in this round's phase 4
  _scheduled  heap of (when, sequence, TimerHandle): callbacks due at a time
  _selector   fd -> (reader Handle, writer Handle): callbacks due on readiness

and runs in rounds (`_run_once`), each with four phases, as lesson 04's did:

  1. timeout  -- 0 if a callback is ready, else until the soonest timer, else forever;
  2. wait     -- selector.select(timeout): the only place the loop blocks. The
                 readiness Handles of the fds it reports go to `_ready`;
  3. timers   -- every timer whose time has come goes to `_ready`;
  4. run      -- every Handle that was in `_ready` when this phase began runs.

Invariants (the tests check each one):
  * Phase 4 is the only place callbacks are called (asyncio's `_run_once` says
    the same). Everything else -- `set_result`, a timer, a readable socket --
    only *adds* to `_ready`. So no callback runs inside another, and the order of
    events is the order of the queue.
  * A Future is set once (pending -> finished or cancelled, never back), and its
    done-callbacks are scheduled with `call_soon`, never called from `set_result`.
  * A Task is a Future. Each step sends into its coroutine until the coroutine
    yields; it may yield a Future ("wake me when this is done": the Task adds
    `_wakeup` as the Future's done-callback) or None ("let the others run":
    `sleep(0)`). A Task waits on at most one Future and is woken once per wait.
  * `Future.__await__` is the one trap: every `await` that really waits ends in
    its `yield self`.
  * Readiness callbacks share one shape: `if fut.done(): return`; try the
    syscall; `BlockingIOError` -> return and wait for the next readiness; other
    errors go into the Future. The fd is removed from the selector when the
    Future is done (result, error or cancelled), so no registration outlives it.
  * Blocked-loop detection (given): with `set_debug(True)`, phase 4 times every
    callback; one that runs longer than `slow_callback_duration` (asyncio's name
    and default, 0.1 s) is logged with its Task and the line it was blocked on,
    sampled by a watchdog thread while the loop was stuck.
"""

from __future__ import annotations

import collections
import errno
import functools
import heapq
import inspect
import itertools
import logging
import selectors
import socket
import sys
import sysconfig
import threading
import time
import traceback
import types
from typing import Any, Awaitable, Callable, Coroutine, Generator, Iterable

logger = logging.getLogger("loop")  # asyncio logs to "asyncio"; ours to "loop"

MAXIMUM_SELECT_TIMEOUT = 24 * 3600  # asyncio's cap: some selectors reject longer timeouts


class CancelledError(BaseException):
    """The operation was cancelled. A BaseException since Python 3.8 (as asyncio's),
    so `except Exception:` in a coroutine does not swallow a cancellation."""


class InvalidStateError(Exception):
    """The Future is not in a state that allows this (set twice, or not done yet)."""


_running = threading.local()  # .loop: the loop running in this thread, if any


def get_running_loop() -> "EventLoop":
    """The loop running in this thread; RuntimeError outside a running loop (as asyncio's)."""
    loop = getattr(_running, "loop", None)
    if loop is None:
        raise RuntimeError("no running event loop")
    return loop


# --- Handles: a callback and its arguments, waiting to run (given) -----------------

class Handle:
    """A callback scheduled with call_soon() or by a readiness event. `cancel()` stops it
    from running if it has not run yet."""

    def __init__(self, callback: Callable[..., Any], args: tuple, loop: "EventLoop") -> None:
        self._callback = callback
        self._args = args
        self._loop = loop
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    def _run(self) -> None:
        try:
            self._callback(*self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as error:  # a callback's bug must not stop the loop
            self._loop.call_exception_handler(
                {"message": f"Exception in callback {self!r}", "exception": error, "handle": self})

    def __repr__(self) -> str:
        owner = getattr(self._callback, "__self__", None)
        if isinstance(owner, Task):
            return f"<Handle {owner!r}>"
        name = getattr(self._callback, "__qualname__", repr(self._callback))
        return f"<Handle {name}{self._args!r}>"


class TimerHandle(Handle):
    """A Handle due at loop time `when` (call_later, call_at)."""

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple, loop: "EventLoop") -> None:
        super().__init__(callback, args, loop)
        self._when = when

    def when(self) -> float:
        return self._when


# --- 6.2 Future ----------------------------------------------------------------------

_PENDING, _CANCELLED, _FINISHED = "PENDING", "CANCELLED", "FINISHED"


class Future:
    """A result that is not there yet. Pending until `set_result`, `set_exception` or
    `cancel`, then done for good. Done-callbacks get the Future as their one argument
    and always run from the loop (scheduled with call_soon), never inside the setter.
    `await future` suspends the awaiting Task until the Future is done, then gives the
    result or raises the exception (CancelledError if it was cancelled)."""

    def __init__(self, *, loop: "EventLoop | None" = None) -> None:
        self._loop = loop if loop is not None else get_running_loop()
        self._state = _PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future], Any]] = []  # run once, when the Future is done

    def get_loop(self) -> "EventLoop":
        return self._loop

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def result(self) -> Any:
        """The result; raises the exception if one was set, CancelledError if cancelled,
        InvalidStateError if still pending."""
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: raise CancelledError if cancelled, InvalidStateError if pending, the exception if one was set; else return the result.")

    def exception(self) -> BaseException | None:
        """The exception set (None if a result was set); raises like result() when
        cancelled or pending."""
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: raise CancelledError if cancelled, InvalidStateError if pending; else return the exception (or None).")

    def set_result(self, result: Any) -> None:
        """Mark the Future done with `result` and schedule its callbacks.
        InvalidStateError if it is already done: a Future is set once."""
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: refuse (InvalidStateError) if done; store the result, mark it finished, and schedule the callbacks.")

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Mark the Future done with an exception (an instance or a class to instantiate).
        InvalidStateError if it is already done."""
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: like set_result, but store the exception (instantiate it if it is a class).")

    def cancel(self, msg: Any = None) -> bool:
        """Cancel the Future and schedule its callbacks. False if it was already done."""
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: return False if done; else mark it cancelled, schedule the callbacks and return True.")

    def add_done_callback(self, fn: Callable[["Future"], Any]) -> None:
        """Call fn(self) from the loop once the Future is done (soon, if it already is)."""
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: if done, schedule fn(self) with call_soon at once; else keep it for later.")

    def _schedule_callbacks(self) -> None:
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: hand every callback to the loop with call_soon(callback, self), in the order they were added, and forget them.")

    def __await__(self) -> Generator["Future", None, Any]:
        """`await future`: yield this Future to the Task (the one trap), then give the result."""
        # TODO: exercise 6.2
        raise NotImplementedError("Exercise 6.2: if not done, yield self (the Task parks until we are done); then return self.result().")

    __iter__ = __await__  # `yield from future` in generator-based code, as asyncio allows

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state.lower()}>"


# --- 6.3 Task: a Future that drives a coroutine --------------------------------------

_task_names = itertools.count(1)


class Task(Future):
    """Runs a coroutine on the loop, one step per callback, and finishes with what the
    coroutine returns or raises. The first step is scheduled with call_soon: creating a
    Task never runs any of its code.

    What the coroutine yields to the Task (at the bottom of its chain of awaits) is a
    Future to wait on, or None (`sleep(0)`). Anything else -- a number, lesson 04's
    `(sock, event)`, a generator -- is a bug in the coroutine, and asyncio's answer
    is ours: at the next step a RuntimeError that names the yielded value is thrown
    into the coroutine, at that yield. Its except and finally blocks run; unless it
    catches the error, the Task fails with it. A Task that awaits itself gets a
    RuntimeError the same way."""

    def __init__(self, coro: Coroutine, *, loop: "EventLoop | None" = None, name: str | None = None) -> None:
        super().__init__(loop=loop)
        if not inspect.iscoroutine(coro):
            raise TypeError(f"a Task needs a coroutine (call the async def), got {coro!r}")
        self._coro = coro
        self._name = name if name is not None else f"Task-{next(_task_names)}"
        self._fut_waiter: Future | None = None  # the Future the coroutine awaits now
        self._must_cancel = False  # cancel() asked to throw CancelledError at the next step
        self._loop._tasks.add(self)
        # TODO: exercise 6.3
        raise NotImplementedError("Exercise 6.3: schedule the first step with call_soon.")

    def get_name(self) -> str:
        return self._name

    def get_coro(self) -> Coroutine:
        return self._coro

    def set_result(self, result: Any) -> None:
        raise RuntimeError("a Task's result is what its coroutine returns; set_result() is not allowed")

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        raise RuntimeError("a Task's exception is what its coroutine raises; set_exception() is not allowed")

    def _step(self, exc: BaseException | None = None) -> None:
        """Run the coroutine to its next suspension: send None into it (or throw `exc`,
        or CancelledError when cancel() asked for it), then finish the Task with what
        the coroutine returned or raised, or park it on what it yielded."""
        # TODO: exercise 6.3
        raise NotImplementedError("Exercise 6.3: send into (or throw into) the coroutine; finish the Task on StopIteration, CancelledError or another exception; else hand the yielded value to _park.")

    def _park(self, yielded: Any) -> None:
        """Wait for what the coroutine yielded: a Future (wake on its done-callback) or
        None (a bare yield, `sleep(0)`: run again next round). Anything else: step
        again with a RuntimeError naming it, thrown into the coroutine (asyncio's
        "Task got bad yield"), never raised here in the loop's callback."""
        # TODO: exercise 6.3
        raise NotImplementedError("Exercise 6.3: for a Future, add _wakeup as its done-callback and remember it in _fut_waiter; for None, call_soon(self._step); else throw a RuntimeError in.")

    def _wakeup(self, future: Future) -> None:
        # TODO: exercise 6.3
        raise NotImplementedError("Exercise 6.3: resume the coroutine: one step. (The coroutine reads the Future's result itself, in __await__.)")

    # --- 6.5 Cancellation -------------------------------------------------------

    def cancel(self, msg: Any = None) -> bool:
        """Ask the coroutine to stop: CancelledError is raised inside it at the `await`
        it is parked on (or at its next step). It may catch it and go on. False if the
        Task is already done."""
        # TODO: exercise 6.5
        raise NotImplementedError("Exercise 6.5: return False if done; cancel the Future we wait on (its wake-up throws CancelledError in), or else set _must_cancel; return True.")

    def __repr__(self) -> str:
        frame = getattr(self._coro, "cr_frame", None)
        where = f" at line {frame.f_lineno}" if frame is not None else ""
        return f"<Task {self._state.lower()} name={self._name!r} coro={self._coro.__qualname__}(){where}>"


def ensure_future(awaitable: Awaitable, *, loop: "EventLoop | None" = None) -> Future:
    """A Future for `awaitable`: itself if it is one, a new Task if it is a coroutine."""
    # TODO: exercise 6.3
    raise NotImplementedError("Exercise 6.3: return a Future unchanged; wrap a coroutine in a Task on `loop` (or the running loop); else TypeError.")


# --- Blocked-loop detection (given) ---------------------------------------------------

class _Watchdog:
    """A thread that samples the loop thread's stack when one callback runs too long.

    The loop calls step_started() before and step_ended() after every callback. If a
    step is still running `threshold` seconds after it started, the watchdog takes
    the loop thread's stack (`sys._current_frames`): the line the loop is stuck on,
    while it is stuck. step_ended() hands that stack to the loop, which logs it.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._loop_thread = threading.get_ident()
        self._changed = threading.Condition()
        self._step = 0  # which step runs now: the sample must belong to it
        self._started = 0.0  # time.monotonic() when it began
        self._running = False
        self._stack: traceback.StackSummary | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def step_started(self) -> None:
        with self._changed:
            self._step += 1
            self._started = time.monotonic()
            self._running, self._stack = True, None
            self._changed.notify()

    def step_ended(self) -> traceback.StackSummary | None:
        with self._changed:
            self._running = False
            return self._stack

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()

    def _watch(self) -> None:
        with self._changed:
            while not self._closed:
                if not self._running or self._stack is not None:
                    self._changed.wait()  # until the next step starts
                    continue
                step, left = self._step, self._started + self.threshold - time.monotonic()
                if left > 0:
                    self._changed.wait(left)
                    continue
                if self._step == step:  # still the same step, past the threshold: sample it
                    frame = sys._current_frames().get(self._loop_thread)
                    self._stack = traceback.extract_stack(frame) if frame is not None else None


def _describe(handle: Handle) -> str:
    task = getattr(handle._callback, "__self__", None)
    if isinstance(task, Task):  # a step of a Task: name the Task and its coroutine
        return f"Task {task.get_name()!r} (coroutine {task.get_coro().__qualname__})"
    return f"callback {handle!r}"


_STDLIB = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])


def _where(stack: traceback.StackSummary | None) -> str:
    """'file:line in function: code' for the innermost frame of your code in the stack."""
    if not stack:
        return "an unknown line (the watchdog took no sample)"
    frames = [frame for frame in stack if frame.filename != __file__]
    mine = [frame for frame in frames if not frame.filename.startswith(_STDLIB)]
    frame = (mine or frames or list(stack))[-1]
    inside = frames[-1] if frames and frames[-1] is not frame else None
    text = f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    if inside is not None:
        text += f" (inside {inside.filename.rsplit('/', 1)[-1]}:{inside.lineno} {inside.name})"
    return text


# --- 6.1 The loop --------------------------------------------------------------------

class EventLoop:
    """A selector event loop: callbacks, timers, readiness, tasks. asyncio's
    `SelectorEventLoop`, small. `selector` may be given (tests pass one they can inspect);
    the loop closes it in close()."""

    slow_callback_duration = 0.1  # seconds; asyncio's default for its debug mode

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        self._ready: collections.deque[Handle] = collections.deque()  # runs in this round's phase 4
        self._scheduled: list[tuple[float, int, TimerHandle]] = []  # heap: the soonest timer first
        self._sequence = itertools.count()  # orders timers due at the same time: first come, first served
        self._selector = selector if selector is not None else selectors.DefaultSelector()
        self._tasks: set[Task] = set()  # unfinished Tasks, so run() can cancel what is left
        self._stopping = False
        self._running = False
        self._closed = False
        self._debug = False
        self._watchdog: _Watchdog | None = None

    # --- Given: the clock, running, stopping, closing, debug mode -------------------

    def time(self) -> float:
        """The loop's clock: monotonic seconds. Every deadline is computed from it, so a
        test may subclass the loop and override time() (asyncio's own tests do)."""
        return time.monotonic()

    def run_forever(self) -> None:
        """Run rounds until stop() is called."""
        if self._running:
            raise RuntimeError("this event loop is already running")
        if getattr(_running, "loop", None) is not None:
            raise RuntimeError("another event loop is running in this thread")
        if self._closed:
            raise RuntimeError("the event loop is closed")
        self._running, _running.loop = True, self
        if self._debug:
            self._watchdog = _Watchdog(self.slow_callback_duration)
        try:
            while True:
                self._run_once()
                if self._stopping:
                    break
        finally:
            self._stopping = False
            self._running, _running.loop = False, None
            if self._watchdog is not None:
                self._watchdog.close()
                self._watchdog = None

    def stop(self) -> None:
        """Make run_forever() return after the current round."""
        self._stopping = True

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Drop every pending callback and close the selector. Idempotent."""
        if self._running:
            raise RuntimeError("cannot close a running event loop")
        if self._closed:
            return
        self._closed = True
        self._ready.clear()
        self._scheduled.clear()
        self._selector.close()

    def set_debug(self, enabled: bool) -> None:
        """Debug mode: report callbacks that run longer than slow_callback_duration."""
        self._debug = enabled

    def get_debug(self) -> bool:
        return self._debug

    def call_exception_handler(self, context: dict) -> None:
        """Log an error no one else can handle (asyncio's name; a simpler body)."""
        logger.error(context["message"], exc_info=context.get("exception"))

    def create_future(self) -> Future:
        return Future(loop=self)

    # --- 6.1 Scheduling callbacks -------------------------------------------------

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> Handle:
        """Run callback(*args) in a later phase 4, after the callbacks already waiting (FIFO).
        Never calls it now."""
        # TODO: exercise 6.1
        raise NotImplementedError("Exercise 6.1: wrap the callback in a Handle, append it to _ready and return it.")

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run callback(*args) once self.time() >= when. Timers due at the same time run
        in the order they were scheduled."""
        # TODO: exercise 6.1
        raise NotImplementedError("Exercise 6.1: wrap it in a TimerHandle, push (when, next sequence number, handle) on the _scheduled heap, return the handle.")

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run callback(*args) `delay` seconds from now, by the loop's clock."""
        # TODO: exercise 6.1
        raise NotImplementedError("Exercise 6.1: call_at the loop's time() plus delay.")

    # --- 6.1 One round of the loop --------------------------------------------------

    def _timeout(self) -> float | None:
        """Phase 1: how long select() may sleep. 0 if a callback is ready (or stop() was
        called), the time left until the soonest live timer, or None (no timers)."""
        # TODO: exercise 6.1
        raise NotImplementedError("Exercise 6.1: return 0 if _ready or _stopping; drop cancelled timers from the heap's top; return the time until the soonest, or None.")

    def _run_once(self) -> None:
        """One round: wait, readiness to _ready, due timers to _ready, run what is ready.
        Phase 4 runs each Handle through self._run_handle(handle) (given), which skips
        cancelled ones and, in debug mode, times them."""
        # TODO: exercise 6.1
        raise NotImplementedError("Exercise 6.1: select(self._timeout()), pass the events to _process_events, move due timers to _ready, then run (with _run_handle) only the handles that were ready when phase 4 began.")

    def _process_events(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        """Phase 2 (given): the reader and/or writer Handle of each ready fd joins _ready."""
        for key, mask in events:
            reader, writer = key.data
            if mask & selectors.EVENT_READ and reader is not None:
                self._ready.append(reader)
            if mask & selectors.EVENT_WRITE and writer is not None:
                self._ready.append(writer)

    def _run_handle(self, handle: Handle) -> None:
        """Phase 4 for one Handle (given): skip it if cancelled, else run it; in debug mode,
        report it if it ran longer than slow_callback_duration."""
        if handle.cancelled():
            return
        if self._watchdog is None:
            handle._run()
            return
        started = time.monotonic()  # real time, even when a test fakes self.time()
        self._watchdog.step_started()
        try:
            handle._run()
        finally:
            stack = self._watchdog.step_ended()
        took = time.monotonic() - started
        if took >= self.slow_callback_duration:
            logger.warning("Executing %s took %.3f seconds; the loop was blocked at %s",
                           _describe(handle), took, _where(stack))

    # --- 6.3 Tasks ----------------------------------------------------------------

    def create_task(self, coro: Coroutine, *, name: str | None = None) -> Task:
        """Wrap the coroutine in a Task on this loop; it starts in a later round."""
        # TODO: exercise 6.3
        raise NotImplementedError("Exercise 6.3: return a Task for coro on this loop.")

    def run_until_complete(self, future: Awaitable) -> Any:
        """Run the loop until `future` (a Future or a coroutine, wrapped in a Task) is
        done; return its result or raise its exception."""
        # TODO: exercise 6.3
        raise NotImplementedError("Exercise 6.3: ensure_future, add a done-callback that stops the loop, run_forever, then return the result (RuntimeError if it is not done).")

    # --- 6.6 Readiness callbacks -----------------------------------------------------
    # The selector's data for an fd is (reader Handle or None, writer Handle or None):
    # one registration per fd, whose events are the union of who waits (lesson 04).

    def add_reader(self, fd: int | socket.socket, callback: Callable[..., Any], *args: Any) -> None:
        """Call callback(*args) in every round in which `fd` is readable, until remove_reader."""
        # TODO: exercise 6.6
        raise NotImplementedError("Exercise 6.6: register fd for EVENT_READ with (handle, writer) as data, or modify its registration; cancel a reader it replaces.")

    def add_writer(self, fd: int | socket.socket, callback: Callable[..., Any], *args: Any) -> None:
        """Call callback(*args) in every round in which `fd` is writable, until remove_writer."""
        # TODO: exercise 6.6
        raise NotImplementedError("Exercise 6.6: like add_reader, for EVENT_WRITE and the second slot of the data.")

    def remove_reader(self, fd: int | socket.socket) -> bool:
        """Stop watching `fd` for reading; unregister it if nobody else waits on it.
        True if a reader was removed."""
        # TODO: exercise 6.6
        raise NotImplementedError("Exercise 6.6: drop EVENT_READ from fd's registration (unregister when no event is left) and cancel its handle; True if there was one.")

    def remove_writer(self, fd: int | socket.socket) -> bool:
        """Stop watching `fd` for writing. True if a writer was removed."""
        # TODO: exercise 6.6
        raise NotImplementedError("Exercise 6.6: like remove_reader, for EVENT_WRITE.")


    # --- 6.7 Socket coroutines ----------------------------------------------------
    # Each one: try the syscall at once; on BlockingIOError make a Future, watch the
    # fd with a readiness callback of the one shape, remove the watch when the Future
    # is done (whatever the outcome), and await the Future.

    async def sock_recv(self, sock: socket.socket, nbytes: int) -> bytes:
        """Up to `nbytes` from a non-blocking socket; b"" means the peer closed."""
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: try sock.recv; on BlockingIOError add_reader(_sock_recv), remove the reader when the future is done, and await it.")

    def _sock_recv(self, future: Future, sock: socket.socket, nbytes: int) -> None:
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: the readiness-callback shape: return if the future is done; try recv; BlockingIOError -> return; error -> set_exception; else set_result.")

    async def sock_sendall(self, sock: socket.socket, data: bytes) -> None:
        """Send all of `data`, waiting for room in the send buffer as often as needed."""
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: send what fits at once; if anything is left, add_writer(_sock_sendall) with a memoryview and a [position], remove it when done, await.")

    def _sock_sendall(self, future: Future, sock: socket.socket, view: memoryview, position: list[int]) -> None:
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: the same shape: send view[position[0]:], advance the position; set_result(None) once all is sent.")

    async def sock_connect(self, sock: socket.socket, address: tuple[str, int]) -> None:
        """Connect a non-blocking socket to an (IP address, port): no DNS here, a
        hostname lookup would block the loop (see lesson 02).

        A failure raises the OSError the kernel reported, as asyncio's sock_connect
        does: OSError(errno, text), from which Python picks the subclass and sets
        `.errno` (see the `errno` module; `man 2 connect`):
          ECONNREFUSED  nothing listens there (a RST came back): ConnectionRefusedError
          ETIMEDOUT     no answer before the SYN retries ran out: TimeoutError
          ENETUNREACH, EHOSTUNREACH  no route, or an ICMP "unreachable" came back:
                        a plain OSError with that errno (Python has no subclass)
          EADDRNOTAVAIL no free local (address, port) to connect from: OSError
        Most arrive later, in SO_ERROR; some come from connect() itself, at once
        (EADDRNOTAVAIL does), and are raised unchanged. The tests make the first
        two on loopback; the others need a real network."""
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: try sock.connect; on BlockingIOError add_writer(_sock_connect_cb), remove it when done, await; the callback reads SO_ERROR.")

    def _sock_connect_cb(self, future: Future, sock: socket.socket, address: tuple[str, int]) -> None:
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: the same shape: read SO_ERROR; nonzero -> set_exception(OSError(err, ...)); zero -> set_result(None).")

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        """Accept a connection on a listening non-blocking socket: (conn, address), with
        conn non-blocking too."""
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: try accept; on BlockingIOError add_reader(_sock_accept), remove it when done, await. Make conn non-blocking.")

    def _sock_accept(self, future: Future, sock: socket.socket) -> None:
        # TODO: exercise 6.7
        raise NotImplementedError("Exercise 6.7: the same shape: accept; set conn non-blocking; set_result((conn, address)).")



def _check_nonblocking(sock: socket.socket) -> None:
    # A blocking socket would block the whole loop in the syscall (asyncio checks this
    # in debug mode; we always do).
    if sock.gettimeout() != 0:
        raise ValueError(f"the socket must be non-blocking: call sock.setblocking(False) first ({sock!r})")


# --- 6.4 sleep, gather, run -------------------------------------------------------------

@types.coroutine
def _yield_once() -> Generator[None, None, None]:
    yield  # a bare yield: Task._park reschedules the Task with call_soon


async def sleep(delay: float, result: Any = None) -> Any:
    """Suspend the current Task for `delay` seconds (by the loop's clock); return `result`.
    sleep(0) still yields: every other ready Task runs before this one goes on.
    Cancelled while it sleeps, sleep() raises CancelledError and leaves no live
    timer behind: nothing wakes at `delay`, neither the Task (which may have gone
    on to await something else) nor the loop (asyncio's sleep cancels its timer too)."""
    # TODO: exercise 6.4
    raise NotImplementedError("Exercise 6.4: for delay <= 0, await a bare yield once; else await a Future that a call_later timer resolves, and cancel the timer in a finally.")




async def gather(*aws: Awaitable, return_exceptions: bool = False) -> list:
    """Run the awaitables concurrently; return their results in argument order (not
    the order they finished). What happens when something goes wrong is asyncio's
    contract (`asyncio.gather`, Python 3.11):

    * A child raises. Without return_exceptions, gather() raises that exception at
      once, and if several children fail, the one that failed *first in time* wins
      (not the first in argument order). The other children are not cancelled:
      they keep running, and what they raise later is not raised again. With
      return_exceptions=True the exception takes the child's place in the list,
      and gather() returns when every child is done.
    * A child is cancelled (someone called its cancel()). That is the child's
      cancellation, not gather()'s: its siblings keep running. Without
      return_exceptions, gather() raises CancelledError at once (a Task that lets
      it through ends cancelled); with return_exceptions=True a CancelledError
      takes the child's place in the list.
    * The Task awaiting gather() is cancelled: gather() cancels every child that
      is still running, and raises CancelledError.

    Two differences on purpose, to keep it small: asyncio's gather() returns a
    Future at once and its children start straight away, while this one is a
    coroutine, so nothing starts until it is awaited (or wrapped in a Task); and
    when cancelled, asyncio's raises CancelledError once the children have ended,
    while this one raises at once and lets them finish their clean-up on their own."""
    # TODO: exercise 6.4
    raise NotImplementedError("Exercise 6.4: ensure_future each; resolve an outer Future when the last child is done (or at the first error); results in argument order; cancel the children if we are cancelled.")




def run(main: Coroutine, *, debug: bool | None = None) -> Any:
    """Run `main` on a new loop and return its result (or raise its exception). Tasks
    still running at the end are cancelled and awaited; the loop is closed."""
    # TODO: exercise 6.4
    raise NotImplementedError("Exercise 6.4: refuse if a loop runs in this thread; make an EventLoop, run_until_complete(main), then cancel leftover tasks and close the loop in finally.")


