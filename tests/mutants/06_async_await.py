"""Lesson 06 mistakes the tests must catch (see course/mutants.py)."""

SET_RESULT_CHECK = (
    "        if self._state != _PENDING:\n"
    "            raise InvalidStateError(f\"{self!r} is already done\")\n"
    "        self._result = result\n")
GATHER_DONE = "            outer.set_result([_outcome(each) for each in children])"
GATHER_FAILURE = (
    "            if child.exception() is not None:\n"
    "                outer.set_exception(child.exception())\n"
    "                return\n")
GATHER_CANCELLED = (
    "            if child.cancelled():  # first: exception() of a cancelled Future raises\n"
    "                outer.set_exception(CancelledError())\n"
    "                return\n")
BAD_YIELD = (
    "            self._loop.call_soon(self._step, RuntimeError(\n"
    "                f\"{self!r} got {yielded!r} from its coroutine; await a Future or sleep() instead\"))\n")
CONNECT_ERROR = '                raise OSError(error, f"connect to {address} failed: {errno.errorcode.get(error, error)}")'

MUTANTS = {
    "a Future can be set twice": [(SET_RESULT_CHECK, "        self._result = result\n")],
    "a task is resumed twice per await": [
        ("            yielded.add_done_callback(self._wakeup)  # exactly one wake-up per wait\n",
         "            yielded.add_done_callback(self._wakeup)\n            yielded.add_done_callback(self._wakeup)\n"),
    ],
    "done-callbacks run synchronously inside set_result": [
        ("            self._loop.call_soon(callback, self)\n", "            callback(self)\n"),
    ],
    "a callback added to a done Future is lost": [
        ("        if self.done():\n            self._loop.call_soon(fn, self)\n        else:\n"
         "            self._callbacks.append(fn)",
         "        self._callbacks.append(fn)"),
    ],
    "a task's exception is not propagated to its awaiter": [
        ("        except BaseException as error:  # its own bug: it reaches whoever awaits this Task\n"
         "            super().set_exception(error)",
         "        except BaseException as error:  # its own bug: it reaches whoever awaits this Task\n"
         "            super().set_result(None)"),
    ],
    "await returns the result without raising the exception": [
        ("        return self.result()\n        # END EXERCISE\n\n    __iter__",
         "        return self._result\n        # END EXERCISE\n\n    __iter__"),
    ],
    "gather returns results in completion order": [
        ("    pending = len(children)\n", "    pending = len(children)\n    finished = []\n"),
        ("        pending -= 1\n", "        pending -= 1\n        finished.append(child)\n"),
        (GATHER_DONE, "            outer.set_result([_outcome(each) for each in finished])"),
    ],
    "sleep(0) does not yield": [
        ("    if delay <= 0:\n        await _yield_once()\n        return result",
         "    if delay <= 0:\n        return result"),
    ],
    "cancel() marks the task cancelled without telling its coroutine": [
        ("        if self._fut_waiter is not None and self._fut_waiter.cancel(msg):",
         "        return Future.cancel(self, msg)\n        if self._fut_waiter is not None and self._fut_waiter.cancel(msg):"),
    ],
    "a ready task is never cancelled": [
        ("        self._must_cancel = True  # a step", "        pass  # a step"),
    ],
    "cancelling gather leaves its children running": [
        ("            for child in children:\n                child.cancel()\n", "            pass\n"),
    ],
    "run() leaves pending tasks uncancelled": [
        ("            _cancel_all_tasks(loop)\n", "            pass\n"),
    ],
    "sock_recv leaves its fd registered": [
        ("        self.add_reader(fd, self._sock_recv, future, sock, nbytes)\n"
         "        future.add_done_callback(functools.partial(self._forget_reader, fd))\n",
         "        self.add_reader(fd, self._sock_recv, future, sock, nbytes)\n"),
    ],
    "sock_recv unregisters only on success": [
        ("    def _forget_reader(self, fd: int, future: Future) -> None:\n        self.remove_reader(fd)",
         "    def _forget_reader(self, fd: int, future: Future) -> None:\n"
         "        if not future.cancelled() and future.result():\n            self.remove_reader(fd)"),
    ],
    "remove_reader leaves an empty registration": [
        ("        if events:\n            self._selector.modify(fd, events, tuple(handlers))\n"
         "        else:\n            self._selector.unregister(fd)",
         "        self._selector.modify(fd, events or selectors.EVENT_READ, tuple(handlers))"),
    ],
    "sock_sendall assumes send() takes everything": [
        ("        position[0] += sent  # a list, so the next call sees how far we got\n"
         "        if position[0] == len(view):\n",
         "        if True:\n"),
    ],
    "the accepted socket stays blocking": [("            conn.setblocking(False)\n", "")],
    "connect errors ignored": [
        ("            if error:  # OSError", "            if False:  # OSError"),
    ],
    "timers use time.monotonic() instead of the loop's clock": [
        ("        return self.call_at(self.time() + delay, callback, *args)",
         "        return self.call_at(time.monotonic() + delay, callback, *args)"),
    ],
    "timers due at the same time run last-in first-out": [
        ("(when, next(self._sequence), timer)", "(when, -next(self._sequence), timer)"),
    ],
    "the loop polls: select(0)": [
        ("        events = self._selector.select(self._timeout())", "        events = self._selector.select(0)"),
    ],
    "phase 4 runs callbacks that became ready during it": [
        ("        for _ in range(len(self._ready)):\n            self._run_handle",
         "        while self._ready:\n            self._run_handle"),
    ],
    "phase 4 bypasses _run_handle (no blocked-loop report)": [
        ("            self._run_handle(self._ready.popleft())",
         "            handle = self._ready.popleft()\n            if not handle.cancelled():\n"
         "                handle._run()"),
    ],
    "call_soon runs the callback at once": [
        ("        handle = Handle(callback, args, self)\n        self._ready.append(handle)\n",
         "        handle = Handle(callback, args, self)\n        callback(*args)\n"),
    ],
    "create_task runs the first step at once": [
        ("        self._loop.call_soon(self._step)\n        # END EXERCISE\n\n    def get_name",
         "        self._step()\n        # END EXERCISE\n\n    def get_name"),
    ],
    # gather() when children fail or are cancelled (asyncio's rules; see its docstring)
    "gather raises once every child is done, the first failure in argument order": [
        (GATHER_FAILURE, ""),
        (GATHER_DONE,
         "            failures = [each.exception() for each in children\n"
         "                        if not each.cancelled() and each.exception() is not None]\n"
         "            if failures and not return_exceptions:\n"
         "                outer.set_exception(failures[0])\n"
         "                return\n" + GATHER_DONE),
    ],
    "gather cancels the siblings of a failed child": [
        (GATHER_FAILURE,
         "            if child.exception() is not None:\n"
         "                outer.set_exception(child.exception())\n"
         "                for sibling in children:\n"
         "                    sibling.cancel()\n"
         "                return\n"),
    ],
    "a cancelled child: gather reads its exception(), which raises": [(GATHER_CANCELLED, "")],
    "a child's cancellation cancels its siblings": [
        ("        if outer.cancelled():  # we were cancelled", "        if True:  # we were cancelled"),
    ],
    "return_exceptions: a cancelled child still makes gather raise": [
        (GATHER_CANCELLED, ""),
        ("        if not return_exceptions:\n",
         "        if child.cancelled():\n"
         "            outer.set_exception(CancelledError())\n"
         "            return\n"
         "        if not return_exceptions:\n"),
    ],
    "return_exceptions: the list reads a cancelled child's exception(), which raises": [
        ("    if child.cancelled():\n        return CancelledError()\n", ""),
    ],
    # a coroutine that yields something else than a Future or None
    "a bad yield is taken for a bare yield": [(BAD_YIELD, "            self._loop.call_soon(self._step)\n")],
    "a bad yield raises in the loop's callback, not in the coroutine": [
        (BAD_YIELD, "            raise RuntimeError(f\"got {yielded!r}; await a Future or sleep() instead\")\n"),
    ],
    "a bad yield fails the Task without telling its coroutine": [
        (BAD_YIELD, "            Future.set_exception(self, RuntimeError(f\"got {yielded!r}: await a Future\"))\n"),
    ],
    "the bad-yield error does not say what was yielded": [
        (BAD_YIELD, "            self._loop.call_soon(self._step, RuntimeError(\"bad yield\"))\n"),
    ],
    # a cancelled sleep() and a cancelled timer
    "a cancelled sleep leaves its timer live": [
        ("        timer.cancel()  # woken early (cancelled)", "        pass  # woken early (cancelled)"),
    ],
    "a cancelled timer still wakes the loop": [
        ("        while self._scheduled and self._scheduled[0][2].cancelled():\n"
         "            heapq.heappop(self._scheduled)  # a cancelled timer must not wake the loop\n", ""),
    ],
    # which OSError sock_connect() raises
    "every connect error raised as ConnectionRefusedError": [
        (CONNECT_ERROR, '                raise ConnectionRefusedError(error, f"connect to {address} failed")'),
    ],
    "a connect error raised as a bare OSError(text), without its errno": [
        (CONNECT_ERROR, '                raise OSError(f"connect to {address} failed: error {error}")'),
    ],
    "a connect error raised as ConnectionRefusedError(text), without its errno": [
        (CONNECT_ERROR, '                raise ConnectionRefusedError(f"connect to {address} failed: error {error}")'),
    ],
}
