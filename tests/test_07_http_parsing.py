"""Lesson 07 — a sans-I/O HTTP parser. Each test names the exercise it checks.

No sockets here: the parser takes bytes and returns events, so the tests hand it
bytes the way a network might. Every request is fed three ways (h11's habit):
whole, one byte at a time, and in 7-byte pieces; the events must say the same
thing each time. Requests are named byte constants; the smuggling shapes are
parametrised with ids so each one fails on its own.
"""

from __future__ import annotations

import re

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
UPGRADE_GET = b"GET /h2 HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n"
PIPELINED = POST_WITH_LENGTH + SIMPLE_GET + CHUNKED_POST


@pytest.fixture(scope="module")
def parser(load_lesson):
    return load_lesson(7)


# -- helpers: feeding bytes three ways, and reading events ------------------------------------


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
            out.append(("request", event.method, event.raw_path))
        elif isinstance(event, module.EndOfMessage):
            out.append(("end",))
        else:
            out.append(("not an event", event))
    return out


def requests_in(module, events):
    return [event for event in events if isinstance(event, module.Request)]


def how(feed) -> str:
    return feed.__name__.replace("feed_", "fed ").replace("_", " ")


# -- exercise 7.1: split_target --------------------------------------------------------------


@pytest.mark.exercise("7.1")
@pytest.mark.parametrize("target, path, raw_path, query_string", [
    pytest.param(b"/", "/", b"/", b"", id="root"),
    pytest.param(b"/hello/world", "/hello/world", b"/hello/world", b"", id="plain-path"),
    pytest.param(b"/a%20b?q=a%20b&x=1", "/a b", b"/a%20b", b"q=a%20b&x=1", id="percent-escapes"),
    pytest.param(b"/caf%C3%A9", "/caf\u00e9", b"/caf%C3%A9", b"", id="utf8-escapes"),
    pytest.param(b"/a%2Fb", "/a/b", b"/a%2Fb", b"", id="escaped-slash"),
    pytest.param(b"/p?", "/p", b"/p", b"", id="empty-query"),
    pytest.param(b"/p?a=1?b=2", "/p", b"/p", b"a=1?b=2", id="question-mark-in-query"),
    pytest.param(b"/p?a=1#frag", "/p", b"/p", b"a=1", id="fragment-dropped"),
    pytest.param(b"http://example.com/x?y=1", "/x", b"/x", b"y=1", id="absolute-form"),
    pytest.param(b"http://example.com", "/", b"/", b"", id="absolute-form-without-path"),
    pytest.param(b"*", "*", b"*", b"", id="asterisk-form"),
])
def test_split_target(parser, target, path, raw_path, query_string):
    got = parser.split_target(target)
    assert got == (path, raw_path, query_string), (
        f"split_target({target!r}): expected {(path, raw_path, query_string)!r}, got {got!r}.\n"
        "  path is text with %-escapes decoded (as UTF-8), raw_path the path bytes as received, "
        "query_string the bytes after '?' left encoded; a '#fragment' is not part of any of them")


@pytest.mark.exercise("7.1")
def test_split_target_types(parser):
    path, raw_path, query_string = parser.split_target(b"/x?y=1")
    assert (type(path), type(raw_path), type(query_string)) == (str, bytes, bytes), (
        f"expected (str, bytes, bytes) as the ASGI scope wants them, got "
        f"({type(path).__name__}, {type(raw_path).__name__}, {type(query_string).__name__})")


@pytest.mark.exercise("7.1")
@pytest.mark.parametrize("target", [
    pytest.param(b"example.com:443", id="authority-form"),
    pytest.param(b"no-slash", id="relative-path"),
])
def test_split_target_refuses_what_is_not_a_path(parser, target):
    with pytest.raises(parser.BadRequest):
        got = parser.split_target(target)
        pytest.fail(f"split_target({target!r}) returned {got!r}; a server (not a proxy) only accepts "
                    "targets that start with '/', absolute URLs, or '*': raise BadRequest")


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
        pytest.fail(f"check_head({http_version!r}, {headers!r}) refused a good head: {error}")
    assert result is None, f"check_head returns None for a good head, got {result!r}"


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
]


@pytest.mark.exercise("7.2")
@pytest.mark.parametrize("http_version, headers, status", SMUGGLING_HEADS)
def test_check_head_refuses(parser, http_version, headers, status):
    with pytest.raises(parser.BadRequest) as caught:
        parser.check_head(http_version, headers)
        pytest.fail(f"check_head({http_version!r}, {headers!r}) accepted this head; read its docstring's "
                    "list of rules (RFC 9112 §3.2, §6.1, §6.3) and raise BadRequest for it")
    assert caught.value.status == status, (
        f"BadRequest for this head should carry status {status} (what the server will answer), "
        f"got {caught.value.status}: pass status=... when you raise it")


