"""`make hint N`: the next hint for the first exercise of lesson N that still fails.

How it works
------------
1. Run lesson N's tests on the learner's folder (IMPL) and take the first exercise,
   in course order (1.2 before 1.10), with a failed test.
2. Read that exercise's hints from the course's own `lessons/NN_name/HINTS.md`
   (course text, never the learner's copy): `## Exercise N.M` sections, each
   holding `<details><summary>Hint k: ...</summary> ... </details>` blocks, graded
   from a nudge to the key idea (CONTRIBUTING.md, "HINTS.md format").
3. Show the next one not yet shown and remember it in `.course/hints.json`, keyed
   by the resolved IMPL folder and the exercise id, so a class sharing one machine,
   or an instructor trying `IMPL=solutions`, never spends the learner's hints.

Once every hint of the exercise has been shown, say so and point at the README.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course.lessons import LESSONS_DIR, ROOT, Lesson, exercise_key
from course.runner import TestRecord

# COURSE_HINTS_FILE lets the course's own tests keep their state out of the repository.
STATE_FILE = Path(os.environ.get("COURSE_HINTS_FILE") or ROOT / ".course" / "hints.json")

SECTION = re.compile(r"^##\s+Exercise\s+(\d+\.\d+)\b.*$", re.MULTILINE)
HINT_BLOCK = re.compile(r"<details>\s*<summary>(?P<title>.*?)</summary>(?P<body>.*?)</details>", re.DOTALL)


@dataclass(frozen=True)
class Hint:
    title: str  # "Hint 1: a nudge"
    body: str  # Markdown


def parse_hints(text: str) -> dict[str, list[Hint]]:
    """Exercise id -> its hints in order, from the text of a HINTS.md."""
    sections = list(SECTION.finditer(text))
    result: dict[str, list[Hint]] = {}
    for index, heading in enumerate(sections):
        end = sections[index + 1].start() if index + 1 < len(sections) else len(text)
        blocks = HINT_BLOCK.finditer(text[heading.end():end])
        result[heading[1]] = [Hint(b["title"].strip(), b["body"].strip()) for b in blocks]
    return result


def hints_file(lesson_: Lesson, lessons_dir: Path = LESSONS_DIR) -> Path:
    return lessons_dir / lesson_.folder / "HINTS.md"


def load_hints(lesson_: Lesson, lessons_dir: Path = LESSONS_DIR) -> dict[str, list[Hint]]:
    """The lesson's hints; empty when it has no HINTS.md yet."""
    path = hints_file(lesson_, lessons_dir)
    return parse_hints(path.read_text()) if path.exists() else {}


# -- the state: how many hints each exercise has shown, per implementation folder ----


def load_state(state_file: Path = STATE_FILE) -> dict[str, dict[str, int]]:
    try:
        shown = json.loads(state_file.read_text()).get("shown", {})
    except (OSError, ValueError, AttributeError):
        return {}  # no file yet, or one we cannot read: start counting again
    return {impl: {ex: int(n) for ex, n in per.items()} for impl, per in shown.items() if isinstance(per, dict)}


def save_state(state: dict[str, dict[str, int]], state_file: Path = STATE_FILE) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary file and renamed, so a Ctrl-C never leaves half a file.
    with tempfile.NamedTemporaryFile("w", dir=state_file.parent, delete=False, suffix=".tmp") as out:
        json.dump({"version": 1, "shown": state}, out, indent=1, sort_keys=True)
    os.replace(out.name, state_file)


def hints_used(impl: Path, state_file: Path = STATE_FILE) -> dict[str, int]:
    """Exercise id -> how many hints were shown for this implementation folder."""
    return load_state(state_file).get(str(impl), {})


# -- choosing and showing ---------------------------------------------------------------


def first_failing_exercise(records: list[TestRecord]) -> str | None:
    failing = {r.exercise for r in records if r.outcome == "failed"}
    return min(failing, key=exercise_key) if failing else None


@dataclass
class HintAnswer:
    exercise: str | None  # None: every test passes
    hint: Hint | None  # the hint to show now; None when none is left (or none exists)
    number: int  # its number, 1-based (or how many were shown, when hint is None)
    available: int  # how many hints the exercise has
    failing_test: str = ""  # one test of the exercise that failed, to say why we chose it


def next_hint(exercise: str, hints: list[Hint], impl: Path, state_file: Path = STATE_FILE) -> HintAnswer:
    """The next hint of `exercise` that `impl` has not seen (`remember` it once shown)."""
    shown = hints_used(impl, state_file).get(exercise, 0)
    if shown >= len(hints):
        return HintAnswer(exercise, None, shown, len(hints))
    return HintAnswer(exercise, hints[shown], shown + 1, len(hints))


