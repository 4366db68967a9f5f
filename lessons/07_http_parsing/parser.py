"""Lesson 07 — a sans-I/O HTTP/1.1 request parser.

What you build (in this order):
  split_target(target)        path, raw path and query string of a request target    exercise 7.1
  check_head(version, hdrs)   refuse heads httptools lets through (smuggling, Host)  exercise 7.2
  RequestParser.feed(data)    bytes in, Request / Body / EndOfMessage events out     exercise 7.3
  build_scope(request, ...)   the ASGI HTTP connection scope for one request         exercise 7.4
  response_head(status, hdrs) status line with the right reason phrase, and headers  exercise 7.5
  chunk(data)                 one chunk of a `Transfer-Encoding: chunked` body       exercise 7.6

Test your code:  make test-lesson 7        See it run:  make demo-lesson 7

How this works
--------------
This module does no I/O: it never touches a socket. A server hands `feed()`
whatever bytes `recv()` gave it, in whatever pieces they came, and gets back the
events those bytes complete:

    Request(...)         a request head arrived (method, target, headers, ...)
    Body(data)           some bytes of that request's body (already de-chunked)
    EndOfMessage()       that request is complete; the next one may follow

Rules the parser keeps:
1. Pieces do not matter. The same bytes fed whole, one at a time, or in any
   split give the same requests and the same body bytes.
2. One connection, one parser. Everything it remembers lives on the instance,
   so two connections can never see each other's headers or body.
3. Pipelining: one feed() may complete several requests; their events come
   in order. Bytes of a request not yet complete are kept for the next feed().
4. Anything that could frame a body two ways (RFC 9112 §6.3: Content-Length
   with Transfer-Encoding, two Content-Lengths, ...) is refused with BadRequest,
   never guessed at: a guess that differs from a proxy's is request smuggling.
5. After BadRequest the parser stays failed, whoever found the fault (llhttp,
   check_head, or the head limit); after a request that ends the connection
   (`Connection: close`, HTTP/1.0) further bytes are ignored.
6. A request with an `Upgrade` header (h2c, websocket, ...) is served as plain
   HTTP and the header is left for the app to see: RFC 9110 §7.8 lets a server
   ignore Upgrade, and this one speaks no other protocol (WebSocket: lesson 10).

httptools (a binding of llhttp, the parser inside Node.js) does the byte-level
work and calls us back: on_message_begin, on_url, on_header,
on_headers_complete, on_body, on_message_complete. The callbacks turn those
calls into events; `feed()` collects them and turns httptools' errors into
BadRequest. The state of the message being read is one field, `state`, moved
only through the TRANSITIONS table, except that BadRequest from any state
moves it to FAILED.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Iterable, Union
from urllib.parse import unquote_to_bytes

import httptools

MAX_HEADER_BYTES = 16 * 1024  # h11's default limit on an incomplete head; nginx allows 4 x 8 KiB
ASGI_VERSION = "3.0"
# The HTTP sub-spec version the scope claims (asgiref specs/www.rst). 2.4 adds
# "send() after the client has gone raises an OSError subclass": a promise for
# the server that runs the app, which lessons 08 and 09 keep and claim too.
ASGI_SPEC_VERSION = "2.4"
LAST_CHUNK = b"0\r\n\r\n"  # a zero-size chunk and no trailers ends a chunked body (RFC 9112 §7.1)

Headers = list[tuple[bytes, bytes]]


# -- Events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str  # "GET", upper case as sent
    path: str  # percent-decoded, UTF-8 decoded: "/café" for b"/caf%C3%A9"
    raw_path: bytes  # the path exactly as received: b"/caf%C3%A9"
    query_string: bytes  # after the "?", still percent-encoded; b"" when there is none
    http_version: str  # "1.0" or "1.1"
    headers: Headers  # (lower-case name, value) in the order received; duplicates kept
    keep_alive: bool  # may the connection carry another request after this one?
    expect_continue: bool  # `Expect: 100-continue` on HTTP/1.1: the client waits for "100 Continue"


@dataclass(frozen=True)
class Body:
    data: bytes  # body bytes as the application sees them (chunk framing removed)


@dataclass(frozen=True)
class EndOfMessage:
    pass


Event = Union[Request, Body, EndOfMessage]


class BadRequest(Exception):
    """The peer sent something that is not an HTTP/1.1 request we can safely read.

    `status` is the response the server should send before closing: 400 by default,
    431 when the head is too large, 501 for a transfer coding we do not implement,
    505 for an HTTP version we do not speak.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# -- Exercise 7.1: the request target ------------------------------------------------------


