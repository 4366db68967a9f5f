"""Helpers every lesson's tests share: loading the code under test, counting file
descriptors, and describing what crossed the wire when a network test fails."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import selectors
import shlex
import sys
import time
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
    except NotImplementedError:
        sys.modules.pop(name, None)
        raise  # a stub that must be replaced as a whole (lesson 10's server.py): "not started"
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


# --- Running a lesson's ASGI server (lessons 08 and 09) -------------------------------

class AsgiServerThread:
    """A lesson's `Server(app, "127.0.0.1", 0, **options)` on its own event loop in a thread.

    `start()` returns once `await server.start()` has (so `address` is bound), or re-raises
    what start() raised; `stop()` runs `await server.shutdown()` on the server's loop and
    waits for `serve_forever()` to return. Neither waits longer than `timeout` seconds.
    `error` holds what serve_forever() raised, if it did. Use `running_asgi_server()`.
    """

    def __init__(self, module, app, timeout: float = 5.0, **options) -> None:
        import threading
        self.module, self.app, self.options, self.timeout = module, app, options, timeout
        self.server = None
        self.loop = None
        self.address: tuple[str, int] | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="asgi-server", daemon=True)

    def _main(self) -> None:
        import asyncio
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
            for task in pending:  # what the server left running: end it, as asyncio.run() would
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            self.loop.close()
            self._ready.set()

    async def _serve(self) -> None:
        try:
            self.server = self.module.Server(self.app, "127.0.0.1", 0, **self.options)
            await self.server.start()
            self.address = tuple(self.server.address)
        except BaseException as error:  # start() failed: the test sees it in start()
            self.error = error
            return
        finally:
            self._ready.set()
        try:
            await self.server.serve_forever()
        except BaseException as error:
            self.error = error

    def start(self) -> "AsgiServerThread":
        self._thread.start()
        if not self._ready.wait(self.timeout):
            pytest.fail(f"await Server(...).start() did not return within {self.timeout} s: does the "
                        "lifespan startup wait for a message the app never sends?", pytrace=False)
        if self.error is not None:
            # start() failed: _ready was set before the thread closed its event loop, so
            # wait for that, or fd_leak_check may count the loop's fds as leaked.
            self._thread.join(self.timeout)
            raise self.error
        return self

    def stop(self) -> None:
        import asyncio
        import concurrent.futures
        if self._thread.is_alive() and self.loop is not None and self.server is not None:
            future = asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop)
            try:
                future.result(self.timeout)
            except NotImplementedError:  # a RuntimeError too: a stub on the shutdown path (10.5's shut_down)
                raise
            except RuntimeError:
                pass  # the loop already stopped: serve_forever() ended by itself
            except concurrent.futures.TimeoutError:
                pytest.fail(f"await server.shutdown() did not finish within {self.timeout} s.", pytrace=False)
        self._thread.join(self.timeout)
        if self._thread.is_alive():
            pytest.fail(f"serve_forever() did not return within {self.timeout} s after shutdown(): it "
                        "should wait for shutdown() to finish, then return.", pytrace=False)
        if self.error is not None:
            raise self.error


def running_asgi_server(module, app, **options):
    """Context manager: `with running_asgi_server(lesson, app) as server: server.address`."""
    import contextlib

    @contextlib.contextmanager
    def running():
        runner = AsgiServerThread(module, app, **options).start()
        try:
            yield runner
        finally:
            runner.stop()

    return running()


class RawHttpClient:
    """A socket client that reads responses one at a time by their framing, so that
    pipelined responses are told apart: the bytes of one never count as the next.

        with RawHttpClient(address) as client:
            client.send(GET_A + GET_B)
            first, second = client.read_response(), client.read_response()

    `read_response(method="GET")` returns (status, reason, headers, body): headers a list
    of (lower-case name, value) strings. A HEAD's response, a 1xx, 204 and 304 have no
    body; otherwise Content-Length, chunked, or (no framing) the body runs to the close.
    `wire` holds every byte received, for failure messages.
    """

    def __init__(self, address, timeout: float = 5.0) -> None:
        import socket
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buffer = b""
        self.wire = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        self.wire += data
        return bool(data)

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"the server closed the connection before sending {marker!r}")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError(f"the server closed the connection {size - len(self.buffer)} bytes early")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_to_close(self) -> bytes:
        while self._fill():
            pass
        data, self.buffer = self.buffer, b""
        return data

    def read_response(self, method: str = "GET"):
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *lines = head.split("\r\n")
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        if not version.startswith("HTTP/1.") or not status.isdigit():
            raise ValueError(f"not a status line: {status_line!r}")
        headers = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
        fields = dict(headers)
        code = int(status)
        if method == "HEAD" or code < 200 or code in (204, 304):
            body = b""
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.read_until(b"\r\n").split(b";")[0], 16):
                body += self.read_exactly(size)
                self.read_exactly(2)
            self.read_until(b"\r\n")  # no trailers from these servers: the empty line ends it
        elif "content-length" in fields:
            body = self.read_exactly(int(fields["content-length"]))
        else:
            body = self.read_to_close()
        return code, reason, headers, body

    def closed_by_server(self) -> bool:
        """True if the server closes the connection now (after everything it sent was read)."""
        import socket
        try:
            return not self._fill() and not self.buffer
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawHttpClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


STUCK = "still running after"  # how within()'s failure begins; tests/conftest.py looks for it


class _Stuck(BaseException):
    """Raised by within()'s alarm. A BaseException, so code under test that catches
    Exception (a loop guarding its callbacks) cannot swallow it."""


def within(seconds: float, if_stuck: str, every: float = 0.5):
    """A context manager: fail with `if_stuck` if the block runs longer than `seconds`.

    For a learner's event loop that may block forever in select(): SIGALRM interrupts
    the wait wherever it is (main thread, Linux and macOS). pytest-timeout's own alarm
    is saved and restored, so the test's overall limit still holds. The alarm repeats
    every `every` seconds until the block ends: a loop that guards each callback with
    `except BaseException` (asyncio's Handle does, so lesson 06's does too) swallows
    one alarm that lands inside a callback, and `run()`'s clean-up runs the loop again
    after the alarm escaped; the next alarm gets out of both. The failure shows where
    the learner's code was at the *first* alarm, and what its loop was waiting on.
    """
    import contextlib
    import signal

    @contextlib.contextmanager
    def guard():
        where: list[str] = []  # filled at the first alarm: the later ones may land elsewhere

        def alarm(signum, frame):
            if not where:
                where.append(where_stuck(stack_of(frame)))
            raise _Stuck()

        previous_handler = signal.signal(signal.SIGALRM, alarm)
        previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds, every)
        started = time.monotonic()
        stuck = False
        try:
            yield
        except _Stuck:
            stuck = True  # failed below, outside this handler: no "during handling of" chain
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
            if previous_timer[0]:
                left = previous_timer[0] - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(0.01, left))
        if stuck:
            pytest.fail(f"{STUCK} {seconds} s. {if_stuck}{where[0] if where else ''}", pytrace=False)

    return guard()


# --- Where a stuck learner's code was ---------------------------------------------------

# The folder under test (`--impl`), set by tests/conftest.py when pytest starts: frames
# of files inside it are the learner's code.
IMPL_DIR: Path | None = None
STUCK_FRAMES = 4  # the innermost frames of the learner's code to show: enough to see the wait


def stack_of(frame) -> list[tuple]:
    """(frame, line it is on) from the outermost caller down to `frame`."""
    stack = []
    while frame is not None:
        stack.append((frame, frame.f_lineno))
        frame = frame.f_back
    return stack[::-1]


def traceback_of(error: BaseException | None) -> list[tuple]:
    """(frame, line) of the first exception in the chain (newest first) that passed through
    the learner's code: a test that re-raises with its own message keeps the original inside."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        stack, tb = [], error.__traceback__
        while tb is not None:
            stack.append((tb.tb_frame, tb.tb_lineno))
            tb = tb.tb_next
        if learner_frames(stack):
            return stack
        error = error.__cause__ or error.__context__
    return []


