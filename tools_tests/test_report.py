"""The focused report of `make test-lesson N` (course/report.py) and the harness behind it:
one exercise at a time, the learner's own line, a hang located, a last line that says
what to do. Each test runs the real command on a learner folder built from lesson 01
(or 04, for a loop that hangs) and reads what a learner would read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course.lessons import ROOT, SOLUTIONS_DIR, lesson
from tools_tests.conftest import INFINITE_LOOP, reference_copy

pytestmark = pytest.mark.timeout(150)  # each test runs the real command: a lesson, in a subprocess

WIDTH = 80
# A learner's decode_chunked that crashes inside their own code on the first chunk.
CRASHING_1_3 = '''

def decode_chunked(data):
    size_line, _, rest = data.partition(b"\\r\\n")
    return rest[:int(size_line.decode(), 10)]  # the size is hex: int(..., 16)
'''


def run_test_lesson(impl: Path, *options: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`make test-lesson 1 IMPL=impl` as a learner runs it, output captured (80 columns)."""
    env = {**os.environ, "COLUMNS": str(WIDTH)}
    number = next((o.split("=", 1)[1] for o in options if o.startswith("lesson=")), "1")
    rest = [o for o in options if not o.startswith("lesson=")]
    return subprocess.run([sys.executable, "-m", "course", "test-lesson", number, "--impl", str(impl), *rest],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def screen(result: subprocess.CompletedProcess) -> list[str]:
    return result.stdout.rstrip("\n").splitlines()


def assert_fits(lines: list[str], most: int, impl: Path) -> None:
    """At most `most` lines, none wider than 80 columns once the scratch folder's long
    path is written as a learner's is (`lessons`): a path stays whole, to be copied."""
    assert len(lines) <= most, f"{len(lines)} lines, at most {most} wanted:\n" + "\n".join(lines)
    wide = [line for line in lines if len(line.replace(str(impl), "lessons")) > WIDTH]
    assert not wide, f"lines wider than {WIDTH} columns:\n" + "\n".join(wide)


def test_untouched_stubs_give_one_row_per_exercise_and_the_first_todo(stubs_impl):
    result = run_test_lesson(stubs_impl)
    lines = screen(result)
    assert result.returncode == 0, result.stderr
    assert_fits(lines, 40, stubs_impl)
    rows = [line for line in lines if line.startswith("1.")]
    assert len(rows) == 4 and all("not started" in row for row in rows), "\n".join(lines)
    text = "\n".join(lines)
    assert "Exercise 1.1 is not started" in text and "# TODO: exercise 1.1" in text, text
    assert any(line.strip().endswith(f"{stubs_impl.name}/01_blocking_fetch/fetch.py:48") for line in lines), text
    assert "NotImplementedError" not in text, "a stub's failure is a row, never a repeated traceback"
    assert lines[-1].startswith("Next:") and "make hint 1" in lines[-1], lines[-1]


def test_a_bug_shows_its_exercise_its_message_and_the_learners_line(tmp_path):
    impl = reference_copy(tmp_path / "bug", CRASHING_1_3)
    result = run_test_lesson(impl)
    lines = screen(result)
    text = "\n".join(lines)
    assert_fits(lines, 60, impl)
    assert "✘ Exercise 1.3" in text and "✔ done: 1.1, 1.2" in text, text
    assert "ValueError: invalid literal for int()" in text, text
    assert "your code:" in text and "01_blocking_fetch/fetch.py:" in text, text
    assert "int(size_line.decode(), 10)" in text, "the learner's own source line is shown"
    assert text.count("ValueError") <= 3, "at most three failures are shown"
    assert lines[-1].startswith("Next:") and "1.3" in lines[-1] and "make hint 1" in lines[-1], lines[-1]


def test_a_hang_names_the_line_the_code_was_on_and_skips_the_exercises_other_hangs(tmp_path):
    impl = reference_copy(tmp_path / "loops", INFINITE_LOOP)
    result = run_test_lesson(impl, "--exercise", "1.3", timeout=120)
    text = result.stdout
    assert "did not finish within" in text and "Your code was here when it was stopped" in text, text
    assert "while position < len(data) + 1:" in text and "in decode_chunked" in text, text
    assert "were not run: one hung" in text, "after one hang the exercise's other tests are not run"
    assert_fits(screen(result), 60, impl)


def test_a_stuck_loop_shows_what_it_was_waiting_on(tmp_path):
    """Lesson 04 with a stale waiter left behind when register() fails: within() stops the loop."""
    lesson_4 = lesson(4)
    folder = tmp_path / "stale" / lesson_4.folder
    import shutil
    shutil.copytree(SOLUTIONS_DIR / lesson_4.folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
    module = folder / f"{lesson_4.module}.py"
    source = module.read_text()
    assert source.count("                del waiting[sock]\n") == 1
    module.write_text(source.replace("                del waiting[sock]\n", ""))
    result = run_test_lesson(tmp_path / "stale", "lesson=4", "--exercise", "4.2", timeout=120)
    text = result.stdout
    assert "still running after" in text and "Your code was here when it was stopped" in text, text
    assert "selectors_loop.py:" in text and "in run" in text, text
    assert "Your loop was waiting on:" in text and "in readers (fd" in text and "-1 (closed)" in text, text


def test_one_exercise_with_EX(stubs_impl):
    result = run_test_lesson(stubs_impl, "--exercise", "1.2")
    lines = screen(result)
    rows = [line for line in lines if line[:2] == "1."]
    assert len(rows) == 1 and rows[0].startswith("1.2"), "\n".join(lines)


def test_an_unknown_exercise_lists_the_lessons_exercises(stubs_impl):
    result = run_test_lesson(stubs_impl, "--exercise", "1.9")
    assert result.returncode == 2 and "1.1, 1.2, 1.3, 1.4" in result.stdout, result.stdout


def test_ALL_gives_pytests_own_output(stubs_impl):
    result = run_test_lesson(stubs_impl, "--all", "--exercise", "1.1")
    assert "7 failed, 34 deselected" in result.stdout, result.stdout[-2000:]
    assert result.returncode == 1, "with ALL=1 the exit status is pytest's"


def test_a_finished_lesson_says_so_and_points_to_the_next(good_impl):
    result = run_test_lesson(good_impl)
    lines = screen(result)
    assert "✔ Lesson 01 complete" in result.stdout, result.stdout
    assert lines[-1].startswith("Next:") and "02_nonblocking" in lines[-1], lines[-1]


def test_make_test_lesson_passes_EX_and_ALL(stubs_impl):
    env = {**os.environ, "COURSE_RESULTS_DIR": os.environ["COURSE_RESULTS_DIR"]}
    result = subprocess.run(["make", "-s", "test-lesson", "1", f"IMPL={stubs_impl}", "EX=1.2", "ALL=1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert "9 failed, 32 deselected" in result.stdout, result.stdout[-2000:] + result.stderr
