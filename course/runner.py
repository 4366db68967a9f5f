"""Running a lesson's tests against a folder and reading back what happened."""

from __future__ import annotations

import itertools
import json
import os
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
# pytest processes a learner's run is split into (run_pytest's `shards`): the tests
# mostly wait on sockets and timers, so one per core halves the time on two cores.
SHARDS = min(2, os.cpu_count() or 1)


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
               timeout: float | None = None, shards: int = 1) -> Run:
    """Run the tests of these lessons against `impl` and read back each test's record.

    `timeout` bounds the whole run (the grader's guard against a learner's code that
    hangs in a way no per-test limit can stop). `quiet` captures pytest's output.
    `shards` > 1 splits the tests over that many pytest processes at once (every
    N-th test each: tests/conftest.py's --shard); the records are merged.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        commands = []
        for shard in range(shards):
            options = [*(QUIET if quiet else []), *extra, *([f"--shard={shard}/{shards}"] if shards > 1 else [])]
            commands.append(pytest_command(lessons, impl, Path(scratch) / f"report-{shard}.json", options))
        processes = [subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE if quiet else None,
                                      stderr=subprocess.STDOUT if quiet else None) for command in commands]
        codes, output = [], ""
        for process in processes:
            try:
                printed, _ = process.communicate(timeout=_left(timeout, started))
                codes.append(process.returncode)
                output += printed or ""
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                codes.append(-1)
        # Shard i ran tests i, i + N, i + 2N, ...: taking one of each in turn gives back the file order.
        reports = [read_report(Path(scratch) / f"report-{shard}.json") for shard in range(shards)]
        records = [record for round_ in itertools.zip_longest(*reports) for record in round_ if record]
    code = -1 if -1 in codes else max(codes)
    return Run(code, records, output, time.monotonic() - started)


def _left(timeout: float | None, started: float) -> float | None:
    return None if timeout is None else max(0.0, timeout - (time.monotonic() - started))


def run_tests(lessons: list[Lesson], impl: Path, *, quiet: bool = True, extra: list[str] = (),
              timeout: float | None = None) -> tuple[int, list[TestRecord]]:
    """run_pytest() for callers that need only pytest's exit code and the records."""
    run = run_pytest(lessons, impl, quiet=quiet, extra=extra, timeout=timeout)
    return run.code, run.records
