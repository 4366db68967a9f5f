"""Lesson 08 mistakes the tests must catch (see course/mutants.py)."""

QUEUE_AND_RUN = "        self.pipeline.append(cycle)\n        if self.running is None:\n            self._run_next()"
END_OF_MESSAGE = "            self.parsing.end_of_body()\n            self.parsing = None"

MUTANTS = {
    # The widely shared tutorial server's mistakes (issue 5).
    "parser state shared by every connection": [
        ('CONTINUE = b"HTTP/1.1 100 Continue\\r\\n\\r\\n"',
         'CONTINUE = b"HTTP/1.1 100 Continue\\r\\n\\r\\n"\nSHARED_HEADERS: list = []'),
        ('        self.url = b""\n        self.headers = []\n\n    def on_url',
         '        self.url = b""\n        SHARED_HEADERS.clear()\n        self.headers = SHARED_HEADERS\n\n    def on_url'),
    ],
    '"OK" for every status': [("self.conn.transport.write(response_head(status, headers + extra))",
                               "self.conn.transport.write(response_head(200, headers + extra).replace(b' 200 OK', b' %d OK' % status))")],
    "the connection closed after each request": [("if not cycle.keep_alive or not cycle.body_complete",
                                                  "if True or not cycle.body_complete")],
    "pipelined requests run at once (responses out of order)": [
        (QUEUE_AND_RUN, "        self.pipeline.append(cycle)\n        self._run_next()")],
    "a body for HEAD, 204 and 304": [
        ('if self.scope["method"] == "HEAD" or status < 200 or status in NO_BODY_STATUSES:', "if False:")],
    "HEAD answered with the GET body": [('if self.scope["method"] == "HEAD" or status < 200', "if status < 200")],
    "the whole body read before the app starts": [
        (QUEUE_AND_RUN, "        self.pipeline.append(cycle)"),
        (END_OF_MESSAGE, END_OF_MESSAGE + "\n            if self.running is None:\n                self._run_next()")],
    "no http.disconnect when the client leaves": [
        ("        if self.running is not None:\n            self.running.disconnect()\n", "")],
    "receive() hangs after the response": [
        ("await self._wait_until(lambda: self.disconnected or self.state is Response.DONE)",
         "await self._wait_until(lambda: self.disconnected)")],
    "an app crash closes the connection without a 500": [
        ("            # END EXERCISE\n            return\n        if self.state",
         "            # END EXERCISE\n            self.conn.transport.close()\n            return\n        if self.state"),
        ("            self.fail(500)\n            # END EXERCISE", "            # END EXERCISE")],
    "an app crash leaves the connection hanging": [("            self.fail(500)\n            # END EXERCISE",
                                                   "            pass\n            # END EXERCISE")],
    "a 500 that keeps the connection open": [
        ("            self.keep_alive = False  # a failed request", "            pass  # a failed request"),
        ("            self._send_body({\"type\": \"http.response.body\", \"body\": body})\n        self.conn.transport.close()",
         "            self._send_body({\"type\": \"http.response.body\", \"body\": body})\n        else:\n            self.conn.transport.close()")],
    "lifespan startup failure leaves the server up": [
        ("            self.listener.close()  # a server whose app refused to start must not accept anyone\n"
         "            await self.listener.wait_closed()\n            raise",
         "            pass")],
    "lifespan.startup.failed ignored": [
        ('"lifespan.startup.failed": (self.started, LifespanFailure(', '"lifespan.startup.failed": (self.started, None and (')],
    "no 400 for a bad request (just a close)": [
        ("            self.bad_request(str(error))", "            self.transport.close()")],
    "no 100 Continue": [("            self.conn.transport.write(CONTINUE)", "            pass")],
    "chunked sent to an HTTP/1.0 client": [
        ('        if self.scope["http_version"] == "1.0":\n            self.keep_alive = False\n            return Framing.CLOSE\n', "")],
    "no chunked framing when the app gives no length": [
        ("            data = (chunk(body) if body else b\"\") + (b\"\" if more_body else LAST_CHUNK)", "            data = body")],
    "header names not lower-cased": [("self.headers.append((name.lower(), value))", "self.headers.append((name, value))")],
    "path not percent-decoded": [('"path": unquote(url.path.decode("latin-1")),', '"path": url.path.decode("latin-1"),')],
    "no date header": [('extra = [] if b"date" in names else [(b"date", http_date())]', "extra = []")],
    "shutdown leaves connections open": [("        for conn in list(self.connections):\n            conn.transport.close()\n", "")],
    "lifespan state not passed to requests": [('"state": dict(self.shared.lifespan.state),', '"state": {},')],
    "send() accepts messages in any order": [
        ("        elif self.state is Response.BODY and kind == \"http.response.body\":",
         "        elif kind == \"http.response.body\":"),
        ("        else:\n            raise RuntimeError(f\"ASGI message {kind!r} is not allowed", "        elif False:\n            raise RuntimeError(f\"ASGI message {kind!r} is not allowed")],
    # Issue 12: Host, unsupported upgrades, send() after the client has gone.
    "no Host check (check_head never called)": [
        ("        check_head(http_version, self.headers)  # a BadRequest", "        # a BadRequest")],
    "Host required from HTTP/1.0 clients too": [
        ("        check_head(http_version, self.headers)  # a BadRequest",
         '        check_head("1.1", self.headers)  # a BadRequest')],
    "every refusal answered 400 (BadRequest.status ignored)": [
        ('                self.bad_request(str(cause), getattr(cause, "status", 400))',
         "                self.bad_request(str(cause))")],
    "an Upgrade it does not speak answered 400": [
        ("                data = data[upgrade.args[0]:]",
         '                self.bad_request("protocol upgrades are not supported")\n                return')],
    "the bytes after an Upgrade request dropped": [("                data = data[upgrade.args[0]:]", "                return")],
    "the body of an Upgrade request read as the next request": [
        ('            raise BadRequest("an Upgrade or CONNECT request with a body")', "            pass")],
    "send() after the client has gone writes into the void": [
        ("        if self.disconnected:\n            raise ClientDisconnected(f\"the client went away before",
         "        if False:\n            raise ClientDisconnected(f\"the client went away before")],
    "send() after the client has gone raises a RuntimeError": [
        ("            raise ClientDisconnected(f\"the client went away before",
         "            raise RuntimeError(f\"the client went away before")],
    "a client that left logged as an app error": [
        ("        except ClientDisconnected:\n            return  # the client left mid-response: nobody to tell\n", "")],
    # Issue 13: an app that returns from the lifespan call.
    "an app that returns from lifespan refused in auto mode": [
        ('            if not self.started.done() and self.mode == "auto":', "            if False:")],
    "an app that returns from lifespan accepted in on mode": [
        ('            if not self.started.done() and self.mode == "auto":', "            if not self.started.done():")],
    "the command line ignores a failed startup": [
        ('        logger.error("The app did not start: %s", error)\n        return 3',
         '        logger.error("The app did not start: %s", error)\n        await asyncio.Event().wait()')],
}