# -- exercise 7.3: RequestParser ---------------------------------------------------------------


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_simple_get_gives_request_then_end(parser, feed):
    events = feed(parser, SIMPLE_GET)
    assert summary(parser, events) == [("request", "GET", b"/hello"), ("end",)], (
        f"{how(feed)}, {show_bytes(SIMPLE_GET)} should give [Request, EndOfMessage], got {events!r}.\n"
        "  hint: add a Request in on_headers_complete and an EndOfMessage in on_message_complete, "
        "and return what the callbacks collected from feed()")


@pytest.mark.exercise("7.3")
def test_request_fields(parser):
    [request, _] = feed_whole(parser, GET_WITH_QUERY)
    expected = dict(method="GET", path="/search me/caf\u00e9", raw_path=b"/search%20me/caf%C3%A9",
                    query_string=b"q=a%20b&x=1", http_version="1.1", keep_alive=True, expect_continue=False)
    got = {name: getattr(request, name, "<missing>") for name in expected}
    assert got == expected, (
        f"the Request for {show_bytes(GET_WITH_QUERY)}:\n  expected {expected}\n  got      {got}\n"
        "  hint: method and http_version come from the httptools parser (get_method(), get_http_version()); "
        "path, raw_path and query_string from split_target()")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_headers_lower_case_in_order_with_duplicates_and_values_trimmed(parser, feed):
    [request] = requests_in(parser, feed(parser, HEADERS_GET))
    expected = [(b"host", b"example.com"), (b"user-agent", b"test"), (b"x-many", b"one"),
                (b"accept", b"text/plain"), (b"x-many", b"two"), (b"x-spaced", b"padded value")]
    assert list(map(tuple, request.headers)) == expected, (
        f"{how(feed)}: expected headers {expected},\n  got {request.headers!r}.\n"
        "  hint: names lower-case bytes (RFC 9110 §5.1), order and duplicates kept (ASGI), "
        "spaces and tabs around a value are not part of it (RFC 9110 §5.5)")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_content_length_body(parser, feed):
    events = feed(parser, POST_WITH_LENGTH)
    assert summary(parser, events) == [
        ("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"), ("end",)], (
        f"{how(feed)}, a POST with a 26-byte body gave {events!r}.\n"
        "  expected Request, Body event(s) whose data add up to the body, EndOfMessage")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_chunked_body_is_decoded(parser, feed):
    events = feed(parser, CHUNKED_POST)
    assert summary(parser, events) == [("request", "POST", b"/chunks"), ("body", CHUNKED_BODY), ("end",)], (
        f"{how(feed)}, a chunked POST gave {events!r}.\n"
        f"  expected the body {CHUNKED_BODY!r} with the chunk sizes, extensions and trailer removed "
        "(httptools' on_body already gives you de-chunked bytes)")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_pipelined_requests_come_out_in_order(parser, feed):
    events = feed(parser, PIPELINED)
    expected = [
        ("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"), ("end",),
        ("request", "GET", b"/hello"), ("end",),
        ("request", "POST", b"/chunks"), ("body", CHUNKED_BODY), ("end",),
    ]
    assert summary(parser, events) == expected, (
        f"{how(feed)}, three requests back to back (pipelining) gave\n  {summary(parser, events)}\n"
        f"  expected\n  {expected}\n"
        "  hint: one feed() may complete several requests; collect every event the callbacks add, "
        "and keep per-request state (target, headers) reset in on_message_begin")


@pytest.mark.exercise("7.3")
def test_trailing_partial_request_waits_for_the_rest(parser):
    split = len(SIMPLE_GET) // 2
    request_parser = parser.RequestParser()
    first = request_parser.feed(POST_WITH_LENGTH + SIMPLE_GET[:split])
    assert summary(parser, first) == [
        ("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"), ("end",)], (
        f"a request followed by half of the next one gave {first!r}: only the complete request's "
        "events may come out; the half request waits in the parser")
    rest = request_parser.feed(SIMPLE_GET[split:])
    assert summary(parser, rest) == [("request", "GET", b"/hello"), ("end",)], (
        f"feeding the rest of the second request gave {rest!r}: expected its Request and EndOfMessage "
        "(the target can arrive in pieces: on_url may be called more than once)")


