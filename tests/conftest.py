"""The shared test harness: which implementation is tested, and how failures read.

- `--impl DIR` picks the folder laid out like `lessons/` whose code is tested
  (default `lessons`; `make test-lesson N IMPL=DIR`). Tests never import
  `lessons/` or `solutions/` by name: they ask the `load_lesson` fixture.
- Every test carries `@pytest.mark.exercise("N.M")`; collection fails without it,
  because the progress table and the grader count exercises by it.
- A stub's `NotImplementedError` and a time-out are rewritten into one line a
  learner can act on, instead of a traceback into the harness.
- `--exercise 3.4` (comma-separated ids allowed) runs only those exercises' tests;
  `--first NODEID` runs that test first (the mistake check tries the test that
  caught a mistake last time first); `--shard I/N` runs every N-th test only.
- `--report-json FILE` writes each test's outcome, exercise, message and the frames
  of the learner's code it failed in, which the focused report (`make test-lesson`),
  `make progress`, `make grade` and the self-check read.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import socket
from pathlib import Path

import pytest

from course.lessons import lesson, resolve_impl
from tests import harness
from tests.harness import (STUCK, learner_frames, load_module, open_fds, running_asgi_server, shown_path,
                           traceback_of, where_stuck)

TIMEOUT_HINT = (
    "Your code did not finish within {seconds} s, so the test stopped it. It probably blocks "
    "forever: a recv() waiting for data the server will never send, a loop whose exit "
    "condition never comes true, or a wait on an event nobody sets."
)
HUNG_BEFORE = ("not run: {test} of the same exercise hung first, and this one would probably hang "
               "too (each hang costs its whole time limit). Fix that one, then run again.")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("course")
    group.addoption("--impl", default="lessons", help="folder laid out like lessons/ to test (default: lessons)")
    group.addoption("--report-json", default=None, help="write each test's outcome and exercise to this file")
    group.addoption("--exercise", default="", help="run only these exercises' tests, e.g. 3.4 or 3.3,3.4")
    group.addoption("--first", default="", help="run this test (a node id) before the others")
    group.addoption("--shard", default="", help="I/N: run only every N-th test, from the I-th (0-based) on")


@pytest.fixture(scope="session")
def impl_dir(request: pytest.FixtureRequest) -> Path:
    folder = resolve_impl(request.config.getoption("--impl"))
    if not folder.is_dir():
        pytest.fail(f"--impl {folder} is not a folder: point IMPL at a folder laid out like lessons/", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def load_lesson(impl_dir: Path):
    """load_lesson(N) -> lesson N's exercise module from the folder under test."""
    cache: dict[tuple[int, str], object] = {}

    def load(number: int, module: str | None = None):
        lesson_ = lesson(number)
        key = (number, module or lesson_.module)
        if key not in cache:
            cache[key] = load_module(impl_dir, lesson_, key[1])
        return cache[key]

    return load


@pytest.fixture
def fd_leak_check():
    """Fails the test if it ends with more open file descriptors than it started with.

    Request it before the fixtures that open sockets, so its check runs after they close.
    """
    before = open_fds()
    yield
    leaked = open_fds() - before
    if leaked:  # a socket nobody references is closed by the garbage collector: give it that chance
        gc.collect()  # (only then: a full collection costs ~45 ms once FastAPI is loaded)
        leaked = open_fds() - before
    if leaked:
        pytest.fail(
            f"{len(leaked)} file descriptor(s) were left open ({sorted(leaked)}): a socket or selector "
            "your code created was never closed. Close it with `with` or in a `finally:` block.",
            pytrace=False,
        )


@pytest.fixture
def pair():
    """Two connected, non-blocking sockets: bytes sent on one arrive on the other."""
    left, right = socket.socketpair()
    left.setblocking(False)
    right.setblocking(False)
    with left, right:
        yield left, right