def in_impl(filename: str) -> bool:
    return IMPL_DIR is not None and Path(filename).resolve().is_relative_to(IMPL_DIR)


def shown_path(filename: str) -> str:
    """A file's path as the learner would type it: relative to the current folder when inside it."""
    path = Path(filename).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def learner_frames(stack: list[tuple]) -> list[dict]:
    """{path, line, function, source} of the frames in the learner's files, innermost last."""
    import linecache
    found = []
    for frame, line in stack:
        filename = frame.f_code.co_filename
        if in_impl(filename):
            found.append({"path": shown_path(filename), "line": line, "function": frame.f_code.co_name,
                          "source": linecache.getline(filename, line).strip()})
    return found[-STUCK_FRAMES:]


def where_stuck(stack: list[tuple]) -> str:
    """The lines a stuck test adds to its message: the learner's frames, and the loop's waits."""
    located = learner_frames(stack)
    if not located:
        return "\n  Your code was not running when it was stopped (the test itself was waiting)."
    lines = ["\n  Your code was here when it was stopped (innermost last):"]
    for frame in located:
        lines.append(f"    {frame['path']}:{frame['line']} in {frame['function']}")
        if frame["source"]:
            lines.append(f"      {frame['source']}")
    waits = next((describe_waits(loop) for loop in loops_in(stack)), "")
    if waits:
        lines.append(f"  Your loop was waiting on: {waits}")
    return "\n".join(lines)


