"""Lesson 10, exercise 10.0: every lesson-09 test, run against the lesson-10 server.

Lesson 10 adds WebSockets to the server you hardened in lesson 09 (`make start-lesson 10`
copies it here), so nothing lesson 09 checked may break on the way: the hook that hands
a WebSocket request over sits in the middle of lesson 09's request path. These are
lesson 09's own test functions (tests/test_09_production.py), collected again with
exercise 10.0 and with the `lesson` fixture pointing at lesson 10's `server.py`. A
failure here starts with "this is lesson 09 behaviour your 10 server lost".
"""

from __future__ import annotations

import pytest

from tests import test_09_production as lesson09
from tests.harness import carry_tests
from tests.test_09_production import serve, server_process  # noqa: F401 - lesson 09's fixtures, used here too


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(10)


@pytest.fixture
def server_folder() -> str:
    return "10_websockets"  # server_process runs lesson 10's server.py


globals().update(carry_tests(lesson09, old=9, new=10, exercise="10.0"))