@pytest.fixture
def serve(lesson, fd_leak_check):
    """serve(app, lifespan="off", **options) -> the test module's `lesson` Server, running
    on its own loop in a thread (tests.harness.running_asgi_server); stopped after the test."""
    with contextlib.ExitStack() as stack:
        def start(app, lifespan="off", **options):
            return stack.enter_context(running_asgi_server(lesson, app, lifespan=lifespan, **options))
        yield start


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if item.get_closest_marker("exercise") is None]
    if unmarked:
        raise pytest.UsageError("tests without @pytest.mark.exercise(...):\n  " + "\n  ".join(unmarked))
    first = config.getoption("--first")
    items.sort(key=lambda item: item.nodeid != first)  # stable: the others keep their order
    wanted = {ex.strip() for ex in config.getoption("--exercise").split(",") if ex.strip()}
    if wanted:
        deselected = [item for item in items if exercise_of(item) not in wanted]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if exercise_of(item) in wanted]
    if config.getoption("--shard"):  # the focused report runs a lesson as two shards, one per core
        shard, shards = (int(n) for n in config.getoption("--shard").split("/"))
        config.hook.pytest_deselected(items=[item for i, item in enumerate(items) if i % shards != shard])
        items[:] = items[shard::shards]


def exercise_of(item: pytest.Item) -> str:
    return item.get_closest_marker("exercise").args[0]


