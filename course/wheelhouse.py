"""`make wheelhouse`: every wheel the course needs, in wheelhouse/, for an offline set-up.

    python -m course.wheelhouse [--platforms all | linux-x86_64,macos-arm64,...]
                                [--pythons 3.10,3.11,3.12,3.13] [--no-archive]

How this works: the course's requirements are read from its installed metadata
(pyproject.toml's dependencies and the `test` extra), then `pip download` fetches
them twice over: once for this machine, once per other target platform and Python
with `--only-binary=:all: --platform ... --python-version ...` (pip can only resolve
for a foreign machine from wheels). pip judges environment markers by the Python
that runs it, though, not by --python-version, so it leaves out what only another
Python or platform needs (exceptiongroup and tomli on 3.10): after each foreign
download, the markers of every wheel's requirements are evaluated for that target
and what is missing is fetched too. setuptools and wheel come too, because the
course installs itself with `pip install -e .` and pip builds that in an isolated
environment whose build dependencies must also come from wheelhouse/; pip comes so
that set-up's `pip install --upgrade pip` works offline.

Then it writes dist/sockets-to-asgi-workshop.tar.gz: the course's files plus
wheelhouse/, the one file an instructor hands out (USB stick, local share). Unpacked,
`make setup` sees wheelhouse/ and installs with `--no-index` (the Makefile's
$(STAMP) recipe): no network.
"""

from __future__ import annotations

import argparse
import email.parser
import importlib.metadata
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

from course.lessons import ROOT

WHEELHOUSE = ROOT / "wheelhouse"
ARCHIVE = ROOT / "dist" / "sockets-to-asgi-workshop.tar.gz"
PROJECT = "sockets-to-asgi"
EXTRAS = {"test"}  # `make bench`'s extra (uvicorn, uvloop) is left out: it is optional
TOOLS = ["pip", "setuptools>=61", "wheel"]  # set-up's own needs; setuptools: pyproject's build backend

# pip's --platform tags per target. pip widens each to the older tags it accepts
# (macosx_11_0_arm64 also takes macosx_10_9_universal2; manylinux_2_17 takes manylinux2014).
PLATFORM_TAGS = {
    "linux-x86_64": ["manylinux_2_17_x86_64"],
    "linux-aarch64": ["manylinux_2_17_aarch64"],
    "macos-arm64": ["macosx_11_0_arm64"],
    "macos-x86_64": ["macosx_10_13_x86_64"],
}
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]  # the versions the README says the course supports
# What environment markers see on each target (PEP 508's marker variables).
PLATFORM_MARKERS = {
    "linux-x86_64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
    "linux-aarch64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
    "macos-arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
    "macos-x86_64": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64"},
}

# Never in the archive: the learner's state, caches, and what is built here.
NOT_HANDED_OUT = {".git", ".venv", ".course", "dist", "build", "__pycache__", ".pytest_cache"}


def course_requirements() -> list[str]:
    """The project's requirements and those of EXTRAS, as `pip download` arguments."""
    wanted = []
    for requirement in importlib.metadata.requires(PROJECT) or []:
        name, _, marker = requirement.partition(";")
        extra = marker.split("extra ==")[-1].strip(' "\'') if "extra ==" in marker else None
        if extra is None or extra in EXTRAS:
            wanted.append(name.strip())
    return wanted


