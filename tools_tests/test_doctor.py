"""`make doctor`: blockers exit non-zero, gaps are warnings, and it runs on the standard
library alone (it is the check people run before .venv exists)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time

import pytest

from course import doctor
from course.lessons import ROOT

# -S: no site-packages, so an import beyond the standard library fails the run.
DOCTOR = [sys.executable, "-S", "-W", "error::DeprecationWarning", "-m", "course.doctor"]
UTF8 = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def run_doctor(command=DOCTOR, env=UTF8) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def line_about(topic: str, report: str) -> str:
    lines = [line for line in report.splitlines() if line[2:].startswith(topic)]
    assert lines, f"no line about {topic!r} in the report:\n{report}"
    return lines[0]


def test_a_missing_make_is_a_blocker_and_the_exit_status_says_so(tmp_path):
    result = run_doctor(env={**UTF8, "PATH": str(tmp_path)})  # an empty folder: no make, no wrk
    assert result.returncode == 1, f"a blocker must exit 1, got {result.returncode}:\n{result.stdout}"
    assert line_about("make", result.stdout).startswith("✘"), result.stdout
    assert "apt install make" in result.stdout, "a blocker's line says how to fix it"


def test_a_low_open_file_limit_is_a_warning_with_the_fix_and_exits_0():
    command = ["bash", "-c", 'ulimit -n 256 && exec "$@"', "doctor", *DOCTOR]
    result = run_doctor(command)
    line = line_about("open files", result.stdout)
    assert line.startswith("!") and "hard 256" in line and "C10K" in line, result.stdout
    assert "ulimit -Hn 11000" in result.stdout, "the warning says how to raise the limit"
    assert result.returncode == 0, f"a warning alone must not fail the run:\n{result.stdout}{result.stderr}"


def test_the_report_is_one_screen_at_80_columns_in_under_5_seconds():
    started = time.monotonic()
    result = run_doctor()
    elapsed = time.monotonic() - started
    lines = result.stdout.splitlines()
    assert elapsed < 5, f"make doctor took {elapsed:.1f} s; the issue allows 5"
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80, result.stdout
    for topic in ("python", "venv", "packages", "make", "epoll", "open files", "loopback", "wrk", "terminal"):
        assert line_about(topic, result.stdout)[0] in "✔!✘"


@pytest.mark.parametrize("version, level", [
    pytest.param((3, 9, 18), doctor.BLOCKER, id="3.9-too-old"),
    pytest.param((3, 10, 0), doctor.OK, id="3.10"),
    pytest.param((3, 13, 0), doctor.OK, id="3.13"),
])
def test_python_older_than_3_10_is_a_blocker(version, level):
    finding = doctor.check_python(version, "/usr/bin/python3")
    assert finding.level == level and "/usr/bin/python3" in finding.found


@pytest.mark.parametrize("limits, level, names", [
    pytest.param((256, 256), doctor.WARN, ["5.6", "4.2"], id="256"),
    pytest.param((1024, 4096), doctor.WARN, ["5.6"], id="hard-4096"),
    pytest.param((1024, 1048576), doctor.OK, [], id="soft-low-hard-high"),
])
def test_only_the_hard_open_file_limit_counts_since_the_tests_raise_the_soft_one(limits, level, names):
    finding = doctor.check_open_files(limits)
    assert finding.level == level and all(name in finding.found for name in names), finding.found


def test_a_narrow_terminal_is_a_warning():
    assert doctor.check_terminal(60).level == doctor.WARN
    assert doctor.check_terminal(120).level == doctor.OK


def test_the_file_limits_match_what_the_scale_tests_ask_for():
    from tests import test_04_selectors_scheduler as lesson_04
    from tests import test_05_epoll_server as lesson_05
    assert doctor.C10K_FILES == lesson_05.C10K + 1000
    assert doctor.THOUSAND_FETCHES_FILES == 2 * lesson_04.FETCHES + 256


def test_an_old_python_can_parse_it_and_be_told_it_is_too_old():
    source = (ROOT / "course" / "doctor.py").read_text()
    ast.parse(source, feature_version=(3, 7))  # SyntaxError if it uses newer syntax


def test_before_set_up_a_missing_venv_is_a_warning_that_says_make_setup(tmp_path):
    result = run_doctor([*DOCTOR, "--venv", str(tmp_path / "no-venv")])
    line = line_about("venv", result.stdout)
    assert line.startswith("!") and "make setup" in result.stdout, result.stdout


@pytest.mark.parametrize("wheels, python_tag, architecture, level", [
    pytest.param(["httptools-0.9.0-cp312-cp312-macosx_11_0_arm64.whl"], "cp312-", "arm64", doctor.OK,
                 id="arm64-mac"),
    pytest.param(["httptools-0.8.0-cp312-cp312-macosx_10_13_universal2.whl"], "cp312-", "x86_64", doctor.OK,
                 id="universal2"),
    pytest.param(["httptools-0.9.0-cp312-cp312-macosx_11_0_arm64.whl"], "cp310-", "arm64", doctor.BLOCKER,
                 id="no-wheel-for-this-python"),
    pytest.param(["httptools-0.9.0-cp312-cp312-macosx_11_0_arm64.whl"], "cp312-", "aarch64", doctor.BLOCKER,
                 id="no-wheel-for-this-machine"),
    pytest.param([], "cp312-", "x86_64", doctor.WARN, id="no-wheelhouse-needs-pypi"),
])
def test_before_set_up_the_wheelhouse_must_hold_httptools_for_this_python_and_machine(
        tmp_path, wheels, python_tag, architecture, level):
    for wheel in wheels:
        (tmp_path / "wheelhouse").mkdir(exist_ok=True)
        (tmp_path / "wheelhouse" / wheel).write_text("")
    finding = doctor.check_wheelhouse_covers_this_machine(tmp_path / "wheelhouse", python_tag, architecture)
    assert finding.level == level, finding.found
