"""`make watch`: re-run the current lesson's tests whenever a file under IMPL changes,
and show the focused report (course/report.py) on a cleared screen.

Polls the modification times of the files under IMPL (default lessons/) every half
second: no dependency, works the same on Linux and macOS. The current lesson is the
one given (`make watch 3`), else the lesson of the file saved last.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from course.lessons import LESSON_FOLDERS, Lesson, lesson

INTERVAL = 0.5  # seconds between two looks: quick enough to feel immediate, cheap enough to forget
FOLDER_TO_LESSON = {folder: number for number, (folder, _) in LESSON_FOLDERS.items()}


def snapshot(impl: Path) -> dict[Path, float]:
    """Every file under the lesson folders of `impl` -> its modification time."""
    times = {}
    for folder in FOLDER_TO_LESSON:
        for path in (impl / folder).rglob("*"):
            if "__pycache__" in path.parts or path.name.startswith("."):
                continue
            try:
                times[path] = path.stat().st_mtime
            except OSError:  # deleted between the listing and the stat: the next look sees it
                continue
    return times


def changed(before: dict[Path, float], after: dict[Path, float]) -> list[Path]:
    """Files added, modified or removed, the most recently modified last."""
    paths = {p for p in after if before.get(p) != after[p]} | (before.keys() - after.keys())
    return sorted(paths, key=lambda p: after.get(p, 0.0))


def lesson_of(path: Path, impl: Path) -> Lesson | None:
    try:
        folder = path.relative_to(impl).parts[0]
    except (ValueError, IndexError):
        return None
    return lesson(FOLDER_TO_LESSON[folder]) if folder in FOLDER_TO_LESSON else None


def latest_lesson(times: dict[Path, float], impl: Path) -> Lesson | None:
    """The lesson whose file was saved last (where the learner is working)."""
    for path in sorted(times, key=times.get, reverse=True):
        found = lesson_of(path, impl)
        if found is not None and found.test_files():
            return found
    return None


def look(before: dict[Path, float], impl: Path, fixed: Lesson | None) -> tuple[dict[Path, float], Lesson | None]:
    """One look: the new snapshot, and the lesson to test now (None: nothing changed)."""
    after = snapshot(impl)
    paths = changed(before, after)
    if not paths:
        return after, None
    return after, fixed or next((l for p in reversed(paths) if (l := lesson_of(p, impl))), None)


def run_lesson(lesson_: Lesson, impl: Path) -> int:
    from course.report import focused_run
    print("\033[2J\033[H", end="")  # clear the terminal, so only this run's result shows
    print(f"lesson {lesson_.number} · {time.strftime('%H:%M:%S')} · watching {impl} (Ctrl-C to stop)", flush=True)
    return focused_run(lesson_, impl)


def watch(impl: Path, number: str | None = None, interval: float = INTERVAL) -> int:
    fixed = lesson(number) if number else None
    times = snapshot(impl)
    current = fixed or latest_lesson(times, impl)
    if current is None:
        print(f"No lesson with tests found under {impl}. Give one: make watch 1")
        return 1
    run_lesson(current, impl)
    try:
        while True:
            time.sleep(interval)
            times, to_run = look(times, impl, fixed)
            if to_run is not None and to_run.test_files():
                run_lesson(to_run, impl)
    except KeyboardInterrupt:
        print()
        return 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m course watch", description=__doc__.split("\n")[0])
    parser.add_argument("lesson", nargs="?", help="the lesson to test (default: the one whose file changed)")
    parser.add_argument("--impl", default=os.environ.get("IMPL") or "lessons")
    args = parser.parse_args(argv)
    from course.lessons import resolve_impl
    return watch(resolve_impl(args.impl), args.lesson)
