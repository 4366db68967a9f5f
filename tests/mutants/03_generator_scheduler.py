"""Lesson 03 mistakes the tests must catch (see course/mutants.py)."""

PUSH = "        heapq.heappush(self.timers, (deadline, next(self._sequence), task))"
POP = "            _deadline, _sequence, task = heapq.heappop(self.timers)"
READY_AGAIN = "        if request is None:\n            self.ready.append(task)\n"
SLEEP_REQUEST = "            self._sleep_until(clock() + request.seconds, task)"

MUTANTS = {
    "timers served in FIFO order, not by deadline": [
        (PUSH, "        self.timers.append((deadline, next(self._sequence), task))"),
        (POP, "            _deadline, _sequence, task = self.timers.pop(0)"),
    ],
    "equal deadlines broken by task id, not by the order they slept": [
        (PUSH, "        heapq.heappush(self.timers, (deadline, task.id, task))"),
    ],
    "no tie-breaker: the heap compares tasks": [
        (PUSH, "        heapq.heappush(self.timers, (deadline, task))"),
        (POP, "            _deadline, task = heapq.heappop(self.timers)"),
    ],
    "a task's exception kills the scheduler": [
        ("        except Exception as crash:", "        except ArithmeticError as crash:"),
    ],
    "return values lost": [
        ("            self.results[task.id] = finished.value", "            self.results[task.id] = None"),
    ],
    "return value taken from the last yield, not StopIteration.value": [
        ("        except StopIteration as finished:\n            self.results[task.id] = finished.value",
         "        except StopIteration:\n            self.results[task.id] = getattr(task, 'last', None)"),
    ],
    "results keyed by completion order, not task id": [
        ("            self.results[task.id] = finished.value", "            self.results[len(self.results) + 1] = finished.value"),
    ],
    "run_all lists results in completion order": [
        ("    return [results[task_id] for task_id in ids]", "    return list(results.values())"),
    ],
    "bare yield drops the task": [(READY_AGAIN, "        if request is None:\n            pass\n")],
    "bare yield runs the same task again at once": [
        ("            request = next(task.gen)\n",
         "            request = next(task.gen)\n            while request is None:\n                request = next(task.gen)\n"),
    ],
    "the wall clock: clock = time.time": [("clock = time.monotonic", "clock = time.time")],
    "time.time() called directly": [
        ("        return clock()\n", "        return time.time()\n"),
        (SLEEP_REQUEST, "            self._sleep_until(time.time() + request.seconds, task)"),
        ("            pause(max(0.0, self.timers[0][0] - clock()))", "            pause(max(0.0, self.timers[0][0] - time.time()))"),
        ("        now = clock()\n", "        now = time.time()\n"),
    ],
    "sleeping inside the task's step (one after another)": [
        (SLEEP_REQUEST, "            pause(max(0.0, request.seconds))\n            self.ready.append(task)"),
    ],
    "pause() while tasks are ready": [("        if not self.ready:\n            # A slow", "        if True:\n            # A slow")],
    "a negative pause when a deadline has passed": [
        ("            pause(max(0.0, self.timers[0][0] - clock()))", "            pause(self.timers[0][0] - clock())"),
    ],
    "a busy task starves the timers": [("            for _ in range(len(self.ready)):", "            while self.ready:")],
    "spawn() accepts a function it was not called": [
        ("        if not isinstance(gen, types.GeneratorType):", "        if gen is None:"),
    ],
}
