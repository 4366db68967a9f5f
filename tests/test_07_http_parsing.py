"""Lesson 07 — a sans-I/O HTTP parser. Each test names the exercise it checks.

No sockets here: the parser takes bytes and returns events, so the tests hand it
bytes the way a network might. Every request is fed three ways (h11's habit):
whole, one byte at a time, and in 7-byte pieces; the events must say the same
thing each time. Requests are named byte constants; the smuggling shapes are
parametrised with ids so each one fails on its own.

Failures print a message and no traceback (`fail()`): the message says what was
fed, what came out, and what to change. Where a test can tell the likely cause
(header names not lower-cased, headers kept from the previous request), the
message names it. An error of the learner's own code keeps its traceback.
"""

from __future__ import annotations

import textwrap
import traceback
from pathlib import Path
from typing import NoReturn

import httptools
import pytest

from tests.harness import show_bytes

pytestmark = pytest.mark.timeout(5)  # all of this is pure computation, well under a second

SIMPLE_GET = b"GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n"
GET_WITH_QUERY = b"GET /search%20me/caf%C3%A9?q=a%20b&x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
HEADERS_GET = (
    b"GET / HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"User-Agent: test\r\n"
    b"X-Many: one\r\n"
    b"ACCEPT: text/plain\r\n"
    b"X-Many: two\r\n"
    b"X-Spaced:   padded value \t\r\n"
    b"\r\n"
)
# HTTP/1.0 needs no Host, so check_head lets these through whatever on_header
# did to the names: the tests that use them can see the headers it kept.
MIXED_CASE_GET_10 = b"GET / HTTP/1.0\r\nUser-Agent: test\r\nACCEPT: text/plain\r\n\r\n"
TARGET_GET_10 = b"GET /hello/world?x=1 HTTP/1.0\r\n\r\n"
TWO_GETS_10 = (
    b"GET /one HTTP/1.0\r\nConnection: keep-alive\r\nX-First: 1\r\n\r\n"
    b"GET /two HTTP/1.0\r\nX-Second: 2\r\n\r\n"
)
POST_WITH_LENGTH = (
    b"POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz"
)
CHUNKED_POST = (
    b"POST /chunks HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nHello\r\n"
    b"8;name=value\r\n, chunks\r\n"  # a chunk extension: ignored
    b"18\r\n and a bigger one (0x18)\r\n"
    b"0\r\n"
    b"X-Trailer: ignored\r\n"  # a trailer field after the last chunk
    b"\r\n"
)
CHUNKED_BODY = b"Hello, chunks and a bigger one (0x18)"
CLOSE_GET = b"GET /last HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
HTTP10_GET = b"GET /old HTTP/1.0\r\n\r\n"
HTTP10_KEEP_ALIVE = b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
EXPECT_POST = (
    b"POST /big HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
)
EXPECT_POST_MIXED_CASE = EXPECT_POST.replace(b"100-continue", b"100-Continue")
EXPECT_POST_10 = b"POST /big HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
UPGRADE_H2C_GET = (
    b"GET /h2 HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
    b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
)
UPGRADE_WEBSOCKET_GET = (
    b"GET /h2 HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
PIPELINED = POST_WITH_LENGTH + SIMPLE_GET + CHUNKED_POST
ENDLESS_HEAD_START = b"GET / HTTP/1.1\r\nHost: a\r\nX-Endless: "


@pytest.fixture(scope="module")
def parser(load_lesson):
    return load_lesson(7)


# -- helpers: failing with a message, feeding bytes three ways, reading events ---------------


def fail(message: str) -> NoReturn:
    """Fail with the message alone: the test's source, its traceback and the exception
    being handled (the message already names it) would only bury the message."""
    __tracebackhide__ = True
    raise pytest.fail.Exception(message, pytrace=False) from None


def feed_whole(module, data, **options):
    return module.RequestParser(**options).feed(data)


def feed_one_byte_at_a_time(module, data, **options):
    request_parser = module.RequestParser(**options)
    events = []
    for index in range(len(data)):
        events += request_parser.feed(data[index:index + 1])
    return events


def feed_in_7_byte_pieces(module, data, **options):
    request_parser = module.RequestParser(**options)
    events = []
    for start in range(0, len(data), 7):
        events += request_parser.feed(data[start:start + 7])
    return events


FEEDS = [
    pytest.param(feed_whole, id="whole"),
    pytest.param(feed_one_byte_at_a_time, id="one-byte-at-a-time"),
    pytest.param(feed_in_7_byte_pieces, id="7-byte-pieces"),
]


def how(feed) -> str:
    return feed.__name__.replace("feed_", "fed ").replace("_", " ")


def summary(module, events):
    """The events as comparable tuples, adjacent Body events joined (pieces do not matter)."""
    out = []
    for event in events:
        if isinstance(event, module.Body):
            if out and out[-1][0] == "body":
                out[-1] = ("body", out[-1][1] + event.data)
            elif event.data:
                out.append(("body", event.data))
        elif isinstance(event, module.Request):
            # A bytes method fails test_http_version_and_method_are_text; here it
            # would only fail every other test too.
            method = event.method.decode("latin-1") if isinstance(event.method, bytes) else event.method
            out.append(("request", method, event.raw_path))
        elif isinstance(event, module.EndOfMessage):
            out.append(("end",))
        else:
            out.append(("not an event", event))
    return out


def show_summary(items) -> str:
    """A summary() as one short line: `[Request 'GET' b'/hello', EndOfMessage]`."""
    words = []
    for item in items:
        if item[0] == "request":
            words.append(f"Request {item[1]!r} {item[2]!r}")
        elif item[0] == "body":
            words.append(f"Body {show_bytes(item[1], 40)}")
        elif item[0] == "end":
            words.append("EndOfMessage")
        else:
            words.append(f"not an event: {item[1]!r:.40}")
    return "[" + ", ".join(words) + "]"


def expect_events(module, events, expected, what: str, hint: str) -> None:
    got = summary(module, events)
    if got != expected:
        fail(f"{what}:\n  expected {show_summary(expected)}\n  got      {show_summary(got)}\n  hint: {hint}")


def requests_in(module, events):
    return [event for event in events if isinstance(event, module.Request)]


# -- helpers: good requests must be accepted, bad ones refused with BadRequest --------------


def header_names_problem(module) -> str:
    """What on_header does wrong with names, or "" (an HTTP/1.0 request: no Host rule in the way)."""
    [request] = requests_in(module, module.RequestParser().feed(MIXED_CASE_GET_10))
    names = [name for name, _ in request.headers]
    if any(name != name.lower() for name in names):
        return (f"on_header kept the names as sent: {names!r}\n"
                "  Lower-case them there (RFC 9110 §5.1: names are case-insensitive; ASGI wants\n"
                "  them lower-case, and check_head looks for b'host', not b'Host')")
    return ""


def headers_reset_problem(module) -> str:
    """What goes wrong with the second of two requests' headers, or ""."""
    requests = requests_in(module, module.RequestParser().feed(TWO_GETS_10))
    if len(requests) == 2 and (b"x-first", b"1") in [tuple(pair) for pair in requests[1].headers]:
        return (f"the second request still holds the first one's headers:\n  {requests[1].headers!r}\n"
                "  Reset them when a new message begins (on_message_begin)")
    return ""


def target_pieces_problem(module) -> str:
    """What goes wrong with a target that arrives in pieces, or "" (fed whole, it must work)."""
    request_parser = module.RequestParser()
    try:
        events = []
        for start in range(0, len(TARGET_GET_10), 3):
            events += request_parser.feed(TARGET_GET_10[start:start + 3])
    except module.BadRequest as error:
        got = f"BadRequest({error})"
    else:
        requests = requests_in(module, events)
        got = repr(requests[0].raw_path) if requests else "no Request"
        if requests and requests[0].raw_path == b"/hello/world":
            return ""
    return (f"the target b'/hello/world?x=1', fed 3 bytes at a time,\n  gave {got}.\n"
            "  httptools calls on_url once per piece of the target that a feed()\n"
            "  brought: add each piece to what came before (reset in on_message_begin)")


def likely_cause_of_refusal(module) -> str:
    """Why a good request is refused, found by trying the learner's parser on HTTP/1.0 requests."""
    for probe in (header_names_problem, headers_reset_problem, target_pieces_problem):
        try:
            cause = probe(module)
        except Exception:  # the probe is only a guess; the test's own message still stands
            continue
        if cause:
            return "likely cause: " + cause
    return ""


def where_raised(module, error: BaseException) -> str:
    """'parser.py:157 in check_head(): raise ...', the last line of the learner's module that `error` passed."""
    folder = Path(module.__file__).parent
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if Path(frame.filename).parent == folder]
    if not frames:
        return ""
    frame = frames[-1]
    return f"raised at {Path(frame.filename).name}:{frame.lineno} in {frame.name}():\n    {frame.line:.74}"