# exercise id -> the test of it that hung (pytest-timeout stopped it). One learner loop
# that never ends would otherwise cost every test of the exercise its full time limit.
HUNG: dict[str, str] = {}
# exercise id -> (the test, the stub message) when the exercise's own stub made a test of it
# fail slowly: a server test waits for an answer the stub never lets come. The exercise's
# other tests would each wait as long; they are reported as blocked by the same stub instead.
SLOW_STUB_SECONDS = 1.0
STUBBED_SLOWLY: dict[str, tuple[str, str]] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    hung = HUNG.get(exercise_of(item))
    if hung:
        pytest.fail(HUNG_BEFORE.format(test=hung), pytrace=False)
    stubbed = STUBBED_SLOWLY.get(exercise_of(item))
    if stubbed:
        test, stub_message = stubbed
        pytest.fail(f"NotImplementedError: {stub_message}\n(not run: {test} of the same exercise waited "
                    f"on this stub first)", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    report.exercise = exercise_of(item)
    report.not_started = False
    if not report.failed or call.excinfo is None:
        return
    lesson_ = lesson(report.exercise.split(".")[0])
    impl = Path(item.config.getoption("--impl"))
    error = call.excinfo.value
    stub_message = _stub_not_implemented(error)
    report.course_detail = {"message": "", "frames": learner_frames(traceback_of(error)),
                            "test_line": _test_line(item, call)}
    if stub_message:
        own_stub = stub_message.startswith(f"Exercise {report.exercise}:")  # not a later exercise's
        if own_stub and call.when == "call" and call.duration >= SLOW_STUB_SECONDS:
            STUBBED_SLOWLY.setdefault(report.exercise, (item.name, stub_message))
        report.not_started = True
        report.longrepr = (
            f"NotImplementedError: {stub_message}\n"
            f"  Next step: open {impl / lesson_.folder}/, find the line "
            f"`# TODO: exercise {stub_message.split()[1].rstrip(':')}` and write the code.\n"
            f"  Stuck? `make hint {lesson_.number}` shows a hint."
        )
        report.course_detail["message"] = f"NotImplementedError: {stub_message}"
    elif _unclosed_resource(error):
        report.longrepr = (
            f"Your code left a resource open: {_unclosed_resource(error)}\n"
            "  Next step: close every socket (and selector) you create, also when an error happens:\n"
            "  `with socket.create_connection(...) as sock:` or `try: ... finally: sock.close()`."
        )
        report.course_detail["message"] = str(report.longrepr)
    elif "from pytest-timeout" in str(error) or str(error).startswith("Timeout >"):
        seconds = str(error).split(">")[1].split("s")[0]
        hint = TIMEOUT_HINT.format(seconds=seconds)
        stuck = where_stuck(traceback_of(error))
        report.sections.append(("what a time-out means", hint + stuck))
        report.course_detail["message"] = hint + stuck
        report.course_detail["frames"] = []  # shown in the message, with what the loop waited on
        HUNG.setdefault(report.exercise, item.name)
    else:
        report.course_detail["message"] = failure_message(call.excinfo)
        if report.course_detail["message"].startswith(STUCK):  # within() stopped it, and said where
            report.course_detail["frames"] = []
            HUNG.setdefault(report.exercise, item.name)


def failure_message(excinfo: pytest.ExceptionInfo) -> str:
    """What a learner needs of a failure: the test's own message, without pytest's noise.

    pytest.fail(..., pytrace=False) and assert-with-message are the course's messages;
    pytest's rewritten `assert` adds its explanation ("+ where ...") after them, which
    is kept only when the assert has no message of its own. Any other exception is its
    type and text, as Python prints its last line.
    """
    error = excinfo.value
    if isinstance(error, pytest.fail.Exception):
        return error.msg or "the test failed"
    if isinstance(error, AssertionError):
        text = str(error)
        if text.startswith("assert "):
            return "\n".join(text.splitlines()[:6])
        own = text.split("\nassert ")[0]
        return own
    return excinfo.exconly() + raised_inside(error)


def raised_inside(error: BaseException) -> str:
    """Where a library (httptools, the standard library) raised on the learner's behalf,
    said in one line: the learner's own call comes with the report's "your code" lines."""
    stack, tb = [], error.__traceback__
    while tb is not None:
        stack.append(tb.tb_frame)
        tb = tb.tb_next
    if not stack or harness.in_impl(stack[-1].f_code.co_filename):
        return ""  # raised by the learner's own code
    if not any(harness.in_impl(frame.f_code.co_filename) for frame in stack):
        return ""  # the learner's code was not on the way: the test's own error
    library = stack[-1].f_globals.get("__name__", "a library").split(".")[0]
    return (f"\n{library} raised it, in a call your code made (the last line of yours below): "
            "check what your code passed to it.")


def _test_line(item: pytest.Item, call: pytest.CallInfo) -> str:
    """`tests/test_x.py:123`: the line of the test module where the failure passed last."""
    test_file = str(item.path)
    line = 0
    tb = call.excinfo.tb
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == test_file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{shown_path(test_file)}:{line or item.location[1] + 1}"


STUB_ERROR = re.compile(r"NotImplementedError: (Exercise \d+\.\d+:[^\n]*)")


def _stub_not_implemented(error: BaseException) -> str:
    """'Exercise N.M: ...' when a stub's NotImplementedError caused this failure, else ''.

    Found in the exception itself, in its chain, or in its text: a test that runs the
    learner's server in a subprocess reports the child's traceback inside its message.
    """
    while error is not None:
        if isinstance(error, NotImplementedError) and str(error).startswith("Exercise"):
            return str(error).splitlines()[0]
        found = STUB_ERROR.search(str(error))
        if found:
            return found[1]
        for inner in getattr(error, "exceptions", ()):  # an exception group: a teardown's several errors
            if found := _stub_not_implemented(inner):
                return found
        error = error.__cause__ or error.__context__
    return ""


def _unclosed_resource(error: BaseException) -> str:
    """The 'unclosed <socket ...>' text of a ResourceWarning behind this failure, or ''."""
    while error is not None:
        if isinstance(error, ResourceWarning) or "ResourceWarning" in str(error):
            text = str(error)
            start = text.find("unclosed")
            return text[start:].splitlines()[0] if start >= 0 else text.splitlines()[0]
        error = error.__cause__ or error.__context__
    return ""


class JsonReport:
    """Collects one record per test: outcome, exercise, and the first lines of the failure."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.setdefault(
            report.nodeid,
            {"exercise": getattr(report, "exercise", "?"), "outcome": "passed", "not_started": False, "message": ""},
        )
        if report.failed and record["outcome"] != "failed":
            record["outcome"] = "failed"
            record["not_started"] = getattr(report, "not_started", False)
            detail = getattr(report, "course_detail", None)
            if detail is None:  # failed outside a test call (a fixture's set-up): pytest's own text
                detail = {"message": "\n".join(str(report.longrepr).splitlines()[-12:]), "frames": [], "test_line": ""}
            record.update(detail)
        elif report.skipped and record["outcome"] == "passed":
            record["outcome"] = "skipped"
            record["message"] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.records, indent=1))


def pytest_configure(config: pytest.Config) -> None:
    harness.IMPL_DIR = resolve_impl(config.getoption("--impl"))
    path = config.getoption("--report-json")
    if path:
        config.pluginmanager.register(JsonReport(Path(path)), "course-json-report")
