"""Lesson 06: async/await. A small asyncio of your own, tested through asyncio's names.

The tests use the lesson's public interface only: `EventLoop` (whose constructor
takes a `selector`, as asyncio's does, so a test can look inside it) and its
methods, `Future`, `Task`, `sleep`, `gather`, `run`, `CancelledError`,
`InvalidStateError`, `get_running_loop`.

Timer order is checked on a *virtual clock*, as asyncio's own tests do: a loop
subclass whose `time()` reads a number, and a selector that, instead of sleeping
`timeout` seconds, adds `timeout` to that number. Timers then fire at exactly their
deadline, in a few microseconds. A loop that hangs is stopped by `within()`
(an alarm that repeats, since a loop that guards its callbacks can swallow one) and
the test says what it was waiting for.
"""

from __future__ import annotations

import errno
import inspect
import logging
import selectors
import socket
import time
import types

import pytest

from tests.harness import within
from tests.servers import refused_address, short_syn_timeout, silent_address

IDLE_WAIT = 1.0  # seconds a test keeps the loop idle while measuring its CPU time
IDLE_CPU_LIMIT = 0.25  # an idle loop uses ~0.001 s of CPU in that second; a spinning one ~1 s
CLIENTS = 100  # concurrent echo clients (the curriculum's figure)
PAYLOAD = b"x" * (4 * 1024 * 1024)  # more than a socket buffer holds: sendall must wait for room


@pytest.fixture(scope="module")
def aio(load_lesson):
    return load_lesson(6)


@pytest.fixture
def loop(aio):
    """A fresh loop on a real clock, closed after the test."""
    loop = aio.EventLoop()
    yield loop
    loop.close()


class Deadlock(Exception):
    """The loop asked to sleep forever with nothing that could wake it."""


@pytest.fixture
def virtual_clock():
    """The virtual loop's clock: "now", and "wake_times", the time each select()
    with a timeout was asked to wake at (a loop wakes for a timer it still holds)."""
    return {"now": 0.0, "wake_times": []}


@pytest.fixture
def virtual_loop(aio, virtual_clock):
    """A loop on a virtual clock that starts at 0 and jumps to the next timer instead of sleeping."""
    clock = virtual_clock

    class JumpingSelector(selectors.DefaultSelector):
        def select(self, timeout=None):
            if timeout is None and not self.get_map():
                raise Deadlock("select(None) with no timer and no fd registered: nothing can ever wake it")
            if timeout is not None and timeout > 0:
                clock["now"] += timeout  # the jump: no real sleeping
                clock["wake_times"].append(clock["now"])
                timeout = 0
            return super().select(timeout)

    class VirtualTimeLoop(aio.EventLoop):
        def time(self):
            return clock["now"]

    loop = VirtualTimeLoop(selector=JumpingSelector())
    yield loop
    loop.close()


@pytest.fixture
def watched_loop(aio):
    """A loop with a selector the test can look into: (loop, selector)."""
    selector = selectors.DefaultSelector()
    loop = aio.EventLoop(selector=selector)
    yield loop, selector
    loop.close()


LOST_WAKE_UP = (
    "\nNothing could wake it (no fd, no timer, nothing ready): a wake-up was lost. Does every Future "
    "schedule its done-callbacks (also one added after it is done), and every Task wake when the "
    "Future it awaits is done?")


def nothing_can_wake(loop) -> bool:
    """The loop has no fd registered, no live timer and nothing ready: select() would sleep forever."""
    try:
        return (not loop._selector.get_map() and not loop._ready
                and all(entry[-1].cancelled() for entry in loop._scheduled))
    except Exception:  # noqa: BLE001 - a half-built loop: say nothing more
        return False


def run_until(loop, awaitable, seconds: float = 5.0, if_stuck: str = "", cancelled_ok: bool = False):
    """loop.run_until_complete(awaitable) under a time limit (on a virtual clock, a
    loop left with nothing that could wake it fails at once). A CancelledError out of
    it fails the test with a message, unless the test expects one (`cancelled_ok`)."""
    cancelled = None
    try:
        with within(seconds, "Your loop never finished. " + if_stuck):
            try:
                return loop.run_until_complete(awaitable)
            except Deadlock as error:
                deadlock = error  # fail outside the except: no "during handling" chain
            except BaseException as error:  # the lesson's CancelledError (a BaseException, as asyncio's)
                if cancelled_ok or type(error).__name__ != "CancelledError":
                    raise
                cancelled = error
    except pytest.fail.Exception as stuck:  # within() stopped it: say so if nothing could ever wake it
        if not nothing_can_wake(loop):
            raise
        raise pytest.fail.Exception(stuck.msg + LOST_WAKE_UP, pytrace=False) from None
    if cancelled is not None:
        pytest.fail(f"run_until_complete() ended with CancelledError, which this test does not expect. "
                    f"{if_stuck}\nWas a task cancelled that should not be? Or did a cancelled task's "
                    "coroutine never see the CancelledError (cancel() throws it in at its await)?",
                    pytrace=False)
    pytest.fail(f"Your loop never finished: {deadlock}.\n{if_stuck}", pytrace=False)



def run_forever(loop, seconds: float = 5.0, if_stuck: str = "") -> None:
    with within(seconds, "run_forever() never returned. " + if_stuck):
        loop.run_forever()


def cpu_seconds_of(block) -> float:
    started = time.process_time()
    block()
    return time.process_time() - started


def registered(selector) -> list:
    """The fds a selector still watches, with their events."""
    return [(key.fd, key.events) for key in selector.get_map().values()]


def describe_outcome(task) -> str:
    """How a Task ended, in words: 'returned 1', 'raised KeyError', 'was cancelled', 'is still running'."""
    if not task.done():
        return "is still running"
    if task.cancelled():
        return "was cancelled"
    if task.exception() is not None:
        return f"raised {type(task.exception()).__name__}"
    return f"returned {task.result()!r}"


async def sleepy(aio, delay: float, value, log: list | None = None):
    await aio.sleep(delay)
    if log is not None:
        log.append(value)
    return value


async def failing(aio, delay: float = 0, error: Exception | None = None):
    if delay:  # without one it needs no sleep() (6.4): the 6.3 tests use it before 6.4 is written
        await aio.sleep(delay)
    raise error if error is not None else ValueError("this task fails on purpose")


# --- 6.1 The loop: callbacks and timers ------------------------------------------------

@pytest.mark.exercise("6.1")
def test_call_soon_runs_callbacks_in_the_order_they_were_scheduled(loop):
    log = []
    for name in "abc":
        loop.call_soon(log.append, name)
    loop.call_soon(loop.stop)
    run_forever(loop, if_stuck="call_soon(loop.stop) was scheduled after three callbacks.")
    assert log == ["a", "b", "c"], (
        f"expected the callbacks to run in the order scheduled, ['a', 'b', 'c']; got {log}. "
        "call_soon appends a Handle to the ready queue; phase 4 pops from the front (FIFO).")