def split_target(target: bytes) -> tuple[str, bytes, bytes]:
    """(path, raw_path, query_string) of a request target (RFC 9112 §3.2).

    `b"/a%20b?x=1"` gives `("/a b", b"/a%20b", b"x=1")`. The absolute form
    (`http://host/a`) gives the same as its path would; `*` (OPTIONS) stays `*`.
    A fragment is dropped. Escapes that do not decode as UTF-8 become U+FFFD:
    `b"/%FF"` gives the path `"/\ufffd"` (raw_path keeps `b"/%FF"`).
    Raises BadRequest for a target parse_url refuses:
    anything that is not a URL, and the authority form (`host:443`) of CONNECT,
    which only proxies serve.
    """
    # TODO: exercise 7.1
    raise NotImplementedError("Exercise 7.1: split the target into path and query with httptools.parse_url (BadRequest if it fails), percent-decode the path to str (UTF-8), and return (path, raw_path, query_string).")


# -- Exercise 7.2: what httptools lets through ---------------------------------------------


def check_head(http_version: str, headers: Headers) -> None:
    """Raise BadRequest for a head that is well-formed bytes but must still be refused.

    `headers` are (lower-case name, value) pairs. The rules, checked in this
    order; when several apply, the first one decides the status (400 unless said):
    - an HTTP version other than 1.0 and 1.1 (505);
    - HTTP/1.1 without exactly one Host header (RFC 9112 §3.2);
    - Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1);
    - Content-Length together with Transfer-Encoding (RFC 9112 §6.1, §6.3 item 3);
    - Transfer-Encoding other than the one coding `chunked`, written in any case
      (`Chunked` is fine: coding names are case-insensitive, RFC 9112 §7);
      `gzip, chunked` or `identity` gets 501: we cannot decode it (§6.1);
    - more than one Content-Length, or one that is not a decimal number (§6.3 item 5).
    Returns None when the head is fine.
    """
    # TODO: exercise 7.2
    raise NotImplementedError("Exercise 7.2: collect the Host, Content-Length and Transfer-Encoding values and raise BadRequest for each rule in the docstring.")


# -- Exercise 7.3: the parser --------------------------------------------------------------


class State(enum.Enum):
    IDLE = "waiting for a request line"
    HEAD = "reading the request line and headers"
    BODY = "reading the body"
    MUST_CLOSE = "the last request ends the connection; later bytes are ignored"
    FAILED = "the peer sent a bad request; nothing more is read"


# (state, what httptools reported) -> next state. Anything else is a bug in this
# module, not in the peer's bytes: llhttp never reports things out of order.
TRANSITIONS = {
    (State.IDLE, "message_begin"): State.HEAD,
    (State.HEAD, "headers_complete"): State.BODY,
    (State.BODY, "message_complete, keep-alive"): State.IDLE,
    (State.BODY, "message_complete, close"): State.MUST_CLOSE,
}
HEAD_STATES = (State.IDLE, State.HEAD)  # bytes fed in these states count toward max_header_bytes


