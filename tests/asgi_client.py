"""An in-process ASGI client: drive an application with no server and no sockets.

`call(app, "GET", "/items/3?q=x")` builds the HTTP scope (ASGI spec, "HTTP" section),
feeds the request body to the app's `receive()`, collects what it `send()`s and
returns it as an `AsgiResponse`. `websocket_session()` does the same for a
`websocket` scope, `lifespan()` runs startup and shutdown. Standard library only;
every call is bounded in time, so a framework that never answers fails, never hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from urllib.parse import unquote

import pytest

WAIT = 5.0  # seconds one call may take: an in-process call takes milliseconds
RESPONSE_SENT = "response sent"  # what `log` gets once the last body message has been sent
APP_DONE = "app call ended"  # ... and once `await app(...)` has returned or raised


@dataclass
class AsgiResponse:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in the order the app sent them
    body: bytes
    messages: list[dict] = field(default_factory=list)  # every message the app sent

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def describe(self) -> str:
        """One line for a failure message: status, content type and the start of the body."""
        body = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return f"{self.status} ({self.header('content-type') or 'no content-type'}) {body!r}"


def first_difference(expected, got, where: str = "") -> str:
    """Where two JSON values first differ, e.g. `detail[1].loc[1]: expected 'x-token',
    got 'x_token'`, or "" when they are equal."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in [*expected, *(k for k in got if k not in expected)]:
            if key not in got or key not in expected:
                return f"{where}.{key}: expected {expected.get(key, '(absent)')!r}, got {got.get(key, '(absent)')!r}"
            found = first_difference(expected[key], got[key], f"{where}.{key}")
            if found:
                return found
        return ""
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (one, other) in enumerate(zip(expected, got)):
            found = first_difference(one, other, f"{where}[{index}]")
            if found:
                return found
        return ""
    return "" if expected == got else f"{where or 'the body'}: expected {expected!r}, got {got!r}"


def expect(response: AsgiResponse, status: int, body=None, *, what: str, hint: str) -> None:
    """Fail with what was asked, expected, got (and where the JSON first differs) and the
    next step, unless the status (and the JSON body, when given) match."""
    got_body = None
    if body is not None:
        try:
            got_body = response.json()
        except ValueError:
            got_body = "(not JSON) " + response.text[:120]
    if response.status == status and (body is None or got_body == body):
        return
    lines = [f"{what}:", f"  expected: {status} {body if body is not None else ''}".rstrip(),
             f"  got:      {response.describe()}"]
    if response.status == status and body is not None:
        lines.append(f"  first difference: {first_difference(body, got_body).lstrip('.')}")
    lines.append(f"  next step: {hint}")
    pytest.fail("\n".join(lines), pytrace=False)


def http_scope(method: str, target: str, headers=(), root_path: str = "") -> dict:
    path, _, query = target.partition("?")
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": unquote(path), "raw_path": path.encode(),
        "query_string": query.encode(), "root_path": root_path,
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }


async def _call(app, scope: dict, pieces: list[bytes], log: list | None) -> AsgiResponse:
    pending = [{"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
               for i, piece in enumerate(pieces)][::-1]  # popped from the end
    finished = asyncio.Event()

    async def receive() -> dict:
        if pending:
            return pending.pop()
        await finished.wait()  # after the request: a disconnect, once the response is out
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()
            if log is not None:
                log.append(RESPONSE_SENT)

    try:
        await asyncio.wait_for(app(scope, receive, send), WAIT)
    finally:
        if log is not None:
            log.append(APP_DONE)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    if start is None:
        raise AssertionError(f"the app returned without sending http.response.start; it sent {sent!r}")
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in start.get("headers", [])]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return AsgiResponse(start["status"], headers, body, sent)


def call(app, method: str, target: str, *, headers=(), body: bytes | list[bytes] = b"", json_body=None,
         root_path: str = "", state: dict | None = None, log: list | None = None) -> AsgiResponse:
    """One request, the app run to its end. `body` may be a list: one http.request message
    per piece. `json_body` sends JSON with its content type; `log` (a list) gets
    RESPONSE_SENT appended when the response's last byte is sent, APP_DONE when the
    app's call ends (before asyncio.run() finalises generators a crash left open).
    `state` is the scope's lifespan state (what lifespan() yielded)."""
    headers = list(headers)
    pieces = body if isinstance(body, list) else [body]
    body = b"".join(pieces)
    if json_body is not None:
        body = json.dumps(json_body).encode()
        pieces = [body]
        headers.append(("content-type", "application/json"))
    if body:
        headers.append(("content-length", str(len(body))))
    scope = http_scope(method, target, headers, root_path)
    scope["state"] = dict(state or {})  # a copy per request, as servers do (ASGI spec, "Lifespan State")
    return asyncio.run(_call(app, scope, pieces, log))


async def _websocket(app, path: str, incoming: list[dict]) -> list[dict]:
    scope = {**http_scope("GET", path), "type": "websocket", "scheme": "ws", "subprotocols": []}
    del scope["method"]
    queue = [{"type": "websocket.connect"}, *incoming, {"type": "websocket.disconnect", "code": 1000}]
    sent: list[dict] = []

    async def receive() -> dict:
        if not queue:  # the app asked again after the disconnect: ASGI apps must not
            raise AssertionError("receive() called after websocket.disconnect")
        return queue.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), WAIT)
    return sent


def websocket_session(app, path: str, incoming: list[dict]) -> list[dict]:
    """Connect, feed the client's messages in order (then a disconnect), return what the
    app sent. A message is e.g. {"type": "websocket.receive", "text": "hi"}."""
    return asyncio.run(_websocket(app, path, incoming))


@contextlib.asynccontextmanager
async def lifespan(app):
    """Run the app's lifespan: startup on entry, shutdown on exit; yields the scope's state.
    Raises AssertionError with the app's message if startup fails."""
    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, to_app.get, from_app.put))
    try:
        await to_app.put({"type": "lifespan.startup"})
        answer = await asyncio.wait_for(from_app.get(), WAIT)
        if answer["type"] != "lifespan.startup.complete":
            raise AssertionError(f"lifespan startup answered {answer!r}")
        yield scope["state"]
        await to_app.put({"type": "lifespan.shutdown"})
        answer = await asyncio.wait_for(from_app.get(), WAIT)
        if answer["type"] != "lifespan.shutdown.complete":
            raise AssertionError(f"lifespan shutdown answered {answer!r}")
        await asyncio.wait_for(task, WAIT)
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