LOOP_PARTS = {  # attribute names the lessons' loops use (03, 04: public; 06: asyncio's private ones)
    "selector": ("selector", "_selector"),
    "timers": ("timers", "_scheduled"),
    "ready": ("ready", "_ready"),
}


def loops_in(stack: list[tuple]) -> list:
    """The learner's loop objects found as `self` in their frames, innermost first."""
    loops = []
    for frame, _line in reversed(stack):
        candidate = frame.f_locals.get("self")
        if (candidate is not None and in_impl(frame.f_code.co_filename) and candidate not in loops
                and any(hasattr(candidate, name) for names in LOOP_PARTS.values() for name in names)):
            loops.append(candidate)
    return loops


def _part(loop, role: str):
    return next((getattr(loop, name) for name in LOOP_PARTS[role] if hasattr(loop, name)), None)


def describe_waits(loop) -> str:
    """One line: the sockets registered in the loop's selector, its timers, its ready queue."""
    parts = []
    try:
        selector = _part(loop, "selector")
        if isinstance(selector, selectors.BaseSelector):
            keys = list(selector.get_map().values()) if selector.get_map() is not None else []
            kinds = {selectors.EVENT_READ: "read", selectors.EVENT_WRITE: "write",
                     selectors.EVENT_READ | selectors.EVENT_WRITE: "read+write"}
            parts.append(", ".join(f"fd {key.fd} ({kinds[key.events]})" for key in keys[:6])
                         + (f" and {len(keys) - 6} more" if len(keys) > 6 else "") if keys
                         else "no socket registered")
        for role in ("readers", "writers"):  # lessons 03-04: socket -> the task waiting on it
            waiting = getattr(loop, role, None)
            if isinstance(waiting, dict) and waiting:
                fds = ", ".join(f"fd {_fd(sock)}" for sock in list(waiting)[:4])
                parts.append(f"{len(waiting)} task(s) in {role} ({fds})")
        timers = _part(loop, "timers")
        if isinstance(timers, list):
            parts.append(_timers_text(loop, timers))
        ready = _part(loop, "ready")
        if ready is not None and hasattr(ready, "__len__"):
            parts.append(f"{len(ready)} ready to run")
    except Exception:  # noqa: BLE001 - a half-built loop: say nothing rather than fail the report
        return ""
    return "; ".join(parts)


