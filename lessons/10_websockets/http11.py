"""Given code, carried over from lesson 07: the checks of a request head, and the bytes
of a response head and of a chunk.

Nothing to do in this file. It is lesson 07's `check_head`, `response_head` and
`chunk`, so that lesson 08 stands on its own: `server.py` imports them from here.

- `check_head(http_version, headers)` raises `BadRequest` for a head httptools
  parses without complaint but a server must still refuse: an HTTP/1.1 request
  without exactly one Host (RFC 9112 §3.2), framing that could be read two ways,
  a version or transfer coding we do not speak. `BadRequest.status` is the answer
  to send (400, or 501, 505).

- `response_head(status, headers)` is the status line with the right reason phrase
  (never "OK" for a 404), the header lines, and the blank line that ends the head.
  A name or value with CR, LF or NUL would let an app smuggle a second header or a
  second response onto the wire (response splitting), so it raises `ValueError`.
- `reason_phrase(status)` is the phrase alone ("Not Found"), "" for a status HTTP does not name.
- `chunk(data)` frames one piece of a body for `Transfer-Encoding: chunked`
  (RFC 9112 §7.1): the size in hex, CRLF, the bytes, CRLF. `LAST_CHUNK` ends it.
"""

from __future__ import annotations

import http
import re
from typing import Iterable

# RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
# The reason phrase may be empty (a client must ignore it), but the space stays.
_PHRASES = {status.value: status.phrase for status in http.HTTPStatus}
STATUS_LINES = {
    code: f"HTTP/1.1 {code} {_PHRASES.get(code, '')}\r\n".encode("ascii") for code in range(100, 600)
}

# A header name is an RFC 9110 §5.6.2 token; a value may hold anything but CR, LF and NUL
# (and other controls, which no sane app sends): both rules stop response splitting.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

LAST_CHUNK = b"0\r\n\r\n"  # the zero-size chunk and the empty trailer section

Headers = list[tuple[bytes, bytes]]


class BadRequest(Exception):
    """The client sent a request the server must refuse; `status` is the answer (400 by default)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_head(http_version: str, headers: Headers) -> None:
    """Raise BadRequest for a head that is well-formed bytes but must still be refused.

    `headers` are (lower-case name, value) pairs. Refused, with the rule for each:
    - an HTTP version other than 1.0 and 1.1 (505);
    - HTTP/1.1 without exactly one Host header (RFC 9112 §3.2);
    - Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1);
    - a transfer coding other than `chunked`, in any case (501: we cannot decode it, §6.1);
    - Content-Length together with Transfer-Encoding (RFC 9112 §6.1, §6.3 item 3);
    - more than one Content-Length, or one that is not a decimal number (§6.3 item 5).
    """
    if http_version not in ("1.0", "1.1"):
        raise BadRequest(f"HTTP/{http_version} is not supported; send HTTP/1.1", status=505)
    hosts = [value for name, value in headers if name == b"host"]
    lengths = [value for name, value in headers if name == b"content-length"]
    codings = [value for name, value in headers if name == b"transfer-encoding"]
    if http_version == "1.1" and len(hosts) != 1:
        raise BadRequest(f"an HTTP/1.1 request needs exactly one Host header, got {len(hosts)}")
    if codings and http_version == "1.0":
        raise BadRequest("Transfer-Encoding in an HTTP/1.0 request: its framing cannot be trusted")
    if codings and lengths:
        raise BadRequest("both Content-Length and Transfer-Encoding: the body could be framed two ways")
    if codings and [coding.strip().lower() for coding in codings] != [b"chunked"]:
        raise BadRequest(f"Transfer-Encoding {b', '.join(codings)!r}: only 'chunked' is implemented", status=501)
    if len(lengths) > 1:
        raise BadRequest(f"{len(lengths)} Content-Length headers: the body length is ambiguous")
    if lengths and not lengths[0].isdigit():
        raise BadRequest(f"Content-Length {lengths[0]!r} is not a decimal number")


def reason_phrase(status: int) -> str:
    """The reason phrase of a status: reason_phrase(404) == "Not Found"; "" if HTTP names none."""
    return _PHRASES.get(status, "")


def response_head(status: int, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The status line, one line per header, and the blank line, as bytes.

    Raises ValueError for a status outside 100-599 or a header that could split the response.
    """
    try:
        lines = [STATUS_LINES[status]]
    except KeyError:
        raise ValueError(f"status must be an int from 100 to 599, got {status!r}") from None
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if _BAD_VALUE.search(value):
            raise ValueError(f"invalid header value {value!r} (for {name!r})")
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    return b"".join(lines)


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body. Never call it with b"": that is the last-chunk marker."""
    return b"%x\r\n%s\r\n" % (len(data), data)
