"""`make doctor`: the pre-flight check, one line per thing the course needs.

    python3 -m course.doctor     (what `make doctor` runs; works before .venv exists)

How this works: it runs on the Python that will build .venv (make's PYTHON), with
the standard library only, so it can speak before anything is installed. Each
check returns one Finding: ✔ fine, ! works with a gap (say which lessons lose
what, and the fix), ✘ a blocker (the course cannot run until it is fixed). The
exit status is 1 only if a blocker was found, so a script can gate on it. The
slowest check starts the venv's Python once to import the course's packages;
the whole run stays well under five seconds.

Rules: no import beyond the standard library; syntax that Python 3.7 parses, so
an old Python still gets told that it is too old instead of a SyntaxError.
"""

from __future__ import annotations

import argparse
import os
import platform
import select
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

try:
    import resource  # Unix only; on Windows the course runs in WSL
except ImportError:  # pragma: no cover - not on the course's platforms
    resource = None

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"  # make's VENV; `make doctor` passes it with --venv
WHEELHOUSE = ROOT / "wheelhouse"

MINIMUM_PYTHON = (3, 10)  # pyproject.toml's requires-python
# Open files the scale tests need per process (they raise the soft limit themselves,
# up to the hard one): tests/test_05_epoll_server.py C10K + 1000 and
# tests/test_04_selectors_scheduler.py 2 * FETCHES + 256.
C10K_FILES = 10000 + 1000
THOUSAND_FETCHES_FILES = 2 * 1000 + 256
REPORT_COLUMNS = 80  # tables and failure reports are laid out for 80 columns
# What `import` must find in .venv: the course's dependencies and its test extras.
COURSE_MODULES = ("httptools", "rich", "pytest", "pytest_timeout", "starlette", "fastapi")

OK, WARN, BLOCKER = "ok", "warn", "blocker"
SYMBOLS = {OK: "✔", WARN: "!", BLOCKER: "✘"}
ASCII_SYMBOLS = {OK: "ok", WARN: "!", BLOCKER: "X"}


class Finding:
    """One line of the report: a level, what was found, and the fix (empty when fine)."""

    def __init__(self, level: str, topic: str, found: str, fix: str = "") -> None:
        self.level, self.topic, self.found, self.fix = level, topic, found, fix


# -- the checks: each returns one Finding ------------------------------------------------


def check_python(version: tuple = tuple(sys.version_info[:3]), where: str = sys.executable) -> Finding:
    shown = ".".join(str(part) for part in version)
    if tuple(version[:2]) >= MINIMUM_PYTHON:
        return Finding(OK, "python", "{} at {}".format(shown, where))
    return Finding(BLOCKER, "python", "{} at {}: the course needs 3.10 or newer".format(shown, where),
                   "install a newer Python (python.org; macOS: brew install python@3.12), "
                   "then: make PYTHON=python3.12 doctor")


def check_venv_and_pip(venv: Path = VENV) -> Finding:
    if _python_of(venv).exists():
        pip = _run([str(_python_of(venv)), "-m", "pip", "--version"])
        if pip is None or pip.returncode != 0:
            return Finding(BLOCKER, "venv", "{} exists but its pip does not run".format(venv.name),
                           "rm -rf {} && make setup".format(venv.name))
        # pip --version prints "pip 24.0 from /path (python 3.11)"
        pip_version, venv_python = pip.stdout.split()[1], pip.stdout.rsplit("(", 1)[-1].strip(" )\n")
        return Finding(OK, "venv", "{} ({}), pip {} works".format(venv.name, venv_python, pip_version))
    # Debian and Ubuntu ship venv's pip bootstrapper (ensurepip) in a separate package.
    missing = [name for name in ("venv", "ensurepip") if not _importable(name)]
    if missing:
        package = "python3.{}-venv".format(sys.version_info[1])
        return Finding(BLOCKER, "venv", "this Python cannot make a venv with pip (no {})".format(
            " or ".join(missing)), "sudo apt install {} (Debian/Ubuntu)".format(package))
    return Finding(WARN, "venv", "no {} yet; this Python can make one".format(venv.name),
                   "make setup (~30 s; offline from wheelhouse/ when it is there)")