def _fd(sock) -> str:
    fd = sock.fileno() if hasattr(sock, "fileno") else sock
    return f"{fd} (closed)" if fd == -1 else str(fd)


def _timers_text(loop, timers: list) -> str:
    if not timers:
        return "no timer"
    deadlines = [entry[0] for entry in timers if isinstance(entry, tuple) and isinstance(entry[0], (int, float))]
    clock = getattr(loop, "time", None) or getattr(loop, "now", None)
    if not deadlines or not callable(clock):
        return f"{len(timers)} timer(s)"
    due = min(deadlines) - clock()
    when = f"due in {due:.2f} s" if due >= 0 else f"overdue by {-due:.2f} s (nothing ran it)"
    return f"{len(timers)} timer(s), the soonest {when}"


# --- Carrying a lesson's tests forward (lesson 09 runs lesson 08's) --------------------

CARRIED_HINT = ("this is lesson {old:02d} behaviour your {new:02d} server lost; compare with "
                "`make test-lesson {old}` (the same test, `{name}`, on your lesson-{old:02d} code)")


def _without_cases(mark, ids: set[str]):
    """A parametrize mark without the cases whose ids are in `ids` (any other mark as it is)."""
    if mark.name != "parametrize" or not ids:
        return mark
    names, cases = mark.args[:2]
    return pytest.mark.parametrize(names, [case for case in cases if case.id not in ids], **mark.kwargs).mark


def carry_tests(module, old: int, new: int, exercise: str, *, drop_cases: dict[str, set[str]] | None = None,
                **replaced_globals) -> dict:
    """Copies of every `test_*` function of `module` (lesson `old`'s tests), for lesson `new`.

    Each copy carries `@pytest.mark.exercise(exercise)` instead of its own, its other
    marks (parametrize, timeout), and fixtures resolved in the importing module (so a
    `lesson` fixture there decides which lesson's module is tested). A failure gets a
    first line saying it is lesson `old` behaviour. `replaced_globals` swaps names the
    tests look up in `module` (a helper that hard-codes lesson `old`'s folder).
    `drop_cases` leaves out parametrised cases, by test name and case id, that lesson
    `new` changes on purpose (lesson 10 speaks the WebSocket upgrade 08 served as HTTP).

        globals().update(carry_tests(test_08_asgi_server, 8, 9, "9.0"))
    """
    import functools
    import types

    namespace = dict(vars(module), **replaced_globals)
    copies = {}
    for name, test in vars(module).items():
        if not name.startswith("test_") or not callable(test):
            continue
        rebound = types.FunctionType(test.__code__, namespace, name, test.__defaults__, test.__closure__)
        note = CARRIED_HINT.format(old=old, new=new, name=name)

        @functools.wraps(rebound)
        def carried(*args, __test=rebound, __note=note, **kwargs):
            try:
                return __test(*args, **kwargs)
            except NotImplementedError:
                raise  # a stub: the harness's own "not started" message says what to do
            except pytest.fail.Exception as failure:
                if "Timeout" in str(failure):
                    raise
                message = str(failure)
            except AssertionError as failure:
                message = str(failure)
            except Exception as error:  # noqa: BLE001 - any error is the carried behaviour failing
                message = f"{type(error).__name__}: {error}"
            pytest.fail(f"{__note}\n{message}", pytrace=False)

        marks = [_without_cases(mark, (drop_cases or {}).get(name, set()))
                 for mark in getattr(test, "pytestmark", []) if mark.name != "exercise"]
        carried.pytestmark = marks + [pytest.mark.exercise(exercise).mark]
        copies[name] = carried
    return copies


