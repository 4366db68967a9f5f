"""`make progress`: stored results reused until a file changes (course/results.py), one row
per lesson with the current one opened, and a "Next" that follows the learner's work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course import results
from course.lessons import EXERCISE_TITLES, ROOT, SOLUTIONS_DIR, built_lessons, lesson
from course.progress import current_lesson, next_step, summarize
from course.runner import TestRecord
from course.stubs import exercises, write_stubs

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def whole_course_stubs(tmp_path) -> Path:
    folder = tmp_path / "course"
    write_stubs(folder, built_lessons())
    return folder


def records_for(lessons_done: set[int]) -> list[TestRecord]:
    """One passing test per exercise of a finished lesson; one not-started failure elsewhere."""
    found = []
    for lesson_ in built_lessons():
        for exercise in exercises(lesson_):
            done = lesson_.number in lessons_done
            found.append(TestRecord(f"tests/x.py::test_{exercise.id}", exercise.id,
                                    "passed" if done else "failed", not done,
                                    "" if done else f"NotImplementedError: Exercise {exercise.id}: ..."))
    return found


def put_solution(impl: Path, number: int) -> None:
    import shutil
    folder = impl / lesson(number).folder
    shutil.rmtree(folder)
    shutil.copytree(SOLUTIONS_DIR / lesson(number).folder, folder, ignore=shutil.ignore_patterns("__pycache__"))


def test_results_are_reused_until_a_learner_file_changes(own_results_store, stubs_impl):
    lesson_1 = lesson(1)
    first, stale = results.results([lesson_1], stubs_impl)
    assert stale == [lesson_1] and len(first[1]) > 0, "nothing stored yet: the lesson runs"
    again, stale = results.results([lesson_1], stubs_impl)
    assert stale == [], "nothing changed: the stored results are used"
    assert [r.nodeid for r in again[1]] == [r.nodeid for r in first[1]]
    fetch_py = stubs_impl / lesson_1.folder / "fetch.py"
    fetch_py.write_text(fetch_py.read_text() + "\n# the learner saved a change\n")
    assert results.stored(lesson_1, stubs_impl, results.fingerprint(lesson_1, stubs_impl)) is None
    _, stale = results.results([lesson_1], stubs_impl)
    assert stale == [lesson_1], "a changed file runs the lesson again"


def test_the_fingerprint_covers_the_tests_and_the_lessons_a_test_loads(stubs_impl):
    lesson_9 = lesson(9)
    inputs = {path.name for path in results.inputs(lesson_9, stubs_impl)}
    assert {"test_09_production.py", "test_08_asgi_server.py", "conftest.py", "harness.py"} <= inputs, inputs
    names = {p.relative_to(stubs_impl).parts[0] for p in results.inputs(lesson(1), stubs_impl)
             if p.is_relative_to(stubs_impl)}
    assert names == {"01_blocking_fetch"}, names


def test_next_goes_on_from_the_lesson_a_workshop_started_at(whole_course_stubs):
    put_solution(whole_course_stubs, 7)  # 01-06 untouched, 07 done: the workshop began at 07
    rows = summarize(built_lessons(), records_for({7}))
    assert current_lesson(rows, whole_course_stubs) == lesson(8)
    assert "exercise 8.1" in next_step(rows, lesson(8))


def test_next_stays_in_the_unfinished_lesson_edited_last(whole_course_stubs):
    put_solution(whole_course_stubs, 7)
    scheduler = whole_course_stubs / lesson(3).folder / "scheduler.py"
    scheduler.write_text(scheduler.read_text() + "\n# started on lesson 03\n")
    os.utime(scheduler, (4_000_000_000, 4_000_000_000))  # saved after everything else
    rows = summarize(built_lessons(), records_for({7}))
    assert current_lesson(rows, whole_course_stubs) == lesson(3)


def test_untouched_course_starts_at_lesson_1(whole_course_stubs):
    rows = summarize(built_lessons(), records_for(set()))
    assert current_lesson(rows, whole_course_stubs) == lesson(1)


def test_progress_from_stored_results_is_one_screen_ending_in_next(own_results_store, whole_course_stubs):
    put_solution(whole_course_stubs, 1)
    finished = {1}
    by_lesson: dict[int, list[TestRecord]] = {}
    for record in records_for(finished):
        by_lesson.setdefault(int(record.exercise.split(".")[0]), []).append(record)
    for lesson_ in built_lessons():
        results.store(lesson_, whole_course_stubs, results.fingerprint(lesson_, whole_course_stubs),
                      by_lesson[lesson_.number])
    shown = subprocess.run([sys.executable, "-m", "course", "progress", "--impl", str(whole_course_stubs)],
                           cwd=ROOT, capture_output=True, text=True, timeout=30,
                           env={**os.environ, "COLUMNS": "80"})
    lines = shown.stdout.rstrip("\n").splitlines()
    assert shown.returncode == 0, shown.stderr
    assert "re-ran" not in shown.stdout, "every lesson was stored: none runs again"
    assert len(lines) <= 30 and all(len(line.replace(str(whole_course_stubs), "lessons")) <= 80 for line in lines), \
        shown.stdout
    lesson_rows = [line for line in lines if line[:2].isdigit()]
    assert len(lesson_rows) == len(built_lessons()), shown.stdout
    opened = [line for line in lines if line.startswith("  2.")]
    assert len(opened) == len(exercises(lesson(2))), "the current lesson (02) is opened into its exercises"
    assert lines[-1].startswith("Next:") and "exercise 2.1" in lines[-1], lines[-1]


def test_every_exercise_has_a_short_title():
    """The tables show EXERCISE_TITLES; an exercise without one would show its TODO sentence, cut."""
    ids = {exercise.id for lesson_ in built_lessons() for exercise in exercises(lesson_)}
    missing = sorted(ids - set(EXERCISE_TITLES))
    assert not missing, f"add a title to course/lessons.py EXERCISE_TITLES for exercise(s) {missing}"
    too_long = {id_: title for id_, title in EXERCISE_TITLES.items() if len(title) > 29}
    assert not too_long, f"titles over 29 characters (make progress cuts them): {too_long}"
