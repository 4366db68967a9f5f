"""Fixtures for the tests of the course's own tools (hints, grading, tracer, watch).

These tests check the tooling, not a lesson, so they live outside tests/ (where
`make test` requires every test to fail on the pristine stubs). Run them with

    .venv/bin/python -m pytest tools_tests

The learner folders they build come from lesson 01, which always exists: a copy of
the reference, the pristine stubs, one that loops forever, one that crashes pytest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from course.lessons import SOLUTIONS_DIR, lesson
from course.stubs import write_stubs

LESSON_1 = lesson(1)

# Appended to a copy of the reference: the later definition replaces the good one.
INFINITE_LOOP = '''

def decode_chunked(data):  # a learner's loop whose exit condition never comes true
    position = 0
    while position < len(data) + 1:
        position = position
'''
# The same, but it swallows every exception, the time limit's too: only the grader's
# whole-run guard can stop it.
DEAF_LOOP = '''

def decode_chunked(data):  # a loop around a bare `except BaseException: pass`
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
'''
# Kills the test process the moment the module is imported: no report, no summary.
CRASH = "\nimport os\nos._exit(3)\n"
UNFINISHED_1_3 = '''

def decode_chunked(data):
    raise NotImplementedError("Exercise 1.3: not done yet")
'''


def reference_copy(folder: Path, appended: str = "") -> Path:
    """`folder` laid out like lessons/, holding lesson 01's reference (plus `appended` code)."""
    target = folder / LESSON_1.folder
    shutil.copytree(SOLUTIONS_DIR / LESSON_1.folder, target, ignore=shutil.ignore_patterns("__pycache__"))
    module = target / f"{LESSON_1.module}.py"
    module.write_text(module.read_text() + appended)
    return folder


def stubs_copy(folder: Path) -> Path:
    write_stubs(folder, [LESSON_1])
    return folder


@pytest.fixture
def good_impl(tmp_path: Path) -> Path:
    return reference_copy(tmp_path / "good")


@pytest.fixture
def stubs_impl(tmp_path: Path) -> Path:
    return stubs_copy(tmp_path / "stubs")


@pytest.fixture
def half_done_impl(tmp_path: Path) -> Path:
    """1.1 and 1.2 pass; 1.3 (and the 1.4 tests that need it) fail."""
    return reference_copy(tmp_path / "half", UNFINISHED_1_3)


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    """A class to grade: one good copy, the stubs, two infinite loops, one crash."""
    folder = tmp_path / "submissions"
    reference_copy(folder / "ada")
    stubs_copy(folder / "bob")
    reference_copy(folder / "cy", INFINITE_LOOP)
    reference_copy(folder / "dee", CRASH)
    reference_copy(folder / "eli", DEAF_LOOP)
    (folder / ".git").mkdir()  # hidden folders are not learners
    return folder


@pytest.fixture(autouse=True)
def own_results_store(tmp_path, monkeypatch) -> Path:
    """Stored test results (course/results.py) go to a scratch folder, in this process and
    in the commands a test runs, never to the repository's .course/."""
    from course import results
    folder = tmp_path / "results"
    monkeypatch.setattr(results, "STORE", folder)
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(folder))
    return folder
