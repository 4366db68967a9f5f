"""Lesson 05 — an HTTP server on epoll: one thread, ten thousand connections.

What you build (in this order):
  take_heads(buffer)           cut every complete request head off a buffer         exercise 5.1
  EpollServer.__init__         listening socket, epoll, the wake-up socketpair      exercise 5.2
  serve_forever / shutdown     the loop, its wake-up, and closing everything        exercise 5.3
  EpollServer._accept          accept until EAGAIN, register each new client         exercise 5.4
  EpollServer._on_readable     recv until EAGAIN, answer every complete head         exercise 5.5
  _flush / _set_interest       partial sends; EPOLLOUT only while output is pending  exercise 5.6

Test your code:  make test-lesson 5        See it run:  make demo-lesson 5

How this works
--------------
Some facts about epoll (`man 7 epoll`, `man 2 epoll_ctl`, `man 2 epoll_wait`):

- An epoll instance is itself a file descriptor. It holds an *interest list*: for
  each registered fd, one mask of the events we care about. `register` (ADD),
  `modify` (MOD) and `unregister` (DEL) edit that list; `poll` (epoll_wait) sleeps
  until at least one registered fd is ready and returns only the ready ones, as
  (fd, mask) pairs. Ten thousand idle connections cost a wait nothing: unlike
  select() and poll(), the kernel does not scan them, it queues an fd when the
  socket itself says something changed.
- EPOLLIN: bytes to read, the peer's FIN (recv() returns b""), or, on a listening
  socket, a connection waiting in the backlog. EPOLLOUT: room in the send buffer.
  EPOLLRDHUP: the peer has shut down its sending side. EPOLLERR and EPOLLHUP are
  reported whether you asked for them or not: you cannot unsubscribe from a broken
  socket, only close it.
- Level-triggered (the default): a ready fd is reported by *every* poll for as
  long as it stays ready. An empty send buffer stays writable forever, so a
  socket registered for EPOLLOUT with nothing to send makes every poll return at
  once: the loop spins at 100% CPU doing nothing. Same for EPOLLIN after the
  peer's FIN: end-of-file stays readable forever.
- Edge-triggered (EPOLLET): an fd is reported when its state *changes* (new bytes
  arrived, room appeared). If you read part of what is there and poll again, no
  new edge ever comes, and the bytes (or the backlog's connections) wait forever.
  With EPOLLET you must read, accept and send until the call raises
  BlockingIOError (EAGAIN): that is the only proof the edge has been used up.
- Registering (or modifying) an fd that is already ready reports it at once, in
  either mode. Connections and bytes that arrived before the loop started are
  not lost.
- A poll returns each fd at most once, and nothing interrupts it but a ready fd.
  Another thread that wants the loop to stop must make a registered fd readable:
  the self-pipe trick, here a socketpair (an eventfd would do as well).
- Closing an fd removes it from the interest list, but the socket module forgets
  the number on close(): unregister first, then close.

What this means for us:

- One thread, one epoll, and a dict `fd -> Connection`. A Connection is all the
  loop remembers of a client between two events: the bytes received that do not
  make a complete head yet, the response bytes the kernel has not taken yet, and
  whether the client has finished sending.
- Every socket is non-blocking. A syscall either does something or raises
  BlockingIOError; the only place the thread ever sleeps is `epoll.poll()`.
- We read and accept until BlockingIOError in *both* modes: it is what
  edge-triggered mode requires, and harmless in level-triggered mode.
- The interest mask is a function of the connection's state, computed in one
  place (`_set_interest`): EPOLLIN | EPOLLRDHUP while the client may still send,
  EPOLLOUT only while bytes are pending. We write optimistically right after
  answering; most responses fit in the socket buffer and never need EPOLLOUT.
- A client's failure (ECONNRESET, EPIPE) is that client's problem: its socket is
  closed and the loop goes on. A connection is closed only while handling its own
  event, so a later event in the same batch can never name a reused fd.
- `shutdown()` sets a flag and writes one byte to the socketpair; the loop wakes,
  leaves, and closes everything it owns in a `finally`: clients, listener,
  socketpair, epoll.

Limits, on purpose: the handler gets request heads only (no bodies: lesson 07
parses HTTP properly), and there are no timeouts or size limits (lesson 09).
"""

from __future__ import annotations

import select
import socket
import threading
from dataclasses import dataclass, field
from typing import Callable

if not hasattr(select, "epoll"):  # macOS and the BSDs have kqueue instead
    raise ImportError(
        "select.epoll exists only on Linux. On macOS use the `selectors` module "
        "(selectors.DefaultSelector is kqueue there), as lesson 04 does."
    )

Handler = Callable[[bytes], bytes]  # request head (through the blank line) -> whole response

HEAD_END = b"\r\n\r\n"  # a head ends with an empty line (RFC 9112 §2.1)
RECV_SIZE = 64 * 1024  # bytes asked of the kernel per recv(): one call drains a typical buffer
BACKLOG = 4096  # Linux caps listen() at net.core.somaxconn (4096 since kernel 5.4); C10K clients come in bursts

