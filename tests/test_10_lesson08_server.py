"""Lesson 10, exercise 10.0: lesson 08's tests (HTTP/1.1, ASGI, the frameworks) on the lesson-10 server.

The WebSocket hook sits in lesson 08's request path (on_headers_complete, the parser's
upgrade handling), so lesson 08's behaviour list runs again here, as in lesson 09's
exercise 9.0 (see test_09_lesson08_server.py). A failure here starts with "this is
lesson 08 behaviour your 10 server lost".
"""

from __future__ import annotations

import pytest

from tests import test_08_asgi_server as lesson08
from tests import test_08_frameworks as frameworks08
from tests.harness import carry_tests


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(10)


def cli_process(impl_dir, app_dir, spec):
    """Lesson 08's helper, pointed at lesson 10's server.py."""
    return lesson08.cli_process(impl_dir, app_dir, spec, folder="10_websockets")


# An Upgrade: websocket request is a WebSocket now, not "an upgrade served as HTTP":
# tests/test_10_websockets.py checks what it gets instead.
SPOKEN_NOW = {"test_unsupported_upgrade_is_served_as_http_and_the_connection_goes_on": {"websocket"}}

globals().update(carry_tests(lesson08, old=8, new=10, exercise="10.0", drop_cases=SPOKEN_NOW, cli_process=cli_process))
globals().update(carry_tests(frameworks08, old=8, new=10, exercise="10.0"))