def callback_bug_behind(module, error: BaseException) -> BaseException | None:
    """An exception of the learner's own (not BadRequest, not httptools') that led to `error`."""
    seen = error.__cause__ or error.__context__
    while seen is not None:
        if not isinstance(seen, (module.BadRequest, httptools.HttpParserError, httptools.HttpParserUpgrade)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def refused_good_request(module, error: BaseException, data: bytes, what: str, hint: str) -> str:
    """The message for a BadRequest raised for a good request: the likely cause, or where and the hint."""
    lines = [f"{what}, this good request was refused:", f"  {show_bytes(data, 64)}",
             f"  BadRequest({error}), status {getattr(error, 'status', '?')}"]
    bug = callback_bug_behind(module, error)
    if bug is not None:
        lines += [f"  behind it: {type(bug).__name__}({bug})",
                  f"  {where_raised(module, bug) or 'in a callback'}",
                  "  feed() turned a bug of a callback into BadRequest: re-raise what a",
                  "  callback raised (HttpParserCallbackError's __context__); BadRequest is",
                  "  for bytes the peer got wrong"]
        return "\n".join(lines)
    cause = likely_cause_of_refusal(module)
    if cause:
        return "\n".join(lines + [f"  {cause}"])
    if where_raised(module, error):
        lines.append(f"  {where_raised(module, error)}")
    if hint:
        lines.append(f"  hint: {hint}")
    return "\n".join(lines)


def escaped_httptools_error(module, error: Exception) -> str:
    """The message for an httptools error that came out of feed(); re-raises a callback's own bug."""
    cause = error.__context__
    if isinstance(error, httptools.HttpParserCallbackError) and cause is not None:
        if not isinstance(cause, module.BadRequest):
            raise cause from None  # a bug in a callback: its own traceback shows the line
        return (f"a callback raised BadRequest({cause}), and httptools wrapped it in\n"
                "  HttpParserCallbackError, which feed() let out. Catch HttpParserCallbackError\n"
                "  in feed() and raise the callback's own exception (error.__context__)")
    if isinstance(error, httptools.HttpParserCallbackError):
        return ("httptools raised HttpParserCallbackError with no exception of a callback\n"
                "  behind it: once a callback has failed, llhttp repeats that error for every\n"
                "  later feed_data(). Raise BadRequest from feed() yourself in that case")
    if isinstance(error, httptools.HttpParserUpgrade):
        return ("feed() let httptools' HttpParserUpgrade out. llhttp stops after a request\n"
                "  with Upgrade; we speak no other protocol (RFC 9110 §7.8 lets a server\n"
                "  ignore Upgrade), so go on feeding from the offset it gives (error.args[0])")
    return (f"feed() let httptools' {type(error).__name__}({error}) out.\n"
            "  Catch httptools.HttpParserError in feed() and raise BadRequest: the server\n"
            "  turns that one exception into a 400")


def accepted(module, feeding, data: bytes, what: str, hint: str = "") -> list:
    """The events of `feeding()`, which feeds the good request `data`; a refusal fails the test."""
    try:
        return feeding()
    except module.BadRequest as error:
        fail(refused_good_request(module, error, data, what, hint))
    except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
        fail(f"{what}:\n  {show_bytes(data, 64)}\n  {escaped_httptools_error(module, error)}")


def events_of(feed, module, data: bytes, hint: str = "", **options) -> list:
    """The events of the good request `data`, fed the way `feed` feeds it."""
    return accepted(module, lambda: feed(module, data, **options), data, how(feed), hint)


def refusal(module, feeding, data: bytes, what: str, hint: str):
    """The BadRequest that `feeding()` must raise for the bad request `data`."""
    try:
        events = feeding()
    except module.BadRequest as error:
        return error
    except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
        fail(f"{what}:\n  {show_bytes(data, 64)}\n  {escaped_httptools_error(module, error)}")
    fail(f"{what}:\n  {show_bytes(data, 64)}\n  was accepted, giving {show_summary(summary(module, events))}.\n"
         f"  {hint}")


def refusal_of(feed, module, data: bytes, hint: str, **options):
    """The BadRequest that feeding the bad request `data` the way `feed` does must raise."""
    return refusal(module, lambda: feed(module, data, **options), data, how(feed), hint)


# -- exercise 7.1: split_target --------------------------------------------------------------


def split(module, target: bytes):
    """split_target(target), with a course message for what must not escape it."""
    try:
        return module.split_target(target)
    except UnicodeDecodeError as error:
        fail(f"split_target({target!r}) raised UnicodeDecodeError ({error}).\n"
             "  Escapes may hold bytes that are not UTF-8: decode with errors=\"replace\",\n"
             "  which turns them into U+FFFD (raw_path keeps the bytes as sent)")
    except module.BadRequest as error:
        fail(f"split_target({target!r}) raised BadRequest({error}); this target is fine")


@pytest.mark.exercise("7.1")
@pytest.mark.parametrize("target, path, raw_path, query_string", [
    pytest.param(b"/", "/", b"/", b"", id="root"),
    pytest.param(b"/hello/world", "/hello/world", b"/hello/world", b"", id="plain-path"),
    pytest.param(b"/a%20b?q=a%20b&x=1", "/a b", b"/a%20b", b"q=a%20b&x=1", id="percent-escapes"),
    pytest.param(b"/caf%C3%A9", "/caf\u00e9", b"/caf%C3%A9", b"", id="utf8-escapes"),
    pytest.param(b"/%FF", "/\ufffd", b"/%FF", b"", id="escape-that-is-not-utf8"),
    pytest.param(b"/a%2Fb", "/a/b", b"/a%2Fb", b"", id="escaped-slash"),
    pytest.param(b"/p?", "/p", b"/p", b"", id="empty-query"),
    pytest.param(b"/p?a=1?b=2", "/p", b"/p", b"a=1?b=2", id="question-mark-in-query"),
    pytest.param(b"/p?a=1#frag", "/p", b"/p", b"a=1", id="fragment-dropped"),
    pytest.param(b"http://example.com/x?y=1", "/x", b"/x", b"y=1", id="absolute-form"),
    pytest.param(b"http://example.com", "/", b"/", b"", id="absolute-form-without-path"),
    pytest.param(b"*", "*", b"*", b"", id="asterisk-form"),
])
def test_split_target(parser, target, path, raw_path, query_string):
    got = split(parser, target)
    if got != (path, raw_path, query_string):
        fail(f"split_target({target!r}):\n  expected {(path, raw_path, query_string)!r}\n  got      {got!r}\n"
             "  path: text, %-escapes decoded as UTF-8 (U+FFFD where they are not);\n"
             "  raw_path: the path bytes as received; query_string: the bytes after '?',\n"
             "  still encoded. A '#fragment' is part of none of them")


@pytest.mark.exercise("7.1")
def test_split_target_types(parser):
    got = split(parser, b"/x?y=1")
    types = tuple(type(part).__name__ for part in got)
    if types != ("str", "bytes", "bytes"):
        fail(f"split_target(b'/x?y=1') gave {got!r}: expected (str, bytes, bytes),\n"
             f"  as the ASGI scope wants them, got ({', '.join(types)})")


@pytest.mark.exercise("7.1")
@pytest.mark.parametrize("target", [
    pytest.param(b"example.com:443", id="authority-form"),
    pytest.param(b"no-slash", id="relative-path"),
])
def test_split_target_refuses_what_is_not_a_path(parser, target):
    try:
        got = parser.split_target(target)
    except parser.BadRequest:
        return
    except httptools.HttpParserInvalidURLError as error:
        fail(f"split_target({target!r}) let httptools' HttpParserInvalidURLError({error}) out:\n"
             "  catch it and raise BadRequest, the one error a server turns into a 400")
    fail(f"split_target({target!r}) returned {got!r}.\n  A server (not a proxy) only accepts targets that "
         "start with '/', absolute URLs,\n  or '*': raise BadRequest")


# -- exercise 7.2: check_head ----------------------------------------------------------------


@pytest.mark.exercise("7.2")
@pytest.mark.parametrize("http_version, headers", [
    pytest.param("1.1", [(b"host", b"a")], id="http11-with-host"),
    pytest.param("1.0", [], id="http10-without-host"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"12")], id="content-length"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"0")], id="content-length-zero"),
    pytest.param("1.1", [(b"host", b"a"), (b"transfer-encoding", b"chunked")], id="chunked"),
    pytest.param("1.1", [(b"host", b"a"), (b"transfer-encoding", b"Chunked")], id="chunked-any-case"),
])
def test_check_head_accepts_good_heads(parser, http_version, headers):
    try:
        result = parser.check_head(http_version, headers)
    except parser.BadRequest as error:
        fail(f"check_head({http_version!r}, {headers!r})\n  refused a good head: BadRequest({error}).\n"
             "  Coding names are case-insensitive (RFC 9112 §7): 'Chunked' is 'chunked'")
    if result is not None:
        fail(f"check_head returns None for a good head, got {result!r}")


