"""Running a lesson's tests against a folder and reading back what happened."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course.lessons import ROOT, Lesson


@dataclass
class TestRecord:
    nodeid: str
    exercise: str
    outcome: str  # "passed", "failed" or "skipped"
    not_started: bool  # failed with the stub's NotImplementedError
    message: str


def pytest_command(lessons: list[Lesson], impl: Path, report: Path | None = None, extra: list[str] = ()) -> list[str]:
    files = [str(path) for lesson in lessons for path in lesson.test_files()]
    command = [sys.executable, "-m", "pytest", *files, f"--impl={impl}", *extra]
    if report is not None:
        command.append(f"--report-json={report}")
    return command


def run_tests(lessons: list[Lesson], impl: Path, *, quiet: bool = True, extra: list[str] = (),
              timeout: float | None = None) -> tuple[int, list[TestRecord]]:
    """Run the tests of these lessons against `impl`; returns pytest's exit code and the records.

    `timeout` bounds the whole run (the grader's guard against a learner's code that
    hangs in a way no per-test limit can stop); a run that exceeds it returns code -1.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        flags = ["-q", "--no-header", "-rN", "--tb=no"] if quiet else []
        command = pytest_command(lessons, impl, report, [*flags, *extra])
        try:
            completed = subprocess.run(command, cwd=ROOT, timeout=timeout,
                                       capture_output=quiet, text=True)
            code = completed.returncode
        except subprocess.TimeoutExpired:
            code = -1
        raw = json.loads(report.read_text()) if report.exists() else {}
    records = [TestRecord(nodeid, r["exercise"], r["outcome"], r["not_started"], r["message"]) for nodeid, r in raw.items()]
    return code, records
