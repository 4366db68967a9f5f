"""Where lessons live and how to find one in any folder laid out like `lessons/`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS_DIR = ROOT / "lessons"
SOLUTIONS_DIR = ROOT / "solutions"
TESTS_DIR = ROOT / "tests"

# The course map, fixed by the curriculum: number -> (folder, exercise module).
LESSON_FOLDERS = {
    1: ("01_blocking_fetch", "fetch"),
    2: ("02_nonblocking", "nonblocking"),
    3: ("03_generator_scheduler", "scheduler"),
    4: ("04_selectors_scheduler", "selectors_loop"),
    5: ("05_epoll_server", "epoll_server"),
    6: ("06_async_await", "loop"),
    7: ("07_http_parsing", "parser"),
    8: ("08_asgi_server", "server"),
    9: ("09_production", "server"),
    10: ("10_websockets", "server"),  # 10.1 is frames.py: its tests load_lesson(10, "frames")
    11: ("11_framework", "framework"),
}


@dataclass(frozen=True)
class Lesson:
    number: int
    folder: str  # e.g. "01_blocking_fetch"
    module: str  # the exercise module, e.g. "fetch"

    @property
    def title(self) -> str:
        return self.folder[3:].replace("_", " ")

    def test_files(self) -> list[Path]:
        return sorted(TESTS_DIR.glob(f"test_{self.folder[:2]}_*.py"))

    def is_built(self) -> bool:
        """True once the lesson has a solution and tests in this repository."""
        return (SOLUTIONS_DIR / self.folder).is_dir() and bool(self.test_files())


def lesson(number: int | str) -> Lesson:
    """The lesson with this number ("3", "03" and 3 all work)."""
    try:
        n = int(number)
        folder, module = LESSON_FOLDERS[n]
    except (ValueError, KeyError):
        known = ", ".join(str(k) for k in LESSON_FOLDERS)
        raise SystemExit(f"There is no lesson {number!r}; the lessons are {known}.") from None
    return Lesson(n, folder, module)


def built_lessons() -> list[Lesson]:
    return [lesson(n) for n in LESSON_FOLDERS if lesson(n).is_built()]


EXERCISE_ID = re.compile(r"^(\d+)\.(\d+)$")


def exercise_key(exercise: str) -> tuple[int, int]:
    """Sort key for "1.10" after "1.9"."""
    match = EXERCISE_ID.match(exercise)
    if not match:
        raise ValueError(f"exercise ids look like '1.2', got {exercise!r}")
    return int(match[1]), int(match[2])


def resolve_impl(impl: str | Path) -> Path:
    """The implementation folder, relative to the repository root unless absolute."""
    path = Path(impl)
    return path if path.is_absolute() else (ROOT / path).resolve()
