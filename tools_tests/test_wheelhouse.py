"""`make wheelhouse` and the offline set-up: what is downloaded, what the archive holds,
and that set-up switches to `--no-index` when wheelhouse/ has wheels. Nothing here
downloads: .ci/offline-setup builds a real wheelhouse and sets a fresh copy up from it."""

from __future__ import annotations

import shutil
import subprocess
import tarfile

import pytest

from course import wheelhouse
from course.lessons import ROOT


def test_the_requirements_are_the_course_and_its_test_extra_not_bench():
    names = {requirement.split(">")[0].split("=")[0] for requirement in wheelhouse.course_requirements()}
    assert {"httptools", "rich", "pytest", "pytest-timeout", "starlette", "fastapi"} <= names, names
    assert "uvicorn" not in names and "uvloop" not in names, "bench's extra is optional"


@pytest.mark.parametrize("platform, tag", [
    pytest.param("linux-aarch64", "manylinux_2_17_aarch64", id="linux-aarch64"),
    pytest.param("macos-arm64", "macosx_11_0_arm64", id="macos-arm64"),
])
def test_another_platform_is_fetched_as_wheels_only_for_its_tag_and_python(platform, tag):
    flags = wheelhouse.foreign_target(platform, "3.12")
    assert "--only-binary=:all:" in flags, "pip resolves for a foreign machine only from wheels"
    assert flags[flags.index("--platform") + 1] == tag
    assert flags[flags.index("--python-version") + 1] == "3.12"


def test_the_archive_holds_the_course_and_wheelhouse_but_no_learner_state(tmp_path):
    course = tmp_path / "course"
    for name in ("Makefile", "lessons/01_blocking_fetch/fetch.py", "wheelhouse/httptools-0.9.0-cp312.whl",
                 ".venv/bin/python", ".course/hints.json", "lessons/__pycache__/x.pyc",
                 "sockets_to_asgi.egg-info/PKG-INFO"):
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        (course / name).write_text("x")
    archive = wheelhouse.write_archive(tmp_path / "dist" / "workshop.tar.gz", root=course)
    with tarfile.open(archive) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"Makefile", "lessons/01_blocking_fetch/fetch.py", "wheelhouse/httptools-0.9.0-cp312.whl"} <= names
    assert not [name for name in names if name.startswith((".venv", ".course", "sockets_to_asgi.egg-info"))
                or "__pycache__" in name], names


@pytest.mark.parametrize("wheels, offline", [
    pytest.param(["pip-24.0-py3-none-any.whl"], True, id="with-wheelhouse"),
    pytest.param([], False, id="without"),
])
def test_set_up_installs_with_no_index_when_wheelhouse_has_wheels(tmp_path, wheels, offline):
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "wheelhouse").mkdir()
    for wheel in wheels:
        (tmp_path / "wheelhouse" / wheel).write_text("")
    plan = subprocess.run(["make", "-n", "setup"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    installs = [line for line in plan.stdout.splitlines() if "pip install" in line]
    assert installs, plan.stdout + plan.stderr
    assert all(("--no-index --find-links wheelhouse" in line) == offline for line in installs), installs