SMUGGLING_HEADS = [
    pytest.param("1.1", [], 400, id="http11-without-host"),
    pytest.param("1.1", [(b"host", b"a"), (b"host", b"b")], 400, id="two-hosts"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"5"), (b"transfer-encoding", b"chunked")], 400,
                 id="content-length-and-transfer-encoding"),
    pytest.param("1.1", [(b"host", b"a"), (b"transfer-encoding", b"chunked"), (b"content-length", b"5")], 400,
                 id="transfer-encoding-and-content-length"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"5"), (b"content-length", b"6")], 400,
                 id="two-different-content-lengths"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"5"), (b"content-length", b"5")], 400,
                 id="two-equal-content-lengths"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"+5")], 400, id="content-length-with-sign"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"5, 5")], 400, id="content-length-list"),
    pytest.param("1.0", [(b"transfer-encoding", b"chunked")], 400, id="transfer-encoding-in-http10"),
    pytest.param("1.1", [(b"host", b"a"), (b"transfer-encoding", b"gzip, chunked")], 501, id="gzip-then-chunked"),
    pytest.param("1.1", [(b"host", b"a"), (b"transfer-encoding", b"identity")], 501, id="identity"),
    pytest.param("0.9", [], 505, id="http09"),
    pytest.param("2.0", [(b"host", b"a")], 505, id="http20-over-http11-framing"),
    # Two rules apply: the docstring's order decides which status the client gets.
    pytest.param("2.0", [], 505, id="version-before-host"),
    pytest.param("1.1", [(b"host", b"a"), (b"content-length", b"5"), (b"transfer-encoding", b"gzip")], 400,
                 id="both-framings-before-unknown-coding"),
]


@pytest.mark.exercise("7.2")
@pytest.mark.parametrize("http_version, headers, status", SMUGGLING_HEADS)
def test_check_head_refuses(parser, http_version, headers, status):
    try:
        parser.check_head(http_version, headers)
    except parser.BadRequest as error:
        if error.status != status:
            fail(f"check_head({http_version!r}, {headers!r})\n  raised BadRequest with status {error.status}, "
                 f"expected {status}: the status the server\n  will answer. Pass status=... when you raise; "
                 "where two rules apply, the\n  first in the docstring's order decides")
        return
    fail(f"check_head({http_version!r}, {headers!r})\n  accepted this head. Read the docstring's list of rules "
         "(RFC 9112 §3.2,\n  §6.1, §6.3) and raise BadRequest for it")


# -- exercise 7.3: RequestParser ---------------------------------------------------------------
# The first three tests each pin one likely cause of many later failures, so that
# the first failure a learner sees names it.


@pytest.mark.exercise("7.3")
def test_header_names_come_out_lower_case(parser):
    [request] = requests_in(parser, accepted(parser, lambda: feed_whole(parser, MIXED_CASE_GET_10),
                                             MIXED_CASE_GET_10, "fed whole"))
    problem = header_names_problem(parser)
    if problem:
        fail(f"{show_bytes(MIXED_CASE_GET_10)}:\n  {problem}")


