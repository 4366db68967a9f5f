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

# What each exercise builds, in a few words: the "what to build" column of the tables
# (`make test-lesson`, `make progress`). The exercise's first marker sentence says how,
# at its TODO; this says what. tools_tests check that every exercise has one.
EXERCISE_TITLES = {  # at most 29 characters: `make progress` gives them that much
    "1.1": "build_request: the GET bytes",
    "1.2": "fetch: recv until closed",
    "1.3": "decode_chunked",
    "1.4": "parse_response",
    "2.1": "connect_steps",
    "2.2": "send_steps: every byte",
    "2.3": "recv_steps: until closed",
    "2.4": "fetch_steps: fetch as steps",
    "2.5": "drive: steps with select()",
    "3.1": "sleep: ask to sleep",
    "3.2": "spawn and now",
    "3.3": "run: ready tasks and timers",
    "3.4": "timers in a heap",
    "3.5": "run_all: results in order",
    "4.1": "the loop: select and timers",
    "4.2": "park a task on a socket",
    "4.3": "run and run_all",
    "5.1": "take_heads: cut heads off",
    "5.2": "listener, epoll, wake-up",
    "5.3": "serve_forever and shutdown",
    "5.4": "_accept every connection",
    "5.5": "_on_readable: answer heads",
    "5.6": "_flush: partial sends",
    "6.1": "the loop: call_soon, timers",
    "6.2": "Future",
    "6.3": "Task: step a coroutine",
    "6.4": "sleep, gather, run",
    "6.5": "Task.cancel",
    "6.6": "add_reader, add_writer",
    "6.7": "sock_recv, sock_sendall...",
    "7.1": "split_target",
    "7.2": "check_head: framing rules",
    "7.3": "RequestParser: callbacks",
    "7.4": "build_scope: ASGI scope",
    "7.5": "response_head",
    "7.6": "chunk",
    "8.1": "start, serve, shut down",
    "8.2": "the connection, its parser",
    "8.3": "receive: body, disconnect",
    "8.4": "send: the response",
    "8.5": "keep-alive, pipelining",
    "8.6": "errors: 400, 500",
    "8.7": "lifespan",
    "8.8": "the command line",
    "9.0": "make start-lesson 9",
    "9.1": "timeouts",
    "9.2": "limits: 431, 413, 503",
    "9.3": "flow control",
    "9.4": "graceful shutdown",
    "9.5": "resilience: EMFILE, bad bytes",
    "9.6": "--workers",
    "10.0": "make start-lesson 10",
    "10.1": "frames.py: read, build",
    "10.2": "the handshake: 101, 403, 426",
    "10.3": "messages, pings, closing",
    "10.4": "flow control, keep-alive",
    "10.5": "shutdown: close with 1012",
    "11.1": "routing: paths, 404, 405",
    "11.2": "Request and responses",
    "11.3": "parameters, validation, 422",
    "11.4": "Depends, yield, overrides",
    "11.5": "middleware, errors, lifespan",
    "11.6": "/openapi.json and /docs",
}


def exercise_title(exercise: str, sentence: str = "") -> str:
    """The exercise's title, or `sentence` (its first marker's) for one without a title yet."""
    return EXERCISE_TITLES.get(exercise, sentence)


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
