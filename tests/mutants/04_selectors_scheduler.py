"""Lesson 04 mistakes the tests must catch (see course/mutants.py)."""

WANTED = "        wanted = (EVENT_READ if sock in self.readers else 0) | (EVENT_WRITE if sock in self.writers else 0)\n"

MUTANTS = {
    "the selector is never closed": [
        ("        with selectors.DefaultSelector() as self.selector:  #",
         "        self.selector = selectors.DefaultSelector()\n        if True:  #"),
    ],
    "a woken socket stays registered": [
        ("            self.selector.unregister(sock)  #", "            pass  #"),
    ],
    "the same socket registered twice": [
        ("            self.selector.modify(sock, wanted)", "            self.selector.register(sock, wanted)"),
    ],
    "a second waiter replaces the first one's events": [
        (WANTED, "        wanted = EVENT_READ if sock in self.readers else (EVENT_WRITE if sock in self.writers else 0)\n"),
    ],
    "a writable socket wakes its reader": [
        ("        if mask & EVENT_READ and sock in self.readers:", "        if sock in self.readers:"),
    ],
    "the loop polls: select(0)": [
        ("events = self.selector.select(self._timeout())", "events = self.selector.select(0)"),
    ],
    "the loop polls until the next timer": [
        ("            return max(0.0, self.timers[0][0] - clock())", "            return 0"),
    ],
    "timers ignored while sockets are idle": [
        ("        if self.timers:\n            return max(",
         "        if self.timers and not (self.readers or self.writers):\n            return max("),
    ],
    "phase 4 also runs the tasks that became ready during it": [
        ("                    for _ in range(len(self.ready)):\n", "                    while self.ready:\n"),
    ],
    "a socket wait blocks the whole loop (lesson 02's drive() inside the loop)": [
        ("            waiting[sock] = task\n",
         "            __import__('select').select(*([[sock], []] if event == EVENT_READ else [[], [sock]]), [])\n"
         "            self.ready.append(task)\n            return\n"),
    ],
    "results in completion order": [
        ("    return [results[task_id] for task_id in ids]", "    return list(results.values())"),
    ],
    "one failing task stops the loop": [
        ("        except Exception as crash:  #", "        except ArithmeticError as crash:  #"),
    ],
    "an error registering a socket stops the loop": [
        ("            except (ValueError, OSError) as error:  #", "            except KeyError as error:  #"),
    ],
    "run_all runs the tasks one after another": [
        ("    loop = Loop()\n    ids = [loop.spawn(task() if callable(task) else task) for task in tasks]\n"
         "    results = loop.run()  # in the order tasks finished, which is not spawn order\n"
         "    return [results[task_id] for task_id in ids]\n",
         "    results = []\n    for task in tasks:\n        loop = Loop()\n"
         "        task_id = loop.spawn(task() if callable(task) else task)\n"
         "        results.append(loop.run()[task_id])\n    return results\n"),
    ],
    "run_all does not call callables": [
        ("loop.spawn(task() if callable(task) else task) for task in tasks]",
         "loop.spawn(task) for task in tasks]"),
    ],
    "run() returns the task's exception instead of raising it": [
        ("    if isinstance(result, BaseException):\n        raise result\n", ""),
    ],
}