@pytest.mark.exercise("7.3")
def test_each_request_has_only_its_own_headers(parser):
    requests = requests_in(parser, accepted(parser, lambda: feed_whole(parser, TWO_GETS_10),
                                            TWO_GETS_10, "fed whole"))
    if len(requests) != 2:
        fail(f"two pipelined HTTP/1.0 requests (keep-alive) gave {len(requests)} Request event(s)\n"
             "  instead of 2: one feed() may complete several requests; return them all")
    problem = headers_reset_problem(parser)
    if problem:
        fail(f"two pipelined requests, {show_bytes(TWO_GETS_10, 120)}:\n  {problem}")


@pytest.mark.exercise("7.3")
def test_target_in_pieces_is_joined(parser):
    accepted(parser, lambda: feed_whole(parser, TARGET_GET_10), TARGET_GET_10, "fed whole")
    problem = target_pieces_problem(parser)
    if problem:
        fail(problem)


@pytest.mark.exercise("7.3")
def test_http_version_and_method_are_text(parser):
    [request] = requests_in(parser, events_of(feed_whole, parser, HTTP10_GET))
    if (request.method, request.http_version) != ("GET", "1.0"):
        fail(f"expected method 'GET' and http_version '1.0' (str, as the ASGI scope wants\n"
             f"  them), got {request.method!r} and {request.http_version!r}: get_method() returns bytes, "
             "decode it")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_simple_get_gives_request_then_end(parser, feed):
    events = events_of(feed, parser, SIMPLE_GET)
    expect_events(parser, events, [("request", "GET", b"/hello"), ("end",)], f"{how(feed)}, {show_bytes(SIMPLE_GET)}",
                  "add a Request in on_headers_complete and an EndOfMessage in\n"
                  "  on_message_complete, and return what the callbacks collected from feed()")


@pytest.mark.exercise("7.3")
def test_request_fields(parser):
    [request, _] = events_of(feed_whole, parser, GET_WITH_QUERY)
    expected = dict(method="GET", path="/search me/caf\u00e9", raw_path=b"/search%20me/caf%C3%A9",
                    query_string=b"q=a%20b&x=1", http_version="1.1", keep_alive=True, expect_continue=False)
    got = {name: getattr(request, name, "<missing>") for name in expected}
    wrong = [f"  {name}: expected {expected[name]!r}, got {got[name]!r}"
             for name in expected if got[name] != expected[name]]
    if wrong:
        fail(f"the Request for {show_bytes(GET_WITH_QUERY)}:\n" + "\n".join(wrong) + "\n"
             "  hint: method and http_version come from the httptools parser (get_method(),\n"
             "  get_http_version()); path, raw_path and query_string from split_target()")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_headers_lower_case_in_order_with_duplicates_and_values_trimmed(parser, feed):
    [request] = requests_in(parser, events_of(feed, parser, HEADERS_GET))
    expected = [(b"host", b"example.com"), (b"user-agent", b"test"), (b"x-many", b"one"),
                (b"accept", b"text/plain"), (b"x-many", b"two"), (b"x-spaced", b"padded value")]
    got = [tuple(pair) for pair in request.headers]
    if got != expected:
        first_wrong = next((index for index, pair in enumerate(got) if index >= len(expected)
                            or pair != expected[index]), len(got))
        fail(f"{how(feed)}, the headers of\n  {show_bytes(HEADERS_GET, 64)}\n"
             f"  header {first_wrong + 1} of {len(expected)}: expected "
             f"{expected[first_wrong] if first_wrong < len(expected) else 'none'},\n"
             f"  got {got[first_wrong] if first_wrong < len(got) else 'none'} ({len(got)} headers in all)\n"
             "  hint: names lower-case bytes (RFC 9110 §5.1), order and duplicates kept\n"
             "  (ASGI), spaces and tabs around a value not part of it (RFC 9110 §5.5)")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_content_length_body(parser, feed):
    events = events_of(feed, parser, POST_WITH_LENGTH)
    expect_events(parser, events, [("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"), ("end",)],
                  f"{how(feed)}, a POST with a 26-byte body",
                  "Body event(s) whose data add up to the body, then EndOfMessage")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_chunked_body_is_decoded(parser, feed):
    events = events_of(feed, parser, CHUNKED_POST)
    expect_events(parser, events, [("request", "POST", b"/chunks"), ("body", CHUNKED_BODY), ("end",)],
                  f"{how(feed)}, a chunked POST",
                  "the body with the chunk sizes, extensions and trailer removed\n"
                  "  (httptools' on_body already gives you de-chunked bytes)")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("coding", [pytest.param(b"Chunked", id="Chunked"), pytest.param(b"CHUNKED", id="CHUNKED")])
def test_transfer_coding_is_read_in_any_case(parser, coding, feed):
    data = CHUNKED_POST.replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: " + coding)
    hint = "coding names are case-insensitive (RFC 9112 §7): compare them lower-cased"
    events = events_of(feed, parser, data, hint)
    expect_events(parser, events, [("request", "POST", b"/chunks"), ("body", CHUNKED_BODY), ("end",)],
                  f"{how(feed)}, a POST with `Transfer-Encoding: {coding.decode()}`", hint)


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_pipelined_requests_come_out_in_order(parser, feed):
    events = events_of(feed, parser, PIPELINED)
    expected = [
        ("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"), ("end",),
        ("request", "GET", b"/hello"), ("end",),
        ("request", "POST", b"/chunks"), ("body", CHUNKED_BODY), ("end",),
    ]
    expect_events(parser, events, expected, f"{how(feed)}, three requests back to back (pipelining)",
                  "one feed() may complete several requests; collect every event\n"
                  "  the callbacks add, and reset per-request state in on_message_begin")


@pytest.mark.exercise("7.3")
def test_trailing_partial_request_waits_for_the_rest(parser):
    split_at = len(SIMPLE_GET) // 2
    request_parser = parser.RequestParser()
    data = POST_WITH_LENGTH + SIMPLE_GET[:split_at]
    first = accepted(parser, lambda: request_parser.feed(data), data, "fed whole")
    expect_events(parser, first, [("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"), ("end",)],
                  "a request followed by half of the next one",
                  "only the complete request's events come out; the half request\n"
                  "  waits in the parser")
    rest = accepted(parser, lambda: request_parser.feed(SIMPLE_GET[split_at:]), SIMPLE_GET[split_at:],
                    "then fed the rest")
    expect_events(parser, rest, [("request", "GET", b"/hello"), ("end",)],
                  "feeding the rest of the second request",
                  "the target can arrive in pieces: on_url may be called more than once")


@pytest.mark.exercise("7.3")
def test_body_comes_out_as_it_arrives(parser):
    request_parser = parser.RequestParser()
    head, body = POST_WITH_LENGTH.split(b"\r\n\r\n")
    data = head + b"\r\n\r\n" + body[:10]
    first = accepted(parser, lambda: request_parser.feed(data), data, "fed whole")
    expect_events(parser, first, [("request", "POST", b"/upload"), ("body", body[:10])],
                  "the head and the first 10 of 26 body bytes",
                  "a server streams the body to the app as it arrives (a 10 MB upload\n"
                  "  must not wait in memory): return the body bytes each feed() brings")
    rest = accepted(parser, lambda: request_parser.feed(body[10:]), body[10:], "then fed the rest")
    expect_events(parser, rest, [("body", body[10:]), ("end",)], "the remaining 16 body bytes",
                  "the rest of the body, then EndOfMessage")