@pytest.mark.exercise("7.3")
def test_body_comes_out_as_it_arrives(parser):
    request_parser = parser.RequestParser()
    head, body = POST_WITH_LENGTH.split(b"\r\n\r\n")
    first = request_parser.feed(head + b"\r\n\r\n" + body[:10])
    assert summary(parser, first) == [("request", "POST", b"/upload"), ("body", body[:10])], (
        f"the head and the first 10 of 26 body bytes gave {first!r}: expected the Request and a Body with "
        "those 10 bytes now. A server streams the body to the app as it arrives (a 10 MB upload must "
        "not wait in memory); return the body bytes each feed() brings")
    rest = request_parser.feed(body[10:])
    assert summary(parser, rest) == [("body", body[10:]), ("end",)], (
        f"the remaining 16 body bytes gave {rest!r}: expected Body({body[10:]!r}) and EndOfMessage")


@pytest.mark.exercise("7.3")
def test_need_more_data_is_an_empty_list(parser):
    request_parser = parser.RequestParser()
    got = request_parser.feed(SIMPLE_GET[:-2])
    assert got == [], f"a head without its blank line is not complete: feed() should return [], got {got!r}"
    got = request_parser.feed(b"")
    assert got == [], f"feed(b'') should return [], got {got!r}"


@pytest.mark.exercise("7.3")
def test_two_parsers_keep_their_own_state(parser):
    one, two = parser.RequestParser(), parser.RequestParser()
    events_one, events_two = [], []
    length = max(len(POST_WITH_LENGTH), len(CHUNKED_POST))
    for index in range(length):  # interleave the two connections byte by byte
        events_one += one.feed(POST_WITH_LENGTH[index:index + 1])
        events_two += two.feed(CHUNKED_POST[index:index + 1])
    assert summary(parser, events_one) == [
        ("request", "POST", b"/upload"), ("body", b"abcdefghijklmnopqrstuvwxyz"), ("end",)], (
        f"two parsers fed at the same time mixed their requests: the first gave {events_one!r}.\n"
        "  hint: keep every piece of state on the instance (self), never on the class or the module: "
        "the tutorial server's bug was state shared by all connections")
    assert summary(parser, events_two) == [("request", "POST", b"/chunks"), ("body", CHUNKED_BODY), ("end",)], (
        f"two parsers fed at the same time mixed their requests: the second gave {events_two!r}")
    [request_one], [_request_two] = requests_in(parser, events_one), requests_in(parser, events_two)
    assert (b"content-length", b"26") in request_one.headers and (b"transfer-encoding", b"chunked") not in \
        request_one.headers, f"the first request's headers were mixed with the second's: {request_one.headers!r}"


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("data, keep_alive", [
    pytest.param(SIMPLE_GET, True, id="http11-default"),
    pytest.param(CLOSE_GET, False, id="http11-connection-close"),
    pytest.param(HTTP10_GET, False, id="http10-default"),
    pytest.param(HTTP10_KEEP_ALIVE, True, id="http10-keep-alive"),
])
def test_keep_alive(parser, data, keep_alive):
    [request] = requests_in(parser, feed_whole(parser, data))
    assert request.keep_alive is keep_alive, (
        f"{show_bytes(data)}: keep_alive should be {keep_alive}, got {request.keep_alive!r}.\n"
        "  HTTP/1.1 stays open unless `Connection: close`; HTTP/1.0 closes unless `Connection: keep-alive` "
        "(RFC 9112 §9.3); httptools' should_keep_alive() knows both rules")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("data, expect_continue", [
    pytest.param(EXPECT_POST, True, id="http11-expect"),
    pytest.param(EXPECT_POST_MIXED_CASE, True, id="http11-expect-mixed-case"),
    pytest.param(EXPECT_POST_10, False, id="http10-expect-ignored"),
    pytest.param(POST_WITH_LENGTH, False, id="no-expect"),
])
def test_expect_continue(parser, data, expect_continue):
    [request] = requests_in(parser, feed_whole(parser, data))
    assert request.expect_continue is expect_continue, (
        f"{show_bytes(data)}: expect_continue should be {expect_continue}, got {request.expect_continue!r}.\n"
        "  True for `Expect: 100-continue` (any case) on HTTP/1.1; an HTTP/1.0 client cannot understand "
        "100 Continue, so the server ignores it there (RFC 9110 §10.1.1)")


