"""`make hint N`: parsing HINTS.md, choosing the exercise, remembering what was shown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from course.hints import (Hint, first_failing_exercise, hint_for, hints_used, next_hint, parse_hints,
                          readme_section, remember)
from course.lessons import ROOT, lesson
from course import runner
from course.runner import run_tests

HINTS_MD = """# Lesson 01 hints

Open one at a time, or run `make hint 1`.

## Exercise 1.1

<details><summary>Hint 1: a nudge</summary>

Nudge for 1.1.

</details>

<details><summary>Hint 2: an approach</summary>

Approach for 1.1, with `code` and
two lines.

</details>

## Exercise 1.3 (decode_chunked)

<details>
<summary>Hint 1: a nudge</summary>
Nudge for 1.3.
</details>

## Exercise 1.10

<details><summary>Hint 1: a nudge</summary>

Nudge for 1.10.

</details>
"""


def record(exercise: str, outcome: str, name: str = "test_x") -> runner.TestRecord:
    return runner.TestRecord(f"tests/test_01_blocking_fetch.py::{name}", exercise, outcome, False, "")


@pytest.fixture
def lessons_dir(tmp_path: Path) -> Path:
    """A course `lessons/` holding lesson 01's HINTS.md and README.md (the text hints come from)."""
    folder = tmp_path / "course_lessons" / lesson(1).folder
    folder.mkdir(parents=True)
    (folder / "HINTS.md").write_text(HINTS_MD)
    (folder / "README.md").write_text(
        "# Lesson 01\n\n## An HTTP/1.1 exchange\n\n## Exercises\n\n1. **1.1 `build_request`** — build it.\n"
        "2. **1.3 `decode_chunked`** — decode it.\n\n## Run the tests\n")
    return folder.parent


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "hints.json"


def test_parse_hints_reads_every_section_and_block_in_order():
    hints = parse_hints(HINTS_MD)
    assert list(hints) == ["1.1", "1.3", "1.10"]
    assert hints["1.1"] == [Hint("Hint 1: a nudge", "Nudge for 1.1."),
                            Hint("Hint 2: an approach", "Approach for 1.1, with `code` and\ntwo lines.")]
    assert hints["1.3"] == [Hint("Hint 1: a nudge", "Nudge for 1.3.")]


def test_the_first_failing_exercise_is_taken_in_course_order_not_text_order():
    records = [record("1.10", "failed"), record("1.2", "passed"), record("1.9", "failed"), record("1.3", "skipped")]
    assert first_failing_exercise(records) == "1.9"
    assert first_failing_exercise([record("1.1", "passed")]) is None


def test_hints_are_shown_one_after_another_and_remembered_per_impl(tmp_path, state_file):
    hints = parse_hints(HINTS_MD)["1.1"]
    learner, other = tmp_path / "learner", tmp_path / "other"
    first = next_hint("1.1", hints, learner, state_file)
    assert (first.number, first.hint) == (1, hints[0])
    assert next_hint("1.1", hints, learner, state_file).number == 1, "asking again before it is shown repeats it"
    remember(first, learner, state_file)
    second = next_hint("1.1", hints, learner, state_file)
    assert (second.number, second.hint) == (2, hints[1])
    remember(second, learner, state_file)
    done = next_hint("1.1", hints, learner, state_file)
    assert done.hint is None and done.number == 2 and done.available == 2
    assert next_hint("1.1", hints, other, state_file).number == 1, "another IMPL folder has its own count"
    saved = json.loads(state_file.read_text())
    assert saved["shown"] == {str(learner): {"1.1": 2}}
    assert hints_used(learner, state_file) == {"1.1": 2}


def test_an_unreadable_state_file_starts_the_count_again(tmp_path, state_file):
    state_file.parent.mkdir(parents=True)
    state_file.write_text("{not json")
    assert hints_used(tmp_path, state_file) == {}


def test_readme_section_names_the_exercises_line_not_http_1_1(lessons_dir):
    assert readme_section(lesson(1), "1.1", lessons_dir).endswith("section “Exercises” (line 7)")
    assert readme_section(lesson(1), "1.3", lessons_dir).endswith("(line 8)")


@pytest.mark.timeout(60)
def test_hint_on_the_stubs_is_the_first_hint_of_1_1_then_the_second(stubs_impl, lessons_dir, state_file):
    _, records = run_tests([lesson(1)], stubs_impl)
    answers = []
    for _ in range(3):
        answer = hint_for(lesson(1), stubs_impl, records, lessons_dir=lessons_dir, state_file=state_file)
        remember(answer, stubs_impl, state_file)
        answers.append(answer)
    assert [a.exercise for a in answers] == ["1.1"] * 3
    assert [a.hint.body if a.hint else None for a in answers] == [
        "Nudge for 1.1.", "Approach for 1.1, with `code` and\ntwo lines.", None]
    assert answers[0].failing_test.startswith("test_"), answers[0].failing_test


@pytest.mark.timeout(60)
def test_hint_skips_the_exercises_that_pass(half_done_impl, lessons_dir, state_file):
    _, records = run_tests([lesson(1)], half_done_impl)
    answer = hint_for(lesson(1), half_done_impl, records, lessons_dir=lessons_dir, state_file=state_file)
    assert answer.exercise == "1.3" and answer.hint.body == "Nudge for 1.3."


@pytest.mark.timeout(60)
def test_make_hint_command_prints_hint_then_next_and_keeps_state(stubs_impl, tmp_path):
    """The command end to end, on the course's own lessons/01 HINTS.md."""
    if not (ROOT / "lessons" / lesson(1).folder / "HINTS.md").exists():
        pytest.skip("lessons/01_blocking_fetch/HINTS.md is not written yet")
    state = tmp_path / "hints.json"
    env = {**__import__("os").environ, "COURSE_HINTS_FILE": str(state), "COLUMNS": "100"}
    command = [sys.executable, "-m", "course", "hint", "1", "--impl", str(stubs_impl)]
    outputs = [subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=50) for _ in range(2)]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    assert "Exercise 1.1" in outputs[0].stdout and "Hint 1" in outputs[0].stdout, outputs[0].stdout
    assert "Hint 2" in outputs[1].stdout, outputs[1].stdout
    assert json.loads(state.read_text())["shown"] == {str(stubs_impl): {"1.1": 2}}