@pytest.mark.exercise("7.3")
def test_need_more_data_is_an_empty_list(parser):
    request_parser = parser.RequestParser()
    got = accepted(parser, lambda: request_parser.feed(SIMPLE_GET[:-2]), SIMPLE_GET[:-2], "fed whole")
    if got != []:
        fail(f"a head without its blank line is not complete: feed() should return [],\n  got {got!r}")
    got = request_parser.feed(b"")
    if got != []:
        fail(f"feed(b'') should return [], got {got!r}")


@pytest.mark.exercise("7.3")
def test_two_parsers_keep_their_own_state(parser):
    one, two = parser.RequestParser(), parser.RequestParser()
    events_one, events_two = [], []
    length = max(len(POST_WITH_LENGTH), len(CHUNKED_POST))
    for index in range(length):  # interleave the two connections byte by byte
        events_one += accepted(parser, lambda: one.feed(POST_WITH_LENGTH[index:index + 1]), POST_WITH_LENGTH,
                               "two parsers fed byte by byte, interleaved: the first")
        events_two += accepted(parser, lambda: two.feed(CHUNKED_POST[index:index + 1]), CHUNKED_POST,
                               "two parsers fed byte by byte, interleaved: the second")
    hint = ("keep every piece of state on the instance (self), never on the class\n"
            "  or the module: the tutorial server's bug was state shared by all connections")
    expect_events(parser, events_one, [("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"),
                                       ("end",)], "two parsers fed at the same time: the first", hint)
    expect_events(parser, events_two, [("request", "POST", b"/chunks"), ("body", CHUNKED_BODY), ("end",)],
                  "two parsers fed at the same time: the second", hint)
    [request_one] = requests_in(parser, events_one)
    headers = [tuple(pair) for pair in request_one.headers]
    if (b"content-length", b"26") not in headers or (b"transfer-encoding", b"chunked") in headers:
        fail(f"the first parser's request holds the second's headers: {headers!r}\n  hint: {hint}")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("data, keep_alive", [
    pytest.param(SIMPLE_GET, True, id="http11-default"),
    pytest.param(CLOSE_GET, False, id="http11-connection-close"),
    pytest.param(HTTP10_GET, False, id="http10-default"),
    pytest.param(HTTP10_KEEP_ALIVE, True, id="http10-keep-alive"),
])
def test_keep_alive(parser, data, keep_alive):
    [request] = requests_in(parser, events_of(feed_whole, parser, data))
    if request.keep_alive is not keep_alive:
        fail(f"{show_bytes(data)}:\n  keep_alive should be {keep_alive}, got {request.keep_alive!r}. HTTP/1.1 "
             "stays open unless\n  `Connection: close`; HTTP/1.0 closes unless `Connection: keep-alive`\n"
             "  (RFC 9112 §9.3); httptools' should_keep_alive() knows both rules")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("data, expect_continue", [
    pytest.param(EXPECT_POST, True, id="http11-expect"),
    pytest.param(EXPECT_POST_MIXED_CASE, True, id="http11-expect-mixed-case"),
    pytest.param(EXPECT_POST_10, False, id="http10-expect-ignored"),
    pytest.param(POST_WITH_LENGTH, False, id="no-expect"),
])
def test_expect_continue(parser, data, expect_continue):
    [request] = requests_in(parser, events_of(feed_whole, parser, data))
    if request.expect_continue is not expect_continue:
        fail(f"{show_bytes(data)}:\n  expect_continue should be {expect_continue}, got {request.expect_continue!r}.\n"
             "  True for `Expect: 100-continue` (any case) on HTTP/1.1; an HTTP/1.0 client\n"
             "  cannot understand 100 Continue, so the server ignores it there (RFC 9110 §10.1.1)")


@pytest.mark.exercise("7.3")
def test_bytes_after_connection_close_are_ignored(parser):
    request_parser = parser.RequestParser()
    data = CLOSE_GET + SIMPLE_GET
    events = accepted(parser, lambda: request_parser.feed(data), data, "fed whole")
    expect_events(parser, events, [("request", "GET", b"/last"), ("end",)],
                  "a request with `Connection: close`, then more bytes",
                  "the connection ends after this request, so what follows is ignored:\n"
                  "  not parsed, not an error (httptools raises for it: catch that case)")
    later = accepted(parser, lambda: request_parser.feed(SIMPLE_GET), SIMPLE_GET, "then fed")
    if later != []:
        fail(f"after `Connection: close`, a later feed() gave {show_summary(summary(parser, later))}: "
             "expected []")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("upgrade_request", [pytest.param(UPGRADE_H2C_GET, id="h2c"),
                                             pytest.param(UPGRADE_WEBSOCKET_GET, id="websocket")])
def test_upgrade_request_is_served_as_plain_http(parser, upgrade_request, feed):
    hint = ("we speak no other protocol, so the Upgrade request is served as\n"
            "  plain HTTP (RFC 9110 §7.8 lets a server ignore Upgrade); httptools raises\n"
            "  HttpParserUpgrade after it: go on parsing at its offset (error.args[0])")
    events = events_of(feed, parser, upgrade_request + SIMPLE_GET, hint)
    expect_events(parser, events, [("request", "GET", b"/h2"), ("end",), ("request", "GET", b"/hello"), ("end",)],
                  f"{how(feed)}, a request with `Upgrade:`, then another request", hint)
    [upgrade, _] = requests_in(parser, events)
    if b"upgrade" not in [name for name, _ in upgrade.headers]:
        fail(f"the Upgrade request's headers lack `upgrade`: {upgrade.headers!r}\n"
             "  keep every header: the app decides what to make of it")