def check_packages(venv: Path = VENV) -> Finding:
    """The course's packages import in the venv; httptools is a compiled wheel, so it goes first."""
    if not _python_of(venv).exists():
        return check_wheelhouse_covers_this_machine()
    script = ("import importlib, sys\n"
              "for name in sys.argv[1:]:\n"
              "    module = importlib.import_module(name)\n"
              "    print(name, getattr(module, '__version__', '?'))\n")
    result = _run([str(_python_of(venv)), "-c", script, *COURSE_MODULES], timeout=20)
    if result is None or result.returncode != 0:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1] if result else "timed out"
        return Finding(BLOCKER, "packages", "an import failed in {}: {}".format(venv.name, error),
                       "rm -rf {} && make setup (httptools needs a wheel for this platform)".format(venv.name))
    versions = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    return Finding(OK, "packages", "httptools {}, fastapi {}, starlette {} import".format(
        versions.get("httptools"), versions.get("fastapi"), versions.get("starlette")))


def check_wheelhouse_covers_this_machine(wheelhouse: Path = WHEELHOUSE, python_tag: str = "",
                                        architecture: str = "") -> Finding:
    """Before set-up: does wheelhouse/ hold an httptools wheel this Python can install?"""
    wheels = sorted(wheelhouse.glob("httptools-*.whl")) if wheelhouse.is_dir() else []
    python_tag = python_tag or "cp{}{}-".format(*sys.version_info[:2])
    # The machine's, not the interpreter build's: a universal2 Python on an arm64 Mac
    # installs arm64 wheels. macOS wheels may be universal2 (both in one file).
    architecture = architecture or platform.machine().lower()
    fitting = [wheel for wheel in wheels if python_tag in wheel.name
               and (architecture in wheel.name or "universal2" in wheel.name)]
    if fitting:
        return Finding(OK, "packages", "not installed yet; wheelhouse/ has httptools for {} {}".format(
            python_tag.rstrip("-"), architecture))
    if wheels:
        return Finding(BLOCKER, "packages", "wheelhouse/ has no httptools wheel for {} {}".format(
            python_tag.rstrip("-"), architecture), "ask for a wheelhouse made with PLATFORMS= for this machine, "
            "or use another Python: make PYTHON=python3.12 setup")
    return Finding(WARN, "packages", "not installed yet (httptools, fastapi, ...)",
                   "make setup: needs PyPI, or a wheelhouse/ from your instructor")


def check_make() -> Finding:
    found = shutil.which("make")
    if found:
        return Finding(OK, "make", found)
    return Finding(BLOCKER, "make", "no `make` on PATH",
                   "Debian/Ubuntu: sudo apt install make; macOS: xcode-select --install")


def check_epoll() -> Finding:
    if hasattr(select, "epoll"):
        return Finding(OK, "epoll", "select.epoll is there (Linux)")
    return Finding(WARN, "epoll", "no select.epoll: lesson 05's tests skip, and 09's that read /proc",
                   "all else runs; for lesson 05 use Linux, WSL or a Linux container")


def check_open_files(limits=None) -> Finding:
    if limits is None:
        if resource is None:
            return Finding(WARN, "open files", "no resource module: limits unknown",
                           "run the course in WSL or Linux")
        limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = (_shown_limit(limit) for limit in limits)
    found = "soft {}, hard {}".format(soft, hard)
    hard_limit = float("inf") if limits[1] == _infinity() else limits[1]
    # The tests raise the soft limit to what they need, so only the hard limit counts.
    if hard_limit >= C10K_FILES:
        return Finding(OK, "open files", found + " (the C10K test needs {})".format(C10K_FILES))
    skipped = "the C10K test (5.6) skips"
    if hard_limit < THOUSAND_FETCHES_FILES:
        skipped += ", and 4.2's 1000 fetches"
    return Finding(WARN, "open files", "{}: {}".format(found, skipped),
                   "raise the hard limit to {0}: as root `ulimit -Hn {0}`, or nofile in "
                   "/etc/security/limits.conf; macOS: `sudo launchctl limit maxfiles 65536 "
                   "200000`, then a new terminal".format(C10K_FILES))


