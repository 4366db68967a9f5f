"""`make test`: the course checks itself.

1. The committed stubs are what the generator makes from the solutions (no drift).
2. Every test passes on `solutions/`.
3. Every test fails on the pristine stubs, generated afresh into a temporary folder
   (never the learner's edited `lessons/`): a test that passes on a stub tests nothing.
4. Every known learner mistake (`tests/mutants/`) fails at least one test.
5. The course's own tools pass their tests (`tools_tests/`; whole-course runs only).

Steps 2, 3 and 5 run side by side, then step 4: on 2 cores the whole check takes
under five minutes from a fresh clone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course.lessons import ROOT, SOLUTIONS_DIR, Lesson, built_lessons, lesson
from course.mutants import surviving_mutants
from course.runner import pytest_command, run_tests
from course.stubs import drift, write_stubs


def check_solutions(lessons: list[Lesson]) -> tuple[bool, list[str]]:
    said = [f"== 2. the tests of {len(lessons)} lesson(s) against solutions/"]
    command = pytest_command(lessons, SOLUTIONS_DIR, extra=["-q", "--no-header"])
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    said.append((completed.stdout + completed.stderr).rstrip())
    return completed.returncode == 0, said


def check_stubs(lessons: list[Lesson]) -> tuple[bool, list[str]]:
    said = ["== 3. the same tests against the pristine stubs (every one must fail)"]
    with tempfile.TemporaryDirectory(prefix="pristine-stubs-") as scratch:
        write_stubs(Path(scratch), lessons)
        _, records = run_tests(lessons, Path(scratch))
    survivors = [r for r in records if r.outcome == "passed"]
    skipped = [r for r in records if r.outcome == "skipped"]
    for record in survivors:
        said.append(f"   PASSED ON A STUB (this test checks nothing): {record.nodeid}")
    failed = len(records) - len(survivors) - len(skipped)
    said.append(f"   {failed} of {len(records)} tests failed on the stubs"
                + (f", {len(skipped)} skipped on this platform" if skipped else ""))
    return bool(records) and not survivors, said


def side_by_side(lessons: list[Lesson], with_tools: bool) -> dict[str, tuple[bool, float]]:
    """Steps 2, 3 (and 5): one pytest process each, at the same time. Each one's report
    is printed when all are done, so reports never interleave. The suite is built to
    pass with other runs beside it: CI machines are shared."""
    steps = {"solutions pass": check_solutions, "stubs fail": check_stubs}
    if with_tools:
        steps["tools work"] = lambda _lessons: check_tools()
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = {name: pool.submit(timed, step, lessons) for name, step in steps.items()}
        outcomes = {name: future.result() for name, future in futures.items()}
    for ok, said, _seconds in outcomes.values():
        print("\n".join(said), flush=True)
    return {name: (ok, seconds) for name, (ok, _said, seconds) in outcomes.items()}


def timed(step, lessons: list[Lesson]) -> tuple[bool, list[str], float]:
    started = time.monotonic()
    ok, said = step(lessons)
    return ok, said, time.monotonic() - started


def check_mutants(lessons: list[Lesson]) -> bool:
    print("== 4. known learner mistakes, put into the solutions (each must fail a test)", flush=True)
    all_caught = True
    for number, (tried, survivors) in surviving_mutants(lessons).items():
        for name in survivors:
            print(f"   NOT CAUGHT in lesson {number}: {name}")
        if tried:
            print(f"   lesson {number}: {tried - len(survivors)} of {tried} mistakes caught")
        all_caught = all_caught and not survivors
    return all_caught


def check_tools() -> tuple[bool, list[str]]:
    said = ["== 5. the course's own tools (stubs, hints, grading, tracer, start-lesson)"]
    # -W error: a deprecated API (asyncio policies, utcnow, ...) fails here before a
    # newer Python removes it under a learner.
    command = [sys.executable, "-m", "pytest", str(ROOT / "tools_tests"), "-q", "--no-header",
               "-W", "error::DeprecationWarning"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    said.append((completed.stdout + completed.stderr).rstrip())
    return completed.returncode == 0, said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.selfcheck", description=__doc__.split("\n")[0])
    parser.add_argument("--lesson", help="only this lesson")
    args = parser.parse_args(argv)
    lessons = [lesson(args.lesson)] if args.lesson else built_lessons()

    started = time.monotonic()
    print("== 1. stubs generated from the solutions match lessons/", flush=True)
    problems = drift(lessons)
    for problem in problems:
        print(f"   stub drift: {problem}")
    results = {"no stub drift": (not problems, 0.0)}
    # The tools are checked once, with the whole course.
    results.update(side_by_side(lessons, with_tools=not args.lesson))
    clock = time.monotonic()
    results["mistakes caught"] = (check_mutants(lessons), time.monotonic() - clock)
    print()
    for step, (ok, seconds) in results.items():
        took = f" ({seconds:.0f} s)" if seconds else ""
        print(f"   {'ok  ' if ok else 'FAIL'} {step}{took}")
    print(f"   total {time.monotonic() - started:.0f} s (steps 2, 3 and 5 run side by side)")
    if problems:
        print("   Stubs drifted: run `make stubs` and commit lessons/ with solutions/.")
    return 0 if all(ok for ok, _seconds in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
