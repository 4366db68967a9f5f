"""Known learner mistakes must each fail at least one test.

`tests/mutants/NN_name.py` holds `MUTANTS`: a name for each mistake a learner
makes, and the edits that put it into the reference solution:

    MUTANTS = {
        "single recv() instead of a loop": [("while piece := sock.recv(...", "...")],
    }

Each mutant is the lesson's solution folder with those text replacements made
in its exercise module, or in the module the file names as `MODULE = "frames"`
(most of lesson 10's mistakes live in frames.py, not in its server); an edit
written (module, old, new) applies to that module instead (lesson 10's
websocket.py). The lesson's tests run on it and must fail (they stop
at the first failure, so a caught mutant costs little). A mutant that passes
means the tests no longer catch that mistake.

To keep `make test` short:
- a mutant first meets only the tests of the exercises its edits fall in (the
  `# EXERCISE N.M` region around each edit), with the test that caught it last
  time (remembered in .course/mutants.json) first; only if those all pass does it
  meet the whole lesson. Every mutant still has to fail a test;
- each run is a fork of one process that has already imported pytest and the
  libraries the tests load (starlette, fastapi, httptools): a fresh interpreter
  spent ~0.5 s of CPU on that per run, most of the check's CPU time;
- the runs of every lesson share one queue, WORKERS at a time. Most of a mutant's
  run is spent waiting (for a time-out, a socket, a server to start): with one run
  per core the cores were busy half the time (CPU time / wall time, measured), so
  two runs per core.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from typing import Union
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from course.lessons import ROOT, SOLUTIONS_DIR, TESTS_DIR, Lesson
from course.runner import QUIET, pytest_arguments, read_report
from course.stubs import EXERCISE_END, EXERCISE_START

# (text in the solution, text that replaces it), in the lesson's mutated module; or
# (module, text, replacement) for a mistake in another module of the lesson (lesson 10's
# server.py and websocket.py beside frames.py).
Edit = Union[tuple[str, str], tuple[str, str, str]]


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


def edits_by_module(edits: list[Edit], default: str) -> dict[str, list[tuple[str, str]]]:
    """The (old, new) edits of each module a mistake touches; 2-tuples go to `default`."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for edit in edits:
        module, old, new = edit if len(edit) == 3 else (default, *edit)
        grouped.setdefault(module, []).append((old, new))
    return grouped


def apply_edits(source: str, edits: list[tuple[str, str]], name: str) -> str:
    for old, new in edits:
        if source.count(old) != 1:
            raise ValueError(f"mutant {name!r}: {old!r} occurs {source.count(old)} times in the solution, not once")
        source = source.replace(old, new)
    return source


def exercises_touched(source: str, edits: list[tuple[str, str]]) -> list[str]:
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


def _caught_by() -> dict[str, str]:
    try:
        return json.loads(CAUGHT_BY_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _remember_caught_by(caught: dict[str, str]) -> None:
    try:
        CAUGHT_BY_FILE.parent.mkdir(parents=True, exist_ok=True)
        CAUGHT_BY_FILE.write_text(json.dumps({**_caught_by(), **caught}, indent=1, sort_keys=True))
    except OSError:
        pass  # a read-only checkout: the next run is only slower


@dataclass
class Mutant:
    """One mistake put into a copy of the solution, and the test runs still to try on it."""
    lesson: Lesson
    name: str
    edits: list[Edit]
    scratch: Path | None = None  # the copy, while the mutant is being tried
    rounds: list[list[str]] = field(default_factory=list)  # pytest options of each run still to come
    caught_by: str = ""  # the node id of the test that failed

    @property
    def key(self) -> str:
        return f"{self.lesson.folder}: {self.name}"

    def prepare(self, first: str | None) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="mutant-"))
        folder = self.scratch / self.lesson.folder
        shutil.copytree(SOLUTIONS_DIR / self.lesson.folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
        touched: list[str] = []
        for name, edits in edits_by_module(self.edits, mutated_module(self.lesson)).items():
            module = folder / f"{name}.py"
            source = module.read_text()
            module.write_text(apply_edits(source, edits, self.name))
            touched += [id_ for id_ in exercises_touched(source, edits) if id_ not in touched]
        options = [*QUIET, "-x", *([f"--first={first}"] if first else [])]
        self.rounds = ([[*options, f"--exercise={','.join(touched)}"]] if touched else []) + [options]

    def next_arguments(self) -> list[str]:
        report = self.scratch / "report.json"
        report.unlink(missing_ok=True)
        return pytest_arguments([self.lesson], self.scratch, report, self.rounds.pop(0))

    def read_round(self) -> None:
        failed = [r.nodeid for r in read_report(self.scratch / "report.json") if r.outcome == "failed"]
        self.caught_by = failed[0] if failed else ""

    def clean_up(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


# What the tests import that costs most to import: loaded once, shared by every fork.
PRELOADED = ("pytest", "pytest_timeout", "httptools", "starlette.applications", "fastapi", "tests.conftest")
WORKERS = 2 * (os.cpu_count() or 1)


def _preload() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the child imports it (or fails) as a fresh pytest would


def _fork_pytest(arguments: list[str]) -> int:
    """Start pytest with these arguments in a forked child, its output discarded; its pid."""
    import pytest
    pid = os.fork()
    if pid == 0:  # the child: never returns, whatever happens
        code = 70
        try:
            os.chdir(ROOT)
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            code = int(pytest.main(arguments))
        finally:
            os._exit(code)
    return pid


def try_mutants(mutants: list[Mutant], workers: int = WORKERS) -> None:
    """Run each mutant's rounds until a test fails or none is left; sets `caught_by`."""
    _preload()
    known = _caught_by()
    queue, running = deque(mutants), {}
    while queue or running:
        while queue and len(running) < workers:
            mutant = queue.popleft()
            if mutant.scratch is None:
                mutant.prepare(known.get(mutant.key))
            running[_fork_pytest(mutant.next_arguments())] = mutant
        pid, _status = os.wait()
        mutant = running.pop(pid, None)
        if mutant is None:
            continue  # not one of ours
        mutant.read_round()
        if not mutant.caught_by and mutant.rounds:
            queue.appendleft(mutant)  # not caught by its own exercise's tests: the whole lesson next
        else:
            mutant.clean_up()
    _remember_caught_by({m.key: m.caught_by for m in mutants if m.caught_by})


def surviving_mutants(lessons: list[Lesson]) -> dict[int, tuple[int, list[str]]]:
    """Lesson number -> (how many mutants were tried, the names of those no test caught)."""
    mutants = [Mutant(lesson, name, edits) for lesson in lessons for name, edits in mutants_of(lesson).items()]
    try_mutants(mutants)
    return {lesson.number: (sum(m.lesson == lesson for m in mutants),
                            [m.name for m in mutants if m.lesson == lesson and not m.caught_by])
            for lesson in lessons}
