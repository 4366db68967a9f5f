"""Exercise stubs, generated from the solutions so the two can never drift.

How it works
------------
A solution file marks each piece of code the learner writes:

    def fetch(host: str, port: int, path: str = "/") -> bytes:
        \"\"\"...\"\"\"
        # EXERCISE 1.2: connect, send the request, and recv() until the server closes.
        ...the reference code...
        # END EXERCISE

and, where it needs a private helper the stub should not show:

    # SOLUTION ONLY
    def _helper(): ...
    # END SOLUTION ONLY

The stub is the solution with each EXERCISE region replaced by a TODO and a
`raise NotImplementedError("Exercise 1.2: <the sentence>")` at the marker's
indentation, and each SOLUTION ONLY region removed. Everything else (the header,
imports, types, docstrings, given helpers) is carried over byte for byte.

`check` compares what the generator makes with git's copy of `lessons/` (the
index) and the working tree's: a learner's edits never trip it, a stale stub does.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from course.lessons import LESSONS_DIR, ROOT, SOLUTIONS_DIR, Lesson, built_lessons, lesson

EXERCISE_START = re.compile(r"^(?P<indent>[ \t]*)# EXERCISE (?P<id>\d+\.\d+): (?P<sentence>.+?)\s*$")
EXERCISE_END = re.compile(r"^[ \t]*# END EXERCISE\s*$")
HIDDEN_START = re.compile(r"^[ \t]*# SOLUTION ONLY\s*$")
HIDDEN_END = re.compile(r"^[ \t]*# END SOLUTION ONLY\s*$")


class StubError(Exception):
    """A solution file whose markers do not pair up."""


@dataclass(frozen=True)
class Exercise:
    id: str  # "1.2"
    sentence: str  # what to do, one sentence
    file: Path  # the solution file that holds it
    line: int  # where its marker is (1-based)


def _stub_lines(indent: str, exercise_id: str, sentence: str) -> list[str]:
    message = f"Exercise {exercise_id}: {sentence}"
    literal = f'"{message}"' if '"' not in message and "\\" not in message else repr(message)
    return [f"{indent}# TODO: exercise {exercise_id}\n", f"{indent}raise NotImplementedError({literal})\n"]


def make_stub(source: str, name: str = "<solution>") -> str:
    """The stub text for one solution file's text."""
    out: list[str] = []
    region: str | None = None  # None, "exercise" or "hidden": what we are inside
    opened_at = 0
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        start = EXERCISE_START.match(line)
        if region is None and start:
            out += _stub_lines(start["indent"], start["id"], start["sentence"])
            region, opened_at = "exercise", number
        elif region is None and HIDDEN_START.match(line):
            region, opened_at = "hidden", number
        elif region == "exercise" and EXERCISE_END.match(line):
            region = None
        elif region == "hidden" and HIDDEN_END.match(line):
            region = None
        elif EXERCISE_START.match(line) or HIDDEN_START.match(line) or EXERCISE_END.match(line) or HIDDEN_END.match(line):
            raise StubError(f"{name}:{number}: marker {line.strip()!r} inside or outside the wrong region")
        elif region is None:
            out.append(line)
    if region is not None:
        raise StubError(f"{name}:{opened_at}: region opened here is never closed")
    stub = "".join(out)
    compile(stub, name, "exec")  # a stub that does not even import would fail for the wrong reason
    return stub


def exercises(lesson_: Lesson) -> list[Exercise]:
    """Every exercise of a lesson, in file order, each listed once."""
    found: dict[str, Exercise] = {}
    for path in solution_files(lesson_):
        if path.suffix != ".py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            start = EXERCISE_START.match(line)
            if start and start["id"] not in found:
                found[start["id"]] = Exercise(start["id"], start["sentence"], path, number)
    return list(found.values())


def solution_files(lesson_: Lesson) -> list[Path]:
    folder = SOLUTIONS_DIR / lesson_.folder
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def generated_files(lesson_: Lesson) -> dict[Path, str]:
    """Relative path (under the lesson folder) -> the pristine stub text."""
    folder = SOLUTIONS_DIR / lesson_.folder
    result = {}
    for path in solution_files(lesson_):
        text = path.read_text()
        relative = path.relative_to(folder)
        result[relative] = make_stub(text, str(path.relative_to(ROOT))) if path.suffix == ".py" else text
    return result


def write_stubs(out_dir: Path, lessons: list[Lesson]) -> None:
    for lesson_ in lessons:
        for relative, text in generated_files(lesson_).items():
            target = out_dir / lesson_.folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def _git_copy(path: Path) -> str | None:
    """The file as git's index holds it; None if git does not track it."""
    result = subprocess.run(
        ["git", "show", f":{path.relative_to(ROOT).as_posix()}"],
        cwd=ROOT, capture_output=True, text=True,
    )
    return result.stdout if result.returncode == 0 else None


def drift(lessons: list[Lesson]) -> list[str]:
    """One line per stub that differs from what the generator makes.

    A stub is fine when git's copy (the index) or the working tree's copy matches:
    a learner edits the working tree and leaves the index pristine; an author
    regenerates the working tree before staging. A fresh clone has one copy of each.
    """
    problems = []
    for lesson_ in lessons:
        for relative, expected in generated_files(lesson_).items():
            path = LESSONS_DIR / lesson_.folder / relative
            copies = [_git_copy(path), path.read_text() if path.exists() else None]
            if expected not in copies:
                state = "is missing" if copies == [None, None] else "differs from the stub made from its solution"
                problems.append(f"{path.relative_to(ROOT)} {state}")
    return problems


def reset_lesson(lesson_: Lesson) -> Path | None:
    """Put the pristine stubs back in lessons/, keeping the learner's files. Returns the backup."""
    backup = ROOT / ".course" / "backups" / time.strftime("%Y%m%d-%H%M%S") / lesson_.folder
    saved = False
    for relative, text in generated_files(lesson_).items():
        target = LESSONS_DIR / lesson_.folder / relative
        if target.exists() and target.read_text() != text:
            (backup / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, backup / relative)
            saved = True
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return backup if saved else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.stubs", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["generate", "check", "list"])
    parser.add_argument("--lesson", help="only this lesson (default: every lesson that has a solution)")
    parser.add_argument("--out", type=Path, default=LESSONS_DIR, help="where to write stubs (generate)")
    args = parser.parse_args(argv)
    lessons = [lesson(args.lesson)] if args.lesson else built_lessons()
    try:
        if args.action == "generate":
            write_stubs(args.out, lessons)
            print(f"wrote the stubs of {len(lessons)} lesson(s) to {args.out}")
        elif args.action == "list":
            for lesson_ in lessons:
                for ex in exercises(lesson_):
                    print(f"{ex.id:6} {ex.sentence}")
        else:
            problems = drift(lessons)
            for problem in problems:
                print(f"stub drift: {problem}", file=sys.stderr)
            if problems:
                print("Run `make stubs` and commit lessons/ with solutions/.", file=sys.stderr)
                return 1
            print(f"stubs: lessons/ matches solutions/ for {len(lessons)} lesson(s)")
    except StubError as error:
        print(f"stub markers: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
