"""`make progress`: where a learner stands in the course, and what to do next."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from course.hints import hints_used, load_hints
from course.lessons import LESSON_FOLDERS, Lesson, built_lessons, exercise_key, lesson
from course.runner import TestRecord, run_tests
from course.stubs import exercises

PASSED, IN_PROGRESS, NOT_STARTED = "passed", "in progress", "not started"
STYLES = {PASSED: "green", IN_PROGRESS: "yellow", NOT_STARTED: "dim"}


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
        return PASSED
    if all(r.not_started for r in records if r.outcome == "failed"):
        return NOT_STARTED
    return IN_PROGRESS


def summarize(lessons: list[Lesson], records: list[TestRecord],
              used: dict[str, int] | None = None) -> list[ExerciseStatus]:
    """One row per exercise; `used` is exercise id -> hints shown (see course/hints.py)."""
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


def hints_cell(row: ExerciseStatus) -> str:
    """'1 of 3' hints used; a dash when the exercise has none to give."""
    if not row.hints_available:
        return "[dim]-[/]"
    return f"{row.hints_used} of {row.hints_available}" if row.hints_used else f"[dim]0 of {row.hints_available}[/]"


def render(rows: list[ExerciseStatus], impl: Path, console: Console) -> None:
    table = Table(title=f"Course progress — {impl}", title_justify="left")
    for column in ("lesson", "exercise", "what to build", "tests", "status", "hints"):
        table.add_column(column, overflow="fold")
    shown_lessons = set()
    for row in rows:
        title = "" if row.lesson.number in shown_lessons else f"{row.lesson.number:02d} {row.lesson.title}"
        shown_lessons.add(row.lesson.number)
        table.add_row(title, row.id, escape(row.sentence), f"{row.passed}/{row.total}",
                      f"[{STYLES[row.status]}]{row.status}[/]", hints_cell(row))
    missing = [n for n in LESSON_FOLDERS if n not in shown_lessons]
    for number in missing:
        table.add_row(f"{number:02d} {lesson(number).title}", "", "[dim]not in this repository yet[/]", "", "", "")
    console.print(table)
    todo = next((row for row in rows if row.status != PASSED), None)
    if todo is None:
        console.print("[green]Every exercise passes.[/] On to the next lesson, or `make bench`.")
    else:
        console.print(f"[bold]Next:[/] exercise {todo.id} — {escape(todo.sentence)}\n"
                      f"      run `make test-lesson {todo.lesson.number}`; stuck? `make hint {todo.lesson.number}`")


def show_progress(impl: Path) -> int:
    console = Console()
    lessons = built_lessons()
    with console.status("running every lesson's tests..."):
        _, records = run_tests(lessons, impl)
    render(summarize(lessons, records, hints_used(impl)), impl, console)
    return 0