@pytest.mark.exercise("7.3")
def test_http_version_and_method_are_text(parser):
    [request] = requests_in(parser, feed_whole(parser, HTTP10_GET))
    assert (request.method, request.http_version) == ("GET", "1.0"), (
        f"expected method 'GET' and http_version '1.0' (str, as the ASGI scope wants them), "
        f"got {request.method!r} and {request.http_version!r}: get_method() returns bytes, decode it")


@pytest.mark.exercise("7.3")
def test_bytes_after_connection_close_are_ignored(parser):
    request_parser = parser.RequestParser()
    events = request_parser.feed(CLOSE_GET + SIMPLE_GET)
    assert summary(parser, events) == [("request", "GET", b"/last"), ("end",)], (
        f"a request with `Connection: close` followed by more bytes gave {events!r}: the connection "
        "ends after this request, so what follows is ignored, not parsed and not an error "
        "(httptools raises for it: catch that case)")
    assert request_parser.feed(SIMPLE_GET) == [], "after `Connection: close`, later feeds give no events"


@pytest.mark.exercise("7.3")
def test_upgrade_request_is_served_as_plain_http(parser):
    events = feed_whole(parser, UPGRADE_GET + SIMPLE_GET)
    assert summary(parser, events) == [("request", "GET", b"/h2"), ("end",), ("request", "GET", b"/hello"), ("end",)], (
        f"an `Upgrade: h2c` request followed by another request gave {events!r}.\n"
        "  httptools raises HttpParserUpgrade after such a request; we do not switch protocols "
        "(RFC 9110 §7.8 allows ignoring Upgrade), so go on parsing at the offset it gives (error.args[0])")


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
@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("data", SMUGGLING_REQUESTS)
def test_bad_requests_raise_bad_request(parser, data, feed):
    with pytest.raises(parser.BadRequest):
        events = feed(parser, data)
        pytest.fail(
            f"{how(feed)}, {show_bytes(data)}\n  was accepted, giving {summary(parser, events)}.\n"
            "  It must raise BadRequest: a server that guesses where this request ends can disagree with a "
            "proxy in front of it (request smuggling). httptools raises HttpParserError for most of these "
            "(turn it into BadRequest); check_head() refuses the rest")


