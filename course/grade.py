"""`make grade DIR=submissions/`: every learner's folder against every lesson's tests.

How it works
------------
- Each sub-folder of DIR is one learner's copy of `lessons/` (a copy holding a
  `lessons/` folder is accepted too). Hidden folders are ignored.
- Every (learner, lesson) pair is one run of that lesson's tests, in its own pytest
  process (course.runner.run_tests). Runs go in parallel, as many at once as the
  machine has cores (`--jobs` to change it).
- A learner's code cannot stop the grading: every test has its time limit
  (pytest-timeout), and each run has a guard (`--timeout`, default 180 s) after
  which its process is killed. A run that was killed, or whose interpreter died
  (`os._exit`, a crash), is scored from the log `course.gradelog` writes as tests
  finish: exercises whose every test passed before the end still count.
- An exercise counts as passed when every one of its tests passed (or was skipped
  on this platform): the same rule as `make progress`. So once one test of an
  exercise fails, its other tests are skipped (they cannot change the grade), and
  code that hangs costs one per-test time limit per exercise, not one per test.
- The result is one rich table (learner x lesson: exercises passed / exercises in
  the lesson) and the same as CSV, by default DIR/grades.csv (next to the class it
  grades; `--csv PATH` or `make grade CSV=PATH` to put it elsewhere).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from course.gradelog import read_log
from course.lessons import Lesson, built_lessons, lesson, resolve_impl
from course.runner import run_tests
from course.stubs import exercises

GUARD_SECONDS = 180.0  # a whole lesson run; each test inside it has its own, much shorter limit
DONE, MISSING, STOPPED, CRASHED = "done", "missing", "stopped", "crashed"


@dataclass
class Cell:
    """One learner's result on one lesson."""
    passed: int  # exercises whose every test passed
    total: int  # exercises in the lesson
    status: str  # DONE, MISSING (no folder for it), STOPPED (the guard killed the run), CRASHED
    seconds: float = 0.0
    note: str = ""


def learner_folders(submissions: Path) -> dict[str, Path]:
    """Learner name -> the folder laid out like lessons/ to test."""
    found = {}
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")):
        nested = folder / "lessons"
        holds_lessons = any(child.name[:2].isdigit() for child in folder.iterdir() if child.is_dir())
        found[folder.name] = nested if nested.is_dir() and not holds_lessons else folder
    return found


def exercises_passed(exercise_ids: list[str], tests: dict[str, str], outcomes: dict[str, str]) -> int:
    """How many exercises have tests, all of which passed or were skipped.

    `tests` is nodeid -> exercise (every test that was collected), `outcomes` nodeid -> outcome.
    """
    passed = 0
    for exercise in exercise_ids:
        its_tests = [nodeid for nodeid, ex in tests.items() if ex == exercise]
        if its_tests and all(outcomes.get(nodeid) in ("passed", "skipped") for nodeid in its_tests):
            passed += 1
    return passed


def grade_one(impl: Path, lesson_: Lesson, timeout: float = GUARD_SECONDS) -> Cell:
    """Run one lesson's tests on one learner's folder; never raises for the learner's code."""
    exercise_ids = [ex.id for ex in exercises(lesson_)]
    if not (impl / lesson_.folder).is_dir():
        return Cell(0, len(exercise_ids), MISSING, note=f"no {lesson_.folder}/")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        log = Path(scratch) / "log.jsonl"
        code, records = run_tests([lesson_], impl, timeout=timeout,
                                  extra=["-p", "course.gradelog", f"--grade-log={log}", "--grade-decided-skip"])
        log_text = log.read_text() if log.exists() else ""
    seconds = time.monotonic() - started
    if records:
        tests = {r.nodeid: r.exercise for r in records}
        outcomes = {r.nodeid: r.outcome for r in records}
        return Cell(exercises_passed(exercise_ids, tests, outcomes), len(exercise_ids), DONE, seconds)
    tests, outcomes = read_log(log_text)  # the run never finished: score what did
    passed = exercises_passed(exercise_ids, tests, outcomes)
    if code == -1:
        note = f"stopped after {timeout:g} s ({len(outcomes)} of {len(tests)} tests had finished)"
        return Cell(passed, len(exercise_ids), STOPPED, seconds, note)
    note = f"the test process died (exit code {code}) after {len(outcomes)} of {len(tests)} tests"
    return Cell(passed, len(exercise_ids), CRASHED, seconds, note)


