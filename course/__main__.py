"""The course's command line; the Makefile's targets call it.

    python -m course test-lesson N [--impl DIR] [--exercise N.M] [--all]
    python -m course progress [--impl DIR]
    python -m course reset-lesson N
    python -m course start-lesson N   (lesson 9: copy your lesson-08 server in)
    python -m course demo N [--impl DIR] [demo options...]
    python -m course hint N [--impl DIR]
    python -m course grade DIR [--csv FILE] [--jobs N] [--timeout S]
    python -m course trace N [--impl DIR] [--json FILE] [--events N]
    python -m course watch [N] [--impl DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from course.lessons import ROOT, lesson, resolve_impl
from course.runner import pytest_command
from course.stubs import exercises


def test_lesson(number: str, impl: str, exercise: str = "", full: bool = False, extra: list[str] = ()) -> int:
    """Run lesson N's tests on `impl`: the focused report, or (`full`) pytest's own output."""
    lesson_ = lesson(number)
    if not lesson_.test_files():
        print(f"Lesson {lesson_.number} has no tests in this repository yet.")
        return 1
    if exercise and not any(ex.id == exercise for ex in exercises(lesson_)):
        ids = ", ".join(ex.id for ex in exercises(lesson_))
        print(f"Lesson {lesson_.number} has no exercise {exercise!r}; its exercises are {ids}.")
        return 2
    only = [f"--exercise={exercise}"] if exercise else []
    if full:
        command = pytest_command([lesson_], resolve_impl(impl), extra=["--no-header", *only, *extra])
        return subprocess.run(command, cwd=ROOT).returncode
    from course.report import focused_run
    return focused_run(lesson_, resolve_impl(impl), exercise)


def demo(number: str, impl: str, options: list[str], script: str = "demo.py") -> int:
    lesson_ = lesson(number)
    path = resolve_impl(impl) / lesson_.folder / script
    if not path.exists():
        print(f"{path} does not exist.")
        return 1
    code = subprocess.run([sys.executable, str(path), *options], cwd=ROOT).returncode
    if code not in (0, 130):  # 130: stopped with Ctrl-C, which long-running demos expect
        print(f"\nThe demo runs the code in {path.parent}: if it stopped at a NotImplementedError, "
              f"finish the exercises first (make test-lesson {lesson_.number}).")
    return code


# Commands with options of their own parse their own arguments.
OWN_PARSERS = {"grade": "course.grade", "trace": "course.trace", "watch": "course.watch"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in OWN_PARSERS:
        import importlib
        return importlib.import_module(OWN_PARSERS[argv[0]]).main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m course")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("test-lesson", "demo", "reset-lesson", "hint", "start-lesson"):
        sub = commands.add_parser(name)
        sub.add_argument("lesson")
        sub.add_argument("--impl", default=os.environ.get("IMPL") or "lessons")
        if name == "test-lesson":
            sub.add_argument("--exercise", default=os.environ.get("EX") or "", help="only this exercise, e.g. 3.4")
            sub.add_argument("--all", action="store_true", default=bool(os.environ.get("ALL")),
                             help="pytest's full output instead of the focused report")
    commands.add_parser("progress").add_argument("--impl", default=os.environ.get("IMPL") or "lessons")
    args, extra = parser.parse_known_args(argv)

    if args.command == "test-lesson":
        return test_lesson(args.lesson, args.impl, args.exercise, args.all, extra)
    if args.command == "demo":
        return demo(args.lesson, args.impl, extra)
    if args.command == "progress":
        from course.progress import show_progress
        return show_progress(resolve_impl(args.impl))
    if args.command == "hint":
        from course.hints import show_hint
        return show_hint(args.lesson, resolve_impl(args.impl))
    if args.command == "start-lesson":
        from course.start import main as start_lesson
        return start_lesson(args.lesson, resolve_impl(args.impl))
    if args.command == "reset-lesson":
        from course.stubs import reset_lesson
        backup = reset_lesson(lesson(args.lesson))
        print(f"Lesson {args.lesson}'s exercise files are back to their starting state."
              + (f"\nYour previous files are saved in {backup}" if backup else ""))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