class RequestParser:
    """One connection's request parser: `feed(bytes) -> [events]`.

    `max_header_bytes` caps the request line and headers of each request; a head
    over it raises BadRequest with status 431. httptools is never handed more of
    a head than what is left of that budget, so however large one feed() is, an
    endless header is refused after `max_header_bytes`. The cap is exact for a
    head that starts at the start of a feed() (and for any head fed one byte at a
    time); a pipelined head that starts in the middle of one may get one more
    slice of up to `max_header_bytes`, so memory stays bounded either way.

    Body events: a request's body may come out as several Body events; how it
    is cut is not part of the contract (this one joins what one feed() brought
    of a body into one Body; one Body per on_body call is just as correct).
    """

    def __init__(self, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: parse requests with httptools.HttpRequestParser(self) in feed() and the on_* callbacks below, returning Request, Body and EndOfMessage events.")

    def feed(self, data: bytes) -> list[Event]:
        """The events that `data`, added to what came before, completes, in order.

        `[]` means "need more bytes". Raises BadRequest when the bytes are not a
        request we can safely read, with the status check_head or the head limit
        chose (505, 501, 431; 400 for what httptools refuses); the parser then
        refuses every later feed() with BadRequest.
        """
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: give the bytes to httptools in slices that respect max_header_bytes, turn its errors into BadRequest, and return the events the callbacks collected.")

    # Parser callbacks: httptools calls these from inside feed_data().

    def on_message_begin(self) -> None:
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: move the state on and forget the previous request's target and headers.")

    def on_url(self, url: bytes) -> None:
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: keep the request target; it may arrive in several pieces.")

    def on_header(self, name: bytes, value: bytes) -> None:
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: keep the header with its name lower-cased and its value stripped of spaces and tabs.")

    def on_headers_complete(self) -> None:
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: check the head, split the target, and add a Request event.")

    def on_body(self, body: bytes) -> None:
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: keep the body bytes for a Body event.")

    def on_message_complete(self) -> None:
        # TODO: exercise 7.3
        raise NotImplementedError("Exercise 7.3: add the pending Body (if any) and an EndOfMessage event.")


# -- Exercise 7.4: the ASGI scope ----------------------------------------------------------


def build_scope(
    request: Request,
    *,
    client: tuple[str, int] | None,
    server: tuple[str, int | None] | None,
    scheme: str = "http",
    root_path: str = "",
) -> dict:
    """The ASGI HTTP connection scope for `request` (asgiref specs/www.rst).

    `client` is the peer's (host, port), `server` the listening (host, port),
    either may be None. `root_path` is the prefix a proxy in front of us strips;
    like uvicorn and Starlette, `path` and `raw_path` carry it in front of what
    was requested, so an app mounted under it routes the full path: `path` gets
    `root_path`, `raw_path` gets `root_path` encoded as UTF-8 bytes
    (root_path="/api", raw_path=b"/items" gives b"/api/items").
    The lifespan `state` key is the server's to add (lesson 08).
    """
    # TODO: exercise 7.4
    raise NotImplementedError("Exercise 7.4: return a dict with every key of the ASGI HTTP scope: type, asgi, http_version, method, scheme, path, raw_path, query_string, root_path, headers, client, server.")


# -- Exercise 7.5: the response head -------------------------------------------------------

# A header name is a token (RFC 9110 §5.1, §5.6.2): visible ASCII except delimiters.
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# CR or LF in a value would end the header line early and let whoever chose the
# value write headers (or a whole response) of their own: response splitting.
# NUL is forbidden in a field value too (RFC 9110 §5.5).
FORBIDDEN_IN_VALUE = re.compile(rb"[\r\n\x00]")


def response_head(status: int, headers: Iterable[tuple[bytes | str, bytes | str]]) -> bytes:
    """`HTTP/1.1 <status> <reason>`, the header lines, and the blank line that ends them.

    The reason phrase is the standard one for `status` (RFC 9110 §15), empty for a
    code without one (the space before it stays, RFC 9112 §4). Names and values may
    be bytes or str (latin-1). Raises ValueError for a status outside 100-599, a
    name that is not a token, and CR, LF or NUL in a name or value.
    """
    # TODO: exercise 7.5
    raise NotImplementedError('Exercise 7.5: start with the status line for this status (its own reason phrase), add one "name: value" line per header after checking it, and end with an empty line.')


# -- Exercise 7.6: chunked response bodies -------------------------------------------------


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body: the size in hex, CRLF, the data, CRLF (RFC 9112 §7.1).

    `chunk(b"")` is `b""`: an empty piece must not end the body, because a
    zero-size chunk is the end marker. Send LAST_CHUNK to end the body.
    """
    # TODO: exercise 7.6
    raise NotImplementedError('Exercise 7.6: return b"" for empty data; otherwise the length in hex, CRLF, the data, CRLF.')
