"""Lesson 10: a real browser chats through your server.

One ASGI app serves a chat page at / and its WebSocket at /ws. Headless Chromium
opens the page; the page's JavaScript uses the browser's own WebSocket (its
handshake, its masking, its Close), and a `websockets` client from this test is
the other member of the chat:

    browser  --"hello from the browser"-->  server  --broadcast-->  both
    python   --"hello from python"------->  server  --broadcast-->  both
    browser  --'browser saw: [...]'------>  server  --broadcast-->  python
    browser  --Close 4000---------------->  server  --Close 4000-->  browser
    browser  --POST /closed {code, wasClean}-->  server (plain HTTP)

The browser's last message lists what the page received, and its POST says how
its socket ended, so the test knows what the browser saw without reading its DOM. Chromium runs in its own process group,
killed in teardown. Without Chromium the test is skipped: `sudo apt-get install
chromium` (Debian, Ubuntu) installs it; CI (.ci/run) does.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.harness import name_stubs_behind_failures, stubs_hit  # noqa: F401 - stubs_hit: a fixture

BROWSER_WAIT = 20.0  # seconds for Chromium to start, load the page and chat (it starts in ~1-3 s)
WAIT = 5.0
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-proxy-server", "--disable-extensions", "--mute-audio"]

PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>lesson 10 chat</title></head>
<body>
<h1>Chat</h1>
<pre id="log"></pre>
<script>
  // The browser's own WebSocket: its handshake, masked frames and Close, not ours.
  const seen = [];
  const socket = new WebSocket(`ws://${location.host}/ws`);
  socket.onopen = () => socket.send("hello from the browser");
  socket.onmessage = (event) => {
    seen.push(event.data);
    document.getElementById("log").textContent = seen.join("\\n");
    if (event.data === "hello from python") {
      socket.send("browser saw: " + JSON.stringify(seen));
      socket.close(4000, "bye");  // the browser starts the close handshake
    }
  };
  // How the socket ended, told over plain HTTP: after the close handshake, or at once on a failure.
  socket.onclose = (event) => fetch("/closed", {method: "POST", body: JSON.stringify(
    {code: event.code, reason: event.reason, wasClean: event.wasClean, seen: seen})});
</script>
</body>
</html>
"""


def chat_app(closed_reports: queue.Queue):
    """GET / -> the page; /ws -> a chat: every text message goes to every member;
    POST /closed -> the page's report that its socket closed, put on `closed_reports`."""
    members = []

    async def app(scope, receive, send):
        if scope["type"] == "websocket":
            await chat_member(receive, send)
        elif scope["type"] == "http" and scope["method"] == "POST":
            body = b""
            while (message := await receive())["type"] == "http.request":
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            closed_reports.put(body.decode(errors="replace"))
            await respond(send, b"text/plain", b"thanks\n")
        elif scope["type"] == "http":
            await respond(send, b"text/html; charset=utf-8", PAGE)

    async def chat_member(receive, send):
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        members.append(send)
        try:
            while (message := await receive())["type"] == "websocket.receive":
                for member in list(members):
                    try:
                        await member({"type": "websocket.send", "text": message.get("text") or ""})
                    except OSError:
                        pass  # that member is leaving; its own loop removes it
        finally:
            members.remove(send)

    return app


async def respond(send, content_type: bytes, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(10)


@pytest.fixture
def chromium_path() -> str:
    for candidate in ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.skip("Chromium is not installed: `sudo apt-get install chromium` (Debian, Ubuntu) adds it")


def start_chromium(path: str, url: str, profile: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=True)  # its own process group: killed whole in teardown


def stop_chromium(browser: subprocess.Popen) -> None:
    try:
        os.killpg(browser.pid, signal.SIGKILL)  # the group of the one process this test started
    except ProcessLookupError:
        pass
    browser.wait(WAIT)


def next_message(client, closed_reports: queue.Queue, deadline: float, what: str, browser_log: Path) -> str:
    """The chat's next message; fails soon if the page reports its socket closed and no
    message is left. (A message already on its way comes first: the page may close, and
    report it, before this client has read the last message the page sent.)"""
    while time.monotonic() < deadline:
        try:
            return client.recv(timeout=0.2)  # short, to look at the page's reports in between
        except TimeoutError:
            pass
        try:
            report = closed_reports.get_nowait()
        except queue.Empty:
            continue
        pytest.fail(f"Waiting for {what}, the page said its WebSocket closed:\n  {report}\n"
                    "  code 1006 with wasClean false: the handshake failed or TCP dropped\n"
                    "  without a Close; another code: the Close your server sent.", pytrace=False)
    tail = browser_log.read_text(errors="replace").strip().splitlines()[-5:]
    pytest.fail(f"Waited {BROWSER_WAIT:g} s for {what}; it never came through the chat.\n"
                "  Chromium said (last lines):\n    " + "\n    ".join(tail), pytrace=False)


def how_it_ended(closed_reports: queue.Queue, deadline: float):
    """The page's report of its socket's end ({code, reason, wasClean, seen}), or None."""
    try:
        return json.loads(closed_reports.get(timeout=max(0.1, deadline - time.monotonic())))
    except queue.Empty:
        return None


@pytest.mark.exercise("10.3")
@pytest.mark.timeout(40)
def test_a_browser_chats_through_the_server(serve, chromium_path, tmp_path):
    closed_reports: queue.Queue = queue.Queue()  # the app runs in the server's thread
    server = serve(chat_app(closed_reports))
    host, port = server.address
    with connect(f"ws://{host}:{port}/ws", proxy=None, open_timeout=WAIT, close_timeout=WAIT,
                 ping_interval=None) as python:
        browser = start_chromium(chromium_path, f"http://{host}:{port}/", tmp_path / "profile",
                                 tmp_path / "chromium.log")
        try:
            deadline = time.monotonic() + BROWSER_WAIT
            log = tmp_path / "chromium.log"
            first = next_message(python, closed_reports, deadline, "the browser's first message", log)
            assert first == "hello from the browser", f"the chat's first message was {first!r}, not the browser's"
            python.send("hello from python")
            messages = [next_message(python, closed_reports, deadline, "the browser's report", log)
                        for _ in range(2)]  # our own message comes back too, then the browser's report
            ending = how_it_ended(closed_reports, deadline)
        finally:
            stop_chromium(browser)
    report = next((m for m in messages if m.startswith("browser saw: ")), None)
    assert report is not None, f"after 'hello from python' the chat carried {messages}, no report from the browser"
    seen = json.loads(report.removeprefix("browser saw: "))
    assert seen == ["hello from the browser", "hello from python"], (
        f"the browser's WebSocket received {seen}; expected its own message, then python's.")
    assert ending is not None, (
        f"The page closed its WebSocket with code 4000; within {BROWSER_WAIT:g} s its onclose never ran.\n"
        "  Answer the client's Close with a Close, then close the TCP connection (§7.1.1).")
    assert (ending["code"], ending["wasClean"]) == (4000, True), (
        f"The page closed its WebSocket with code 4000; the browser saw it end with {ending}.\n"
        "  A clean close: the server echoes the Close with its code, then closes TCP.")


# A failure caused by a stub names it (tests/harness.py).
globals().update(name_stubs_behind_failures(globals()))
