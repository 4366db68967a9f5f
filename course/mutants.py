"""Known learner mistakes must each fail at least one test.

`tests/mutants/NN_name.py` holds `MUTANTS`: a name for each mistake a learner
makes, and the edits that put it into the reference solution:

    MUTANTS = {
        "single recv() instead of a loop": [("while piece := sock.recv(...", "...")],
    }

Each mutant is the lesson's solution folder with those text replacements made
in its exercise module. The lesson's tests run on it and must fail (they stop
at the first failure, so a caught mutant costs little). A mutant that passes
means the tests no longer catch that mistake.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course.lessons import SOLUTIONS_DIR, TESTS_DIR, Lesson
from course.runner import run_tests

Edit = tuple[str, str]  # (text in the solution, text that replaces it)


def mutants_of(lesson: Lesson) -> dict[str, list[Edit]]:
    path = TESTS_DIR / "mutants" / f"{lesson.folder}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"_mutants_{lesson.folder}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MUTANTS


def apply_edits(source: str, edits: list[Edit], name: str) -> str:
    for old, new in edits:
        if source.count(old) != 1:
            raise ValueError(f"mutant {name!r}: {old!r} occurs {source.count(old)} times in the solution, not once")
        source = source.replace(old, new)
    return source


def is_caught(lesson: Lesson, name: str, edits: list[Edit]) -> bool:
    """Run the lesson's tests on the solution with this one mistake put in; True if a test fails."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as scratch:
        folder = Path(scratch) / lesson.folder
        shutil.copytree(SOLUTIONS_DIR / lesson.folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
        module = folder / f"{lesson.module}.py"
        module.write_text(apply_edits(module.read_text(), edits, name))
        _, records = run_tests([lesson], Path(scratch), extra=["-x"])
    return any(record.outcome == "failed" for record in records)


def surviving_mutants(lesson: Lesson) -> tuple[int, list[str]]:
    """(how many mutants were tried, the names of those no test caught)."""
    mutants = mutants_of(lesson)
    # Each mutant is its own pytest process, mostly waiting on sockets and timeouts:
    # one per core keeps the check short without starving the tests' timing margins.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        caught = pool.map(lambda item: is_caught(lesson, *item), mutants.items())
        return len(mutants), [name for name, ok in zip(mutants, caught) if not ok]
