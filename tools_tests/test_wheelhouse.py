"""`make wheelhouse` and the offline set-up: what is downloaded, what the archive holds,
and that set-up switches to `--no-index` when wheelhouse/ has wheels. Nothing here
downloads: .ci/offline-setup builds a real wheelhouse and sets a fresh copy up from it."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

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


def fake_wheel(folder: Path, name: str, version: str, metadata: str) -> None:
    """A wheel with only its METADATA: enough for reading its requirements."""
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{name}-{version}.dist-info/METADATA",
                       f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{metadata}")


PYTEST_LIKE = 'Requires-Dist: exceptiongroup>=1; python_version < "3.11"\nRequires-Dist: pluggy>=1\n'
NEEDS_3_11 = 'Requires-Python: >=3.11\nRequires-Dist: tomli>=2; python_version < "3.12"\n'


@pytest.mark.parametrize("python, missed", [
    pytest.param("3.10", ["exceptiongroup>=1"], id="3.10-needs-the-backport"),
    pytest.param("3.12", [], id="3.12-does-not"),
])
def test_backports_pip_download_skips_for_another_python_are_found_by_their_markers(tmp_path, python, missed):
    fake_wheel(tmp_path, "pytest", "9.0", PYTEST_LIKE)
    fake_wheel(tmp_path, "pluggy", "1.6", "")
    fake_wheel(tmp_path, "newonly", "2.0", NEEDS_3_11)  # never installed on 3.10: its needs do not count
    environment = wheelhouse.marker_environment("macos-arm64", python)
    assert wheelhouse.requirements_pip_missed(environment, tmp_path) == missed


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