def check_loopback() -> Finding:
    """A listener on 127.0.0.1 port 0 (as every test uses), a connection, one byte across."""
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            listener.settimeout(2)
            port = listener.getsockname()[1]
            with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
                accepted, _ = listener.accept()
                with accepted:
                    client.sendall(b"!")
                    accepted.settimeout(2)
                    if accepted.recv(1) != b"!":
                        raise OSError("the byte sent did not arrive")
    except OSError as error:
        return Finding(BLOCKER, "loopback", "127.0.0.1 port 0 failed: {}".format(error),
                       "the tests need loopback: check `ip addr show lo` and firewall rules")
    return Finding(OK, "loopback", "127.0.0.1: free port {} bound, connected, byte echoed".format(port))


def check_wrk() -> Finding:
    found = shutil.which("wrk")
    if found:
        return Finding(OK, "wrk", found + " (for make bench)")
    return Finding(WARN, "wrk", "not installed: make bench uses the slower Python load generator",
                   "sudo apt install wrk (Debian/Ubuntu) or brew install wrk (macOS)")


def check_terminal(columns=None) -> Finding:
    if columns is None:
        if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
            return Finding(OK, "terminal", "not a terminal (output to a file or pipe)")
        columns = shutil.get_terminal_size().columns
    if columns >= REPORT_COLUMNS:
        return Finding(OK, "terminal", "{} columns".format(columns))
    return Finding(WARN, "terminal", "{} columns: reports are {} wide and will wrap".format(
        columns, REPORT_COLUMNS), "widen the window (or make the font smaller)")


def run_checks(venv: Path):
    """Each check in the report's order; a generator, so each line prints as it is known."""
    yield check_python()
    yield check_venv_and_pip(venv)
    yield check_packages(venv)
    for check in (check_make, check_epoll, check_open_files, check_loopback, check_wrk, check_terminal):
        yield check()


# -- helpers -------------------------------------------------------------------------------


def _run(command, timeout: float = 10):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))
    except (OSError, subprocess.TimeoutExpired):
        return None


def _python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def _importable(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def _infinity() -> int:
    return resource.RLIM_INFINITY if resource is not None else -1


def _shown_limit(limit: int) -> str:
    return "unlimited" if limit == _infinity() else str(limit)


# -- the report ------------------------------------------------------------------------------


def render(finding: Finding, symbols: dict) -> str:
    lines = textwrap.wrap(finding.found, REPORT_COLUMNS, initial_indent="{} {:<11}".format(
        symbols[finding.level], finding.topic), subsequent_indent=" " * 13)
    lines += textwrap.wrap(finding.fix, REPORT_COLUMNS, initial_indent=" " * 11 + "→ ",
                           subsequent_indent=" " * 13)
    return "\n".join(lines)


def _symbols_for(stream) -> dict:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "".join(SYMBOLS.values()).encode(encoding)
        "→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_SYMBOLS
    return SYMBOLS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m course.doctor", description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, default=VENV, help="the course's virtualenv (default: .venv)")
    venv = parser.parse_args(argv).venv
    venv = venv if venv.is_absolute() else ROOT / venv
    symbols = _symbols_for(sys.stdout)
    findings = []
    for finding in run_checks(venv):
        findings.append(finding)
        text = render(finding, symbols)
        if symbols is ASCII_SYMBOLS:
            text = text.replace("→", "->")
        print(text, flush=True)
    blockers = sum(finding.level == BLOCKER for finding in findings)
    warnings = sum(finding.level == WARN for finding in findings)
    print()
    if blockers:
        print("{} blocker(s): fix the {} lines, then run `make doctor` again.".format(blockers, symbols[BLOCKER]))
        return 1
    gaps = " with the {} gap(s) marked {}".format(warnings, symbols[WARN]) if warnings else ""
    print("Ready: the course runs here{}. Next: make progress".format(gaps))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `make doctor | head`: the reader left; no traceback for that
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
