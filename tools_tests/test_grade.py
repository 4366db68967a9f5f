"""`make grade DIR=...`: a class of four learner folders built from lesson 01.

ada has the reference, bob the pristine stubs, cy an infinite loop in exercise 1.3,
dee code that kills the test process on import, eli an infinite loop that swallows
the per-test time limit's exception. The grading must finish, in bounded time, with
the right count for each.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import time

import pytest
from rich.console import Console

from course.grade import (CRASHED, DONE, MISSING, STOPPED, Cell, csv_rows, exercises_passed, grade,
                          learner_folders, table)
from course.lessons import ROOT, lesson

LESSON_1 = lesson(1)
GUARD = 20.0  # seconds: cy (two 5 s time-outs) finishes within it on a busy machine; eli never does


def test_learner_folders_are_the_visible_sub_folders(class_folder, tmp_path):
    nested = class_folder / "fay" / "lessons"
    nested.mkdir(parents=True)  # a copy of the whole repository: its lessons/ is graded
    folders = learner_folders(class_folder)
    assert list(folders) == ["ada", "bob", "cy", "dee", "eli", "fay"]
    assert folders["ada"] == class_folder / "ada" and folders["fay"] == nested


def test_an_exercise_passes_only_when_every_test_of_it_passed():
    tests = {"a": "1.1", "b": "1.1", "c": "1.2", "d": "1.3"}
    outcomes = {"a": "passed", "b": "skipped", "c": "failed"}  # d never finished
    assert exercises_passed(["1.1", "1.2", "1.3", "1.4"], tests, outcomes) == 1


def test_table_and_csv_say_the_same():
    lessons = [LESSON_1]
    cells = {("ann", 1): Cell(3, 4, DONE), ("ben", 1): Cell(1, 4, STOPPED, note="stopped after 9 s"),
             ("cat", 1): Cell(0, 4, MISSING, note="no 01_blocking_fetch/")}
    rows = csv_rows(["ann", "ben", "cat"], lessons, cells)
    assert rows == [
        ["learner", "01_blocking_fetch (of 4)", "total (of 4)", "notes"],
        ["ann", "3", "3", ""],
        ["ben", "1", "1", "01_blocking_fetch: stopped after 9 s"],
        ["cat", "", "0", ""],
    ]
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(table(["ann", "ben", "cat"], lessons, cells, "Grades"))
    text = console.file.getvalue()
    assert "3/4" in text and "1/4 stopped" in text and "3/4" in text.split("ann")[1], text


@pytest.mark.timeout(180)
def test_grading_a_class_survives_loops_and_crashes(class_folder):
    started = time.monotonic()
    cells = grade(learner_folders(class_folder), [LESSON_1], jobs=2, timeout=GUARD)
    elapsed = time.monotonic() - started
    ada, bob, cy, dee, eli = (cells[name, 1] for name in ("ada", "bob", "cy", "dee", "eli"))
    assert (ada.passed, ada.total, ada.status) == (4, 4, DONE), ada
    assert (bob.passed, bob.status) == (0, DONE), bob
    # cy's 1.3 loops: each exercise that reaches the loop loses one test to the time limit,
    # its other tests are skipped, and the run ends normally.
    assert (cy.passed, cy.status) == (2, DONE), cy
    assert cy.seconds < GUARD
    # eli's loop outlives the time limit: the guard stops the run, and 1.1 and 1.2, which
    # finished before, still count.
    assert (eli.passed, eli.status) == (2, STOPPED), eli
    assert "stopped after 20 s" in eli.note
    assert (dee.passed, dee.status) == (0, CRASHED) and "exit code 3" in dee.note, dee
    # Two at a time: the longest chain is the guarded run plus a short one, with room for a busy machine.
    assert elapsed < GUARD + 60, f"grading took {elapsed:.1f} s"


@pytest.mark.timeout(120)
def test_make_grade_command_prints_the_table_and_writes_the_csv(class_folder, tmp_path):
    for slow_or_broken in ("cy", "dee", "eli"):  # covered above; keep this run short
        shutil.rmtree(class_folder / slow_or_broken)
    out = tmp_path / "out" / "grades.csv"
    result = subprocess.run(
        [sys.executable, "-m", "course", "grade", str(class_folder), "--lesson", "1", "--csv", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=100, env={**__import__("os").environ, "COLUMNS": "120"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Grades" in result.stdout and f"Written to {out}" in result.stdout, result.stdout
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0][:2] == ["learner", "01_blocking_fetch (of 4)"]
    assert {row[0]: row[1] for row in rows[1:]} == {"ada": "4", "bob": "0"}


def test_make_grade_without_dir_says_what_to_give():
    result = subprocess.run(["make", "--no-print-directory", "grade"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0 and "DIR=" in result.stdout, result.stdout + result.stderr