@pytest.mark.exercise("6.1")
def test_call_soon_never_runs_the_callback_at_once(loop):
    log = []
    handle = loop.call_soon(log.append, "ran")
    assert log == [], (
        "call_soon() ran the callback before returning. It must only queue it: callbacks run in "
        "phase 4 of a round, never inside the code that schedules them.")
    assert hasattr(handle, "cancel"), f"call_soon() should return the Handle it queued, got {handle!r}"
    loop.call_soon(loop.stop)
    run_forever(loop)
    assert log == ["ran"], f"expected the callback to run once the loop ran, log is {log}"


@pytest.mark.exercise("6.1")
def test_call_later_runs_timers_in_deadline_order_at_the_loops_time(virtual_loop):
    loop = virtual_loop
    fired = []
    for name, delay in [("a", 0.75), ("b", 0.25), ("c", 0.5), ("d", 0.25)]:
        loop.call_later(delay, lambda name=name: fired.append((name, loop.time())))
    loop.call_later(1.0, loop.stop)
    try:
        run_forever(loop, if_stuck="Four timers within 1 s, on a virtual clock that jumps.")
    except Deadlock as error:
        pytest.fail(f"{error}. Your _timeout() returned None while timers were scheduled: "
                    "return the time until the soonest one.", pytrace=False)
    expected = [("b", 0.25), ("d", 0.25), ("c", 0.5), ("a", 0.75)]
    wrong_clock = any(when > 10 for _name, when in fired)  # the virtual clock starts at 0
    if fired != expected:
        pytest.fail(
            f"expected (name, loop.time()) = {expected},\ngot {fired}.\n" + (
                "The times are far from 0, where this loop's clock starts: compute every deadline from "
                "self.time(), never from time.monotonic() directly." if wrong_clock else
                "Timers fire in deadline order; two due at the same time fire in the order they were "
                "scheduled (a sequence number in the heap entry)."), pytrace=False)


@pytest.mark.exercise("6.1")
def test_call_later_waits_on_the_real_clock(loop):
    started = time.monotonic()
    loop.call_later(0.2, loop.stop)
    run_forever(loop, if_stuck="call_later(0.2, loop.stop) should stop the loop after 0.2 s.")
    elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 2.0, (
        f"call_later(0.2, loop.stop) stopped the loop after {elapsed:.3f} s; expected about 0.2 s. "
        "Pass select() the time left until the soonest timer, and run a timer only once it is due.")


@pytest.mark.exercise("6.1")
def test_an_idle_loop_sleeps_instead_of_spinning(loop):
    loop.call_later(IDLE_WAIT, loop.stop)
    cpu = cpu_seconds_of(lambda: run_forever(loop, if_stuck=f"call_later({IDLE_WAIT}, loop.stop)."))
    assert cpu < IDLE_CPU_LIMIT, (
        f"while waiting {IDLE_WAIT} s for one timer your loop used {cpu:.2f} s of CPU; an idle loop uses about "
        "0.001 s. It is polling: select(timeout) must get the time until the next deadline, not 0.")


@pytest.mark.exercise("6.1")
def test_a_callback_that_reschedules_itself_does_not_starve_the_timers(loop):
    state = {"spins": 0, "stop": False}

    def spin():
        state["spins"] += 1
        if not state["stop"]:
            loop.call_soon(spin)  # always ready: only the round structure lets the timer in

    def stopper():
        state["stop"] = True
        loop.stop()

    loop.call_soon(spin)
    loop.call_later(0.05, stopper)
    run_forever(loop, seconds=3, if_stuck=(
        "A callback rescheduled itself with call_soon over and over; a 0.05 s timer should have stopped it. "
        "Phase 4 must run only the callbacks that were ready when it began (for _ in range(len(ready))), "
        "not `while ready:`, so each round gets back to select() and the timers."))
    assert state["stop"], "the timer never fired"


@pytest.mark.exercise("6.1")
def test_a_cancelled_callback_does_not_run(virtual_loop):
    loop = virtual_loop
    log = []
    loop.call_soon(log.append, "soon").cancel()
    loop.call_later(0.25, log.append, "later").cancel()
    loop.call_later(0.5, loop.stop)
    run_forever(loop, if_stuck="Two cancelled callbacks and call_later(0.5, loop.stop).")
    assert log == [], (
        f"cancelled handles ran: {log}. A Handle's cancel() marks it; phase 4 (and phase 3) skip it.")


@pytest.mark.exercise("6.1")
def test_a_cancelled_timer_does_not_wake_the_loop(virtual_loop, virtual_clock):
    loop = virtual_loop
    loop.call_later(60, loop.stop).cancel()
    loop.call_later(100, loop.stop)
    run_forever(loop, if_stuck="A timer due at 60 s, cancelled, and call_later(100, loop.stop).")
    woken_for_it = [when for when in virtual_clock["wake_times"] if when == pytest.approx(60)]
    assert not woken_for_it, (
        "a timer due at 60 s was cancelled, yet select() was told to wake at "
        "60 s (select() wake times on the virtual clock: "
        f"{virtual_clock['wake_times']}). In _timeout(), pop cancelled timers "
        "off the top of the heap before you read the soonest deadline.")


@pytest.mark.exercise("6.1")
def test_an_exception_in_a_callback_does_not_stop_the_loop(loop, caplog):
    log = []

    def broken():
        raise ValueError("this callback fails on purpose")

    loop.call_soon(broken)
    loop.call_soon(log.append, "after")
    loop.call_soon(loop.stop)
    with caplog.at_level(logging.ERROR, logger="loop"):
        try:
            run_forever(loop)
        except ValueError:
            pytest.fail("a callback's ValueError escaped run_forever(). Run each Handle with handle._run() "
                        "(through _run_handle), which reports the error and lets the loop go on.",
                        pytrace=False)
    assert log == ["after"], f"the callback after the failing one should still run; log is {log}"


# --- 6.2 Future ---------------------------------------------------------------------------

@pytest.mark.exercise("6.2")
def test_a_new_future_is_pending(aio, loop):
    future = aio.Future(loop=loop)
    assert not future.done() and not future.cancelled(), "a new Future should be pending"
    with pytest.raises(aio.InvalidStateError):
        future.result()
    with pytest.raises(aio.InvalidStateError):
        future.exception()


@pytest.mark.exercise("6.2")
def test_set_result_then_result(aio, loop):
    future = aio.Future(loop=loop)
    future.set_result(42)
    assert future.done(), "after set_result() the Future is done"
    assert future.result() == 42, f"result() should give 42, got {future.result()!r}"
    assert future.exception() is None, "exception() of a Future with a result is None"


@pytest.mark.exercise("6.2")
@pytest.mark.parametrize("given", [
    pytest.param(lambda: ValueError("boom"), id="an-instance"),
    pytest.param(lambda: ValueError, id="a-class"),
])
def test_set_exception_then_result_raises_it(aio, loop, given):
    future = aio.Future(loop=loop)
    future.set_exception(given())
    assert future.done(), "after set_exception() the Future is done"
    assert isinstance(future.exception(), ValueError), f"exception() gave {future.exception()!r}"
    with pytest.raises(ValueError):
        future.result()


