"""`make start-lesson 9`: lesson 09 begins from the learner's lesson-08 server, never over work."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.__main__ import main as course_main
from course.lessons import lesson
from course.start import StartRefused, files_to_carry, start_lesson
from course.stubs import write_stubs

pytestmark = pytest.mark.timeout(10)

LESSON_8, LESSON_9 = lesson(8), lesson(9)
LEARNER_SERVER = '"""My lesson 08 server."""\nfrom http11 import chunk\nimport helpers\nimport asyncio\n\nDONE = True\n'


@pytest.fixture
def learner(tmp_path: Path) -> Path:
    """A lessons/ folder: lesson 08 done (with a helper module of the learner's own), lesson 09 untouched."""
    folder = tmp_path / "lessons"
    write_stubs(folder, [LESSON_8, LESSON_9])
    (folder / LESSON_8.folder / "server.py").write_text(LEARNER_SERVER)
    (folder / LESSON_8.folder / "helpers.py").write_text("from http11 import reason_phrase\n")
    return folder


def test_copies_the_lesson_08_server_and_the_modules_it_imports_into_an_untouched_lesson_09(learner):
    written = start_lesson(LESSON_9, learner)
    assert sorted(path.name for path in written) == ["helpers.py", "http11.py", "server.py"]
    lesson_9 = learner / LESSON_9.folder
    assert (lesson_9 / "server.py").read_text() == LEARNER_SERVER
    assert (lesson_9 / "http11.py").read_text() == (learner / LESSON_8.folder / "http11.py").read_text()


def test_only_sibling_modules_are_carried_not_the_standard_library(learner):
    assert {path.name for path in files_to_carry(LESSON_8, learner)} == {"server.py", "http11.py", "helpers.py"}


def test_refuses_and_changes_nothing_when_lesson_09_was_edited(learner):
    edited = learner / LESSON_9.folder / "server.py"
    edited.write_text(edited.read_text() + "\n# my own start on lesson 09\n")
    before = {path.name: path.read_text() for path in edited.parent.iterdir() if path.is_file()}
    with pytest.raises(StartRefused, match="server.py.*would overwrite"):
        start_lesson(LESSON_9, learner)
    assert {path.name: path.read_text() for path in edited.parent.iterdir() if path.is_file()} == before


def test_refuses_when_a_carried_module_already_exists_in_lesson_09(learner):
    (learner / LESSON_9.folder / "helpers.py").write_text("# written by hand in lesson 09\n")
    with pytest.raises(StartRefused, match="helpers.py"):
        start_lesson(LESSON_9, learner)
    assert (learner / LESSON_9.folder / "helpers.py").read_text() == "# written by hand in lesson 09\n"


def test_refuses_when_lesson_08_is_still_its_stub(tmp_path):
    folder = tmp_path / "lessons"
    write_stubs(folder, [LESSON_8, LESSON_9])
    with pytest.raises(StartRefused, match="untouched stub of lesson 08"):
        start_lesson(LESSON_9, folder)


def test_refuses_for_a_lesson_that_starts_from_its_own_stubs(learner):
    with pytest.raises(StartRefused, match="starts from its own stubs"):
        start_lesson(lesson(3), learner)


def test_a_second_start_is_refused_because_lesson_09_now_holds_the_copy(learner):
    start_lesson(LESSON_9, learner)
    with pytest.raises(StartRefused, match="not untouched"):
        start_lesson(LESSON_9, learner)


def test_the_command_says_what_it_copied_and_what_to_do_next(learner, capsys):
    assert course_main(["start-lesson", "9", "--impl", str(learner)]) == 0
    said = capsys.readouterr().out
    assert "server.py" in said and "make test-lesson 9" in said
    assert course_main(["start-lesson", "9", "--impl", str(learner)]) == 1
    assert "Nothing was changed" in capsys.readouterr().out
