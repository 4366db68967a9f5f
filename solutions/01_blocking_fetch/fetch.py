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
    # EXERCISE 1.1: return b"GET <path> HTTP/1.1", a Host and a "Connection: close" header, each line ending in CRLF, then an empty line.
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    # Joining with CRLF and adding two more gives the last header's CRLF and the empty line.
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    # END EXERCISE


def fetch(host: str, port: int, path: str = "/") -> bytes:
    """The whole raw response (status line, headers and body as sent) to a GET for `path`.

    Blocks until the server closes the connection; the socket is closed on return
    and on any error. Connection errors (e.g. ConnectionRefusedError) propagate.
    """
    # EXERCISE 1.2: connect to (host, port), sendall() the request, then recv() until it returns b"" (the server closed), and close the socket.
    # The Host header names the port too when it is not HTTP's default (RFC 9110 §7.2).
    authority = host if port == 80 else f"{host}:{port}"
    with socket.create_connection((host, port)) as sock:  # `with` closes it, even on error
        sock.sendall(build_request(authority, path))  # send() may take only part; sendall() loops
        pieces = []
        # A short read is not the end: recv() returns what has arrived so far.
        # Only b"" means the server closed its side and nothing more will come.
        while piece := sock.recv(RECV_SIZE):
            pieces.append(piece)
    return b"".join(pieces)
    # END EXERCISE


def decode_chunked(data: bytes) -> bytes:
    """The body carried by a chunked transfer coding (RFC 9112 §7.1).

    `data` starts at the first chunk: `<size in hex>[;extensions]CRLF<size bytes>CRLF`,
    repeated, until a chunk of size 0; trailer fields after it are ignored.
    Raises ValueError when a size is not hex or the data ends early.
    """
    # EXERCISE 1.3: read each chunk's hex size (ignoring ";extensions"), take that many bytes and the CRLF after them, and stop at the chunk of size 0.
    body = bytearray()
    position = 0
    while True:
        line_end = data.find(CRLF, position)
        if line_end == -1:
            raise ValueError(f"chunk size line at offset {position} has no CRLF: the body ends early")
        size_field = data[position:line_end].split(b";", 1)[0].strip()  # drop chunk extensions
        # int(x, 16) would also take "0x1f", "-1" and "1_0": the grammar allows only hex digits.
        if not size_field or not HEX_DIGITS.issuperset(size_field):
            raise ValueError(f"chunk size {size_field!r} at offset {position} is not a hex number")
        size = int(size_field, 16)
        if size == 0:
            return bytes(body)  # the last chunk; trailer fields may follow
        start = line_end + len(CRLF)
        end = start + size
        if data[end:end + len(CRLF)] != CRLF:
            raise ValueError(f"the {size}-byte chunk at offset {start} is cut short or not followed by CRLF")
        body += data[start:end]
        position = end + len(CRLF)
    # END EXERCISE


def parse_response(raw: bytes) -> Response:
    """Split a raw response into status, reason, headers (lower-case names) and body.

    The body is decoded when `Transfer-Encoding: chunked`, cut to `Content-Length`
    when given, and otherwise everything after the head. A header that appears twice
    keeps both values, joined with ", " (RFC 9110 §5.3). Raises ValueError when the
    head has no end or a status line that is not HTTP.
    """
    # EXERCISE 1.4: split the head from the body at the first empty line, parse the status line and the "Name: value" lines, then frame the body by Transfer-Encoding or Content-Length.
    head, blank_line, rest = raw.partition(CRLF + CRLF)
    if not blank_line:
        raise ValueError("the response has no empty line ending its head")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")  # RFC 9110 §5.5: bytes, not UTF-8
    version, _, status_and_reason = status_line.partition(" ")
    status, _, reason = status_and_reason.partition(" ")
    if not version.startswith("HTTP/") or not status.isdigit():
        raise ValueError(f"not an HTTP status line: {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"header line without a colon: {line!r}")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = decode_chunked(rest)
    elif "content-length" in headers:
        body = rest[:int(headers["content-length"])]
    else:
        body = rest  # no framing: the body ran until the server closed
    return Response(int(status), reason, headers, body)
    # END EXERCISE
