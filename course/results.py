"""Each lesson's test results, kept until a file they depend on changes.

`make progress` would otherwise run all ~600 tests (15 s) to redraw a table in
which, usually, one lesson changed. A lesson's results are stored with a
fingerprint of everything that decides them: the learner's files of the lessons
its tests load, the lesson's test modules (and the test modules they import), the
shared harness, and pytest's configuration. Same fingerprint, same results: the
stored ones are used; any byte changed, the lesson runs again.

The store is `.course/results/` (COURSE_RESULTS_DIR overrides it, for the
course's own tests), one folder per implementation folder, one file per lesson.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path

from course.lessons import ROOT, SOLUTIONS_DIR, TESTS_DIR, Lesson, lesson
from course.runner import SHARDS, TestRecord, run_pytest

STORE = Path(os.environ.get("COURSE_RESULTS_DIR") or ROOT / ".course" / "results")
HARNESS_FILES = ["conftest.py", "harness.py", "servers.py", "c10k_client.py", "asgi_client.py", "__init__.py"]
LOADS_LESSON = re.compile(r"load_lesson\((\d+)")
LOADS_REFERENCE = re.compile(r"load_module\(SOLUTIONS_DIR, lesson\((\d+)\)")
IMPORTS_TESTS = re.compile(r"from tests import (test_\w+)|from tests\.(test_\w+) import")


def test_modules(lesson_: Lesson) -> list[Path]:
    """The lesson's test files and the test modules they import (lesson 09 re-runs 08's)."""
    found, queue = [], list(lesson_.test_files())
    while queue:
        path = queue.pop()
        if path in found or not path.exists():
            continue
        found.append(path)
        for match in IMPORTS_TESTS.finditer(path.read_text()):
            queue.append(TESTS_DIR / f"{match[1] or match[2]}.py")
    return sorted(found)


def inputs(lesson_: Lesson, impl: Path) -> list[Path]:
    """Every file whose content decides this lesson's results on `impl`."""
    modules = test_modules(lesson_)
    loaded = {lesson_.number} | {int(n) for path in modules for n in LOADS_LESSON.findall(path.read_text())}
    learner_files = [path for number in sorted(loaded)
                     for path in sorted((impl / lesson(number).folder).rglob("*.py"))
                     if "__pycache__" not in path.parts]
    # Apps the tests serve (tests/appsNN/) and reference lessons they load whatever the
    # implementation (lesson 11's differential runs on the reference 09 server).
    apps = sorted((TESTS_DIR / f"apps{lesson_.folder[:2]}").glob("*.py"))
    references = {int(n) for path in modules for n in LOADS_REFERENCE.findall(path.read_text())}
    reference_files = [path for number in sorted(references)
                       for path in sorted((SOLUTIONS_DIR / lesson(number).folder).glob("*.py"))]
    return [*learner_files, *modules, *apps, *reference_files, *(TESTS_DIR / name for name in HARNESS_FILES),
            ROOT / "pyproject.toml"]


def fingerprint(lesson_: Lesson, impl: Path) -> str:
    digest = hashlib.sha256()
    for path in inputs(lesson_, impl):
        digest.update(str(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def _store_file(lesson_: Lesson, impl: Path) -> Path:
    folder = hashlib.sha256(str(impl).encode()).hexdigest()[:16]
    return STORE / folder / f"{lesson_.folder}.json"


def stored(lesson_: Lesson, impl: Path, key: str) -> list[TestRecord] | None:
    """The stored records if they were made from files with this fingerprint, else None."""
    try:
        saved = json.loads(_store_file(lesson_, impl).read_text())
        if saved["fingerprint"] != key:
            return None
        return [TestRecord(**record) for record in saved["records"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or from an older course version: run again


def store(lesson_: Lesson, impl: Path, key: str, records: list[TestRecord]) -> None:
    path = _store_file(lesson_, impl)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"impl": str(impl), "fingerprint": key,
                                     "records": [dataclasses.asdict(r) for r in records]}))
    os.replace(temporary, path)  # a Ctrl-C never leaves half a file


def lesson_of_record(record: TestRecord) -> int:
    return int(record.exercise.split(".")[0])


def results(lessons: list[Lesson], impl: Path, on_run=None) -> tuple[dict[int, list[TestRecord]], list[Lesson]]:
    """Lesson number -> its records, and the lessons that had to run again.

    Fingerprints are taken before the run, so a file saved while the tests run makes
    the stored result stale at once. `on_run(stale_lessons)` is called before a run.
    """
    keys = {lesson_.number: fingerprint(lesson_, impl) for lesson_ in lessons}
    found: dict[int, list[TestRecord]] = {}
    for lesson_ in lessons:
        records = stored(lesson_, impl, keys[lesson_.number])
        if records is not None:
            found[lesson_.number] = records
    stale = [lesson_ for lesson_ in lessons if lesson_.number not in found]
    if stale:
        if on_run is not None:
            on_run(stale)
        records = run_pytest(stale, impl, shards=SHARDS).records
        for lesson_ in stale:
            mine = [record for record in records if lesson_of_record(record) == lesson_.number]
            found[lesson_.number] = mine
            if mine:  # nothing at all means the run itself failed: do not remember that
                store(lesson_, impl, keys[lesson_.number], mine)
    return found, stale
