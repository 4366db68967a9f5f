"""`python -m course.hotpath`: its variants still fit the reference, and a broken one is caught.

None of these needs wrk: they check the edits and the start-up, not the figures.
"""

from __future__ import annotations

import os
import time

import pytest

from course import hotpath
from course.hotpath import (REFERENCE_FOLDER, VARIANTS, ReplacementError, Variant, apply_replacements,
                            cpu_seconds, prepare, start_all, stop_all, write_variant)

REFERENCE = (REFERENCE_FOLDER / "server.py").read_text()


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.edit for v in VARIANTS])
def test_every_variant_applies_exactly_once_to_the_reference_and_compiles(variant):
    edited = apply_replacements(variant, REFERENCE)
    assert edited != REFERENCE
    for old, new in variant.replacements:
        assert edited.count(new) >= 1, f"{variant.name}: the replacement text is missing after the edit"
    compile(edited, f"{variant.name}/server.py", "exec")


def test_a_replacement_that_no_longer_matches_names_the_variant_and_the_text():
    stale = Variant("some choice", "some edit", (("this text is not in the reference", "x"),))
    with pytest.raises(ReplacementError, match="'some choice'.*occurs 0 times.*exactly once") as caught:
        apply_replacements(stale, REFERENCE)
    assert "this text is not in the reference" in str(caught.value)


def test_a_replacement_that_matches_twice_is_refused():
    ambiguous = Variant("doubled", "edit", (("import ", "import  "),))  # many imports
    with pytest.raises(ReplacementError, match="'doubled'.*exactly once"):
        apply_replacements(ambiguous, REFERENCE)


def test_a_variant_is_a_copy_of_the_whole_lesson_folder(tmp_path):
    server_py = write_variant(VARIANTS[0], tmp_path / "variant")
    assert (server_py.parent / "http11.py").read_text() == (REFERENCE_FOLDER / "http11.py").read_text()
    assert server_py.read_text() == apply_replacements(VARIANTS[0], REFERENCE)
    assert not (server_py.parent / "__pycache__").exists()


def test_cpu_seconds_reads_this_process_like_the_os_does():
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # burn a little CPU so both clocks move
        pass
    # /proc counts in clock ticks (10 ms here): a few ticks of difference at most.
    assert cpu_seconds(os.getpid()) == pytest.approx(time.process_time(), abs=0.1)


def test_without_wrk_it_says_so_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(hotpath.shutil, "which", lambda name: None)
    assert hotpath.main(["--turns", "1", "--duration", "1"]) == 2
    assert "wrk is not installed" in capsys.readouterr().out


@pytest.mark.timeout(120)  # eight Python servers start one after another on a busy machine
def test_every_variant_serves_the_hello_app_and_a_broken_one_is_flagged(tmp_path, monkeypatch):
    # The Event variant without its __slots__ edit: the class refuses the new attribute,
    # so every request fails. It must be reported, never timed.
    event_variant = next(v for v in VARIANTS if "Event" in v.edit)
    broken = Variant("broken", "Event without __slots__", event_variant.replacements[1:])
    monkeypatch.setattr(hotpath, "VARIANTS", (*VARIANTS, broken))
    contenders = prepare(tmp_path, "asyncio")
    try:
        start_all(contenders)
    finally:
        stop_all(contenders)
    problems = {(c.variant.name if c.variant else "reference"): c.server.problems for c in contenders}
    assert problems.pop("broken") == {"hello": "does not answer GET / with 200 Hello, world!"}
    assert all(not found for found in problems.values()), problems
