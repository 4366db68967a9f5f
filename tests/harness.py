"""Helpers every lesson's tests share: loading the code under test, counting file
descriptors, and describing what crossed the wire when a network test fails."""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
import traceback
from pathlib import Path

import pytest

from course.lessons import Lesson


def load_module(impl_dir: Path, lesson: Lesson, module: str):
    """Import `<impl_dir>/<lesson folder>/<module>.py` under a private name.

    Lesson folders start with digits, so they cannot be imported as packages. The
    lesson folder is on sys.path only while the module runs its imports, and sibling
    modules it imported are dropped from sys.modules afterwards, so lesson 07's
    `parser` never stands in for lesson 08's.
    """
    folder = impl_dir / lesson.folder
    path = folder / f"{module}.py"
    if not path.is_file():
        pytest.fail(
            f"{path} does not exist. The tests of lesson {lesson.number} load {module}.py from "
            f"{impl_dir}/{lesson.folder}/ (is IMPL pointing at a folder laid out like lessons/?).",
            pytrace=False,
        )
    name = f"_course_{lesson.folder}_{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    module_object = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        sys.modules[name] = module_object
        spec.loader.exec_module(module_object)
    except Exception as error:  # the learner's module failed to import: say where and why
        sys.modules.pop(name, None)
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        pytest.fail(f"Importing {path} failed, so none of its tests can run:\n  {detail}", pytrace=False)
    finally:
        sys.path.remove(str(folder))
        for added in set(sys.modules) - before - {name}:
            if str(getattr(sys.modules[added], "__file__", "") or "").startswith(str(folder)):
                del sys.modules[added]
    return module_object


def open_fds() -> set[int]:
    """The file descriptors this process has open (Linux and macOS)."""
    fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    fds = set()
    for entry in os.listdir(fd_dir):
        fd = int(entry)
        try:
            os.fstat(fd)  # the listing itself opened one fd that is gone by now
        except OSError:
            continue
        fds.add(fd)
    return fds


def show_bytes(data: bytes, limit: int = 600) -> str:
    """A readable one-line rendering of bytes, cut in the middle when long."""
    if len(data) > limit:
        half = limit // 2
        return f"{data[:half]!r} ... ({len(data) - limit} more bytes) ... {data[-half:]!r}"
    return repr(data)


def nc_command(request: bytes, host: str = "127.0.0.1", port: int | str = 8000) -> str:
    """A shell command that sends these bytes by hand, to reproduce a test."""
    printable = request.decode("latin-1").replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
    return f"printf {shlex.quote(printable)} | nc {host} {port}"


def wire_report(*, client_sent: bytes | None = None, server_sent: bytes | None = None, got=None,
                hint: str = "", reproduce: str = "") -> str:
    """The message of a failed network test: the bytes on the wire, what came out, what to do."""
    lines = []
    if client_sent is not None:
        lines.append(f"  the client sent:  {show_bytes(client_sent)}")
    if server_sent is not None:
        lines.append(f"  the server sent:  {show_bytes(server_sent)}")
    if got is not None:
        lines.append(f"  your code gave:   {show_bytes(got) if isinstance(got, bytes) else repr(got)}")
    if hint:
        lines.append(f"  hint: {hint}")
    if reproduce:
        lines.append(f"  try it by hand:   {reproduce}")
    return "\n" + "\n".join(lines)
