"""Lesson 03 — a generator scheduler. Each test names the exercise it checks.

Most tests run the scheduler on a fake clock: the `fake_clock` fixture puts a
FakeClock in place of the module's `clock` and `pause`, so time moves only when the
scheduler pauses (or a task "works" by moving it on), and a 3-second sleep takes no
real time. Wake-up times are then exact, and the order of events is checked exactly.
Three tests use the real clock: now() must read time.monotonic(), sleeping tasks
must really overlap, and a wall-clock jump (time.time() going back an hour) must
not disturb the timers.
"""

import time
import types

import pytest

pytestmark = pytest.mark.timeout(5)  # each test here needs well under a second

START = 1000.0  # the fake clock does not start at 0, as time.monotonic() does not
SLOW_TASK_SECONDS = 1.0
MAX_PAUSES = 100_000  # more pauses than any test here needs: the scheduler is waiting for the wrong clock  # how long the fake "slow" task claims to have computed


@pytest.fixture(scope="module")
def sched(load_lesson):
    return load_lesson(3)


class FakeClock:
    """Stands in for the module's clock() and pause(): time moves only when told to."""

    def __init__(self, start: float = START) -> None:
        self.time = start
        self.pauses: list[float] = []  # every pause() the scheduler asked for, in seconds

    def __call__(self) -> float:
        return self.time

    def pause(self, seconds: float) -> None:
        if seconds < 0:  # what time.sleep() does with a negative length
            raise ValueError(
                f"sleep length must be non-negative: the scheduler asked to pause {seconds} s.\n"
                "A deadline already past is due now: pause max(0.0, deadline - clock())")
        self.pauses.append(seconds)
        self.time += seconds
        if len(self.pauses) > MAX_PAUSES:
            raise AssertionError(
                f"the scheduler paused {len(self.pauses)} times and its sleepers are still not awake: it waits "
                "for a clock other than the module's clock() (time.monotonic() or time.time() read directly?)")


def refuse_real_sleep(seconds):
    raise AssertionError(
        f"the scheduler called time.sleep({seconds!r}) directly: wait through the module's pause(seconds), "
        "so that tests (and the fake clock) control time")


