"""Lesson 09, exercise 9.0: every lesson-08 test, run against the lesson-09 server.

Lesson 09 hardens the server you wrote in lesson 08 (`make start-lesson 9` copies it
here), so nothing lesson 08 checked may break on the way. These are lesson 08's own
test functions (tests/test_08_asgi_server.py), collected again with exercise 9.0 and
with the `lesson` fixture pointing at lesson 09's `server.py`. A failure here starts
with "this is lesson 08 behaviour your 09 server lost".
"""

from __future__ import annotations

import pytest

from tests import test_08_asgi_server as lesson08
from tests.harness import carry_tests


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(9)


def cli_process(impl_dir, app_dir, spec):
    """Lesson 08's helper, pointed at lesson 09's server.py."""
    return lesson08.cli_process(impl_dir, app_dir, spec, folder="09_production")


globals().update(carry_tests(lesson08, old=8, new=9, exercise="9.0", cli_process=cli_process))