# Any of these means recv() has something to tell us: bytes, b"" (the peer's FIN) or an error.
READABLE = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR


def take_heads(buffer: bytearray) -> list[bytes]:
    """Remove every complete request head from the front of `buffer` and return them in order.

    A head runs through its empty line (b"\\r\\n\\r\\n" included). Bytes after the
    last complete head (the start of the next request) stay in `buffer`. Returns []
    when no head is complete yet: wait for more bytes.
    """
    # TODO: exercise 5.1
    raise NotImplementedError('Exercise 5.1: find each b"\\r\\n\\r\\n", cut the head through it off the buffer, and repeat until none is left.')


@dataclass(eq=False)
class Connection:
    """What the loop remembers of one client between two events."""

    sock: socket.socket
    received: bytearray = field(default_factory=bytearray)  # bytes read that do not make a head yet
    pending: bytearray = field(default_factory=bytearray)  # response bytes the kernel has not taken yet
    peer_done: bool = False  # recv() returned b"": the client sent its FIN, no more requests
    interest: int = 0  # the mask epoll holds for this fd right now


class EpollServer:
    """A single-threaded, keep-alive HTTP/1.1 server on select.epoll.

        server = EpollServer(handler)          # bound and listening at server.address
        threading.Thread(target=server.serve_forever).start()
        ...
        server.shutdown()                      # from any thread; serve_forever returns

    `handler(head)` gets each complete request head, in the order the requests
    arrived on that connection, and returns the whole response as bytes.
    """

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0, *,
                 edge_triggered: bool = False) -> None:
        self.handler = handler
        self.edge_triggered = edge_triggered
        self._trigger = select.EPOLLET if edge_triggered else 0  # or-ed into every mask we register
        self._connections: dict[int, Connection] = {}  # fd -> the client on it
        self._stopping = False  # set by shutdown(); read by the loop after each poll
        self._wake_lock = threading.Lock()  # shutdown() never writes to a socketpair being closed
        # Create: self._listener, self.address, self._epoll, and the pair self._wake_recv, self._wake_send.
        # TODO: exercise 5.2
        raise NotImplementedError("Exercise 5.2: make a non-blocking listening socket, an epoll and a socketpair; register the listener (EPOLLIN | self._trigger) and _wake_recv (EPOLLIN).")

    # -- the loop --------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Answer clients until shutdown() is called, then close every socket and the epoll."""
        # TODO: exercise 5.3
        raise NotImplementedError("Exercise 5.3: until shutdown() is called, poll and dispatch each (fd, mask); in a finally, close everything.")

    def shutdown(self) -> None:
        """Make serve_forever() return. Safe from any thread, and more than once."""
        # TODO: exercise 5.3
        raise NotImplementedError("Exercise 5.3: set the stop flag, then write a byte to the socketpair so the poll wakes up.")

    def _dispatch(self, fd: int, mask: int) -> None:
        # TODO: exercise 5.3
        raise NotImplementedError("Exercise 5.3: the wake-up fd -> nothing to do (the flag is set); the listener -> _accept(); a client -> _on_client_event().")

    def _close_all(self) -> None:
        # TODO: exercise 5.3
        raise NotImplementedError("Exercise 5.3: close every client, the listener, both ends of the socketpair and the epoll.")

    # -- one connection's life ---------------------------------------------------------

    def _accept(self) -> None:
        # TODO: exercise 5.4
        raise NotImplementedError("Exercise 5.4: accept until BlockingIOError; make each new socket non-blocking and register it for reading.")

    def _on_client_event(self, conn: Connection, mask: int) -> None:
        try:
            if mask & READABLE:
                self._on_readable(conn)
            self._flush(conn)  # right after answering, and whenever EPOLLOUT says there is room
        except OSError:
            # ECONNRESET, EPIPE, ETIMEDOUT...: this client is gone. Its problem, not the server's.
            self._close(conn)
            return
        if conn.peer_done and not conn.pending:
            self._close(conn)  # the client said all it will say, and has every answer
        else:
            self._set_interest(conn)

    def _on_readable(self, conn: Connection) -> None:
        # TODO: exercise 5.5
        raise NotImplementedError('Exercise 5.5: recv until BlockingIOError (b"" means the client is done sending), then append handler(head) to conn.pending for every complete head.')

    def _flush(self, conn: Connection) -> None:
        # TODO: exercise 5.6
        raise NotImplementedError("Exercise 5.6: send conn.pending until it is empty or send() raises BlockingIOError; drop only the bytes send() took.")

    def _set_interest(self, conn: Connection) -> None:
        # TODO: exercise 5.6
        raise NotImplementedError("Exercise 5.6: compute the mask (EPOLLIN | EPOLLRDHUP until the FIN, EPOLLOUT only while pending) and modify() when it changed.")

    def _close(self, conn: Connection) -> None:
        fd = conn.sock.fileno()
        del self._connections[fd]
        self._epoll.unregister(fd)  # before close(): afterwards the fd number is gone
        conn.sock.close()
