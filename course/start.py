"""`make start-lesson N`: begin a lesson from your own code of the lesson before it.

Lesson 09 hardens the server written in lesson 08, so it starts from the learner's
`lessons/08_asgi_server/server.py`, not from a stub. `start_lesson` copies that
file, and the sibling modules it imports (`http11.py`, or a helper the learner
added), into `lessons/09_production/`, but only while lesson 09 is untouched: every
file there that would be overwritten must still be exactly its pristine stub (what
`make reset-lesson 9` writes). Otherwise it refuses and changes nothing, so it can
never overwrite work.
"""

from __future__ import annotations

import ast
from pathlib import Path

from course.lessons import LESSONS_DIR, Lesson, lesson
from course.stubs import generated_files

# lesson number -> the lesson whose code it starts from
CARRIED_FROM = {9: 8, 10: 9}


class StartRefused(Exception):
    """start_lesson() would overwrite work, or has nothing sensible to copy; the message says why."""


def _local_imports(path: Path) -> set[str]:
    """Names of the modules `path` imports that are files in its own folder."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return {name for name in names if (path.parent / f"{name}.py").is_file()}


def files_to_carry(source: Lesson, lessons_dir: Path = LESSONS_DIR) -> list[Path]:
    """The source lesson's exercise module and every sibling module it imports, directly or not."""
    folder = lessons_dir / source.folder
    found, todo = [], [f"{source.module}.py"]
    while todo:
        name = todo.pop()
        if folder / name in found:
            continue
        found.append(folder / name)
        todo += [f"{module}.py" for module in sorted(_local_imports(folder / name))]
    return found


def start_lesson(target: Lesson, lessons_dir: Path = LESSONS_DIR) -> list[Path]:
    """Copy the previous lesson's code into `target`'s folder; returns the files written.

    Raises StartRefused (having written nothing) if `target` does not start from another
    lesson, if the source is missing or still its untouched stub, or if any file it would
    overwrite differs from its pristine stub.
    """
    if target.number not in CARRIED_FROM:
        raise StartRefused(f"Lesson {target.number} starts from its own stubs: open "
                           f"{lessons_dir.name}/{target.folder}/ and begin (make test-lesson {target.number}).")
    source = lesson(CARRIED_FROM[target.number])
    module = lessons_dir / source.folder / f"{source.module}.py"
    if not module.is_file():
        raise StartRefused(f"{module} does not exist: lesson {target.number} starts from your lesson "
                           f"{source.number:02d} code.")
    if module.read_text() == generated_files(source).get(Path(module.name)):
        raise StartRefused(f"{module} is still the untouched stub of lesson {source.number:02d}. Lesson "
                           f"{target.number} builds on the server you write there: do lesson {source.number:02d} "
                           f"first (make test-lesson {source.number}).")
    pristine = generated_files(target)
    destination = lessons_dir / target.folder
    changed = [path.name for path in sorted(destination.glob("*")) if path.is_file()
               and Path(path.name) in pristine and path.read_text() != pristine[Path(path.name)]]
    carried = files_to_carry(source, lessons_dir)
    clashes = [path.name for path in carried
               if (destination / path.name).exists() and Path(path.name) not in pristine]
    if changed or clashes:
        raise StartRefused(
            f"Lesson {target.number} is not untouched: {', '.join(changed + clashes)} in {destination} "
            f"{'differs' if len(changed + clashes) == 1 else 'differ'} from the starting files, and copying "
            f"your lesson {source.number:02d} code would overwrite that work. Nothing was changed.\n"
            f"To start over from your lesson {source.number:02d} server anyway: make reset-lesson {target.number} "
            f"(it backs up your files), then make start-lesson {target.number}.")
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for path in carried:
        (destination / path.name).write_text(path.read_text())
        written.append(destination / path.name)
    return written


def main(number: str, lessons_dir: Path = LESSONS_DIR) -> int:
    target = lesson(number)
    try:
        written = start_lesson(target, lessons_dir)
    except StartRefused as refusal:
        print(refusal)
        return 1
    source = lesson(CARRIED_FROM[target.number])
    names = ", ".join(path.name for path in written)
    print(f"Copied your lesson {source.number:02d} code into {lessons_dir.name}/{target.folder}/: {names}.\n"
          f"Next: make test-lesson {target.number}. The lesson {source.number:02d} tests (exercise "
          f"{target.number}.0) should pass at once; the README's checklist says what to add.")
    return 0