@pytest.mark.exercise("6.2")
@pytest.mark.parametrize("first, second", [
    pytest.param("set_result", "set_result", id="result-twice"),
    pytest.param("set_result", "set_exception", id="result-then-exception"),
    pytest.param("set_exception", "set_result", id="exception-then-result"),
    pytest.param("cancel", "set_result", id="cancelled-then-result"),
])
def test_a_future_is_set_only_once(aio, loop, first, second):
    future = aio.Future(loop=loop)
    arguments = {"set_result": (1,), "set_exception": (KeyError("first"),), "cancel": ()}
    getattr(future, first)(*arguments[first])
    with pytest.raises(aio.InvalidStateError):
        getattr(future, second)(*({"set_result": (2,), "set_exception": (KeyError("second"),)}[second]))
        pytest.fail(f"{first}() and then {second}() on one Future did not raise InvalidStateError. A Future is set "
                    "once: a second set would wake whoever awaits it a second time.", pytrace=False)


@pytest.mark.exercise("6.2")
def test_done_callbacks_are_scheduled_not_called_inside_set_result(aio, loop):
    log = []
    future = aio.Future(loop=loop)
    future.add_done_callback(lambda fut: log.append("callback"))
    future.set_result("value")
    log.append("after set_result")
    loop.call_soon(loop.stop)  # run one round, without run_until_complete() (6.3)
    run_forever(loop)
    assert log == ["after set_result", "callback"], (
        f"the events happened in the order {log}. set_result() must not call the callbacks itself: schedule "
        "each with loop.call_soon(callback, self), so they run in phase 4, after the code that set the result.")


@pytest.mark.exercise("6.2")
def test_done_callbacks_run_in_order_and_get_the_future(aio, loop):
    seen = []
    future = aio.Future(loop=loop)
    for name in "abc":
        future.add_done_callback(lambda fut, name=name: seen.append((name, fut)))
    future.set_result(None)
    loop.call_soon(loop.stop)
    run_forever(loop)
    assert seen == [("a", future), ("b", future), ("c", future)], (
        f"expected three callbacks, in the order added, each called with the Future; got {seen}")


@pytest.mark.exercise("6.2")
def test_a_callback_added_to_a_done_future_is_scheduled(aio, loop):
    log = []
    future = aio.Future(loop=loop)
    future.set_result(None)
    future.add_done_callback(lambda fut: log.append("callback"))
    assert log == [], "add_done_callback() on a done Future called it at once; schedule it with call_soon"
    loop.call_soon(loop.stop)
    run_forever(loop)
    assert log == ["callback"], (
        f"a callback added to a Future that is already done must still run (soon); log is {log}")


@pytest.mark.exercise("6.2")
def test_cancel_a_future(aio, loop):
    future = aio.Future(loop=loop)
    assert future.cancel() is True, "cancel() of a pending Future returns True"
    assert future.cancelled() and future.done(), "a cancelled Future is cancelled() and done()"
    assert future.cancel() is False, "cancel() of a Future that is already done returns False"
    with pytest.raises(aio.CancelledError):
        future.result()
    finished = aio.Future(loop=loop)
    finished.set_result(1)
    assert finished.cancel() is False and finished.result() == 1, "cancel() cannot undo a result"


@pytest.mark.exercise("6.2")
def test_await_yields_the_future_then_returns_its_result(aio, loop):
    future = aio.Future(loop=loop)
    steps = future.__await__()
    yielded = next(steps)
    assert yielded is future, (
        f"__await__ of a pending Future should yield the Future itself (the Task parks on it); it yielded "
        f"{yielded!r}")
    future.set_result("value")
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "value", (
        f"after the result is set, __await__ should return it (StopIteration.value); got {stop.value.value!r}")


@pytest.mark.exercise("6.2")
def test_await_raises_the_futures_exception(aio, loop):
    future = aio.Future(loop=loop)
    steps = future.__await__()
    next(steps)
    future.set_exception(ValueError("boom"))
    with pytest.raises(ValueError):
        try:
            next(steps)
        except StopIteration as stop:
            pytest.fail(f"the Future's exception is ValueError('boom'), yet await returned {stop.value!r}.\n"
                        "End __await__ with `return self.result()`: result() raises the exception",
                        pytrace=False)


@pytest.mark.exercise("6.2")
def test_await_of_a_done_future_does_not_suspend(aio, loop):
    future = aio.Future(loop=loop)
    future.set_result(7)
    with pytest.raises(StopIteration) as stop:
        next(future.__await__())
    assert stop.value.value == 7, "awaiting a Future that is already done returns its result at once"


# --- 6.3 Task -------------------------------------------------------------------------------

@pytest.mark.exercise("6.3")
def test_run_until_complete_returns_what_the_coroutine_returns(aio, loop):
    async def answer():
        return 42

    got = run_until(loop, answer(), if_stuck="A coroutine that returns at once.")
    assert got == 42, f"expected 42, got {got!r}. The value is StopIteration.value from coro.send()."


@pytest.mark.exercise("6.3")
def test_creating_a_task_runs_none_of_its_code(aio, loop):
    log = []

    async def work():
        log.append("ran")
        return "done"

    task = loop.create_task(work())
    assert log == [], "create_task() ran the coroutine at once; schedule its first step with call_soon"
    assert isinstance(task, aio.Future), "a Task is a Future (class Task(Future))"
    assert run_until(loop, task) == "done"
    assert log == ["ran"]


@pytest.mark.exercise("6.3")
def test_a_task_is_resumed_once_per_await(aio, virtual_loop):
    # On the virtual clock: on a real one, a process descheduled for 0.2 s finds
    # both timers due in one round, stops before the wake-up runs, and fails.
    loop = virtual_loop
    first, second = aio.Future(loop=loop), aio.Future(loop=loop)
    progress = []

    async def waiter():
        progress.append(await first)
        progress.append(await second)
        return progress

    task = loop.create_task(waiter())
    loop.call_later(0.01, first.set_result, "first")
    loop.call_later(0.2, loop.stop)
    run_forever(loop)
    if task.done() and not task.cancelled() and task.exception() is not None:
        pytest.fail(f"the task failed with {task.exception()!r} while it awaited the second Future. It was "
                    "resumed twice when the first Future completed: a wait needs exactly one wake-up "
                    "(one add_done_callback(self._wakeup), nothing else).", pytrace=False)
    assert progress == ["first"] and not task.done(), (
        f"after the first Future completed the task should be parked on the second; progress is {progress}, "
        f"task done: {task.done()}. It was resumed twice or did not wait.")
    second.set_result("second")
    assert run_until(loop, task) == ["first", "second"]


@pytest.mark.exercise("6.3")
def test_two_tasks_awaiting_one_future_both_wake(aio, loop):
    shared = aio.Future(loop=loop)

    async def waiter(name):
        return name, await shared

    tasks = [loop.create_task(waiter(name)) for name in "ab"]
    loop.call_later(0.01, shared.set_result, "go")
    for task in tasks:
        run_until(loop, task, if_stuck="Two tasks awaited one Future, which was set after 0.01 s.")
    assert [task.result() for task in tasks] == [("a", "go"), ("b", "go")]


