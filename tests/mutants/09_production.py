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
        ("        self.deadline = None  # 9.1: the head is complete", "        pass  # 9.1: the head is complete"),
        ("            self.deadline = None  # 9.1: the body is complete", "            pass  # 9.1: the body is complete")],
    "a timer that fires early is not armed again (idle after a second request: never closed)": [
        ("            self.timer_at = deadline\n            self.timer = self.loop.call_at(deadline, self.on_deadline)\n"
         "            return\n", "            return\n")],
    "no clock on a body that stops arriving": [
        ("            self.wait_for_bytes(self.shared.timeout_request_body)  # 9.1: a body is arriving",
         "            pass  # 9.1: a body is arriving")],
    "the body clock runs while the server itself has paused reading": [
        ("            self.deadline = None  # 9.1: we are the ones not reading", "            pass  # 9.1: we are the ones not reading")],
    "no clock on a client that reads nothing (send() waits for ever)": [
        ("        self.send_timer = self.loop.call_later(self.shared.timeout_send, self.on_send_timeout)\n", "")],
    # 9.2 limits
    "no limit on the head (no 431)": [
        ("        if self.head_bytes > self.shared.max_header_bytes:  # 9.2\n            raise Rejected(431, f\"request head",
         "        if False:  # 9.2\n            raise Rejected(431, f\"request head"),
        ("        if self.head_bytes > self.shared.max_header_bytes:  # 9.2\n            raise Rejected(431, f\"request line",
         "        if False:  # 9.2\n            raise Rejected(431, f\"request line")],
    "a header line that never ends is never counted (it grows in the parser)": [
        ("            self.count_open_head(len(data))  # 9.2", "            pass  # 9.2")],
    "a refusal closes at once, while the client still sends (a reset, not lingering)": [
        ("        else:\n            self.linger()\n", "        else:\n            self.transport.close()\n")],
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
    "a whole read is parsed at once (8,000 pipelined requests queued)": [
        ("FEED_SLICE = 4096  #", "FEED_SLICE = 1 << 30  #")],
    "pipelined requests run while the client reads none of the answers": [
        ("        if self.writing_paused:\n            return\n        self.running = cycle = self.pipeline.popleft()",
         "        self.running = cycle = self.pipeline.popleft()")],
    "connection_lost does not wake a send() waiting for the client to read": [
        ("            self.drained.set_result(None)  # 9.3: a send() waiting to drain wakes", "            pass  # 9.3: a send() waiting to drain wakes")],
    # 9.4 graceful shutdown
    "shutdown closes busy connections at once": [
        ("        if self.running is None and not self.pipeline:\n            self.transport.close()\n            return\n"
         "        # Reading goes on",
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
    "a worker whose app refuses to start is replaced, again and again": [
        ("                if code == 3:\n", "                if False:\n")],
    "SIGINT not handled by the supervisor (only SIGTERM)": [
        ("    watched = {signal.SIGCHLD, signal.SIGINT, signal.SIGTERM}", "    watched = {signal.SIGCHLD, signal.SIGTERM}")],
    "a crashed worker is not replaced": [
        ("                    print(f\"Worker {pid} exited ({code}); starting another\", flush=True)\n"
         "                    children.add(_fork_worker(app, host, port, options, holder))",
         "                    print(f\"Worker {pid} exited ({code})\", flush=True)")],
}
