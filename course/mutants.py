"""Known learner mistakes must each fail at least one test.

`tests/mutants/NN_name.py` holds `MUTANTS`: a name for each mistake a learner
makes, and the edits that put it into the reference solution:

    MUTANTS = {
        "single recv() instead of a loop": [("while piece := sock.recv(...", "...")],
    }

Each mutant is the lesson's solution folder with those text replacements made
in its exercise module, or in the module the file names as `MODULE = "frames"`
(lesson 10's mistakes live in frames.py, not in its server). The lesson's tests run on it and must fail (they stop
at the first failure, so a caught mutant costs little). A mutant that passes
means the tests no longer catch that mistake.

To keep `make test` short, a mutant first meets only the tests of the exercises
its edits fall in (the `# EXERCISE N.M` region around each edit), with the test
that caught it last time (remembered in .course/mutants.json) first; only if those
all pass does it meet the whole lesson. Every mutant still has to fail a test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course.lessons import ROOT, SOLUTIONS_DIR, TESTS_DIR, Lesson
from course.runner import run_tests
from course.stubs import EXERCISE_END, EXERCISE_START

Edit = tuple[str, str]  # (text in the solution, text that replaces it)


def _mutants_file(lesson: Lesson):
    path = TESTS_DIR / "mutants" / f"{lesson.folder}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"_mutants_{lesson.folder}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mutants_of(lesson: Lesson) -> dict[str, list[Edit]]:
    module = _mutants_file(lesson)
    return module.MUTANTS if module else {}


def mutated_module(lesson: Lesson) -> str:
    """The module the edits apply to: the file's MODULE, else the lesson's exercise module."""
    return getattr(_mutants_file(lesson), "MODULE", lesson.module)


def apply_edits(source: str, edits: list[Edit], name: str) -> str:
    for old, new in edits:
        if source.count(old) != 1:
            raise ValueError(f"mutant {name!r}: {old!r} occurs {source.count(old)} times in the solution, not once")
        source = source.replace(old, new)
    return source


def exercises_touched(source: str, edits: list[Edit]) -> list[str]:
    """The exercise ids whose `# EXERCISE` regions hold the text each edit replaces."""
    regions, current, offset = [], None, 0
    for line in source.splitlines(keepends=True):
        start = EXERCISE_START.match(line)
        if start:
            current = (start["id"], offset)
        elif EXERCISE_END.match(line) and current:
            regions.append((current[0], current[1], offset))
            current = None
        offset += len(line)
    touched = []
    for old, _new in edits:
        at = source.find(old)
        touched += [id_ for id_, begin, end in regions if begin <= at < end and id_ not in touched]
    return touched


# Which test caught each mutant last time: tried first next time. A cache, never required.
CAUGHT_BY_FILE = Path(os.environ.get("COURSE_MUTANTS_FILE") or ROOT / ".course" / "mutants.json")
_caught_by_lock = threading.Lock()


def _caught_by() -> dict[str, str]:
    try:
        return json.loads(CAUGHT_BY_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _remember_caught_by(key: str, nodeid: str) -> None:
    with _caught_by_lock:
        known = _caught_by()
        known[key] = nodeid
        try:
            CAUGHT_BY_FILE.parent.mkdir(parents=True, exist_ok=True)
            CAUGHT_BY_FILE.write_text(json.dumps(known, indent=1, sort_keys=True))
        except OSError:
            pass  # a read-only checkout: the next run is only slower


def is_caught(lesson: Lesson, name: str, edits: list[Edit]) -> bool:
    """Run the lesson's tests on the solution with this one mistake put in; True if a test fails."""
    key = f"{lesson.folder}: {name}"
    with tempfile.TemporaryDirectory(prefix="mutant-") as scratch:
        folder = Path(scratch) / lesson.folder
        shutil.copytree(SOLUTIONS_DIR / lesson.folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
        module = folder / f"{mutated_module(lesson)}.py"
        source = module.read_text()
        module.write_text(apply_edits(source, edits, name))
        first = _caught_by().get(key)
        touched = exercises_touched(source, edits)
        rounds = [[f"--exercise={','.join(touched)}"]] if touched else []
        rounds.append([])  # the whole lesson
        for options in rounds:
            extra = ["-x", *options, *([f"--first={first}"] if first else [])]
            _, records = run_tests([lesson], Path(scratch), extra=extra)
            failed = next((record.nodeid for record in records if record.outcome == "failed"), None)
            if failed:
                _remember_caught_by(key, failed)
                return True
    return False


def surviving_mutants(lesson: Lesson) -> tuple[int, list[str]]:
    """(how many mutants were tried, the names of those no test caught)."""
    mutants = mutants_of(lesson)
    # Each mutant is its own pytest process, mostly waiting on sockets and timeouts:
    # one per core keeps the check short without starving the tests' timing margins.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        caught = pool.map(lambda item: is_caught(lesson, *item), mutants.items())
        return len(mutants), [name for name, ok in zip(mutants, caught) if not ok]