@pytest.mark.exercise("7.3")
def test_bad_request_is_raised_as_bad_request_not_httptools_error(parser):
    try:
        feed_whole(parser, b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n")
    except parser.BadRequest:
        return
    except httptools.HttpParserError as error:
        pytest.fail(f"feed() let httptools' {type(error).__name__}({error}) escape: catch it and raise "
                    "BadRequest, so the server has one exception to turn into a 400")
    pytest.fail("an obs-fold (a header line starting with a space) was accepted: RFC 9112 §5.2 says reject it")


@pytest.mark.exercise("7.3")
def test_parser_stays_failed_after_bad_request(parser):
    request_parser = parser.RequestParser()
    with pytest.raises(parser.BadRequest):
        request_parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    with pytest.raises(parser.BadRequest):
        got = request_parser.feed(SIMPLE_GET)
        pytest.fail(f"after a BadRequest, feeding a good request gave {got!r}: the connection is broken "
                    "(we do not know where the bad request ended), so every later feed() must raise BadRequest")


def head_of_size(size: int) -> bytes:
    """A GET whose head (request line, headers and blank line) is exactly `size` bytes."""
    start = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: "
    end = b"\r\n\r\n"
    return start + b"p" * (size - len(start) - len(end)) + end


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_head_at_the_limit_is_accepted(parser, feed):
    data = head_of_size(1000)
    events = feed(parser, data, max_header_bytes=1000)
    assert summary(parser, events) == [("request", "GET", b"/"), ("end",)], (
        f"{how(feed)}, a head of exactly max_header_bytes=1000 bytes gave {events!r}: "
        "the limit is the largest head allowed, not one more than it")


@pytest.mark.exercise("7.3")
@pytest.mark.parametrize("feed", FEEDS)
def test_head_over_the_limit_is_refused_with_431(parser, feed):
    data = head_of_size(1001)
    with pytest.raises(parser.BadRequest) as caught:
        events = feed(parser, data, max_header_bytes=1000)
        pytest.fail(f"{how(feed)}, a head of 1001 bytes with max_header_bytes=1000 gave {events!r}: "
                    "raise BadRequest(..., status=431) as soon as the head passes the limit")
    assert caught.value.status == 431, (
        f"a head over the limit is refused with 431 Request Header Fields Too Large (RFC 6585 §5), "
        f"got status {caught.value.status}")


@pytest.mark.exercise("7.3")
def test_endless_header_is_refused_before_it_fills_memory(parser):
    request_parser = parser.RequestParser(max_header_bytes=4096)
    sent = request_parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\nX-Endless: ")
    with pytest.raises(parser.BadRequest):
        for _ in range(100):  # 100 KB of a header that never ends, 1 KB at a time
            request_parser.feed(b"x" * 1024)
        pytest.fail(f"a header that never ends was still accepted after 100 KB with max_header_bytes=4096 "
                    f"(first feed gave {sent!r}): count the head's bytes as they arrive, across feeds")


@pytest.mark.exercise("7.3")
def test_limit_counts_the_head_not_the_body(parser):
    body = b"b" * 50_000
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 50000\r\n\r\n" + body + SIMPLE_GET
    try:
        events = feed_whole(parser, data, max_header_bytes=1000)
    except parser.BadRequest as error:
        pytest.fail(f"a 50 KB body with max_header_bytes=1000 was refused ({error}): "
                    "the limit is on each request's head; a body can be any size")
    assert summary(parser, events) == [("request", "POST", b"/"), ("body", body), ("end",),
                                       ("request", "GET", b"/hello"), ("end",)]


# -- exercise 7.4: build_scope -----------------------------------------------------------------

SCOPE_KEYS = {"type", "asgi", "http_version", "method", "scheme", "path", "raw_path", "query_string",
              "root_path", "headers", "client", "server"}


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
    assert not missing, (
        f"the scope lacks {sorted(missing)}: the ASGI HTTP connection scope (asgiref specs/www.rst) "
        "has type, asgi, http_version, method, scheme, path, raw_path, query_string, root_path, headers, "
        "client and server")
    assert set(scope["asgi"]) >= {"version", "spec_version"}, (
        f"scope['asgi'] is {scope['asgi']!r}: it needs 'version' ('3.0') and 'spec_version' (e.g. '2.3')")


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
    assert got == expected and type(got) is type(expected), (
        f"scope[{key!r}]: expected {expected!r} ({type(expected).__name__}), got {got!r} ({type(got).__name__}).\n"
        "  The spec: path and root_path are str (path %-decoded), raw_path and query_string bytes "
        "(query not decoded), method upper-case str")


@pytest.mark.exercise("7.4")
def test_scope_asgi_versions(parser):
    scope = sample_scope(parser)
    asgi = scope.get("asgi", {})
    assert asgi.get("version") == "3.0", f"scope['asgi']['version'] must be '3.0' (ASGI 3), got {asgi!r}"
    assert isinstance(asgi.get("spec_version"), str) and re.fullmatch(r"2\.\d+", asgi["spec_version"]), (
        f"scope['asgi']['spec_version'] is the HTTP sub-spec version as a str like '2.3', got {asgi!r}")


@pytest.mark.exercise("7.4")
def test_scope_headers_are_byte_pairs_in_order(parser):
    scope = sample_scope(parser)
    headers = [tuple(pair) for pair in scope.get("headers", [])]
    expected = [(b"host", b"example.com"), (b"x-many", b"1"), (b"x-many", b"2")]
    assert headers == expected, (
        f"scope['headers'] should be the request's (name, value) byte pairs in order, duplicates kept: "
        f"expected {expected}, got {scope.get('headers')!r}")


@pytest.mark.exercise("7.4")
def test_scope_client_and_server(parser):
    scope = sample_scope(parser)
    assert list(scope["client"]) == ["10.0.0.7", 51000] and list(scope["server"]) == ["127.0.0.1", 8000], (
        f"client and server are [host, port] pairs: got client={scope['client']!r}, server={scope['server']!r}")
    none_scope = parser.build_scope(make_request(parser), client=None, server=None)
    assert none_scope["client"] is None and none_scope["server"] is None, (
        "client and server may be None (unknown, e.g. a Unix socket peer): keep None, do not invent an address")


@pytest.mark.exercise("7.4")
def test_scope_scheme_and_root_path(parser):
    scope = parser.build_scope(make_request(parser, path="/items/1", raw_path=b"/items/1"),
                               client=None, server=None, scheme="https", root_path="/api")
    got = (scope["scheme"], scope["root_path"], scope["path"], scope["raw_path"])
    expected = ("https", "/api", "/api/items/1", b"/api/items/1")
    assert got == expected, (
        f"with scheme='https' and root_path='/api' (a proxy strips /api before us), expected "
        f"(scheme, root_path, path, raw_path) = {expected}, got {got}.\n"
        "  Like uvicorn and Starlette: the app sees the full path, root_path in front (its routing strips it)")


@pytest.mark.exercise("7.4")
def test_starlette_reads_the_scope(parser):
    from starlette.requests import Request as StarletteRequest

    request = make_request(parser)
    starlette_request = StarletteRequest(parser.build_scope(request, client=("10.0.0.7", 51000),
                                                            server=("127.0.0.1", 8000)))
    url = starlette_request.url
    got = (url.scheme, url.hostname, url.path, starlette_request.query_params.get("q"),
           starlette_request.headers.getlist("x-many"), starlette_request.client.host)
    expected = ("http", "example.com", "/search me", "a b", ["1", "2"], "10.0.0.7")
    assert got == expected, f"Starlette read the scope as {got}, expected {expected}"


# -- exercise 7.5: response_head ---------------------------------------------------------------


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
    head = parser.response_head(status, [])
    expected = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    status_line = head.split(b"\n")[0] + b"\n"
    assert head.startswith(expected), (
        f"response_head({status}, []) starts {status_line!r}, expected "
        f"{expected!r}.\n  The tutorial server wrote 'OK' for every status; each code has its own phrase "
        "(RFC 9110 §15): http.HTTPStatus(status).phrase has them")


@pytest.mark.exercise("7.5")
def test_status_without_a_standard_phrase(parser):
    head = parser.response_head(599, [])
    assert head.startswith(b"HTTP/1.1 599 ") and not head.startswith(b"HTTP/1.1 599 OK"), (
        f"response_head(599, []) gave {show_bytes(head)}: a code with no standard phrase gets an empty "
        "one, but the space after the code stays (RFC 9112 §4): b'HTTP/1.1 599 \\r\\n'")


@pytest.mark.exercise("7.5")
def test_head_lines_and_blank_line(parser):
    head = parser.response_head(200, [(b"content-type", b"text/plain"), (b"set-cookie", b"a=1"),
                                      (b"set-cookie", b"b=2")])
    expected = (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n")
    assert head == expected, (
        f"expected {expected!r},\n  got      {show_bytes(head)}\n"
        "  one 'name: value' line per header in the order given (duplicates kept), then one empty line")
    assert parser.response_head(204, []) == b"HTTP/1.1 204 No Content\r\n\r\n", (
        "no headers: the status line and the empty line only")


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
    with pytest.raises(ValueError):
        head = parser.response_head(302, [(name, value)])
        pytest.fail(f"response_head accepted the header ({name!r}, {value!r}) and wrote {show_bytes(head)}.\n"
                    "  A CR or LF ends the line early and lets whoever chose the value add headers of their "
                    "own (response splitting); NUL is forbidden too. Raise ValueError")


@pytest.mark.exercise("7.5")
@pytest.mark.parametrize("status", [pytest.param(99, id="99"), pytest.param(600, id="600"),
                                    pytest.param(2000, id="2000")])
def test_status_out_of_range_is_refused(parser, status):
    with pytest.raises(ValueError):
        head = parser.response_head(status, [])
        pytest.fail(f"response_head({status}, []) gave {show_bytes(head)}: status codes are 100 to 599 "
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
    assert got == expected, (
        f"chunk({show_bytes(data, 40)}) gave {show_bytes(got, 60)}, expected {show_bytes(expected, 60)}: "
        "the size in hexadecimal, CRLF, the data, CRLF (RFC 9112 §7.1)")


@pytest.mark.exercise("7.6")
def test_empty_chunk_is_nothing_not_the_end(parser):
    got = parser.chunk(b"")
    assert got == b"", (
        f"chunk(b'') gave {got!r}. A zero-size chunk is the end of the body, and ASGI apps send empty "
        "bodies mid-stream (body=b'', more_body=True): return b'' and let LAST_CHUNK end the body")


@pytest.mark.exercise("7.6")
def test_chunks_and_last_chunk_decode_to_the_body(parser):
    pieces = [b"Hello", b"", b", ", b"w" * 300, b"orld"]
    body = b"".join(parser.chunk(piece) for piece in pieces) + parser.LAST_CHUNK
    received = []

    class Collect:  # httptools itself, as the other end would read our body
        def on_body(self, data):
            received.append(data)

    reader = httptools.HttpRequestParser(Collect())
    reader.feed_data(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert b"".join(received) == b"".join(pieces), (
        f"the chunked body {show_bytes(body, 120)} decodes to {b''.join(received)!r}, "
        f"expected {b''.join(pieces)!r}")
