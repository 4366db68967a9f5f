"""`make progress`: where a learner stands in the course, and what to do next.

One row per lesson; the lesson being worked on is opened into its exercises. The
results come from course/results.py, so only lessons whose files changed since the
last run are tested again. "Next" points into the lesson the learner is working on
(the one whose files changed last), and only then back to earlier unfinished ones,
so a workshop that starts at lesson 07 is not sent back to exercise 1.1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from course.hints import hints_used, load_hints
from course.lessons import LESSON_FOLDERS, Lesson, built_lessons, exercise_key, exercise_title, lesson
from course.runner import TestRecord
from course.start import CARRIED_FROM
from course.stubs import exercises, generated_files

DONE, FAILING, NOT_STARTED = "done", "failing", "not started"
STYLES = {DONE: "green", FAILING: "red", NOT_STARTED: "dim"}
MARKS = {DONE: "✔", FAILING: "✘", NOT_STARTED: "·"}
WIDTH = 80  # what every screen of the course is designed for


@dataclass
class ExerciseStatus:
    lesson: Lesson
    id: str
    sentence: str
    passed: int
    total: int
    status: str
    hints_used: int = 0
    hints_available: int = 0


def exercise_status(records: list[TestRecord]) -> str:
    if records and all(r.outcome in ("passed", "skipped") for r in records):
        return DONE
    if all(r.not_started for r in records if r.outcome == "failed"):
        return NOT_STARTED
    return FAILING


def summarize(lessons: list[Lesson], records: list[TestRecord],
              used: dict[str, int] | None = None) -> list[ExerciseStatus]:
    """One row per exercise, in course order; `used` is exercise id -> hints shown (course/hints.py)."""
    used = used or {}
    by_exercise: dict[str, list[TestRecord]] = defaultdict(list)
    for record in records:
        by_exercise[record.exercise].append(record)
    rows = []
    for lesson_ in lessons:
        available = {id_: len(hints) for id_, hints in load_hints(lesson_).items()}
        for exercise in exercises(lesson_):
            tests = by_exercise.get(exercise.id, [])
            passed = sum(r.outcome == "passed" for r in tests)
            rows.append(ExerciseStatus(lesson_, exercise.id, exercise.sentence, passed, len(tests),
                                       exercise_status(tests), used.get(exercise.id, 0),
                                       available.get(exercise.id, 0)))
    return sorted(rows, key=lambda row: exercise_key(row.id))


# --- Where the learner is -----------------------------------------------------------

def is_touched(lesson_: Lesson, impl: Path) -> bool:
    """True once any file of the lesson in `impl` differs from its pristine stub."""
    folder = impl / lesson_.folder
    for relative, pristine in generated_files(lesson_).items():
        path = folder / relative
        if path.suffix == ".py" and (not path.exists() or path.read_text() != pristine):
            return True
    return False


def last_changed(lesson_: Lesson, impl: Path) -> float:
    times = [p.stat().st_mtime for p in (impl / lesson_.folder).rglob("*.py") if "__pycache__" not in p.parts]
    return max(times, default=0.0)


def current_lesson(rows: list[ExerciseStatus], impl: Path) -> Lesson | None:
    """The lesson to work on: the unfinished one the learner touched last, else the next
    unfinished one after it, else the first unfinished one. None when all is done."""
    unfinished = sorted({row.lesson for row in rows if row.status != DONE}, key=lambda l: l.number)
    if not unfinished:
        return None
    touched = [lesson_ for lesson_ in {row.lesson for row in rows} if is_touched(lesson_, impl)]
    if not touched:
        return unfinished[0]
    latest = max(touched, key=lambda lesson_: last_changed(lesson_, impl))
    after = [lesson_ for lesson_ in unfinished if lesson_.number >= latest.number]
    return (after or unfinished)[0]


def next_step(rows: list[ExerciseStatus], lesson_: Lesson | None) -> str:
    """The "Next:" line (markup) for `lesson_`'s first unfinished exercise, shared by the
    focused report and `make progress`."""
    todo = next((row for row in rows if row.lesson == lesson_ and row.status != DONE), None)
    if todo is None:
        return "[bold]Next:[/] every exercise passes. `make bench` puts your server next to uvicorn."
    n = todo.lesson.number
    if todo.status == NOT_STARTED and todo.id == f"{n}.0" and n in CARRIED_FROM:  # starts from the last server
        return f"[bold]Next:[/] `make start-lesson {n}` brings your {CARRIED_FROM[n]:02d} server here. Stuck? `make hint {n}`"
    if todo.status == NOT_STARTED:
        return f"[bold]Next:[/] write exercise {todo.id} at its TODO. Stuck? `make hint {n}`"
    return f"[bold]Next:[/] fix exercise {todo.id}, from its first failure. Stuck? `make hint {n}`"


# --- The table ------------------------------------------------------------------------

def hints_cell(rows: list[ExerciseStatus]) -> str:
    """'1 of 3' hints used; a dash when there are none to give."""
    available = sum(row.hints_available for row in rows)
    used = sum(row.hints_used for row in rows)
    if not available:
        return "[dim]-[/]"
    return f"{used} of {available}" if used else f"[dim]0 of {available}[/]"


def lesson_status(rows: list[ExerciseStatus]) -> str:
    statuses = {row.status for row in rows}
    return DONE if statuses == {DONE} else NOT_STARTED if statuses == {NOT_STARTED} else FAILING


def status_cell(status: str, label: str | None = None) -> str:
    return f"[{STYLES[status]}]{MARKS[status]} {label or status}[/]"


def render(rows: list[ExerciseStatus], impl: Path, console: Console, note: str = "") -> None:
    current = current_lesson(rows, impl)
    table = Table(title=f"Course progress: {impl}", title_justify="left", box=box.SIMPLE_HEAD,
                  caption=note or None, caption_justify="left", show_edge=False, pad_edge=False,
                  width=min(console.width, WIDTH))
    table.add_column("lesson", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("done", no_wrap=True, min_width=6)
    table.add_column("tests", justify="right", no_wrap=True, min_width=7)
    table.add_column("status", no_wrap=True, min_width=13)
    table.add_column("hints", no_wrap=True, min_width=7)
    by_lesson: dict[int, list[ExerciseStatus]] = defaultdict(list)
    for row in rows:
        by_lesson[row.lesson.number].append(row)
    for number in LESSON_FOLDERS:
        lesson_ = lesson(number)
        mine = by_lesson.get(number)
        if not mine:
            table.add_row(f"{number:02d} {lesson_.title}", "", "", "[dim]not written yet[/]", "")
            continue
        done = sum(row.status == DONE for row in mine)
        passed, total = sum(row.passed for row in mine), sum(row.total for row in mine)
        status = lesson_status(mine)
        title = f"[bold]{number:02d} {lesson_.title}[/]" if lesson_ == current else f"{number:02d} {lesson_.title}"
        table.add_row(title, f"{done}/{len(mine)}", f"{passed}/{total}",
                      status_cell(status, "in progress" if status == FAILING and done else None), hints_cell(mine))
        if lesson_ == current:
            for row in mine:
                table.add_row(f"  [dim]{row.id}[/] {escape(exercise_title(row.id, row.sentence))}", "",
                              f"{row.passed}/{row.total}",
                              status_cell(row.status), hints_cell([row]))
    console.print(table)
    console.print()
    console.print(next_step(rows, current))


def show_progress(impl: Path) -> int:
    from course.results import results
    console = Console(width=min(Console().width, WIDTH))
    lessons = built_lessons()
    status = console.status("running the tests of the lessons that changed...")
    try:
        found, stale = results(lessons, impl, on_run=lambda _stale: status.start())
    finally:
        status.stop()
    records = [record for lesson_ in lessons for record in found.get(lesson_.number, [])]
    rerun = ", ".join(f"{lesson_.number:02d}" for lesson_ in stale)
    note = f"re-ran lessons {rerun}; the others had not changed" if rerun and len(stale) < len(lessons) else ""
    render(summarize(lessons, records, hints_used(impl)), impl, console, note)
    return 0
