"""`make watch`: which changes it sees, and which lesson it re-runs. Modification times are
set with os.utime, so nothing here waits for the clock."""

from __future__ import annotations

import os
import subprocess
import sys

from course.lessons import ROOT, lesson
from course.watch import changed, latest_lesson, look, snapshot


def touch(path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text("# a learner's file\n")
    os.utime(path, (mtime, mtime))


def test_snapshot_sees_lesson_files_but_not_caches_or_other_folders(stubs_impl):
    touch(stubs_impl / "01_blocking_fetch" / "__pycache__" / "fetch.cpython-311.pyc", 1000)
    touch(stubs_impl / "notes" / "todo.txt", 1000)
    paths = {p.relative_to(stubs_impl).as_posix() for p in snapshot(stubs_impl)}
    assert "01_blocking_fetch/fetch.py" in paths
    assert not any("__pycache__" in p or p.startswith("notes") for p in paths), paths


def test_changed_lists_modified_added_and_removed_files():
    a, b, c = (ROOT / name for name in ("a", "b", "c"))
    assert changed({a: 1.0, b: 2.0}, {a: 1.0, b: 3.0, c: 4.0}) == [b, c]
    assert changed({a: 1.0}, {}) == [a]
    assert changed({a: 1.0}, {a: 1.0}) == []


def test_a_save_reruns_the_lesson_of_the_saved_file(stubs_impl):
    fetch_py = stubs_impl / lesson(1).folder / "fetch.py"
    touch(fetch_py, 1000)
    before = snapshot(stubs_impl)
    assert look(before, stubs_impl, None) == (before, None), "nothing changed: nothing to run"
    touch(fetch_py, 2000)
    after, to_run = look(before, stubs_impl, None)
    assert to_run == lesson(1) and after[fetch_py] == 2000
    touch(stubs_impl / lesson(3).folder / "scheduler.py", 3000)
    assert look(after, stubs_impl, lesson(1))[1] == lesson(1), "`make watch 1` always runs lesson 1"
    assert latest_lesson(snapshot(stubs_impl), stubs_impl) in (lesson(3), lesson(1)), \
        "the lesson saved last, if it has tests here yet"


def test_watch_without_any_lesson_says_what_to_do(tmp_path):
    result = subprocess.run([sys.executable, "-m", "course", "watch", "--impl", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "make watch 1" in result.stdout, result.stdout + result.stderr


def test_each_run_clears_the_screen_and_shows_the_focused_report(stubs_impl, capsys):
    from course.watch import run_lesson
    run_lesson(lesson(1), stubs_impl)
    shown = capsys.readouterr().out
    assert shown.startswith("\033[2J\033[H"), "each run starts on a cleared screen"
    assert "Exercise 1.1 is not started" in shown and shown.rstrip().splitlines()[-1].startswith("Next:"), shown