@pytest.mark.exercise("6.3")
@pytest.mark.parametrize("awaited", [
    pytest.param("task", id="awaiting-a-task"),
    pytest.param("future", id="awaiting-a-future"),
])
def test_an_exception_reaches_the_task_that_awaits(aio, loop, awaited):
    async def outer():
        if awaited == "task":
            inner = loop.create_task(failing(aio))
        else:
            inner = aio.Future(loop=loop)
            loop.call_soon(inner.set_exception, ValueError("set on purpose"))
        try:
            await inner
        except ValueError as error:
            return f"caught {error}"
        return "no exception reached me"

    got = run_until(loop, outer(), if_stuck="A task awaited another that raised.")
    assert got.startswith("caught"), (
        f"the awaiting task returned {got!r}. The {awaited} it awaited raised ValueError; the exception must "
        "reach the awaiting coroutine: Task._step stores it with set_exception, and __await__ ends with "
        "`return self.result()`, which raises it.")


@pytest.mark.exercise("6.3")
def test_run_until_complete_raises_the_coroutines_exception(aio, loop):
    with pytest.raises(ValueError, match="on purpose"):
        got = run_until(loop, failing(aio), if_stuck="A coroutine that raises at once.")
        pytest.fail(f"the coroutine raised ValueError, yet run_until_complete() returned {got!r}.\n"
                    "Return future.result(): it raises the exception the Task stored", pytrace=False)


@types.coroutine
def hand_to_the_task(value):
    """An awaitable that yields `value` itself up to the Task, as no await of a Future does."""
    return (yield value)


BAD_YIELD_HINT = (
    "The coroutine yielded neither a Future nor None. Task._park must answer "
    "that with a RuntimeError naming the value, thrown into the coroutine at "
    "its next step (call_soon(self._step, error)), as asyncio does: never "
    "raise it in _park (the loop only logs it, and the Task waits forever).")


@pytest.mark.exercise("6.3")
@pytest.mark.parametrize("yielded", [
    pytest.param(42, id="a-number"),
    pytest.param(("sock", selectors.EVENT_READ), id="a-lesson-04-request"),
    pytest.param("a string", id="a-string"),
])
def test_a_task_whose_coroutine_yields_a_non_future_fails_with_runtime_error(aio, virtual_loop, yielded):
    loop = virtual_loop

    async def confused():
        return await hand_to_the_task(yielded)

    task = loop.create_task(confused())
    try:
        got = run_until(loop, task, seconds=3, if_stuck=BAD_YIELD_HINT)
    except NotImplementedError:  # a RuntimeError too: an unfinished exercise, not the answer
        raise
    except RuntimeError as error:
        assert repr(yielded) in str(error), (
            f"the task failed with {error!r}; name what the coroutine yielded "
            f"({yielded!r}) in the message, as asyncio does ('Task got bad "
            "yield: 42'), so the learner can find the wrong await.")
        return
    pytest.fail(f"a coroutine yielded {yielded!r} to its Task, and the task ended "
                f"with {got!r}. " + BAD_YIELD_HINT, pytrace=False)


@pytest.mark.exercise("6.3")
def test_the_error_for_a_bad_yield_is_raised_inside_the_coroutine(aio, virtual_loop):
    loop = virtual_loop

    async def careful():
        try:
            await hand_to_the_task(42)
        except RuntimeError:
            return "caught at the yield"
        return "resumed without an error"

    try:
        got = run_until(loop, careful(), seconds=3, if_stuck=BAD_YIELD_HINT)
    except NotImplementedError:  # a RuntimeError too: an unfinished exercise, not the answer
        raise
    except RuntimeError as error:
        got = f"a failed task ({error!r}) whose coroutine never saw the error"
    assert got == "caught at the yield", (
        f"a coroutine yielded 42 and wraps that await in try/except "
        f"RuntimeError; the result was {got!r}. Throw the RuntimeError into "
        "the coroutine (the next _step(error) does coro.throw), so its except "
        "and finally blocks run; do not just fail the Task.")


@pytest.mark.exercise("6.3")
def test_a_step_that_blocks_the_loop_is_reported_with_its_task_and_line(aio, loop, caplog):
    async def dawdler():
        await hand_to_the_task(None)  # a bare yield, as sleep(0) (6.4) does: the step ends here
        time.sleep(0.4)  # a synchronous call: the whole loop stops here

    blocking_line = inspect.getsourcelines(dawdler)[1] + 2
    loop.set_debug(True)
    loop.slow_callback_duration = 0.1
    with caplog.at_level(logging.WARNING, logger="loop"):
        run_until(loop, loop.create_task(dawdler(), name="dawdler"))
    reports = [record.getMessage() for record in caplog.records if record.name == "loop"]
    wanted = f"test_06_async_await.py:{blocking_line}"
    assert any("dawdler" in report and wanted in report for report in reports), (
        f"a task blocked the loop for 0.4 s in debug mode; expected a warning naming the task 'dawdler' and "
        f"{wanted}; got {reports}. Phase 4 must run every Handle through self._run_handle(handle) (given), "
        "which times it; and create_task() takes a name=.")


# --- 6.4 sleep, gather, run --------------------------------------------------------------------

@pytest.mark.exercise("6.4")
def test_sleep_zero_lets_the_other_tasks_run(aio, loop):
    log = []

    async def polite(name):
        for step in range(3):
            log.append(f"{name}{step}")
            await aio.sleep(0)

    async def main():
        await aio.gather(polite("a"), polite("b"))

    run_until(loop, main(), if_stuck="Two tasks that each await sleep(0) three times.")
    assert log == ["a0", "b0", "a1", "b1", "a2", "b2"], (
        f"the steps ran in the order {log}. `await sleep(0)` must suspend the task once (a bare yield, which "
        "Task._park answers with call_soon(self._step)), so the other ready task runs in between.")


@pytest.mark.exercise("6.4")
def test_sleep_waits_by_the_loops_clock_and_returns_its_result(aio, virtual_loop):
    loop = virtual_loop

    async def main():
        value = await aio.sleep(0.75, "slept")
        return value, loop.time()

    got = run_until(loop, main(), if_stuck="sleep() must schedule a timer (call_later) that resolves its Future.")
    assert got == ("slept", 0.75), f"expected sleep(0.75, 'slept') to return 'slept' at loop time 0.75, got {got}"


