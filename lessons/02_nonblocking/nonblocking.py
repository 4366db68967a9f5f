"""Lesson 02 — non-blocking sockets, and generators that say what they wait for.

What you build (in this order):
  connect_steps(sock, address)   start a connect, wait until writable, check SO_ERROR   exercise 2.1
  send_steps(sock, data)         send it all, waiting whenever the send buffer is full   exercise 2.2
  recv_steps(sock)               read to EOF, waiting whenever nothing has arrived       exercise 2.3
  fetch_steps(host, port, path)  lesson 01's fetch(), made of the three with yield from  exercise 2.4
  drive(steps)                   run one such generator, sleeping in select.select()     exercise 2.5

Test your code:  make test-lesson 2        See it run:  make demo-lesson 2

How this works
--------------
A socket in non-blocking mode (`sock.setblocking(False)`) never makes the program
wait. A call the kernel cannot complete at once fails with `BlockingIOError`
(errno EAGAIN or EINPROGRESS) instead of sleeping; `man 7 socket`, `man 2 connect`.

Every function here except drive() is a generator built on one idiom:

    try the syscall  ->  on BlockingIOError, yield (sock, event)  ->  try again

The value it yields says *what it waits for*: `(sock, selectors.EVENT_READ)` ("wake
me when there is something to read") or `(sock, selectors.EVENT_WRITE)` ("... when
there is room to write, or the connect has finished"). Its return value (which
arrives in `StopIteration.value`, or as the value of `yield from`) is the result.

The generators never wait themselves; whoever runs them does. drive() runs one,
sleeping in `select.select()` until the socket is ready. Lesson 03 runs thousands
of generators in one loop, because none of them can block it.
"""

import os
import select
import selectors
import socket

RECV_SIZE = 64 * 1024  # bytes asked of the kernel per recv(): one call drains a typical buffer


def build_request(host: str, path: str = "/") -> bytes:
    """The bytes of an HTTP/1.1 GET for `path` on `host` (lesson 01's exercise 1.1, given)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def connect_steps(sock: socket.socket, address: tuple[str, int]):
    """Generator: connect `sock` to `address` without blocking.

    Puts `sock` in non-blocking mode, starts the connect, yields
    `(sock, selectors.EVENT_WRITE)` once (a connecting socket becomes writable when
    the handshake has finished, whether it worked or not), then raises the connect's
    error (e.g. ConnectionRefusedError) if there was one. Returns None.
    """
    # TODO: exercise 2.1
    raise NotImplementedError('Exercise 2.1: make the socket non-blocking, start connect() (BlockingIOError means "in progress"), yield (sock, EVENT_WRITE), then raise the error SO_ERROR reports, if any.')


def send_steps(sock: socket.socket, data: bytes):
    """Generator: send all of `data` on a non-blocking `sock`; returns the number of bytes sent.

    send() copies only as much as fits in the socket's send buffer and returns that
    count; when the buffer is full it raises BlockingIOError. Then this yields
    `(sock, selectors.EVENT_WRITE)` and carries on from where it stopped.
    """
    # TODO: exercise 2.2
    raise NotImplementedError("Exercise 2.2: loop until every byte is sent: send() the rest, add what it returns to the count, and on BlockingIOError yield (sock, EVENT_WRITE).")


def recv_steps(sock: socket.socket):
    """Generator: read from a non-blocking `sock` until the peer closes; returns the bytes.

    Yields `(sock, selectors.EVENT_READ)` whenever nothing has arrived yet (recv()
    raised BlockingIOError). b"" from recv() means the peer closed: the end.
    """
    # TODO: exercise 2.3
    raise NotImplementedError('Exercise 2.3: recv() until it returns b"", collecting the pieces; on BlockingIOError yield (sock, EVENT_READ) and try again.')


def fetch_steps(host: str, port: int, path: str = "/"):
    """Generator: lesson 01's fetch(), non-blocking; returns the whole raw response.

    Yields what connect_steps(), send_steps() and recv_steps() yield, so every socket
    it yields is non-blocking. The socket is closed when the generator ends, raises,
    or is closed early. Connection errors (e.g. ConnectionRefusedError) propagate.

    `host` should be an IP address: connect() with a host *name* looks it up first
    with a blocking DNS query (getaddrinfo), which no yield can help with (README).
    """
    # TODO: exercise 2.4
    raise NotImplementedError("Exercise 2.4: create a TCP socket, then `yield from` connect_steps, send_steps (the request) and recv_steps, and close the socket however the generator ends.")


def drive(steps):
    """Run the generator `steps` to the end; returns its return value.

    Each value it yields is `(sock, event)`; drive() sleeps in `select.select()` until
    that socket is ready for that event (EVENT_READ: readable, EVENT_WRITE: writable)
    and only then resumes the generator. It never polls: no timeout, no busy loop.
    Exceptions the generator raises propagate.
    """
    # TODO: exercise 2.5
    raise NotImplementedError("Exercise 2.5: loop: resume the generator, select.select() on the socket it yielded for the event it named (no timeout), and return StopIteration's value when it finishes.")
