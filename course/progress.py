"""`make progress`: where a learner stands in the course, and what to do next."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

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


def exercise_status(records: list[TestRecord]) -> str:
    if records and all(r.outcome in ("passed", "skipped") for r in records):
        return PASSED
    if all(r.not_started for r in records if r.outcome == "failed"):
        return NOT_STARTED
    return IN_PROGRESS


def summarize(lessons: list[Lesson], records: list[TestRecord]) -> list[ExerciseStatus]:
    by_exercise: dict[str, list[TestRecord]] = defaultdict(list)
    for record in records:
        by_exercise[record.exercise].append(record)
    rows = []
    for lesson_ in lessons:
        for exercise in exercises(lesson_):
            tests = by_exercise.get(exercise.id, [])
            passed = sum(r.outcome == "passed" for r in tests)
            rows.append(ExerciseStatus(lesson_, exercise.id, exercise.sentence, passed, len(tests),
                                       exercise_status(tests)))
    return sorted(rows, key=lambda row: exercise_key(row.id))


def render(rows: list[ExerciseStatus], impl: Path, console: Console) -> None:
    table = Table(title=f"Course progress — {impl}", title_justify="left")
    for column in ("lesson", "exercise", "what to build", "tests", "status"):
        table.add_column(column, overflow="fold")
    shown_lessons = set()
    for row in rows:
        title = "" if row.lesson.number in shown_lessons else f"{row.lesson.number:02d} {row.lesson.title}"
        shown_lessons.add(row.lesson.number)
        table.add_row(title, row.id, row.sentence, f"{row.passed}/{row.total}",
                      f"[{STYLES[row.status]}]{row.status}[/]")
    missing = [n for n in LESSON_FOLDERS if n not in shown_lessons]
    for number in missing:
        table.add_row(f"{number:02d} {lesson(number).title}", "", "[dim]not in this repository yet[/]", "", "")
    console.print(table)
    todo = next((row for row in rows if row.status != PASSED), None)
    if todo is None:
        console.print("[green]Every exercise passes.[/] On to the next lesson, or `make bench`.")
    else:
        console.print(f"[bold]Next:[/] exercise {todo.id} — {todo.sentence}\n"
                      f"      run `make test-lesson {todo.lesson.number}`; stuck? `make hint {todo.lesson.number}`")


def show_progress(impl: Path) -> int:
    console = Console()
    lessons = built_lessons()
    with console.status("running every lesson's tests..."):
        _, records = run_tests(lessons, impl)
    render(summarize(lessons, records), impl, console)
    return 0