def download(requirements: list[str], target: list[str] = ()) -> None:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(WHEELHOUSE),
               *target, *requirements]
    print("   " + " ".join(["pip download", *target]) if target else "   pip download (this machine)", flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def foreign_target(platform: str, python: str) -> list[str]:
    flags = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    for tag in PLATFORM_TAGS[platform]:
        flags += ["--platform", tag]
    return flags


def marker_environment(platform: str, python: str) -> dict[str, str]:
    environment = dict(default_environment())
    environment.update(PLATFORM_MARKERS[platform], python_version=python, python_full_version=python + ".0",
                       os_name="posix", implementation_name="cpython", platform_python_implementation="CPython")
    return environment


def wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"), headersonly=True)


def requirements_pip_missed(environment: dict[str, str], wheelhouse: Path = WHEELHOUSE) -> list[str]:
    """What wheels in wheelhouse/ that suit this Python require under these markers, by
    name, when wheelhouse/ has no wheel of that name at all."""
    wheels = sorted(wheelhouse.glob("*.whl"))
    present = {canonicalize_name(parse_wheel_filename(wheel.name)[0]) for wheel in wheels}
    missed = set()
    for wheel in wheels:
        metadata = wheel_metadata(wheel)
        if not SpecifierSet(metadata.get("Requires-Python") or "").contains(environment["python_full_version"]):
            continue  # pip would not install this version on that Python
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            needed = requirement.marker is None or requirement.marker.evaluate({**environment, "extra": ""})
            if needed and canonicalize_name(requirement.name) not in present:
                missed.add(f"{requirement.name}{requirement.specifier}")
    return sorted(missed)


def download_for(platform: str, python: str, requirements: list[str]) -> None:
    target = foreign_target(platform, python)
    download(requirements, target)
    for _ in range(3):  # a fetched backport may itself need one (rare; bounded)
        missed = requirements_pip_missed(marker_environment(platform, python))
        if not missed:
            return
        print(f"   + for Python {python} on {platform}, by their markers: {', '.join(missed)}", flush=True)
        download(missed, target)


def write_archive(archive: Path = ARCHIVE, root: Path = ROOT) -> Path:
    """The course's files under `root`, wheelhouse/ included, in one .tar.gz under one top folder."""
    archive.parent.mkdir(exist_ok=True)

    def keep(info: tarfile.TarInfo):
        parts = Path(info.name).parts
        handed_out = not set(parts) & NOT_HANDED_OUT and not parts[-1].endswith((".egg-info", ".pyc"))
        return info if handed_out else None

    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(root.iterdir()):
            if path.name not in NOT_HANDED_OUT:
                tar.add(path, arcname=f"{PROJECT}/{path.name}", filter=keep)
    return archive


def megabytes(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.wheelhouse", description=__doc__.split("\n")[0])
    parser.add_argument("--platforms", default="", help="all, or a comma-separated list of: "
                        + ", ".join(PLATFORM_TAGS))
    parser.add_argument("--pythons", default=",".join(PYTHONS), help="for --platforms (default: %(default)s)")
    parser.add_argument("--no-archive", action="store_true", help="only wheelhouse/, no dist/ archive")
    args = parser.parse_args(argv)
    platforms = list(PLATFORM_TAGS) if args.platforms == "all" else [p for p in args.platforms.split(",") if p]
    unknown = [p for p in platforms if p not in PLATFORM_TAGS]
    if unknown:
        parser.error(f"unknown platform {unknown[0]!r}; known: all, " + ", ".join(PLATFORM_TAGS))

    WHEELHOUSE.mkdir(exist_ok=True)
    requirements = course_requirements()
    print(f"== wheels for {', '.join(requirements)} and {', '.join(TOOLS)}", flush=True)
    download([*requirements, *TOOLS])
    for platform in platforms:
        for python in args.pythons.split(","):
            download_for(platform, python, [*requirements, *TOOLS])
    wheels = sorted(WHEELHOUSE.glob("*.whl"))
    print(f"   wheelhouse/: {len(wheels)} wheels, {megabytes(WHEELHOUSE):.1f} MB")
    not_wheels = [p.name for p in WHEELHOUSE.iterdir() if p.suffix != ".whl"]
    if not_wheels:  # an sdist needs a compiler on the attendee's machine: say so
        print(f"   not wheels (built on install, may need a compiler): {', '.join(not_wheels)}")
    if not args.no_archive:
        archive = write_archive()
        print(f"   {archive.relative_to(ROOT)}: {megabytes(archive):.1f} MB (course + wheelhouse/; "
              "unpack, then `make setup` installs offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