@pytest.mark.exercise("6.5")  # it cancels a task: Task.cancel() is 6.5
def test_a_cancelled_sleep_leaves_no_timer_behind(aio, virtual_loop, virtual_clock):
    loop = virtual_loop
    gate = loop.create_future()
    resumed = []

    async def sleeper():
        try:
            await aio.sleep(60)
        except aio.CancelledError:
            pass  # it goes on, and waits for something else
        resumed.append((await gate, loop.time()))

    task = loop.create_task(sleeper())
    loop.call_later(0.25, task.cancel)
    loop.call_later(100, gate.set_result, "gate")
    run_until(loop, task, if_stuck="A sleep(60) cancelled at 0.25 s; then a Future set at 100 s.")
    assert resumed == [("gate", 100)], (
        f"after its sleep(60) was cancelled at 0.25 s the task awaited a Future "
        f"set at 100 s; it resumed with (value, time) {resumed}, expected "
        "[('gate', 100)]. The sleep's timer must not wake the task later.")
    woken_for_it = [when for when in virtual_clock["wake_times"] if when == pytest.approx(60)]
    assert not woken_for_it, (
        "a sleep(60) was cancelled at 0.25 s, yet the loop still asked "
        "select() to wake at 60 s for its timer (wake times on the virtual "
        f"clock: {virtual_clock['wake_times']}). Cancel the timer in a "
        "finally around the await: CancelledError comes out of it.")


@pytest.mark.exercise("6.4")
def test_sleeping_tasks_sleep_at_the_same_time(aio, loop):
    async def main():
        return await aio.gather(*(sleepy(aio, 0.3, n) for n in range(5)))

    started = time.monotonic()
    got = run_until(loop, main(), if_stuck="Five tasks that sleep 0.3 s each.")
    elapsed = time.monotonic() - started
    assert got == [0, 1, 2, 3, 4], f"expected [0, 1, 2, 3, 4], got {got}"
    assert elapsed < 1.2, (
        f"five tasks sleeping 0.3 s took {elapsed:.2f} s together; one after another would take 1.5 s. "
        "sleep() must park the task on a Future, never call time.sleep().")


@pytest.mark.exercise("6.4")
def test_gather_returns_results_in_argument_order(aio, virtual_loop):
    loop = virtual_loop
    finished = []

    async def main():
        return await aio.gather(sleepy(aio, 0.75, "slow", finished), sleepy(aio, 0.25, "fast", finished),
                                sleepy(aio, 0.5, "middle", finished))

    got = run_until(loop, main())
    assert finished == ["fast", "middle", "slow"], f"the children finished in the order {finished}?"
    assert got == ["slow", "fast", "middle"], (
        f"gather() returned {got}; the children finished fast, middle, slow, but gather() lists results in "
        "the order of its arguments: ['slow', 'fast', 'middle']. Build the list from the children, not from "
        "the order their done-callbacks ran.")


@pytest.mark.exercise("6.4")
def test_gather_raises_the_first_exception(aio, loop):
    async def main():
        try:
            await aio.gather(sleepy(aio, 0.01, "fine"), failing(aio, 0.02))
        except ValueError:
            return "caught"
        return "gather returned normally"

    got = run_until(loop, main(), if_stuck="gather() of a task that sleeps and one that fails.")
    assert got == "caught", f"a child of gather() raised ValueError; the task awaiting gather() got {got!r}"


@pytest.mark.exercise("6.4")
def test_gather_with_return_exceptions_lists_them(aio, loop):
    async def main():
        return await aio.gather(failing(aio), sleepy(aio, 0.01, "fine"), return_exceptions=True)

    got = run_until(loop, main())
    assert isinstance(got[0], ValueError) and got[1] == "fine", (
        f"expected [ValueError(...), 'fine'] with return_exceptions=True, got {got!r}")


@pytest.mark.exercise("6.4")
def test_gather_raises_the_exception_of_the_child_that_failed_first(aio, virtual_loop):
    loop = virtual_loop

    async def main():
        late = loop.create_task(failing(aio, 0.5, KeyError("late")))
        early = loop.create_task(failing(aio, 0.25, ValueError("early")))
        try:
            await aio.gather(late, early)
            outcome = "no exception", loop.time()
        except (ValueError, KeyError) as error:
            outcome = error, loop.time()
        await aio.sleep(1)  # past the late child's end: leave no task running
        return outcome

    got, when = run_until(loop, main(), if_stuck="gather() of two children that fail at 0.5 and 0.25 s.")
    assert isinstance(got, ValueError) and when == 0.25, (
        f"gather() raised {got!r} at loop time {when}. Its children fail at "
        "0.5 s (KeyError, first argument) and 0.25 s (ValueError). gather() "
        "raises the first failure *in time*, when it happens: set the outer "
        "Future's exception in the child's done-callback, not once all are done.")


@pytest.mark.exercise("6.4")
def test_gather_leaves_the_other_children_running_when_one_fails(aio, virtual_loop):
    loop = virtual_loop

    async def main():
        early = loop.create_task(failing(aio, 0.25, ValueError("early")))
        late = loop.create_task(failing(aio, 0.5, KeyError("late")))
        slow = loop.create_task(sleepy(aio, 0.75, "slow"))
        try:
            await aio.gather(early, late, slow)
        except ValueError:
            pass
        await aio.sleep(1)  # past the siblings' ends
        return late, slow

    late, slow = run_until(loop, main(), if_stuck="gather() of children ending at 0.25, 0.5 and 0.75 s.")
    outcomes = {name: describe_outcome(task) for name, task in [("late", late), ("slow", slow)]}
    assert outcomes == {"late": "raised KeyError", "slow": "returned 'slow'"}, (
        f"after one child of gather() failed, its siblings ended so: {outcomes}. "
        "Expected the one failing later to raise its KeyError and the slow one "
        "to return 'slow': gather() does not cancel the siblings of a failed "
        "child (asyncio's neither; a TaskGroup would).")


READ_A_CANCELLED_CHILD = (
    "Did gather() call exception() or result() on the cancelled child? Both "
    "raise CancelledError (in a done-callback, the loop only logs it): check "
    "child.cancelled() first.")


async def gather_with_one_child_cancelled(aio, loop, **options):
    """gather(doomed, sibling, **options): doomed is cancelled at 0.25 s, sibling returns
    'sibling' at 0.75 s. Returns what awaiting gather() gave ("CancelledError" or
    "returned [...]"), the loop time then, and the sibling task."""
    doomed = loop.create_task(sleepy(aio, 60, "never"))
    sibling = loop.create_task(sleepy(aio, 0.75, "sibling"))
    loop.call_later(0.25, doomed.cancel)
    try:
        outcome = f"returned {await aio.gather(doomed, sibling, **options)!r}", loop.time()
    except aio.CancelledError:
        outcome = "CancelledError", loop.time()
    await aio.sleep(1)  # past the sibling's end: leave no task running
    return (*outcome, sibling)


@pytest.mark.exercise("6.5")  # it cancels a task: Task.cancel() is 6.5
def test_a_childs_cancellation_makes_gather_raise_cancelled_error(aio, virtual_loop):
    got, when, _sibling = run_until(virtual_loop, gather_with_one_child_cancelled(aio, virtual_loop),
                                    if_stuck="gather() of two children, one cancelled at 0.25 s. "
                                    + READ_A_CANCELLED_CHILD)
    assert (got, when) == ("CancelledError", 0.25), (
        f"a child of gather() was cancelled at 0.25 s; the awaiting coroutine "
        f"got {got} at loop time {when}. Expected CancelledError at 0.25, as "
        "asyncio does: a cancelled child ends gather() like a failed one.")


