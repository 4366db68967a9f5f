"""A pytest plugin for `make grade`: one JSON line per event, flushed as it happens.

The harness's `--report-json` is written when the session ends. When the grader
has to kill a run (a learner's code hangs where no per-test time limit reaches),
there is no end, and this log is what is left: the tests collected, and the outcome
of each test that finished before the kill, so the exercises already passed still count.

    python -m pytest ... -p course.gradelog --grade-log=FILE [--grade-decided-skip]

With `--grade-decided-skip`, once a test of an exercise has failed, the exercise's
remaining tests are skipped: an exercise counts only when all its tests pass, so
they cannot change the grade, and a learner's infinite loop then costs one time
limit per exercise instead of one per test.
"""

from __future__ import annotations

import json

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grade-log", default=None, help="append each test's outcome to this file as it happens")
    parser.addoption("--grade-decided-skip", action="store_true",
                     help="skip the remaining tests of an exercise once one of its tests failed")


class GradeLog:
    def __init__(self, path: str, skip_decided: bool = False) -> None:
        self.out = open(path, "a", buffering=1)  # line-buffered: each line reaches the disk at once
        self.skip_decided = skip_decided
        self.failed_exercises: set[str] = set()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("exercise")
        if self.skip_decided and marker and marker.args[0] in self.failed_exercises:
            pytest.skip(f"not run: exercise {marker.args[0]} already failed a test")

    def write(self, **entry) -> None:
        self.out.write(json.dumps(entry) + "\n")
        self.out.flush()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            marker = item.get_closest_marker("exercise")
            self.write(event="collected", nodeid=item.nodeid, exercise=marker.args[0] if marker else "?")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed_exercises.add(getattr(report, "exercise", "?"))
        if report.failed or report.skipped or report.when == "call":
            self.write(event="result", nodeid=report.nodeid, when=report.when, outcome=report.outcome,
                       exercise=getattr(report, "exercise", "?"))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.out.close()


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--grade-log")
    if path:
        config.pluginmanager.register(GradeLog(path, config.getoption("--grade-decided-skip")), "course-grade-log")


def read_log(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(nodeid -> exercise for every collected test, nodeid -> final outcome for the finished ones)."""
    collected: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the last line of a killed run may be cut short
        if entry.get("event") == "collected":
            collected[entry["nodeid"]] = entry["exercise"]
        elif entry.get("event") == "result":
            previous = outcomes.get(entry["nodeid"])
            # A failure in setup, call or teardown fails the test, whatever came before or after.
            if previous != "failed":
                outcomes[entry["nodeid"]] = entry["outcome"]
    return collected, outcomes