def push_until_stalled(sock, total: int, stall: float = 0.7, limit: float = 8.0,
                       piece: bytes = b"u" * (256 * 1024)) -> int:
    """Send up to `total` bytes of `piece` repeated, in order (a stream sent once: piece=stream,
    total=len(stream)); stop when the socket accepts nothing for `stall` s, or after `limit` s.
    Returns bytes sent. How flow-control tests find that a server stopped reading."""
    sock.setblocking(False)
    view, sent = memoryview(piece), 0
    started = time.monotonic()
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_WRITE)
        while sent < total and time.monotonic() - started < limit:
            if not selector.select(stall):
                break  # the server has stopped reading: the kernel buffers are full
            at = sent % len(piece)  # where in `piece` the stream goes on
            try:
                sent += sock.send(view[at:at + total - sent])
            except BlockingIOError:
                continue
            except OSError:  # the server closed the connection
                break
    sock.setblocking(True)
    return sent


# --- Lesson 10: the stub behind a server test's failure -----------------------------------
# A stub raising in the server's thread is logged there (by asyncio for a callback such as
# data_received, by run_asgi for the app's task) or, inside httptools' callbacks, turned
# into a 400. When a test fails, the stub it hit (logged during the test), or else the
# first stub left in frames.py or websocket.py of its exercise or an earlier one, is
# raised instead: the report then says which exercise to write, not "expected 101, got 400".

STUB_RAISE = re.compile(r"NotImplementedError\(['\"](Exercise 10\.(\d+): .*)['\"]\)\s*$", re.MULTILINE)
STUBS_HIT: list[str] = []  # stub messages logged by the server during the current test


class StubsHit(logging.Handler):
    """Keeps the message of every stub NotImplementedError in a logged exception's chain."""

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, NotImplementedError) and str(error).startswith("Exercise 10."):
                STUBS_HIT.append(str(error))
                return
            error = error.__cause__ or error.__context__


@pytest.fixture(autouse=True)
def stubs_hit():
    """Collects the stubs the server hits during each test (import it into a lesson-10 test module)."""
    STUBS_HIT.clear()
    handler = StubsHit(logging.ERROR)
    logging.getLogger().addHandler(handler)
    yield
    logging.getLogger().removeHandler(handler)


def stub_behind_failure(exercise: str) -> str:
    """The message of the stub that most likely made a test of `exercise` fail, or ''."""
    if STUBS_HIT:
        return STUBS_HIT[0]
    last = int(exercise.split(".")[1])
    for module in ("frames.py", "websocket.py"):
        try:
            source = (IMPL_DIR / "10_websockets" / module).read_text()
        except (OSError, TypeError):
            continue
        for stub in STUB_RAISE.finditer(source):
            if int(stub[2]) <= last:
                return stub[1]
    return ""


def names_its_stub(test):
    """`test`, reporting the stub behind its failure (if one is) as a NotImplementedError."""
    exercise = next(mark.args[0] for mark in test.pytestmark if mark.name == "exercise")

    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except NotImplementedError:
            raise
        except (Exception, pytest.fail.Exception) as failure:
            timed_out = str(failure).startswith("Timeout")
            stub = STUBS_HIT[0] if timed_out and STUBS_HIT else "" if timed_out else stub_behind_failure(exercise)
            if not stub:
                raise
            raise NotImplementedError(stub) from failure
    return run


def let_clients_leave(server, seconds: float = 1.0) -> None:
    """Wait (1 s at most) until the server has seen every client of the test go.

    The test's clients are closed by now, but the server notices a moment later; a
    shutdown() before that would meet an open WebSocket and call its shut_down(), so
    every test of 10.2-10.4 would need 10.5 done. `connections` is the reference's name
    for the set of open connections; a server without one is not waited for."""
    connections = getattr(server.server, "connections", None)
    deadline = time.monotonic() + seconds
    while connections and time.monotonic() < deadline:
        time.sleep(0.01)  # a bounded poll of another thread's set: nothing to wait on instead


def name_stubs_behind_failures(namespace: dict) -> dict:
    """Every test_* function of a lesson-10 server test module, wrapped by names_its_stub:

        globals().update(name_stubs_behind_failures(globals()))
    """
    return {name: names_its_stub(test) for name, test in list(namespace.items())
            if name.startswith("test_") and callable(test)}