def default_jobs() -> int:
    """The cores this process may use (a container may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def grade(learners: dict[str, Path], lessons: list[Lesson], *, jobs: int | None = None,
          timeout: float = GUARD_SECONDS, on_done=None) -> dict[tuple[str, int], Cell]:
    """(learner, lesson number) -> Cell for every pair, `jobs` runs at a time."""
    pairs = [(name, lesson_) for name in learners for lesson_ in lessons]

    def work(pair):
        name, lesson_ = pair
        cell = grade_one(learners[name], lesson_, timeout)
        if on_done:
            on_done(name, lesson_, cell)
        return cell

    # Threads are enough: each run is a separate pytest process, the threads only wait on it.
    with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
        cells = list(pool.map(work, pairs))
    return {(name, lesson_.number): cell for (name, lesson_), cell in zip(pairs, cells)}


# -- the table and the CSV ---------------------------------------------------------------


def column_name(lesson_: Lesson) -> str:
    return f"{lesson_.folder} (of {len(exercises(lesson_))})"


def csv_rows(learners: list[str], lessons: list[Lesson], cells: dict[tuple[str, int], Cell]) -> list[list[str]]:
    """The header and one row per learner: exercises passed per lesson, the total, and notes.

    Cells are plain numbers (the header says out of how many), so a spreadsheet can sum them;
    a lesson the learner has no folder for is left empty.
    """
    total = sum(len(exercises(l)) for l in lessons)
    rows = [["learner", *(column_name(l) for l in lessons), f"total (of {total})", "notes"]]
    for name in learners:
        row_cells = [cells[name, l.number] for l in lessons]
        notes = [f"{l.folder}: {c.note}" for l, c in zip(lessons, row_cells) if c.note and c.status != MISSING]
        rows.append([name, *("" if c.status == MISSING else str(c.passed) for c in row_cells),
                     str(sum(c.passed for c in row_cells)), "; ".join(notes)])
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)


def cell_text(cell: Cell) -> str:
    if cell.status == MISSING:
        return "[dim]-[/]"
    colour = "green" if cell.passed == cell.total else "yellow" if cell.passed else "red"
    mark = {STOPPED: " [red]stopped[/]", CRASHED: " [red]crashed[/]"}.get(cell.status, "")  # notes say why
    return f"[{colour}]{cell.passed}/{cell.total}[/]{mark}"


def table(learners: list[str], lessons: list[Lesson], cells: dict[tuple[str, int], Cell], title: str) -> Table:
    """Learner x lesson. Columns are headed by lesson number (the caption names them), so
    nine lessons fit in a terminal."""
    caption = "  ".join(f"{l.number:02d} {l.title}" for l in lessons)
    result = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    result.add_column("learner", no_wrap=True)
    for lesson_ in lessons:
        result.add_column(f"{lesson_.number:02d}", justify="center", no_wrap=True)
    result.add_column("total", justify="right", no_wrap=True)
    total = sum(len(exercises(l)) for l in lessons)
    for name in learners:
        row = [cells[name, l.number] for l in lessons]
        result.add_row(escape(name), *(cell_text(c) for c in row), f"{sum(c.passed for c in row)}/{total}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course grade", description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="a folder with one sub-folder per learner, each a copy of lessons/")
    parser.add_argument("--csv", type=Path, help="where to write the CSV (default: DIR/grades.csv)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="runs at once (default: the cores)")
    parser.add_argument("--timeout", type=float, default=GUARD_SECONDS,
                        help=f"seconds one lesson's run may take before it is stopped (default {GUARD_SECONDS:g})")
    parser.add_argument("--lesson", action="append", help="grade only this lesson (repeatable)")
    args = parser.parse_args(argv)

    submissions = resolve_impl(args.dir)
    if not submissions.is_dir():
        print(f"{submissions} is not a folder. Give the folder that holds one sub-folder per learner.")
        return 2
    learners = learner_folders(submissions)
    if not learners:
        print(f"{submissions} has no sub-folders: put each learner's copy of lessons/ in one.")
        return 2
    lessons = [lesson(n) for n in args.lesson] if args.lesson else built_lessons()
    console = Console()
    console.print(f"Grading {len(learners)} learner(s) x {len(lessons)} lesson(s), {args.jobs} run(s) at a time; "
                  f"a run is stopped after {args.timeout:g} s.")
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("grading", total=len(learners) * len(lessons))

        def on_done(name: str, lesson_: Lesson, cell: Cell) -> None:
            progress.advance(bar)
            if cell.note and cell.status != MISSING:
                progress.console.print(f"  {name} · lesson {lesson_.number:02d}: {cell.note}")

        cells = grade(learners, lessons, jobs=args.jobs, timeout=args.timeout, on_done=on_done)
    console.print(table(list(learners), lessons, cells, f"Grades — {submissions}"))
    csv_path = args.csv or submissions / "grades.csv"
    write_csv(csv_path, csv_rows(list(learners), lessons, cells))
    console.print(f"Written to {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
