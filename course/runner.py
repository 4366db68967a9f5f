"""Running a lesson's tests against a folder and reading back what happened."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course.lessons import ROOT, Lesson


@dataclass
class TestRecord:
    __test__ = False  # a record of a test, not a test: pytest must not collect it
    nodeid: str
    exercise: str
    outcome: str  # "passed", "failed" or "skipped"
    not_started: bool  # failed with the stub's NotImplementedError
    message: str  # the course's message for a failure, without pytest's traceback
    frames: list[dict] = field(default_factory=list)  # the learner's code it failed in: path, line, function, source
    test_line: str = ""  # "tests/test_x.py:123", where the test failed


QUIET = ["-q", "--no-header", "-rN", "--tb=no"]  # pytest says little: the records say it all


def pytest_arguments(lessons: list[Lesson], impl: Path, report: Path | None = None, extra: list[str] = ()) -> list[str]:
    """pytest's arguments for these lessons' tests on `impl`, writing records to `report`."""
    files = [str(path) for lesson in lessons for path in lesson.test_files()]
    arguments = [*files, f"--impl={impl}", *extra]
    if report is not None:
        arguments.append(f"--report-json={report}")
    return arguments


def pytest_command(lessons: list[Lesson], impl: Path, report: Path | None = None, extra: list[str] = ()) -> list[str]:
    return [sys.executable, "-m", "pytest", *pytest_arguments(lessons, impl, report, extra)]


def read_report(path: Path) -> list[TestRecord]:
    """The records tests/conftest.py wrote (none if pytest never got that far)."""
    raw = json.loads(path.read_text()) if path.exists() else {}
    return [TestRecord(nodeid, r["exercise"], r["outcome"], r["not_started"], r["message"],
                       r.get("frames", []), r.get("test_line", "")) for nodeid, r in raw.items()]


@dataclass
class Run:
    code: int  # pytest's exit code; -1 when the run was stopped by `timeout`
    records: list[TestRecord]
    output: str  # what pytest printed (empty unless captured)
    seconds: float


def run_pytest(lessons: list[Lesson], impl: Path, *, quiet: bool = True, extra: list[str] = (),
               timeout: float | None = None) -> Run:
    """Run the tests of these lessons against `impl` and read back each test's record.

    `timeout` bounds the whole run (the grader's guard against a learner's code that
    hangs in a way no per-test limit can stop). `quiet` captures pytest's output.
    """
    started = time.monotonic()
    output = ""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = pytest_command(lessons, impl, report, [*(QUIET if quiet else []), *extra])
        try:
            completed = subprocess.run(command, cwd=ROOT, timeout=timeout, capture_output=quiet, text=True)
            code, output = completed.returncode, (completed.stdout or "") + (completed.stderr or "")
        except subprocess.TimeoutExpired:
            code = -1
        records = read_report(report)
    return Run(code, records, output, time.monotonic() - started)


def run_tests(lessons: list[Lesson], impl: Path, *, quiet: bool = True, extra: list[str] = (),
              timeout: float | None = None) -> tuple[int, list[TestRecord]]:
    """run_pytest() for callers that need only pytest's exit code and the records."""
    run = run_pytest(lessons, impl, quiet=quiet, extra=extra, timeout=timeout)
    return run.code, run.records
