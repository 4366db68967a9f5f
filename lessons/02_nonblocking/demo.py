"""Lesson 02 demo: every syscall of one non-blocking fetch, and what it returned.

Runs *your* fetch_steps() under *your* drive() against a local server that waits
0.3 s before it answers, and prints each socket call and each select() as it
happens, with its result: the connect() that is only "in progress", the recv()
that finds nothing (EAGAIN), the select() that sleeps until the answer arrives.

How it watches: it hands your module a `socket` module whose socket class logs
every call, and a `select` module whose select() logs; your code is unchanged.

Run it:  make demo-lesson 2   (or: make demo-lesson 2 IMPL=solutions)
"""

import errno
import select
import selectors
import socket
import time
import types

import nonblocking
from course.demo import slow_http_server

DELAY = 0.3  # seconds the server waits before answering
EVENT_NAMES = {selectors.EVENT_READ: "EVENT_READ", selectors.EVENT_WRITE: "EVENT_WRITE"}
started = time.perf_counter()
counts = {"calls": 0, "would block": 0, "asleep in select": 0.0}


def log(call: str, result: str) -> None:
    print(f"  {1000 * (time.perf_counter() - started):7.1f} ms   {call:<40} -> {result}")


def outcome(error: OSError) -> str:
    name = errno.errorcode.get(error.errno, str(error.errno))
    if isinstance(error, BlockingIOError):
        counts["would block"] += 1
        return f"BlockingIOError ({name}): {'handshake started' if name == 'EINPROGRESS' else 'try again later'}"
    return f"{type(error).__name__} ({name})"


def traced(name: str, method):
    """Wrap a socket method so each call prints what it returned or raised."""
    def call(self, *args):
        shown = ", ".join(f"<{len(a)} bytes>" if isinstance(a, (bytes, bytearray, memoryview)) else
                          {socket.SO_ERROR: "SO_ERROR", socket.SOL_SOCKET: "SOL_SOCKET"}.get(a, repr(a))
                          if isinstance(a, int) and name == "getsockopt" else repr(a) for a in args)
        counts["calls"] += 1
        try:
            result = method(self, *args)
        except OSError as error:
            log(f"fd {self.fileno()}: {name}({shown})", outcome(error))
            raise
        if isinstance(result, bytes):
            log(f"fd {self.fileno()}: {name}({shown})",
                f"{len(result)} bytes" if result else "b'' (the server closed: end of response)")
        elif name == "send":
            log(f"fd {self.fileno()}: {name}({shown})", f"{result} (bytes the kernel took)")
        else:
            log(f"fd {self.fileno()}: {name}({shown})", repr(result))
        return result
    return call


class TracedSocket(socket.socket):
    """A socket whose calls print themselves (close() is left out: nothing to see)."""


for _method in ("setblocking", "connect", "connect_ex", "send", "sendall", "recv", "getsockopt"):
    setattr(TracedSocket, _method, traced(_method, getattr(socket.socket, _method)))


def traced_select(readers, writers, errors, *timeout):
    before = time.perf_counter()
    ready_r, ready_w, ready_x = select.select(readers, writers, errors, *timeout)
    slept = time.perf_counter() - before
    counts["asleep in select"] += slept
    fds = lambda socks: "[" + ", ".join(f"fd {s.fileno()}" for s in socks) + "]"
    log(f"select(read={fds(readers)}, write={fds(writers)})",
        f"slept {1000 * slept:.1f} ms; readable {fds(ready_r)}, writable {fds(ready_w)}")
    return ready_r, ready_w, ready_x


def watch_waits(steps):
    """Pass a generator's yields through to drive(), printing each: what it waits for."""
    try:
        request = next(steps)
        while True:
            sock, event = request
            print(f"{'':13}   yield (fd {sock.fileno()}, {EVENT_NAMES.get(event, event)})   "
                  "<- the generator stops here; drive() waits")
            yield request
            request = steps.send(None)
    except StopIteration as finished:
        return finished.value


def main() -> None:
    global started
    # Your module looks up socket.socket and select.select when it runs: give it traced ones.
    nonblocking.socket = types.ModuleType("socket")
    nonblocking.socket.__dict__.update(vars(socket), socket=TracedSocket)
    nonblocking.select = types.ModuleType("select")
    nonblocking.select.__dict__.update(vars(select), select=traced_select)

    with slow_http_server() as (host, port):
        print(f"A local server on {host}:{port} answers /delay/{DELAY} after {DELAY} s.")
        print(f"drive(fetch_steps({host!r}, {port}, '/delay/{DELAY}')), one syscall per line:\n")
        started = time.perf_counter()
        raw = nonblocking.drive(watch_waits(nonblocking.fetch_steps(host, port, f"/delay/{DELAY}")))
        total = time.perf_counter() - started
    status_line = raw.split(b"\r\n", 1)[0]
    print(f"\nThe response: {len(raw)} bytes, starting {status_line!r}.")
    print(f"{counts['calls']} socket calls, {counts['would block']} of them answered \"not now\" "
          f"(BlockingIOError) instead of blocking.")
    print(f"Of {1000 * total:.0f} ms, {1000 * counts['asleep in select']:.0f} ms were spent asleep in select(): "
          "the one place this program waits. Lesson 03 fills that time with other generators.")


if __name__ == "__main__":
    main()
