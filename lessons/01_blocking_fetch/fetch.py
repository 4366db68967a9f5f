"""Lesson 01 — a blocking HTTP/1.1 fetch.

What you build (in this order):
  build_request(host, path)   the bytes of a GET request                      exercise 1.1
  fetch(host, port, path)     connect, send, recv until the server closes     exercise 1.2
  decode_chunked(data)        undo `Transfer-Encoding: chunked`               exercise 1.3
  parse_response(raw)         status, reason, headers and body of a response  exercise 1.4

Test your code:  make test-lesson 1        See it run:  make demo-lesson 1

How this works
--------------
Every socket call here blocks the whole program until the kernel has an answer:
`connect()` waits for the TCP handshake, `sendall()` until the kernel has copied
every byte into the socket's send buffer, `recv()` until at least one byte is in
the receive buffer, or the peer has closed (then it returns b"").

Bytes arrive in whatever pieces the network and the kernel make of them, so one
`recv()` is never "one response". A request sent with `Connection: close` gets a
response whose end is the server closing the connection: read until `recv()`
returns b"". The response itself says how long its body is: `Content-Length`, or
`Transfer-Encoding: chunked` (a series of sized chunks ending in a zero-size one).
"""

import socket
from dataclasses import dataclass

CRLF = b"\r\n"  # every line of an HTTP/1.1 head ends with it (RFC 9112 §2.1)
RECV_SIZE = 64 * 1024  # bytes asked of the kernel per recv(): one call drains a typical buffer
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


@dataclass
class Response:
    status: int  # 200, 404, ...
    reason: str  # "OK", "Not Found", ... (may be empty: RFC 9112 §4 allows it)
    headers: dict[str, str]  # names lower-cased: header names are case-insensitive (RFC 9110 §5.1)
    body: bytes  # decoded from chunked, cut to Content-Length


def build_request(host: str, path: str = "/") -> bytes:
    """The bytes of an HTTP/1.1 GET for `path` on `host`.

    HTTP/1.1 requires a Host header (RFC 9112 §3.2), and `Connection: close` asks
    the server to close once it has answered, so the end of the stream is the end
    of the response. Lines end in CRLF; an empty line ends the request.
    """
    # TODO: exercise 1.1
    raise NotImplementedError('Exercise 1.1: return b"GET <path> HTTP/1.1", a Host and a "Connection: close" header, each line ending in CRLF, then an empty line.')


def fetch(host: str, port: int, path: str = "/") -> bytes:
    """The whole raw response (status line, headers and body as sent) to a GET for `path`.

    Blocks until the server closes the connection; the socket is closed on return
    and on any error. Connection errors (e.g. ConnectionRefusedError) propagate.
    """
    # TODO: exercise 1.2
    raise NotImplementedError('Exercise 1.2: connect to (host, port), sendall() the request, then recv() until it returns b"" (the server closed), and close the socket.')


def decode_chunked(data: bytes) -> bytes:
    """The body carried by a chunked transfer coding (RFC 9112 §7.1).

    `data` starts at the first chunk: `<size in hex>[;extensions]CRLF<size bytes>CRLF`,
    repeated, until a chunk of size 0; trailer fields after it are ignored.
    Raises ValueError when a size is not hex or the data ends early.
    """
    # TODO: exercise 1.3
    raise NotImplementedError('Exercise 1.3: read each chunk\'s hex size (ignoring ";extensions"), take that many bytes and the CRLF after them, and stop at the chunk of size 0.')


def parse_response(raw: bytes) -> Response:
    """Split a raw response into status, reason, headers (lower-case names) and body.

    The body is decoded when `Transfer-Encoding: chunked`, cut to `Content-Length`
    when given, and otherwise everything after the head. A header that appears twice
    keeps both values, joined with ", " (RFC 9110 §5.3). Raises ValueError when the
    head has no end or a status line that is not HTTP.
    """
    # TODO: exercise 1.4
    raise NotImplementedError('Exercise 1.4: split the head from the body at the first empty line, parse the status line and the "Name: value" lines, then frame the body by Transfer-Encoding or Content-Length.')
