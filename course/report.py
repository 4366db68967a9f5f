"""The focused report of `make test-lesson N` and `make watch`: one exercise at a time.

pytest prints every failure in full, so forty not-started tests bury the one thing
to do next. This report shows, after the run:

1. a table with a row per exercise: tests passed of total, and a status;
2. the first exercise that is not done, and only its first failures (at most
   MAX_FAILURES): the test's own message (the bytes on the wire, a command to
   reproduce), the lines of the learner's code it failed in, the test's line;
3. a last line that says what to do next, the same as `make progress` says.

Everything else is one option away: `ALL=1` gives pytest's full output, `EX=3.4`
runs one exercise. Messages are folded to the screen's width (80 columns at most).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from course.lessons import LESSON_FOLDERS, Lesson, exercise_title, lesson
from course.progress import DONE, MARKS, NOT_STARTED, WIDTH, ExerciseStatus, next_step, status_cell, summarize
from course.runner import SHARDS, Run, TestRecord
from course.start import CARRIED_FROM

NOT_RUN = "not run:"  # tests/conftest.py's message for the tests after a hang
MAX_FAILURES = 3  # the first failures of the exercise; the rest are one option away
MAX_MESSAGE_LINES = 16  # of one failure's message, before it is cut
PATH = re.compile(r"[\w.~-]*/[\w./~-]+(:\d+)?[,.]?")  # lessons/x/fetch.py:48, never cut
MAX_FOLDS = 5  # of one indented line of it (bytes on the wire): its hint and reproduce lines come after
DETAIL_BUDGET = 36  # lines for all failures together: the first one is always shown whole


def fold(text: str, indent: int, width: int) -> list[str]:
    """Each line of `text` folded to `width`, keeping its own indentation. The folds of an
    indented line (a wire report's "the server sent: b'...'") hang two spaces further, so a
    folded bytes literal still reads as one; prose folds flush. A path is never cut (it is
    copied whole); any other overlong word is."""
    lines = []
    for line in text.splitlines() or [""]:
        own = len(line) - len(line.lstrip(" "))
        hanging = 2 if own else 0
        prefix = " " * (indent + own)
        room = max(20, width - len(prefix) - hanging)
        words = [piece for word in line.split(" ") if word
                 for piece in ([word] if PATH.fullmatch(word) or len(word) <= room
                               else [word[i:i + room] for i in range(0, len(word), room)])]
        folded = textwrap.wrap(" ".join(words), width=width, initial_indent=prefix,
                               subsequent_indent=prefix + " " * hanging, break_on_hyphens=False,
                               break_long_words=False) or [""]
        if own and len(folded) > MAX_FOLDS:  # a long bytes dump: keep its start, and the lines after it
            folded = folded[:MAX_FOLDS - 1] + [f"{prefix}{' ' * hanging}… ({len(folded) - MAX_FOLDS + 1} more lines)"]
        lines += folded
    return lines


def shorten(lines: list[str], limit: int, more: str) -> list[str]:
    if len(lines) <= limit:
        return lines
    return lines[:limit - 1] + [f"{lines[0][:len(lines[0]) - len(lines[0].lstrip())]}… {more}"]


def short_name(record: TestRecord) -> str:
    return record.nodeid.split("::", 1)[-1]


def failure_lines(record: TestRecord, same: list[TestRecord], width: int, all_command: str) -> list[str]:
    """One failure: the test, its message, the learner's lines it failed in, the test's line."""
    name = short_name(record)
    if len(name) + 2 > width and "[" in name:  # a long parametrised id: its case on a line of its own
        function, _, case = name.partition("[")
        lines = [f"  [bold]{escape(function)}[/]", f"    [bold]\\[{escape(case)}[/]"]
    else:
        lines = [f"  [bold]{escape(name)}[/]"]
    message = fold(record.message.strip("\n").rstrip(), 4, width)
    more = f"(cut here: `{all_command}` shows it whole)"
    lines += [escape(line) for line in shorten(message, MAX_MESSAGE_LINES, more)]
    for frame in record.frames[-2:]:
        where = f"{frame['path']}:{frame['line']}"
        function = f" in {frame['function']}" if len(where) + len(frame["function"]) + 19 <= width else ""
        lines.append(f"    [cyan]your code:[/] {escape(where)}{escape(function)}")
        if frame["source"]:
            lines += [f"[cyan]{escape(line)}[/]" for line in fold(frame["source"], 6, width)[:2]]
    if record.test_line:
        lines.append(f"    [dim]the test: {escape(record.test_line)}[/]")
    if same:
        lines.append(f"    [dim]{escape(clipped(f'{len(same)} more fail the same way: ', [short_name(r) for r in same], width - 4))}[/]")
    return lines


def clipped(lead: str, names: list[str], width: int) -> str:
    """`lead` and as many of `names` as fit in `width` columns, then "…"."""
    text = lead + names[0]
    if len(text) > width:
        return text[:width - 1] + "…"
    for name in names[1:]:
        if len(text) + len(name) + 4 > width:
            return text + ", …"
        text += ", " + name
    return text


def group_failures(failures: list[TestRecord]) -> list[tuple[TestRecord, list[TestRecord]]]:
    """Failures with the same message (one parametrised test, usually) shown once."""
    groups: dict[str, tuple[TestRecord, list[TestRecord]]] = {}
    for record in failures:
        key = record.message.strip()
        if key in groups:
            groups[key][1].append(record)
        else:
            groups[key] = (record, [])
    return list(groups.values())


TODO = "# TODO: exercise {id}"


def todo_location(impl: Path, lesson_: Lesson, exercise_id: str) -> str:
    """'lessons/01_blocking_fetch/fetch.py:57', where the exercise's TODO is; '' if gone."""
    wanted = TODO.format(id=exercise_id)
    for path in sorted((impl / lesson_.folder).glob("*.py")):
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if line.strip() == wanted:
                return f"{shown(path)}:{number}"
    return ""


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


STUB_EXERCISE = re.compile(r"Exercise (\d+\.\d+):")


def not_started_lines(row: ExerciseStatus, records: list[TestRecord], impl: Path, width: int) -> list[str]:
    lines = [f"[bold]{MARKS[NOT_STARTED]} Exercise {row.id}[/] is not started:"]
    lines += [escape(line) for line in fold(row.sentence, 2, width)]
    where = todo_location(impl, row.lesson, row.id)
    if where:  # the path alone on its line: a long one may run past the edge, but stays whole to copy
        lines += [f"  Write it where `{TODO.format(id=row.id)}` is:", f"    [bold]{escape(where)}[/]"]
    needed = sorted({m for r in records for m in STUB_EXERCISE.findall(r.message)} - {row.id})
    if needed:
        lines.append(f"  [dim]Its tests also use exercise {', '.join(needed)}, not started either.[/]")
    return lines


def failing_lines(row: ExerciseStatus, records: list[TestRecord], lesson_: Lesson, width: int) -> list[str]:
    failures = [r for r in records if r.outcome == "failed" and not r.message.startswith(NOT_RUN)]
    not_run = sum(r.outcome == "failed" and r.message.startswith(NOT_RUN) for r in records)
    lines = [f"[bold red]✘ Exercise {row.id}[/]: {row.passed} of {row.total} tests pass."]
    lines += [f"[dim]{escape(line)}[/]" for line in fold(row.sentence, 2, width)]
    all_command = f"make test-lesson {lesson_.number} EX={row.id} ALL=1"
    lines.append(f"  [dim]Only this exercise's tests: `make test-lesson {lesson_.number} EX={row.id}`.[/]")
    shown_failures = 0
    groups = group_failures(failures)
    for record, same in groups[:MAX_FAILURES]:
        block = failure_lines(record, same, width, all_command)
        if shown_failures and len(lines) + len(block) > DETAIL_BUDGET:
            break
        lines += [""] + block
        shown_failures += 1 + len(same)
    left = len(failures) - shown_failures
    if left:
        lines += ["", f"  [dim]{left} more failing test(s): `{all_command}` shows all.[/]"]
    if not_run:
        lines += [f"  [dim]{not_run} more test(s) of {row.id} were not run: one hung, so they would too.[/]"]
    return lines


def exercise_table(rows: list[ExerciseStatus], width: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, width=width)
    table.add_column("ex", no_wrap=True)
    table.add_column("what to build", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("tests", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for row in rows:
        table.add_row(row.id, escape(exercise_title(row.id, row.sentence)), f"{row.passed}/{row.total}",
                      status_cell(row.status))
    return table


def lesson_after(lesson_: Lesson) -> Lesson | None:
    later = [n for n in LESSON_FOLDERS if n > lesson_.number and lesson(n).is_built()]
    return lesson(later[0]) if later else None


def complete_line(lesson_: Lesson, records: list[TestRecord], exercise: str | None) -> str:
    passed = sum(r.outcome == "passed" for r in records)
    if exercise:
        return (f"[bold green]✔ Exercise {exercise} done[/]: all {passed} of its tests pass.\n"
                f"[bold]Next:[/] `make test-lesson {lesson_.number}` shows where the lesson stands.")
    following = lesson_after(lesson_)
    if following is None:
        then = "that was the last lesson here. `make progress` shows the whole course."
    elif following.number in CARRIED_FROM:  # it starts from the learner's previous server
        then = f"`make start-lesson {following.number}`, then read lessons/{following.folder}/README.md"
    else:
        then = f"read lessons/{following.folder}/README.md, then `make test-lesson {following.number}`"
    return (f"[bold green]✔ Lesson {lesson_.number:02d} complete[/]: all {passed} tests pass.\n"
            f"[bold]Next:[/] {then}")


def render_report(lesson_: Lesson, run: Run, impl: Path, console: Console,
                  exercise: str | None = None) -> None:
    """The focused report of one run of lesson `lesson_`'s tests (only `exercise`'s, if given)."""
    width = min(console.width, WIDTH)
    rows = summarize([lesson_], run.records)
    if exercise:
        rows = [row for row in rows if row.id == exercise]
    skipped = sum(r.outcome == "skipped" for r in run.records)
    console.print(f"[bold]Lesson {lesson_.number:02d}[/] · {lesson_.title} · {len(run.records)} tests, "
                  f"{run.seconds:.1f} s" + (f" ({skipped} skipped on this machine)" if skipped else ""))
    console.print(exercise_table(rows, width))
    console.print()
    todo = next((row for row in rows if row.status != DONE), None)
    if todo is None:
        console.print(complete_line(lesson_, run.records, exercise))
        return
    done = [row.id for row in rows if row.status == DONE]
    if done:
        console.print(f"[green]✔ done: {', '.join(done)}[/]")
    mine = [r for r in run.records if r.exercise == todo.id]
    if todo.status == NOT_STARTED:
        lines = not_started_lines(todo, mine, impl, width)
    else:
        lines = failing_lines(todo, mine, lesson_, width)
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    console.print()
    console.print(next_step(rows, lesson_))


def render_broken_run(lesson_: Lesson, run: Run, console: Console) -> None:
    """No test reported back: pytest could not collect the tests, or was killed."""
    console.print(f"[red]The tests of lesson {lesson_.number:02d} could not run[/] (pytest exit code "
                  f"{run.code}). What pytest said last:", highlight=False)
    for line in run.output.strip().splitlines()[-15:]:
        console.print(escape(line), highlight=False, soft_wrap=True)
    console.print()
    console.print(f"[bold]Next:[/] fix what stops them; `make test-lesson {lesson_.number} ALL=1` shows all.",
                  highlight=False)


def focused_run(lesson_: Lesson, impl: Path, exercise: str = "", console: Console | None = None) -> int:
    """Run lesson `lesson_`'s tests (only `exercise`'s, if given) and print the focused report.

    A whole-lesson run also stores its results for `make progress` (course/results.py).
    Returns 0 once the report is shown: failing tests are the learner's news, not an error.
    """
    from course import results
    from course.runner import run_pytest

    console = console or Console(width=min(Console().width, WIDTH))
    key = results.fingerprint(lesson_, impl)  # before the run: a save during it makes the result stale
    only = [f"--exercise={exercise}"] if exercise else []
    with console.status(f"running lesson {lesson_.number}'s tests on {impl.name}/..."):
        run = run_pytest([lesson_], impl, extra=only, shards=SHARDS)
    if not run.records:
        render_broken_run(lesson_, run, console)
        return 1
    if not exercise:
        results.store(lesson_, impl, key, run.records)
    render_report(lesson_, run, impl, console, exercise or None)
    return 0