def remember(answer: HintAnswer, impl: Path, state_file: Path = STATE_FILE) -> None:
    """Record that `answer`'s hint was shown; called after printing it, so a crash spends none."""
    if answer.exercise is None or answer.hint is None:
        return
    state = load_state(state_file)
    per_impl = state.setdefault(str(impl), {})
    per_impl[answer.exercise] = max(per_impl.get(answer.exercise, 0), answer.number)
    save_state(state, state_file)


def readme_section(lesson_: Lesson, exercise: str, lessons_dir: Path = LESSONS_DIR) -> str:
    """Where the README explains this exercise: a heading that names it, else the line of the
    Exercises section that does, else the file."""
    readme = lessons_dir / lesson_.folder / "README.md"
    shown = readme.relative_to(ROOT) if readme.is_relative_to(ROOT) else readme
    if not readme.exists():
        return str(shown)
    names_it = re.compile(rf"(?<![\w./]){re.escape(exercise)}(?![\w.]*\d)")  # "1.1", not "HTTP/1.1"
    section = ""
    for number, line in enumerate(readme.read_text().splitlines(), start=1):
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            if names_it.search(section):
                return f"{shown}, section “{section}”"
        elif section.lower().startswith("exercise") and names_it.search(line):
            return f"{shown}, section “{section}” (line {number})"
    return f"{shown} (the Exercises section)"


def hint_for(lesson_: Lesson, impl: Path, records: list[TestRecord], *, lessons_dir: Path = LESSONS_DIR,
             state_file: Path = STATE_FILE) -> HintAnswer:
    """The answer to `make hint N`, given the records of a run of lesson N's tests on `impl`."""
    exercise = first_failing_exercise(records)
    if exercise is None:
        return HintAnswer(None, None, 0, 0)
    failing = next(r.nodeid for r in records if r.exercise == exercise and r.outcome == "failed")
    hints = load_hints(lesson_, lessons_dir).get(exercise, [])
    answer = next_hint(exercise, hints, impl, state_file)
    answer.failing_test = failing.split("::", 1)[-1]
    return answer


def show_hint(number: str, impl: Path) -> int:
    """The `make hint N` command."""
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.markup import escape
    from rich.panel import Panel

    from course.lessons import lesson
    from course.results import results
    from course.stubs import exercises

    console = Console()
    lesson_ = lesson(number)
    if not lesson_.test_files():
        console.print(f"Lesson {lesson_.number} has no tests in this repository yet, so there is nothing to hint at.")
        return 1
    with console.status(f"running lesson {lesson_.number}'s tests on {impl} to see where you are..."):
        found, _ = results([lesson_], impl)  # the stored results, when nothing changed since the last run
    records = found[lesson_.number]
    if not records:
        console.print(f"[red]The tests of lesson {lesson_.number} could not run.[/] "
                      f"Run `make test-lesson {lesson_.number}` to see why.")
        return 1
    answer = hint_for(lesson_, impl, records)
    if answer.exercise is None:
        console.print(f"[green]Every test of lesson {lesson_.number} passes[/]: no hint needed. "
                      "`make progress` shows what is next.")
        return 0
    sentences = {ex.id: ex.sentence for ex in exercises(lesson_)}
    header = f"Exercise {answer.exercise}: {sentences.get(answer.exercise, '')}".rstrip(": ")
    console.print(f"[bold]{escape(header)}[/]\n[dim]first failing test: {escape(answer.failing_test)}[/]")
    where = readme_section(lesson_, answer.exercise)
    if answer.available == 0:
        console.print(f"This exercise has no hints yet. Read {where}.")
    elif answer.hint is None:
        console.print(f"You have seen all {answer.available} hints for exercise {answer.exercise}. "
                      f"Read them again in {hints_file(lesson_).relative_to(ROOT)}, and re-read {where}.\n"
                      f"The failure message of `make test-lesson {lesson_.number}` says what your code did.")
    else:
        title = f"{answer.hint.title}  ({answer.number} of {answer.available})"
        console.print(Panel(Markdown(answer.hint.body), title=escape(title), title_align="left"))
        remember(answer, impl)
        if answer.number < answer.available:
            console.print(f"[dim]Still stuck? `make hint {lesson_.number}` again shows the next hint.[/]")
        else:
            console.print(f"[dim]That was the last hint for exercise {answer.exercise}; the README explains "
                          f"the idea in {where}.[/]")
    return 0