@pytest.mark.exercise("6.4")
@pytest.mark.parametrize("return_exceptions", [
    pytest.param(False, id="raising"),
    pytest.param(True, id="return-exceptions"),
])
def test_a_childs_cancellation_leaves_its_siblings_running(aio, virtual_loop, return_exceptions):
    scenario = gather_with_one_child_cancelled(aio, virtual_loop, return_exceptions=return_exceptions)
    *_outcome, sibling = run_until(virtual_loop, scenario, if_stuck="gather() of two children, one cancelled "
                                   "at 0.25 s. " + READ_A_CANCELLED_CHILD)
    assert describe_outcome(sibling) == "returned 'sibling'", (
        f"one child of gather() was cancelled; its sibling {describe_outcome(sibling)}, "
        "expected it to return 'sibling'. A child's cancellation is not "
        "gather()'s: cancel the children only when the outer Future itself was "
        "cancelled (outer.cancelled()), not whenever CancelledError comes out.")


@pytest.mark.exercise("6.5")  # it cancels a task: Task.cancel() is 6.5
def test_gather_with_return_exceptions_lists_a_cancelled_child_as_cancelled_error(aio, virtual_loop):
    loop = virtual_loop

    async def main():
        doomed = loop.create_task(sleepy(aio, 60, "never"))
        loop.call_later(0.25, doomed.cancel)
        got = await aio.gather(doomed, sleepy(aio, 0.75, "sibling"), return_exceptions=True)
        return got, loop.time()

    got, when = run_until(loop, main(), if_stuck="gather(return_exceptions=True) of two children, one "
                          "cancelled at 0.25 s. " + READ_A_CANCELLED_CHILD)
    assert (len(got), when) == (2, 0.75) and isinstance(got[0], aio.CancelledError) and got[1] == "sibling", (
        f"gather(return_exceptions=True) gave {got!r} at loop time {when}; "
        "expected [CancelledError(), 'sibling'] at 0.75: a cancelled child is "
        "listed as a CancelledError instance, and gather() waits for the rest.")


@pytest.mark.exercise("6.4")
def test_gather_of_nothing_is_an_empty_list(aio, loop):
    async def main():
        return await aio.gather()

    assert run_until(loop, main(), if_stuck="`await gather()` with no arguments.") == []


@pytest.mark.exercise("6.4")
def test_run_returns_the_result_and_closes_its_loop(aio, fd_leak_check):
    async def main():
        return aio.get_running_loop()

    with within(5, "run() of a coroutine that returns at once."):
        used = aio.run(main())
    assert isinstance(used, aio.EventLoop), f"get_running_loop() inside run() gave {used!r}"
    assert used.is_closed(), "run() must close its loop when it returns"


@pytest.mark.exercise("6.4")
def test_run_raises_the_exception(aio):
    with within(5, "run() of a coroutine that raises."), pytest.raises(ValueError):
        aio.run(failing(aio))


@pytest.mark.exercise("6.5")  # it cancels a task: Task.cancel() is 6.5
def test_run_cancels_the_tasks_left_running(aio):
    log = []

    async def forgotten():
        try:
            await aio.sleep(60)
        finally:
            log.append("cleaned up")

    async def main():
        aio.get_running_loop().create_task(forgotten())
        await aio.sleep(0.01)
        return "main done"

    try:
        with within(5, "main() returned after 0.01 s, leaving a task asleep for 60 s: run() should cancel it."):
            got = aio.run(main())
    except BaseException as error:  # the lesson's CancelledError is a BaseException, as asyncio's
        if type(error).__name__ != "CancelledError":
            raise
        pytest.fail("run() raised CancelledError while it cancelled the task main() left behind. Await the "
                    "cancelled leftovers so that their CancelledError is collected, not raised: "
                    "gather(..., return_exceptions=True) lists a cancelled child as a CancelledError",
                    pytrace=False)
    assert got == "main done" and log == ["cleaned up"], (
        f"run() returned {got!r}; the forgotten task's finally-block log is {log}. When main() returns, run() "
        "cancels the tasks still pending and runs the loop until they have finished, then closes it.")


# --- 6.5 Cancellation ------------------------------------------------------------------------

@pytest.mark.exercise("6.5")
def test_cancelling_a_sleeping_task_throws_cancelled_error_into_it(aio, loop):
    log = []

    async def sleeper():
        try:
            await aio.sleep(60)
        except aio.CancelledError:
            log.append("saw CancelledError")
            raise
        finally:
            log.append("finally")

    task = loop.create_task(sleeper())
    loop.call_later(0.01, task.cancel)
    with pytest.raises(aio.CancelledError):
        run_until(loop, task, if_stuck="A task asleep for 60 s was cancelled after 0.01 s.", cancelled_ok=True)
    assert log == ["saw CancelledError", "finally"], (
        f"the cancelled coroutine logged {log}. cancel() must raise CancelledError *inside* the coroutine, at "
        "the await it is parked on, so its except/finally blocks run: cancel the Future it waits on "
        "(_fut_waiter); its wake-up then raises CancelledError from result().")
    assert task.cancelled(), "a task whose coroutine let CancelledError through is cancelled()"


@pytest.mark.exercise("6.5")
def test_a_task_may_catch_the_cancellation_and_return(aio, loop):
    async def stubborn():
        try:
            await aio.sleep(60)
        except aio.CancelledError:
            return "caught it"

    task = loop.create_task(stubborn())
    loop.call_later(0.01, task.cancel)
    got = run_until(loop, task, if_stuck="A task asleep for 60 s was cancelled after 0.01 s and caught it.")
    assert got == "caught it" and not task.cancelled(), (
        f"the coroutine caught CancelledError and returned; expected the task's result 'caught it', got {got!r}")


@pytest.mark.exercise("6.5")
def test_awaiting_a_cancelled_task_raises_cancelled_error(aio, loop):
    async def main():
        child = loop.create_task(sleepy(aio, 60, "never"))
        await aio.sleep(0.01)
        child.cancel()
        try:
            await child
        except aio.CancelledError:
            return "CancelledError"
        return "child returned"

    got = run_until(loop, main(), if_stuck="main() cancelled a child asleep for 60 s and awaited it.")
    assert got == "CancelledError", f"awaiting a cancelled task should raise CancelledError; main() got {got!r}"


@pytest.mark.exercise("6.5")
def test_cancelling_a_task_that_is_not_parked_on_a_future(aio, loop):
    log = []

    async def yielder():
        try:
            while True:
                await aio.sleep(0)  # never parked on a Future: always ready to run
        except aio.CancelledError:
            log.append("saw CancelledError")
            raise

    task = loop.create_task(yielder())
    loop.call_later(0.01, task.cancel)
    with pytest.raises(aio.CancelledError):
        run_until(loop, task, if_stuck="A task that loops on sleep(0) was cancelled after 0.01 s.",
                  cancelled_ok=True)
    assert log == ["saw CancelledError"], (
        f"log is {log}. A task that waits on no Future (it only yields) is cancelled by its next step: cancel() "
        "sets _must_cancel and _step throws CancelledError into the coroutine.")


