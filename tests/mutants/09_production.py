"""Lesson 09 mistakes the tests must catch (see course/mutants.py)."""

MUTANTS = {
    # 9.1 timeouts
    "idle keep-alive connections never time out": [
        ("        if self.deadline is None:  # 9.1: idle now", "        if False:  # 9.1: idle now")],
    "the timer is armed once and never moved earlier": [
        ("        if self.timer is None or deadline < self.timer_at:", "        if self.timer is None:")],
    "every header pushes the head deadline back (slowloris survives)": [
        ("        self.headers.append((name.lower(), value))\n",
         "        self.headers.append((name.lower(), value))\n        self.wait_for_bytes(self.shared.timeout_request_head)\n")],
    "the head timeout keeps running while the app works": [
        ("        self.deadline = None  # 9.1: the head is complete", "        pass  # 9.1: the head is complete")],
    # 9.2 limits
    "no limit on the head (no 431)": [
        ("        if self.head_bytes > self.shared.max_header_bytes:  # 9.2\n            raise Rejected(431, f\"request head",
         "        if False:  # 9.2\n            raise Rejected(431, f\"request head"),
        ("        if self.head_bytes > self.shared.max_header_bytes:  # 9.2\n            raise Rejected(431, f\"request line",
         "        if False:  # 9.2\n            raise Rejected(431, f\"request line")],
    "a limit refused with 400 instead of its own status": [
        ("            if isinstance(rejection, Rejected):", "            if False:")],
    "Content-Length checked only as the body arrives": [
        ("                self.check_content_length()  # 9.2", "                pass  # 9.2")],
    "limit_concurrency ignored": [
        ("            self.app = service_unavailable_app  # swapped once", "            pass  # swapped once")],
    # 9.3 flow control
    "reading never paused for an app that does not read": [
        ("        if len(self.body) >= READ_HIGH_WATER:  # 9.3", "        if False:  # 9.3")],
    "reading paused but never resumed": [
        ("        if self.conn.reading_paused:  # 9.3: the app made room", "        if False:  # 9.3: the app made room")],
    "send() never waits for a slow client": [
        ("            if self.conn.writing_paused:  # 9.3", "            if False:  # 9.3")],
    # 9.4 graceful shutdown
    "shutdown closes busy connections at once": [
        ("        if self.running is None:\n            self.transport.close()\n            return\n        # Reading goes on",
         "        if True:\n            self.transport.close()\n            return\n        # Reading goes on")],
    "shutdown waits for ever for a stuck app": [
        ("                await asyncio.wait_for(asyncio.shield(self.all_closed), self.timeout_graceful_shutdown)",
         "                await self.all_closed")],
    "SIGTERM ignored": [("    for signum in (signal.SIGINT, signal.SIGTERM):\n        loop.add_signal_handler(signum, stop.set)\n    host, port",
                         "    for signum in (signal.SIGINT,):\n        loop.add_signal_handler(signum, stop.set)\n    host, port")],
    # 9.5 resilience
    "accept() retried at once after EMFILE (a busy loop)": [
        ("                self.loop.remove_reader(self.listener.fileno())\n                self.loop.call_later(self.accept_delay, self._resume_accepting)\n"
         "                self.accept_delay = min(self.accept_delay * 2, MAX_ACCEPT_RETRY_DELAY)\n                return",
         "                continue")],
    # 9.6 workers
    "a crashed worker is not replaced": [
        ("                print(f\"Worker {pid} exited ({code}); starting another\", flush=True)\n"
         "                children.add(_fork_worker(app, host, port, options, holder))",
         "                print(f\"Worker {pid} exited ({code})\", flush=True)")],
}
