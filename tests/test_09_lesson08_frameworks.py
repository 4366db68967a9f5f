"""Lesson 09, exercise 9.0: lesson 08's Starlette and FastAPI tests on the lesson-09 server.

The functions of tests/test_08_frameworks.py, collected again with exercise 9.0 and
the `lesson` fixture pointing at lesson 09 (see test_09_lesson08_server.py).
"""

from __future__ import annotations

import pytest

from tests import test_08_frameworks as lesson08
from tests.harness import carry_tests


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(9)


globals().update(carry_tests(lesson08, old=8, new=9, exercise="9.0"))