@pytest.mark.exercise("6.5")
def test_cancelling_a_task_before_it_starts(aio, loop):
    log = []

    async def never_started():
        log.append("ran")

    task = loop.create_task(never_started())
    assert task.cancel() is True, "cancel() of a pending task returns True"
    with pytest.raises(aio.CancelledError):
        run_until(loop, task, cancelled_ok=True)
    assert log == [] and task.cancelled(), (
        f"a task cancelled before its first step must not run its body (log {log}), and ends cancelled")
    assert task.cancel() is False, "cancel() of a task that is done returns False"


@pytest.mark.exercise("6.5")
def test_cancelling_gather_cancels_its_children(aio, loop):
    log = []

    async def child(name):
        try:
            await aio.sleep(60)
        except aio.CancelledError:
            log.append(name)
            raise

    async def main():
        waiting = loop.create_task(aio.gather(child("a"), child("b")))
        await aio.sleep(0.01)
        waiting.cancel()
        try:
            await waiting
        except aio.CancelledError:
            pass
        await aio.sleep(0.01)  # let the children see their cancellation

    run_until(loop, main(), if_stuck="A gather() of two 60 s sleepers was cancelled after 0.01 s.")
    assert sorted(log) == ["a", "b"], (
        f"cancelling the task that awaits gather() should cancel every child; these saw CancelledError: {log}")


# --- 6.6 Readiness callbacks --------------------------------------------------------------------

@pytest.mark.exercise("6.6")
def test_add_reader_calls_back_when_readable_and_remove_reader_unregisters(watched_loop, pair):
    loop, selector = watched_loop
    left, right = pair
    got = []

    def on_readable():
        got.append(left.recv(100))
        assert loop.remove_reader(left.fileno()) is True, "remove_reader() of a watched fd returns True"
        loop.stop()

    loop.add_reader(left.fileno(), on_readable)
    assert registered(selector) == [(left.fileno(), selectors.EVENT_READ)], (
        f"after add_reader the selector should watch the fd for EVENT_READ; it holds {registered(selector)}")
    loop.call_later(0.01, right.send, b"ping")
    run_forever(loop, if_stuck="add_reader on a socket that receives b'ping' after 0.01 s.")
    assert got == [b"ping"], f"the reader callback should have read b'ping', got {got}"
    assert registered(selector) == [], (
        f"after remove_reader the selector still holds {registered(selector)}: unregister an fd nobody waits on")
    assert loop.remove_reader(left.fileno()) is False, "remove_reader() of an fd not watched returns False"


@pytest.mark.exercise("6.6")
def test_a_reader_and_a_writer_share_one_registration(watched_loop, pair):
    loop, selector = watched_loop
    left, _ = pair
    fd = left.fileno()
    calls = []
    loop.add_reader(fd, calls.append, "read")
    loop.add_writer(fd, calls.append, "write")
    both = selectors.EVENT_READ | selectors.EVENT_WRITE
    assert registered(selector) == [(fd, both)], (
        f"one fd, a reader and a writer: the selector should hold one registration for both events, holds "
        f"{registered(selector)}. register() once, then modify() (a second register() raises KeyError).")
    loop.call_soon(loop.stop)
    run_forever(loop)
    assert calls == ["write"], (
        f"the socket is writable but has nothing to read: only the writer should run, got {calls}")
    assert loop.remove_writer(fd) is True
    assert registered(selector) == [(fd, selectors.EVENT_READ)], (
        f"after remove_writer the reader is still there: expected EVENT_READ only, got {registered(selector)}")
    removed = loop.remove_reader(fd)
    assert removed is True and registered(selector) == [], (
        f"remove_reader() of the last event returned {removed!r} and left {registered(selector)}; "
        "expected True and no registration: unregister an fd nobody waits on")


# --- 6.7 Socket coroutines ------------------------------------------------------------------

async def recv_exactly(loop, sock: socket.socket, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        piece = await loop.sock_recv(sock, size - len(received))
        if not piece:
            break
        received += piece
    return bytes(received)


@pytest.mark.exercise("6.7")
def test_sock_recv_waits_for_data(aio, watched_loop, pair):
    loop, selector = watched_loop
    left, right = pair
    loop.call_later(0.05, right.send, b"hello")
    got = run_until(loop, loop.sock_recv(left, 100), if_stuck=(
        "sock_recv() on a socket that receives b'hello' after 0.05 s. On BlockingIOError, add a reader "
        "whose callback sets the Future's result, and await the Future."))
    assert got == b"hello", f"expected b'hello', got {got!r}"


@pytest.mark.exercise("6.7")
@pytest.mark.parametrize("ending", ["data", "eof", "cancelled"])
def test_sock_recv_leaves_no_registration_behind(aio, watched_loop, pair, ending):
    loop, selector = watched_loop
    left, right = pair
    seen = {}

    async def receive():
        try:
            seen["got"] = await loop.sock_recv(left, 100)
        finally:
            seen["registered"] = registered(selector)

    task = loop.create_task(receive())
    action = {"data": lambda: right.send(b"x"), "eof": lambda: right.shutdown(socket.SHUT_WR),
              "cancelled": task.cancel}[ending]
    loop.call_later(0.02, action)
    try:
        run_until(loop, task, if_stuck=f"sock_recv() ended by {ending} after 0.02 s.", cancelled_ok=True)
    except aio.CancelledError:
        pass
    assert seen.get("registered") == [], (
        f"when sock_recv() ended ({ending}), the selector still held {seen.get('registered')}. Remove the reader "
        "when the Future is done, whatever the outcome: future.add_done_callback(... remove_reader(fd)). "
        "(It is scheduled before the task's wake-up, so it runs first.)")


@pytest.mark.exercise("6.7")
def test_sock_recv_returns_empty_bytes_when_the_peer_closes(aio, loop, pair):
    left, right = pair
    loop.call_later(0.02, right.shutdown, socket.SHUT_WR)
    got = run_until(loop, loop.sock_recv(left, 100), if_stuck="The peer closed its side after 0.02 s.")
    assert got == b"", f"recv() returns b'' when the peer has closed; sock_recv should too, got {got!r}"


@pytest.mark.exercise("6.7")
def test_sock_sendall_sends_more_than_the_buffer_holds(aio, watched_loop, pair):
    loop, selector = watched_loop
    left, right = pair

    async def main():
        reader = loop.create_task(recv_exactly(loop, right, len(PAYLOAD)))
        await loop.sock_sendall(left, PAYLOAD)
        after = registered(selector)
        return await reader, after

    got, after = run_until(loop, main(), if_stuck=(
        "sock_sendall() of 4 MiB while another task reads it. When send() takes only part, wait for "
        "EVENT_WRITE (add_writer) and send the rest from where it stopped."))
    assert got == PAYLOAD, f"the reader got {len(got)} bytes of {len(PAYLOAD)}, or different bytes"
    assert after == [(right.fileno(), selectors.EVENT_READ)] or after == [], (
        f"after sock_sendall() returned, the selector held {after}: remove the writer when its Future is done")


def connect_error(loop, sock: socket.socket, address, seconds: float, if_stuck: str) -> OSError | None:
    """The OSError sock_connect() raised, or None if it connected."""
    try:
        run_until(loop, loop.sock_connect(sock, address), seconds=seconds, if_stuck=if_stuck)
    except OSError as error:
        return error
    return None


CONNECT_ERROR_HINT = (
    "Raise OSError(err, text) with the err read from SO_ERROR: Python picks the "
    "subclass from err (ECONNREFUSED: ConnectionRefusedError, ETIMEDOUT: "
    "TimeoutError) and sets .errno; do not pick a class yourself.")


@pytest.mark.exercise("6.7")
def test_sock_connect_to_a_closed_port_raises_connection_refused(aio, loop):
    sock = socket.socket()
    sock.setblocking(False)
    with sock:
        got = connect_error(loop, sock, refused_address(), seconds=5, if_stuck=(
            "sock_connect() to a port where nothing listens. On BlockingIOError wait for EVENT_WRITE, then "
            "read SO_ERROR: nonzero is the error to raise."))
    if not (isinstance(got, ConnectionRefusedError) and got.errno == errno.ECONNREFUSED):
        pytest.fail(f"sock_connect() to a port where nothing listens ended with {got!r};\n"
                    "expected ConnectionRefusedError with errno ECONNREFUSED.\n" + CONNECT_ERROR_HINT, pytrace=False)


@pytest.mark.exercise("6.7")
@pytest.mark.skipif(not hasattr(socket, "TCP_SYNCNT"), reason="needs Linux's TCP_SYNCNT to time out in seconds")
def test_sock_connect_that_gets_no_answer_raises_timeout_error(aio, loop):
    with silent_address() as address, socket.socket() as sock:
        sock.setblocking(False)
        short_syn_timeout(sock)  # the kernel gives up after 1 to 3 s, not 2 minutes
        got = connect_error(loop, sock, address, seconds=8, if_stuck=(
            "sock_connect() to a listener that drops every SYN; the kernel gives "
            "up after 1 to 3 s and reports ETIMEDOUT in SO_ERROR."))
    if not (isinstance(got, TimeoutError) and got.errno == errno.ETIMEDOUT):
        pytest.fail(f"sock_connect() to an address that never answers ended with {got!r};\n"
                    "expected TimeoutError with errno ETIMEDOUT.\n" + CONNECT_ERROR_HINT, pytrace=False)


@pytest.mark.exercise("6.7")
def test_sock_accept_gives_a_non_blocking_connection(aio, loop):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)

        async def main():
            client = socket.socket()
            client.setblocking(False)
            with client:
                connecting = loop.create_task(loop.sock_connect(client, listener.getsockname()))
                conn, address = await loop.sock_accept(listener)
                await connecting
                with conn:
                    return conn.gettimeout(), address == client.getsockname()

        timeout, same = run_until(loop, main(), if_stuck="sock_accept() while a task connects.")
    assert same, "sock_accept() should return (conn, the client's address)"
    assert timeout == 0.0, (
        f"the accepted socket has timeout {timeout}; it must be non-blocking (conn.setblocking(False)), or "
        "the first recv() on it blocks the whole loop")