@pytest.fixture
def fake_clock(sched, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(sched, "clock", clock)
    monkeypatch.setattr(sched, "pause", clock.pause)
    monkeypatch.setattr(time, "sleep", refuse_real_sleep)
    return clock


def clock_hint(clock: FakeClock) -> str:
    """The extra hint when the fake clock ran far ahead: the scheduler read another clock."""
    if clock.time - START > 1e5:
        return (" (The fake clock ran far ahead: your code reads time.monotonic() or time.time() itself. "
                "Read the time only through the module's clock(), and wait only through pause().)")
    return ""


def nobody_woke_hint(log: list) -> str:
    """Said first when no sleeper woke at all: the order of the heap is not the problem then."""
    if log:
        return ""
    return ("No sleeper woke up at all, so the order is not the problem yet: when a timer is due, "
            "pop it off self.timers and put its task on self.ready, so run() steps it again. ")


def sleeper(sched, clock, log, name, seconds, result=None):
    """A task: sleeps (yields the lesson's Sleep request), notes (name, seconds since START), returns `result`."""
    yield sched.Sleep(seconds)
    log.append((name, clock() - START))
    return result


def run_one(sched, gen):
    """[the result of running `gen` as the only task], or ["<no result>"]."""
    scheduler = sched.Scheduler()
    task_id = scheduler.spawn(gen)
    return [scheduler.run().get(task_id, "<no result>")]


# -- exercise 3.1: sleep -----------------------------------------------------------------


@pytest.mark.exercise("3.1")
def test_sleep_yields_one_sleep_request(sched):
    steps = sched.sleep(0.5)
    assert isinstance(steps, types.GeneratorType), (
        f"sleep(0.5) must return a generator (tasks write `yield from sleep(0.5)`), got {steps!r}: put a `yield` in it")
    requests = list(steps)
    assert requests == [sched.Sleep(0.5)], (
        f"sleep(0.5) must yield exactly one request, Sleep(0.5); it yielded {requests!r}")


@pytest.mark.exercise("3.1")
def test_yield_from_sleep_returns_none_when_resumed(sched):
    steps = sched.sleep(2)
    next(steps)
    with pytest.raises(StopIteration) as finished:
        steps.send(None)  # the scheduler resumes the task: the sleep is over
    assert finished.value.value is None, "sleep() has nothing to return: end the generator after its one yield"


# -- exercise 3.2: spawn and now -----------------------------------------------------------


def idle():
    yield


@pytest.mark.exercise("3.2")
def test_spawn_returns_distinct_increasing_ids(sched):
    scheduler = sched.Scheduler()
    ids = [scheduler.spawn(idle()) for _ in range(5)]
    assert all(isinstance(task_id, int) for task_id in ids), f"spawn() returns an int task id, got {ids!r}"
    assert ids == sorted(set(ids)), f"each spawn() returns a new id, larger than the last; got {ids!r}"


@pytest.mark.exercise("3.2")
@pytest.mark.parametrize("not_a_generator", [
    pytest.param(idle, id="function-not-called"),
    pytest.param([1, 2], id="list"),
    pytest.param(None, id="None"),
])
def test_spawn_rejects_what_is_not_a_generator(sched, not_a_generator):
    with pytest.raises(TypeError):
        sched.Scheduler().spawn(not_a_generator)
        pytest.fail(f"spawn({not_a_generator!r}) accepted it; expected TypeError.\n"
                    "Only a generator object is a task: check isinstance(gen, types.GeneratorType)",
                    pytrace=False)


@pytest.mark.exercise("3.2")
def test_now_reads_the_modules_clock(sched, fake_clock):
    scheduler = sched.Scheduler()
    assert scheduler.now() == START, (
        f"now() returned {scheduler.now()!r} while the module's clock() said {START}: return clock() "
        "(the tests replace the module-level clock with a fake one)")
    fake_clock.time += 2.5
    assert scheduler.now() == START + 2.5, "now() must read clock() each time it is called"


@pytest.mark.exercise("3.2")
def test_now_is_monotonic_time_by_default(sched):
    assert sched.clock is time.monotonic, (
        f"the module-level clock must stay time.monotonic, got {sched.clock!r}")
    before = time.monotonic()
    now = sched.Scheduler().now()
    after = time.monotonic()
    assert before <= now <= after, (
        f"now() returned {now}, but time.monotonic() read {before} just before and {after} just after: "
        "use the monotonic clock; time.time() is the wall clock, and it jumps when someone sets it")


# -- exercise 3.3: run, one step at a time -------------------------------------------------


def counter(log, name, steps, result=None):
    for i in range(steps):
        log.append(f"{name}{i}")
        yield
    return result


@pytest.mark.exercise("3.3")
def test_return_value_arrives_from_stop_iteration(sched):
    def answer():
        yield
        return 42

    scheduler = sched.Scheduler()
    task_id = scheduler.spawn(answer())
    results = scheduler.run()
    assert task_id in results, (
        f"run() returned {results!r}: the task never finished. It did a bare `yield` once; "
        "after a bare yield, put the task back on self.ready so run() steps it again")
    assert results == {task_id: 42}, (
        f"run() must return {{task id: return value}}, expected {{{task_id}: 42}}, got {results!r}: "
        "when next(gen) raises StopIteration, its .value is what the generator returned")


@pytest.mark.exercise("3.3")
def test_every_result_is_kept_even_none(sched):
    def returns(value):
        yield
        return value

    scheduler = sched.Scheduler()
    values = [None, 0, "", "text", [1, 2]]
    ids = [scheduler.spawn(returns(value)) for value in values]
    results = scheduler.run()
    expected = dict(zip(ids, values))
    assert results == expected, (
        f"expected {expected!r}, got {results!r}: store every task's result under its id, "
        "even None, 0 and empty ones")


@pytest.mark.exercise("3.3")
def test_bare_yield_lets_the_others_run_in_turn(sched):
    log = []
    scheduler = sched.Scheduler()
    for name in "abc":
        scheduler.spawn(counter(log, name, 3))
    scheduler.run()
    expected = ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    assert log == expected, (
        f"three tasks that each `yield` between steps must take turns: expected {expected}, got {log}. "
        "A bare yield puts the task at the back of the ready queue; run the next task, not the same one again")


@pytest.mark.exercise("3.3")
def test_bare_yield_reschedules_until_the_task_finishes(sched):
    log = []
    scheduler = sched.Scheduler()
    task_id = scheduler.spawn(counter(log, "t", 5, result="done"))
    results = scheduler.run()
    assert log == ["t0", "t1", "t2", "t3", "t4"] and results == {task_id: "done"}, (
        f"a task that yields 5 times must run to its end: got steps {log} and results {results!r}. "
        "After a bare yield, append the task to the ready queue again, or it is lost")


@pytest.mark.exercise("3.3")
def test_a_crashing_task_does_not_stop_the_others(sched):
    log = []

    def crash_at_once():
        raise ValueError("crashed before its first yield")
        yield  # unreachable: it only makes this function a generator

    def crash_later():
        yield
        raise KeyError("crashed after one yield")

    scheduler = sched.Scheduler()
    first = scheduler.spawn(counter(log, "a", 3, result="a ok"))
    at_once = scheduler.spawn(crash_at_once())
    later = scheduler.spawn(crash_later())
    last = scheduler.spawn(counter(log, "b", 3, result="b ok"))
    try:
        results = scheduler.run()
    except (ValueError, KeyError) as crash:  # a task's own exception, let out of run()
        pytest.fail(f"run() raised the task's {crash!r}: one task's crash stopped them all.\n"
                    "Catch Exception around next(task.gen) in _step(), store it as that task's "
                    "result, and carry on", pytrace=False)

    assert results.get(first) == "a ok" and results.get(last) == "b ok", (
        f"the tasks that did not crash must finish with their results, got {results!r}: "
        "catch the exception around next(task.gen), store it as that task's result, and carry on")
    for task_id, kind in ((at_once, ValueError), (later, KeyError)):
        assert isinstance(results.get(task_id), kind), (
            f"a task that raises {kind.__name__} has that exception instance as its result, "
            f"got {results.get(task_id)!r}")


@pytest.mark.exercise("3.3")
def test_yielding_something_else_is_that_tasks_type_error(sched):
    def yields_a_number():
        yield 0.5  # a common slip for `yield Sleep(0.5)`

    scheduler = sched.Scheduler()
    bad = scheduler.spawn(yields_a_number())
    good = scheduler.spawn(counter([], "g", 2, result="fine"))
    results = scheduler.run()
    assert isinstance(results.get(bad), TypeError) and results.get(good) == "fine", (
        f"a task that yields 0.5 (neither None nor a Sleep) gets a TypeError as its result and the others go on; "
        f"got {results!r}")


@pytest.mark.exercise("3.3")
def test_a_task_can_spawn_another(sched):
    scheduler = sched.Scheduler()
    child_ids = []

    def child():
        yield
        return "child"

    def parent():
        child_ids.append(scheduler.spawn(child()))
        yield
        return "parent"

    parent_id = scheduler.spawn(parent())
    results = scheduler.run()
    assert results == {parent_id: "parent", child_ids[0]: "child"}, (
        f"a task spawned while run() runs must run too, got {results!r}: keep going while the ready queue has tasks")


@pytest.mark.exercise("3.3")
def test_a_sleep_request_goes_to_sleep_until_at_its_deadline(sched, fake_clock):
    scheduler = sched.Scheduler()
    handed_over = []  # (deadline, task id) of each _sleep_until() call
    scheduler._sleep_until = lambda deadline, task: handed_over.append((deadline, task.id))

    def naps():
        yield sched.Sleep(2.5)

    task_id = scheduler.spawn(naps())
    scheduler.run()  # the fake _sleep_until keeps no timer: the task is dropped, run() ends
    paused = f" Instead it paused {fake_clock.pauses} s itself." if fake_clock.pauses else ""
    assert handed_over == [(START + 2.5, task_id)], (
        f"a task yielded Sleep(2.5) at clock() == {START}: expected _step() to call "
        f"self._sleep_until({START + 2.5}, task) once; got calls {handed_over}.{paused} "
        "A step never waits: the timer heap (3.4) wakes the task, so others run meanwhile")


@pytest.mark.exercise("3.3")
def test_run_checks_the_timers_between_turns_of_a_busy_task(sched, fake_clock):
    scheduler = sched.Scheduler()
    events = []

    def sleep_until(deadline, task):
        events.append("sleep")
        scheduler.timers.append((deadline, 0, task))

    def wake_timers():  # a stand-in for 3.4: the sleeper is due once nothing else is ready
        events.append("wake")
        if not scheduler.ready:
            scheduler.ready.extend(task for _deadline, _sequence, task in scheduler.timers)
            scheduler.timers.clear()

    scheduler._sleep_until, scheduler._wake_timers = sleep_until, wake_timers

    def busy():
        for turn in range(5):
            events.append(f"busy{turn}")
            yield

    def naps():
        yield sched.Sleep(1)

    scheduler.spawn(busy())
    scheduler.spawn(naps())
    scheduler.run()
    assert "sleep" in events, (
        f"a task yielded Sleep(1), yet _step() never called self._sleep_until (events: {events})")
    after_sleep = events[events.index("sleep"):]
    unchecked = [step for before, step in zip(after_sleep, after_sleep[1:])
                 if step.startswith("busy") and before != "wake"]
    assert not unchecked, (
        f"while a timer waited, run() stepped {unchecked} without calling "
        f"self._wake_timers() first (events: {events}). "
        "Step only the tasks ready at the start of a turn (for _ in range(len(self.ready))), "
        "then check the timers again: a busy task must not starve a sleeper")


@pytest.mark.exercise("3.3")
def test_run_with_no_tasks_returns_an_empty_dict(sched):
    assert sched.Scheduler().run() == {}, "run() with nothing spawned has nothing to do: return {}"


# -- exercise 3.4: the timer heap (fake clock) ---------------------------------------------


@pytest.mark.exercise("3.4")
def test_timers_wake_by_deadline_not_in_the_order_they_slept(sched, fake_clock):
    log = []
    scheduler = sched.Scheduler()
    for name, seconds in (("three", 3.0), ("one", 1.0), ("two", 2.0), ("half", 0.5)):
        scheduler.spawn(sleeper(sched, fake_clock, log, name, seconds))
    scheduler.run()
    expected = [("half", 0.5), ("one", 1.0), ("two", 2.0), ("three", 3.0)]
    assert log == expected, (
        f"expected the sleepers to wake (name, seconds after the start) as {expected}, got {log}. "
        + nobody_woke_hint(log) + "A task sleeping s seconds is due at clock() + s; keep the timers in a heap ordered by deadline "
        "(heapq), not in a FIFO queue" + clock_hint(fake_clock))


@pytest.mark.exercise("3.4")
def test_equal_deadlines_wake_in_the_order_they_slept(sched, fake_clock):
    log = []

    def sleep_after_yields(name, yields):
        for _ in range(yields):
            yield  # bare yields take no (fake) time: every task sleeps at the same moment, in turn
        yield sched.Sleep(1.0)
        log.append(name)

    scheduler = sched.Scheduler()
    # Spawned a, b, c, d, e; they go to sleep in the order e, d, c, b, a (fewest yields first).
    for yields, name in enumerate("abcde"):
        scheduler.spawn(sleep_after_yields(name, 4 - yields))
    try:
        scheduler.run()
    except TypeError as error:
        pytest.fail(f"run() raised TypeError: {error}. With equal deadlines, heapq compares the next item of "
                    "the tuples, the tasks, which cannot be ordered: put a sequence number in between, "
                    "(deadline, sequence, task)", pytrace=False)
    assert log == list("edcba"), (
        f"five tasks went to sleep for 1 s at the same fake moment in the order e, d, c, b, a; they must "
        f"wake in that order, got {log}. " + nobody_woke_hint(log) + "Put a sequence number that counts sleeps (not the task id) between "
        "the deadline and the task in each heap entry, (deadline, sequence, task)")


@pytest.mark.exercise("3.4")
def test_sleeping_tasks_overlap_on_the_fake_clock(sched, fake_clock):
    log = []
    scheduler = sched.Scheduler()
    for i in range(100):
        scheduler.spawn(sleeper(sched, fake_clock, log, i, 1.0))
    scheduler.run()
    finished_after = fake_clock.time - START
    assert len(log) == 100 and finished_after == 1.0, (
        f"100 tasks that each sleep 1 s at the same moment must all be done 1 s later, "
        f"but {len(log)} finished after {finished_after} s of (fake) time. " + nobody_woke_hint(log) +
        "Sleeping tasks wait together on the heap; pause only until the earliest deadline, "
        "and never pause while a task is ready" + clock_hint(fake_clock))


@pytest.mark.exercise("3.4")
def test_ready_tasks_do_not_wait_for_timers(sched, fake_clock):
    log = []

    def busy():
        for i in range(5):
            log.append(("busy", fake_clock() - START))
            yield

    scheduler = sched.Scheduler()
    scheduler.spawn(sleeper(sched, fake_clock, log, "sleeper", 2.0))
    scheduler.spawn(busy())
    scheduler.run()
    busy_times = [when for name, when in log if name == "busy"]
    assert busy_times == [0.0] * 5, (
        f"a task that only does bare yields must run at once while another sleeps; its steps ran at "
        f"{busy_times} s: pause() only when nothing is ready")


@pytest.mark.exercise("3.4")
def test_a_busy_task_cannot_starve_a_sleeper(sched, fake_clock):
    woke = []

    def sleeper_then_flag():
        yield sched.Sleep(1.0)
        woke.append(fake_clock() - START)

    def busy_until_woken():
        turns = 0
        while not woke and turns < 100:
            fake_clock.time += 0.25  # a quarter-second of real work per turn
            turns += 1
            yield
        return turns

    scheduler = sched.Scheduler()
    scheduler.spawn(sleeper_then_flag())
    busy_id = scheduler.spawn(busy_until_woken())
    turns = scheduler.run()[busy_id]
    assert woke and turns <= 5, (
        f"the sleeper was due after 1 s, i.e. 4 busy turns, but the busy task ran {turns} turns "
        f"({'and the sleeper never woke' if not woke else f'the sleeper woke at {woke[0]} s'}): "
        "check the timers between turns, run each ready task once per turn" + clock_hint(fake_clock))


@pytest.mark.exercise("3.4")
def test_a_deadline_already_past_does_not_pause_negative(sched, fake_clock):
    def slow_work():
        fake_clock.time += SLOW_TASK_SECONDS  # computes for a second without yielding
        return "slow"
        yield

    log = []
    scheduler = sched.Scheduler()
    sleeper_id = scheduler.spawn(sleeper(sched, fake_clock, log, "short", 0.5, result="woke"))
    scheduler.spawn(slow_work())
    results = scheduler.run()
    assert results.get(sleeper_id) == "woke", (
        f"a sleeper due at 0.5 s, behind a task that computed for {SLOW_TASK_SECONDS} s, must just wake late; "
        f"got results {results!r}, pauses {fake_clock.pauses}: pause max(0, deadline - clock()) seconds; "
        "time.sleep() raises ValueError for a negative length")


@pytest.mark.exercise("3.4")
@pytest.mark.parametrize("seconds", [pytest.param(0, id="zero"), pytest.param(-1, id="negative")])
def test_sleep_zero_or_negative_wakes_at_once(sched, fake_clock, seconds):
    def task():
        yield sched.Sleep(seconds)
        return "ok"

    results = run_one(sched, task())
    assert results == ["ok"] and fake_clock.time == START, (
        f"sleep({seconds}) is due at once: expected the task to finish at once, got results {results!r} "
        f"after {fake_clock.time - START} s, pauses {fake_clock.pauses}")


@pytest.mark.exercise("3.4")
def test_a_task_crashing_after_a_sleep_spares_the_sleepers(sched, fake_clock):
    def crash_after(seconds):
        yield sched.Sleep(seconds)
        raise RuntimeError(f"crashed at {seconds}")

    log = []
    scheduler = sched.Scheduler()
    crasher = scheduler.spawn(crash_after(1.0))
    survivor = scheduler.spawn(sleeper(sched, fake_clock, log, "survivor", 2.0, result="alive"))
    results = scheduler.run()
    assert isinstance(results.get(crasher), RuntimeError) and results.get(survivor) == "alive", (
        f"one task crashing after its sleep must not stop a task still sleeping; got {results!r}")


@pytest.mark.exercise("3.4")
def test_the_scheduler_ignores_wall_clock_jumps(sched, monkeypatch):
    """Real clock: time.time() jumps back an hour (someone set the clock); sleeps must not notice."""
    assert sched.clock is time.monotonic, f"the module-level clock must stay time.monotonic, got {sched.clock!r}"
    wall_start = time.time()
    calls = []

    def wall_clock_set_back():
        calls.append(1)
        return wall_start - 3600 * (len(calls) > 1)  # every reading after the first is an hour earlier

    real_sleep = time.sleep

    def guarded_pause(seconds):
        if seconds > 1.0:
            raise AssertionError(
                f"a task asked to sleep 0.05 s, and the scheduler paused for {seconds:.0f} s after the wall "
                "clock was set back an hour: it measures time with time.time(). Use the module's clock() "
                "(time.monotonic), which never jumps")
        real_sleep(seconds)

    monkeypatch.setattr(time, "time", wall_clock_set_back)
    monkeypatch.setattr(sched, "pause", guarded_pause)

    def task():
        yield sched.Sleep(0.05)
        return "on time"

    started = time.monotonic()
    results = run_one(sched, task())
    elapsed = time.monotonic() - started
    assert results == ["on time"] and 0.04 <= elapsed < 1.0, (
        f"a 0.05 s sleep took {elapsed:.3f} s (results {results!r}) while the wall clock jumped: "
        "deadlines must come from clock(), the monotonic clock")


@pytest.mark.exercise("3.4")
@pytest.mark.timeout(15)
def test_many_sleepers_wake_exactly_on_time(sched, fake_clock):
    count = 20_000
    log = []
    scheduler = sched.Scheduler()
    # Deadlines 0.25 s apart in a scrambled order (7919 is prime, so i*7919 % count visits every slot once).
    seconds_of = {i: (i * 7919 % count) / 4 for i in range(count)}
    for i in range(count):
        scheduler.spawn(sleeper(sched, fake_clock, log, i, seconds_of[i], result=i))
    scheduler.run()
    late = [(name, when) for name, when in log if when != seconds_of[name]]
    assert len(log) == count and not late, (
        f"{count} sleepers: {len(log)} woke, {len(late)} at the wrong time (first: {late[:3]}); "
        "each must wake exactly at its own deadline" + clock_hint(fake_clock))
    assert [when for _, when in log] == sorted(when for _, when in log), "the sleepers must wake in deadline order"


# -- exercise 3.4 on the real clock ---------------------------------------------------------


@pytest.mark.exercise("3.4")
def test_sleeping_tasks_really_overlap(sched, monkeypatch):
    """Real time: 100 tasks sleeping 0.2 s take about 0.2 s together, not 20 s in a row."""
    real_pause = sched.pause
    paused = []

    def counting_pause(seconds):
        paused.append(seconds)
        if sum(paused) > 2.0:
            raise AssertionError(
                f"the scheduler has paused {sum(paused):.1f} s in {len(paused)} pauses for 100 tasks that each "
                "sleep 0.2 s: they are sleeping one after another. Put each sleeper on the timer heap and go on "
                "with the next task; pause only when nothing is ready, until the earliest deadline")
        real_pause(seconds)

    monkeypatch.setattr(sched, "pause", counting_pause)

    def nap():
        yield sched.Sleep(0.2)
        return "rested"

    scheduler = sched.Scheduler()
    ids = [scheduler.spawn(nap()) for _ in range(100)]
    started = time.monotonic()
    results = scheduler.run()
    elapsed = time.monotonic() - started
    assert [results.get(task_id) for task_id in ids] == ["rested"] * 100, f"every nap must finish, got {results!r}"
    # 0.2 s is the least it can take; 1.5 s leaves room for a busy machine, and is far from 20 s.
    assert 0.19 <= elapsed < 1.5, (
        f"100 tasks each sleeping 0.2 s took {elapsed:.2f} s together; expected about 0.2 s "
        "(one after another they would take 20 s): put sleepers on the timer heap and go on "
        "with the next task, never pause() inside a task's step")


# -- exercise 3.5: run_all ------------------------------------------------------------------


@pytest.mark.exercise("3.5")
def test_run_all_returns_results_in_spawn_order(sched, fake_clock):
    log = []
    gens = [sleeper(sched, fake_clock, log, name, seconds, result=name)
            for name, seconds in (("slowest", 3.0), ("fastest", 1.0), ("middle", 2.0))]
    results = sched.run_all(gens)
    assert results == ["slowest", "fastest", "middle"], (
        f"run_all() lists results in the order the generators were given, not the order they finished; "
        f"expected ['slowest', 'fastest', 'middle'], got {results!r}")


@pytest.mark.exercise("3.5")
def test_run_all_keeps_exceptions_in_place(sched):
    def fails():
        yield
        raise ZeroDivisionError("division by zero")

    def ok(value):
        yield
        return value

    results = sched.run_all([ok(1), fails(), ok(3)])
    assert len(results) == 3 and results[0] == 1 and results[2] == 3 and isinstance(results[1], ZeroDivisionError), (
        f"expected [1, ZeroDivisionError(...), 3], got {results!r}: a crashed task's exception takes its place")


@pytest.mark.exercise("3.5")
def test_run_all_takes_any_iterable(sched):
    def square(n):
        yield
        return n * n

    results = sched.run_all(square(n) for n in range(4))
    assert results == [0, 1, 4, 9], f"run_all(a generator expression) must work too, got {results!r}"