SMUGGLING_REQUESTS = [
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", id="content-length-then-transfer-encoding"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n"
                 b"0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", id="transfer-encoding-then-content-length"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\n"
                 b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n", id="two-content-lengths"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", id="content-length-list"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", id="obs-fold"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\nhello",
                 id="obs-fold-hides-transfer-encoding"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                 id="chunk-size-not-hex"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
                 id="chunk-size-0x"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
                 id="chunk-size-negative"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1" + b"0" * 20 + b"\r\nhello\r\n",
                 id="chunk-size-overflow"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
                 id="chunk-longer-than-its-size"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\n", id="two-transfer-encodings"),
    pytest.param(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", id="transfer-encoding-in-http10"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                 id="unsupported-transfer-coding"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", id="two-hosts"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="http11-without-host"),
    pytest.param(b"GET /\r\n\r\n", id="http09-request-line"),
    pytest.param(b"GET / HTTP/1.1\nHost: a\n\n", id="bare-lf-line-ends"),
    pytest.param(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", id="space-before-colon"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", id="nul-in-value"),
    pytest.param(b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", id="bad-method"),
    pytest.param(b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", id="space-in-target"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 38\r\n\r\n"
                 b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n", id="upgrade-with-body"),
    pytest.param(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", id="connect"),
]


@pytest.mark.exercise("7.3")
def test_bad_request_is_raised_as_bad_request_not_httptools_error(parser):
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n"
    refusal_of(feed_whole, parser, data, "An obs-fold (a header line starting with a space) must be refused:\n"
               "  RFC 9112 §5.2")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("data", SMUGGLING_REQUESTS)
def test_bad_requests_raise_bad_request(parser, data, feed):
    refusal_of(feed, parser, data,
               "It must raise BadRequest: a server that guesses where this request ends\n"
               "  can disagree with a proxy in front of it (request smuggling). httptools\n"
               "  raises HttpParserError for most of these (turn it into BadRequest);\n"
               "  check_head() refuses the rest")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("data, status", [
    pytest.param(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, id="http20"),
    pytest.param(b"GET /\r\n\r\n", 505, id="http09"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
                 id="gzip-then-chunked"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, id="gzip"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, id="two-hosts"),
])
def test_feed_keeps_the_status_check_head_chose(parser, data, status):
    error = refusal_of(feed_whole, parser, data, "check_head refuses this head: call it in on_headers_complete")
    if error.status != status:
        fail(f"{show_bytes(data)}\n  was refused with status {error.status}, expected {status}: check_head "
             "chose it.\n  feed() must raise the callback's own BadRequest (httptools' error.__context__),\n"
             "  not a new 400 for every error a callback raises")


# (first bytes, RequestParser options, the status they are refused with)
BAD_STARTS = {
    "after-check-head-refused": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {}, 400),
    "after-httptools-refused": (b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", {}, 400),
    # The parser's own limit: llhttp saw nothing wrong and would read on.
    "after-head-limit": (ENDLESS_HEAD_START + b"x" * 2000, {"max_header_bytes": 1000}, 431),
}


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("case", list(BAD_STARTS))
def test_parser_stays_failed_after_bad_request(parser, case):
    bad_start, options, status = BAD_STARTS[case]
    request_parser = parser.RequestParser(**options)
    error = refusal(parser, lambda: request_parser.feed(bad_start), bad_start,
                    "fed whole" + (f" with max_header_bytes={options['max_header_bytes']}" if options else ""),
                    f"These bytes must raise BadRequest with status {status}")
    if error.status != status:
        fail(f"{show_bytes(bad_start, 64)}\n  was refused with status {error.status}, expected {status}")
    rest = b"x\r\n\r\n" + SIMPLE_GET  # what a client that ignores the 400 might send on
    refusal(parser, lambda: request_parser.feed(rest), rest, f"after BadRequest({error}), then fed",
            "After a BadRequest the connection is broken (we do not know where the\n"
            "  bad request ended): every later feed() must raise BadRequest, whoever\n"
            "  found the fault (httptools, check_head, or your own head limit)")


def head_of_size(size: int) -> bytes:
    """A GET whose head (request line, headers and blank line) is exactly `size` bytes."""
    start = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: "
    end = b"\r\n\r\n"
    return start + b"p" * (size - len(start) - len(end)) + end


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_head_at_the_limit_is_accepted(parser, feed):
    data = head_of_size(1000)
    hint = "the limit is the largest head allowed, not one more than it"
    events = events_of(feed, parser, data, hint, max_header_bytes=1000)
    expect_events(parser, events, [("request", "GET", b"/"), ("end",)],
                  f"{how(feed)}, a head of exactly max_header_bytes=1000 bytes", hint)


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_head_over_the_limit_is_refused_with_431(parser, feed):
    data = head_of_size(1001)
    error = refusal_of(feed, parser, data, "With max_header_bytes=1000, this 1001-byte head must raise\n"
                       "  BadRequest(..., status=431) as soon as the head passes the limit",
                       max_header_bytes=1000)
    if error.status != 431:
        fail(f"{how(feed)}, a 1001-byte head with max_header_bytes=1000\n"
             f"  was refused with status {error.status}: expected 431 Request Header Fields\n"
             "  Too Large (RFC 6585 §5)")


@pytest.mark.exercise("7.3")
def test_endless_header_is_refused_before_it_fills_memory(parser):
    request_parser = parser.RequestParser(max_header_bytes=4096)
    accepted(parser, lambda: request_parser.feed(ENDLESS_HEAD_START), ENDLESS_HEAD_START, "fed whole")
    piece = b"x" * 1024

    def feed_100_pieces():
        for _ in range(100):  # 100 KB of a header that never ends, 1 KB at a time
            request_parser.feed(piece)
        return []

    refusal(parser, feed_100_pieces, ENDLESS_HEAD_START + b"x" * 1024 * 100, "fed in 1 KB pieces",
            "With max_header_bytes=4096 a header that never ends must be refused:\n"
            "  count the head's bytes as they arrive, across feed() calls")


@pytest.fixture
def bytes_handed_to_httptools(monkeypatch):
    """The sizes of what each httptools.HttpRequestParser(...).feed_data() got during the test."""
    sizes: list[int] = []
    real_parser = httptools.HttpRequestParser

    class RecordingParser:
        def __init__(self, protocol):
            self._real = real_parser(protocol)

        def feed_data(self, data):
            sizes.append(len(data))
            return self._real.feed_data(data)

        def __getattr__(self, name):
            return getattr(self._real, name)

    monkeypatch.setattr(httptools, "HttpRequestParser", RecordingParser)
    return sizes


@pytest.mark.exercise("7.3")
def test_endless_header_in_one_feed_is_cut_at_the_limit(parser, bytes_handed_to_httptools):
    request_parser = parser.RequestParser(max_header_bytes=4096)
    data = ENDLESS_HEAD_START + b"x" * 100_000
    try:
        events, error = request_parser.feed(data), None
    except parser.BadRequest as caught:
        events, error = None, caught
    except (httptools.HttpParserError, httptools.HttpParserUpgrade) as escaped:
        fail(f"fed whole, {show_bytes(data, 120)}: {escaped_httptools_error(parser, escaped)}")
    if not bytes_handed_to_httptools:
        fail("this test watches what httptools is handed: make the parser with\n"
             "  httptools.HttpRequestParser(self) and give it bytes with feed_data()")
    handed = sum(bytes_handed_to_httptools)
    if handed > 4096:
        fail(f"one feed() of a 100 KB head that never ends, with max_header_bytes=4096:\n"
             f"  httptools was handed {handed} bytes of it. Hand it at most what is left\n"
             "  of the budget (slice the data: a memoryview slices without copying), so\n"
             "  however big a feed(), no more of a head than the limit is ever read")
    if error is None or error.status != 431:
        got = f"status {error.status}" if error else f"no error, events {show_summary(summary(parser, events))}"
        fail(f"one feed() of a 100 KB head that never ends, with max_header_bytes=4096,\n"
             f"  gave {got}: expected BadRequest with status 431 from that feed()")


@pytest.mark.exercise("7.3")
def test_limit_counts_the_head_not_the_body(parser):
    body = b"b" * 50_000
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 50000\r\n\r\n" + body + SIMPLE_GET
    hint = "the limit is on each request's head; a body can be any size"
    events = events_of(feed_whole, parser, data, hint, max_header_bytes=1000)
    expect_events(parser, events, [("request", "POST", b"/"), ("body", body), ("end",),
                                   ("request", "GET", b"/hello"), ("end",)],
                  "a 50 KB body, then a GET, with max_header_bytes=1000", hint)


# -- exercise 7.4: build_scope -----------------------------------------------------------------

SCOPE_KEYS = {"type", "asgi", "http_version", "method", "scheme", "path", "raw_path", "query_string",
              "root_path", "headers", "client", "server"}
SPEC_VERSION = "2.4"  # what the servers of lessons 08 and 09 claim too: send() after a disconnect raises OSError


def make_request(module, **fields):
    values = dict(method="GET", path="/search me", raw_path=b"/search%20me", query_string=b"q=a%20b",
                  http_version="1.1", headers=[(b"host", b"example.com"), (b"x-many", b"1"), (b"x-many", b"2")],
                  keep_alive=True, expect_continue=False)
    values.update(fields)
    return module.Request(**values)


def sample_scope(module):
    return module.build_scope(make_request(module), client=("10.0.0.7", 51000), server=("127.0.0.1", 8000))


@pytest.mark.exercise("7.4")
def test_scope_has_every_key_of_the_spec(parser):
    scope = sample_scope(parser)
    missing = SCOPE_KEYS - set(scope)
    if missing:
        fail(f"the scope lacks {sorted(missing)}.\n  The ASGI HTTP connection scope (asgiref specs/www.rst) "
             "has type, asgi,\n  http_version, method, scheme, path, raw_path, query_string, root_path,\n"
             "  headers, client and server")
    if not isinstance(scope["asgi"], dict) or not set(scope["asgi"]) >= {"version", "spec_version"}:
        fail(f"scope['asgi'] is {scope['asgi']!r}: it needs 'version' ('3.0') and\n"
             f"  'spec_version' ('{SPEC_VERSION}')")


@pytest.mark.exercise("7.4")
@pytest.mark.parametrize("key, expected", [
    pytest.param("type", "http", id="type"),
    pytest.param("http_version", "1.1", id="http_version"),
    pytest.param("method", "GET", id="method"),
    pytest.param("scheme", "http", id="scheme"),
    pytest.param("path", "/search me", id="path"),
    pytest.param("raw_path", b"/search%20me", id="raw_path"),
    pytest.param("query_string", b"q=a%20b", id="query_string"),
    pytest.param("root_path", "", id="root_path"),
])
def test_scope_values_and_types(parser, key, expected):
    scope = sample_scope(parser)
    got = scope.get(key, "<missing>")
    if got != expected or type(got) is not type(expected):
        fail(f"scope[{key!r}]: expected {expected!r} ({type(expected).__name__}), "
             f"got {got!r} ({type(got).__name__}).\n"
             "  The spec: path and root_path are str (path %-decoded), raw_path and\n"
             "  query_string bytes (query not decoded), method upper-case str")


@pytest.mark.exercise("7.4")
def test_scope_asgi_versions(parser):
    scope = sample_scope(parser)
    asgi = scope.get("asgi", {})
    if asgi.get("version") != "3.0" or asgi.get("spec_version") != SPEC_VERSION:
        fail(f"scope['asgi'] is {asgi!r}: expected {{'version': '3.0', 'spec_version': '{SPEC_VERSION}'}}.\n"
             "  3.0 is ASGI 3; 2.4 is the HTTP sub-spec the course's servers keep (send() after\n"
             "  the client has gone raises OSError): lessons 07, 08 and 09 claim the same")


@pytest.mark.exercise("7.4")
def test_scope_headers_are_byte_pairs_in_order(parser):
    scope = sample_scope(parser)
    headers = [tuple(pair) for pair in scope.get("headers", [])]
    expected = [(b"host", b"example.com"), (b"x-many", b"1"), (b"x-many", b"2")]
    if headers != expected:
        fail(f"scope['headers'] should be the request's (name, value) byte pairs in order,\n"
             f"  duplicates kept: expected {expected},\n  got {scope.get('headers')!r}")


@pytest.mark.exercise("7.4")
def test_scope_client_and_server(parser):
    scope = sample_scope(parser)
    client, server = scope.get("client"), scope.get("server")
    if client is None or server is None or list(client) != ["10.0.0.7", 51000] or list(server) != ["127.0.0.1", 8000]:
        fail(f"client and server are [host, port] pairs: got client={client!r}, server={server!r}")
    none_scope = parser.build_scope(make_request(parser), client=None, server=None)
    if none_scope.get("client", "<missing>") is not None or none_scope.get("server", "<missing>") is not None:
        fail(f"client=None and server=None gave client={none_scope.get('client', '<missing>')!r}, "
             f"server={none_scope.get('server', '<missing>')!r}.\n"
             "  They may be None (unknown, e.g. a Unix socket peer): keep None, do not invent an address")


@pytest.mark.exercise("7.4")
def test_scope_scheme_and_root_path(parser):
    scope = parser.build_scope(make_request(parser, path="/items/1", raw_path=b"/items/1"),
                               client=None, server=None, scheme="https", root_path="/api")
    got = tuple(scope.get(key, "<missing>") for key in ("scheme", "root_path", "path", "raw_path"))
    expected = ("https", "/api", "/api/items/1", b"/api/items/1")
    if got != expected:
        fail(f"with scheme='https' and root_path='/api' (a proxy strips /api before us),\n"
             f"  (scheme, root_path, path, raw_path): expected {expected}\n  got {got}\n"
             "  Like uvicorn and Starlette: the app sees the full path, root_path in front\n"
             "  (as UTF-8 bytes in raw_path); its routing strips it")


@pytest.mark.exercise("7.4")
def test_starlette_reads_the_scope(parser):
    from starlette.requests import Request as StarletteRequest

    scope = sample_scope(parser)
    try:
        starlette_request = StarletteRequest(scope)
        url = starlette_request.url
        got = (url.scheme, url.hostname, url.path, starlette_request.query_params.get("q"),
               starlette_request.headers.getlist("x-many"), starlette_request.client.host)
    except Exception as error:  # raised inside Starlette, by what the scope holds
        fail(f"Starlette could not read the scope: {type(error).__name__}: {error}.\n"
             "  Starlette reads the keys the spec names, with the spec's types: headers a\n"
             "  list of (bytes, bytes) pairs, path str, query_string bytes, client a pair.\n"
             + textwrap.fill("Your scope's types: " + ", ".join(f"{key} {type(value).__name__}"
                                                                for key, value in scope.items()),
                             width=80, initial_indent="  ", subsequent_indent="  "))
    expected = ("http", "example.com", "/search me", "a b", ["1", "2"], "10.0.0.7")
    if got != expected:
        fail(f"Starlette read the scope as {got},\n  expected {expected}")


# -- exercise 7.5: response_head ---------------------------------------------------------------


def head_of(module, status, headers) -> bytes:
    """response_head(status, headers), with a course message for a ValueError of http.HTTPStatus."""
    try:
        return module.response_head(status, headers)
    except ValueError as error:
        if "HTTPStatus" in str(error):
            fail(f"response_head({status}, ...) raised ValueError: {error}.\n"
                 f"  {status} is a valid status with no standard phrase, and http.HTTPStatus({status})\n"
                 "  raises for it: look the phrase up only for codes HTTPStatus knows, and\n"
                 "  use an empty phrase for the others (RFC 9112 §4)")
        raise


@pytest.mark.exercise("7.5")
@pytest.mark.parametrize("status, reason", [
    pytest.param(200, b"OK", id="200"),
    pytest.param(101, b"Switching Protocols", id="101"),
    pytest.param(201, b"Created", id="201"),
    pytest.param(204, b"No Content", id="204"),
    pytest.param(301, b"Moved Permanently", id="301"),
    pytest.param(304, b"Not Modified", id="304"),
    pytest.param(400, b"Bad Request", id="400"),
    pytest.param(404, b"Not Found", id="404"),
    pytest.param(405, b"Method Not Allowed", id="405"),
    pytest.param(431, b"Request Header Fields Too Large", id="431"),
    pytest.param(500, b"Internal Server Error", id="500"),
    pytest.param(503, b"Service Unavailable", id="503"),
])
def test_status_line_has_the_right_reason_phrase(parser, status, reason):
    head = head_of(parser, status, [])
    expected = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    status_line = head.split(b"\n")[0] + b"\n"
    if not head.startswith(expected):
        fail(f"response_head({status}, []) starts {show_bytes(status_line, 60)},\n  expected {expected!r}.\n"
             "  The tutorial server wrote 'OK' for every status; each code has its own\n"
             "  phrase (RFC 9110 §15): http.HTTPStatus(status).phrase has them")


@pytest.mark.exercise("7.5")
def test_status_without_a_standard_phrase(parser):
    head = head_of(parser, 599, [])
    if not head.startswith(b"HTTP/1.1 599 \r\n"):
        fail(f"response_head(599, []) gave {show_bytes(head, 60)}.\n  A code with no standard phrase gets an "
             "empty one, but the space after\n  the code stays (RFC 9112 §4): b'HTTP/1.1 599 \\r\\n'")


@pytest.mark.exercise("7.5")
def test_head_lines_and_blank_line(parser):
    head = head_of(parser, 200, [(b"content-type", b"text/plain"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")])
    expected = (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n")
    if head != expected:
        fail(f"expected {expected!r},\n  got      {show_bytes(head, 200)}\n"
             "  one 'name: value' line per header in the order given (duplicates kept),\n"
             "  then one empty line")
    head = head_of(parser, 204, [])
    if head != b"HTTP/1.1 204 No Content\r\n\r\n":
        fail(f"response_head(204, []) gave {show_bytes(head, 60)}: with no headers, the status line\n"
             "  and the empty line only")


@pytest.mark.exercise("7.5")
@pytest.mark.parametrize("name, value", [
    pytest.param(b"x-evil\r\nset-cookie", b"1", id="CRLF-in-name"),
    pytest.param(b"x-evil\n", b"1", id="LF-in-name"),
    pytest.param(b"x-evil\x00", b"1", id="NUL-in-name"),
    pytest.param(b"location", b"/next\r\nSet-Cookie: session=stolen", id="CRLF-in-value"),
    pytest.param(b"location", b"/next\rX: y", id="CR-in-value"),
    pytest.param(b"location", b"/next\nX: y", id="LF-in-value"),
    pytest.param(b"location", b"/next\x00", id="NUL-in-value"),
    pytest.param(b"x bad", b"1", id="space-in-name"),
    pytest.param(b"x:bad", b"1", id="colon-in-name"),
    pytest.param(b"", b"1", id="empty-name"),
])
def test_header_injection_is_refused(parser, name, value):
    try:
        head = parser.response_head(302, [(name, value)])
    except ValueError:
        return
    fail(f"response_head accepted the header ({name!r}, {value!r})\n  and wrote {show_bytes(head, 120)}.\n"
         "  A CR or LF ends the line early and lets whoever chose the value add\n"
         "  headers of their own (response splitting); NUL is forbidden too, and a\n"
         "  name is a token (RFC 9110 §5.1, §5.5). Raise ValueError")


@pytest.mark.exercise("7.5")
@pytest.mark.parametrize("status", [pytest.param(99, id="99"), pytest.param(600, id="600"),
                                    pytest.param(2000, id="2000")])
def test_status_out_of_range_is_refused(parser, status):
    try:
        head = parser.response_head(status, [])
    except ValueError:
        return
    fail(f"response_head({status}, []) gave {show_bytes(head, 60)}:\n  status codes are 100 to 599 "
         "(RFC 9110 §15); raise ValueError")


# -- exercise 7.6: chunk -----------------------------------------------------------------------


@pytest.mark.exercise("7.6")
@pytest.mark.parametrize("data, expected", [
    pytest.param(b"hello", b"5\r\nhello\r\n", id="5-bytes"),
    pytest.param(b"x" * 26, b"1a\r\n" + b"x" * 26 + b"\r\n", id="size-in-hex"),
    pytest.param(b"y" * 4096, b"1000\r\n" + b"y" * 4096 + b"\r\n", id="4096-bytes"),
])
def test_chunk(parser, data, expected):
    got = parser.chunk(data)
    if got != expected:
        fail(f"chunk({show_bytes(data, 30)})\n  gave     {show_bytes(got, 30)}\n"
             f"  expected {show_bytes(expected, 30)}\n"
             "  the size in hexadecimal, CRLF, the data, CRLF (RFC 9112 §7.1)")


@pytest.mark.exercise("7.6")
def test_empty_chunk_is_nothing_not_the_end(parser):
    got = parser.chunk(b"")
    if got != b"":
        fail(f"chunk(b'') gave {got!r}. A zero-size chunk ends the body, and ASGI apps send\n"
             "  empty pieces mid-stream (body=b'', more_body=True): return b'' and let\n"
             "  LAST_CHUNK end the body")


@pytest.mark.exercise("7.6")
def test_chunks_and_last_chunk_decode_to_the_body(parser):
    pieces = [b"Hello", b"", b", ", b"w" * 300, b"orld"]
    body = b"".join(parser.chunk(piece) for piece in pieces) + parser.LAST_CHUNK
    received = []

    class Collect:  # httptools itself, as the other end would read our body
        def on_body(self, data):
            received.append(data)

    reader = httptools.HttpRequestParser(Collect())
    try:
        reader.feed_data(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    except httptools.HttpParserError as error:
        fail(f"httptools, reading your chunks as a client would, stopped with\n"
             f"  {type(error).__name__}({error})\n  after the body {show_bytes(b''.join(received), 30)}. "
             f"The chunks:\n  {show_bytes(body, 40)}\n"
             "  Each is size in hex, CRLF, data, CRLF; chunk(b'') must be b'' (a zero-size\n"
             "  chunk ends the body, and what follows it reads as a new request)")
    if b"".join(received) != b"".join(pieces):
        fail(f"the chunked body {show_bytes(body, 40)}\n  decodes to {show_bytes(b''.join(received), 40)}\n"
             f"  expected   {show_bytes(b''.join(pieces), 40)}")