@pytest.mark.exercise("6.7")
def test_waiting_on_a_socket_does_not_spin(aio, loop, pair):
    left, right = pair
    loop.call_later(IDLE_WAIT, right.send, b"late")
    cpu = cpu_seconds_of(lambda: run_until(loop, loop.sock_recv(left, 100)))
    assert cpu < IDLE_CPU_LIMIT, (
        f"waiting {IDLE_WAIT} s in sock_recv() used {cpu:.2f} s of CPU; an idle loop uses about 0.001 s. Let "
        "select() wake the loop when the fd is readable; never retry recv() in a loop of sleep(0).")


class Barrier:
    """Every waiter is released once `parties` of them have arrived (built on your Future)."""

    def __init__(self, loop, parties: int) -> None:
        self.waiting = parties
        self.all_here = loop.create_future()

    async def wait(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.all_here.set_result(None)
        await self.all_here


async def echo_handler(loop, conn: socket.socket) -> None:
    with conn:
        while data := await loop.sock_recv(conn, 65536):
            await loop.sock_sendall(conn, data)


async def echo_server(loop, listener: socket.socket, handlers: list) -> None:
    while True:
        conn, _ = await loop.sock_accept(listener)
        handlers.append(loop.create_task(echo_handler(loop, conn)))


async def echo_client(loop, address, number: int, barrier: Barrier, progress: dict) -> bytes:
    first = b"client %d says hello;" % number
    second = b"%d" % number * 5000  # several segments' worth
    sock = socket.socket()
    sock.setblocking(False)
    with sock:
        await loop.sock_connect(sock, address)
        await loop.sock_sendall(sock, first)
        echoed = await recv_exactly(loop, sock, len(first))
        progress["at the barrier"] += 1
        await barrier.wait()  # all connections open at once: a one-at-a-time server never gets past here
        await loop.sock_sendall(sock, second)
        echoed += await recv_exactly(loop, sock, len(second))
        sock.shutdown(socket.SHUT_WR)
        end = await loop.sock_recv(sock, 1)  # b"": the handler saw our EOF and closed
        progress["done"] += 1
        return echoed if end == b"" else echoed + b"<more after the echo: " + end + b">"


@pytest.mark.exercise("6.7")
@pytest.mark.timeout(20)
def test_an_echo_server_serves_100_concurrent_clients(aio, fd_leak_check, watched_loop):
    loop, selector = watched_loop
    progress = {"at the barrier": 0, "done": 0}
    handlers: list = []

    async def main(listener):
        server = loop.create_task(echo_server(loop, listener, handlers))
        barrier = Barrier(loop, CLIENTS)
        address = listener.getsockname()
        try:
            return await aio.gather(*(echo_client(loop, address, n, barrier, progress) for n in range(CLIENTS)))
        finally:
            server.cancel()
        # the handlers end by themselves: each client closed its side

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(CLIENTS)
        listener.setblocking(False)
        started = time.monotonic()
        echoes = run_until(loop, main(listener), seconds=15, if_stuck=(
            f"An echo server and {CLIENTS} clients on your loop; progress: {progress} (clients at the barrier "
            f"wait until all {CLIENTS} have their first echo)."))
        elapsed = time.monotonic() - started
        run_until(loop, gather_all(aio, handlers), if_stuck="The echo handlers did not finish after EOF.")
    expected = [b"client %d says hello;" % n + b"%d" % n * 5000 for n in range(CLIENTS)]
    wrong = [n for n in range(CLIENTS) if echoes[n] != expected[n]]
    assert not wrong, (
        f"clients {wrong[:5]} got back something else than they sent (in gather's argument order); client "
        f"{wrong[0]} got {echoes[wrong[0]][:60]!r}...")
    left = registered(selector)
    assert left == [], (
        f"after every client and handler finished, the selector still watches {len(left)} fd(s): "
        f"{left[:5]}{' ...' if len(left) > 5 else ''}. Remove each reader and writer once its Future is done")
    assert elapsed < 15


async def gather_all(aio, tasks) -> None:
    await aio.gather(*tasks, return_exceptions=True)
