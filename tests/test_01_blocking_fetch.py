"""Lesson 01 — a blocking fetch. Each test names the exercise it checks.

fetch() is tested against ScriptedServer (tests/servers.py), a local server that
answers in tiny pieces, pauses, or closes early on purpose, and records the bytes.
"""

import pytest

from tests.harness import show_bytes, wire_report
from tests.servers import Close, Pause, ReadRequest, ScriptedServer, Send, refused_address

pytestmark = pytest.mark.timeout(5)  # every fetch here finishes in well under a second

BODY = b"Hello from the test server!\n" * 3
SIMPLE_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"Connection: close\r\n"
    b"\r\n" + BODY
)
CHUNKED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"5\r\nHello\r\n"
    b"8;name=value\r\n, chunks\r\n"
    b"0\r\n\r\n"
)


@pytest.fixture(scope="module")
def fetch(load_lesson):
    return load_lesson(1)


# -- exercise 1.1: build_request ------------------------------------------------------


@pytest.mark.exercise("1.1")
@pytest.mark.parametrize("path", ["/", "/index.html", "/search?q=sockets"])
def test_request_line_is_get_path_http11(fetch, path):
    request = fetch.build_request("example.com", path)
    expected = f"GET {path} HTTP/1.1\r\n".encode()
    assert isinstance(request, bytes), f"build_request() must return bytes, got {type(request).__name__}: encode the text"
    cause = ("\nyour lines end in a bare b'\\n': HTTP ends each line with b'\\r\\n' (RFC 9112 §2.1)"
             if request.startswith(expected.replace(b"\r\n", b"\n")) else "")
    assert request.startswith(expected), (
        f"expected the request to start with {expected!r},\ngot {show_bytes(request[:60])}{cause}"
    )


@pytest.mark.exercise("1.1")
def test_path_defaults_to_root(fetch):
    assert fetch.build_request("example.com").startswith(b"GET / HTTP/1.1\r\n"), (
        "build_request(host) with no path must ask for '/'"
    )


@pytest.mark.exercise("1.1")
def test_request_has_host_and_connection_close_headers(fetch):
    request = fetch.build_request("example.com", "/")
    lines = [line.lower() for line in request.split(b"\r\n")]
    assert b"host: example.com" in lines, wire_report(
        got=request, hint="HTTP/1.1 requires a `Host: example.com` line (RFC 9112 §3.2); servers answer 400 without it")
    assert b"connection: close" in lines, wire_report(
        got=request, hint="add `Connection: close` so the server closes after answering: that is how fetch() knows the end")


@pytest.mark.exercise("1.1")
def test_every_line_ends_in_crlf(fetch):
    request = fetch.build_request("example.com", "/")
    assert b"\n" not in request.replace(b"\r\n", b""), wire_report(
        got=request, hint="every line must end in b'\\r\\n' (CRLF), not a bare b'\\n'")


@pytest.mark.exercise("1.1")
def test_request_ends_with_one_empty_line(fetch):
    request = fetch.build_request("example.com", "/")
    assert request.endswith(b"\r\n\r\n") and not request.endswith(b"\r\n\r\n\r\n"), wire_report(
        got=request, hint="the head ends with the last header's CRLF followed by one empty line: b'...\\r\\n\\r\\n'")
    assert request.count(b"\r\n\r\n") == 1, wire_report(got=request, hint="only the end of the head may hold an empty line")


# -- exercise 1.2: fetch ---------------------------------------------------------------


def fetch_from(fetch, script, path="/"):
    with ScriptedServer(script) as server:
        got = fetch.fetch("127.0.0.1", server.port, path)
    return got, server


@pytest.mark.exercise("1.2")
def test_fetch_returns_the_whole_response(fetch, fd_leak_check):
    got, server = fetch_from(fetch, [ReadRequest(), Send(SIMPLE_RESPONSE), Close()])
    assert got == SIMPLE_RESPONSE, wire_report(
        client_sent=server.connections[0].received, server_sent=SIMPLE_RESPONSE, got=got,
        hint="fetch() returns every byte the server sent, unchanged")


@pytest.mark.exercise("1.2")
def test_fetch_sends_the_request_with_host(fetch):
    got, server = fetch_from(fetch, [ReadRequest(), Send(SIMPLE_RESPONSE), Close()], path="/hello")
    received = server.connections[0].received if server.connections else b""
    assert received.startswith(b"GET /hello HTTP/1.1\r\n"), wire_report(
        client_sent=received, hint="send build_request(...) for the path you were given, with sendall()")
    host_lines = [line for line in received.lower().split(b"\r\n") if line.startswith(b"host:")]
    assert host_lines and host_lines[0].split(b":", 1)[1].strip() in (b"127.0.0.1", f"127.0.0.1:{server.port}".encode()), (
        wire_report(client_sent=received, hint="the Host header names the host you connected to"))


@pytest.mark.exercise("1.2")
@pytest.mark.parametrize("piece, pause", [
    pytest.param(7, 0.01, id="7-byte-pieces"),
    pytest.param(1, 0.0, id="1-byte-pieces"),
])
def test_fetch_reads_a_response_sent_in_pieces(fetch, piece, pause):
    script = [ReadRequest(), Send(SIMPLE_RESPONSE, piece=piece, pause=pause), Close()]
    got, server = fetch_from(fetch, script)
    assert got == SIMPLE_RESPONSE, wire_report(
        server_sent=SIMPLE_RESPONSE, got=got,
        hint=f"the server sent {len(SIMPLE_RESPONSE)} bytes in {piece}-byte pieces; your fetch() returned "
             f"{len(got)}: one recv() returns only what has arrived so far — loop on recv() until it returns b''")


@pytest.mark.exercise("1.2")
def test_fetch_does_not_stop_at_a_short_read(fetch):
    head, rest = SIMPLE_RESPONSE[:20], SIMPLE_RESPONSE[20:]
    script = [ReadRequest(), Send(head), Pause(0.2), Send(rest), Close()]
    got, server = fetch_from(fetch, script)
    assert got == SIMPLE_RESPONSE, wire_report(
        server_sent=SIMPLE_RESPONSE, got=got,
        hint=f"the server sent 20 bytes, paused, then the rest; your fetch() returned {len(got)} bytes. "
             "A recv() shorter than you asked for is not the end: only b'' is")


@pytest.mark.exercise("1.2")
def test_fetch_reads_a_large_response(fetch):
    body = bytes(range(256)) * 4096  # 1 MiB: many times a socket buffer
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    got, server = fetch_from(fetch, [ReadRequest(), Send(response, piece=65536), Close()])
    assert got == response, (
        f"the server sent {len(response)} bytes, your fetch() returned {len(got)}: keep reading until recv() returns b''")


@pytest.mark.exercise("1.2")
def test_fetch_returns_empty_bytes_when_the_server_closes_at_once(fetch):
    got, server = fetch_from(fetch, [ReadRequest(), Close()])
    assert got == b"", wire_report(server_sent=b"", got=got, hint="the server closed without a byte: return b''")


@pytest.mark.exercise("1.2")
def test_fetch_closes_its_socket(fetch, fd_leak_check):
    fetch_from(fetch, [ReadRequest(), Send(SIMPLE_RESPONSE), Close()])
    # fd_leak_check fails this test if a file descriptor is still open afterwards.


@pytest.mark.exercise("1.2")
def test_fetch_raises_when_the_connection_is_refused(fetch, fd_leak_check):
    host, port = refused_address()
    with pytest.raises(ConnectionRefusedError):
        result = fetch.fetch(host, port)
        pytest.fail(f"nothing listens on {host}:{port}, yet fetch() returned {result!r}: let the error propagate")


# -- exercise 1.3: decode_chunked -------------------------------------------------------


CHUNK_FORMAT = ("each chunk is <hex size>[;ext]\\r\\n<size bytes>\\r\\n; size 0 ends the body. "
                "Take exactly `size` bytes: chunk data may itself contain \\r\\n")
LAST_CHUNK = "the chunk of size 0 is the last one: stop there (only trailer lines follow it)"


@pytest.mark.exercise("1.3")
@pytest.mark.parametrize("encoded, body, hint", [
    pytest.param(b"5\r\nHello\r\n0\r\n\r\n", b"Hello", LAST_CHUNK, id="one-chunk"),
    pytest.param(b"5\r\nHello\r\n1\r\n,\r\n6\r\n world\r\n0\r\n\r\n", b"Hello, world", CHUNK_FORMAT,
                 id="several-chunks"),
    pytest.param(b"0\r\n\r\n", b"", LAST_CHUNK, id="empty-body"),
    pytest.param(b"1A\r\n" + b"x" * 26 + b"\r\n0\r\n\r\n", b"x" * 26, "the size is hexadecimal: int(size, 16)",
                 id="hex-size-1A-is-26"),
    pytest.param(b"1a\r\n" + b"y" * 26 + b"\r\n0\r\n\r\n", b"y" * 26, "the size is hexadecimal: int(size, 16)",
                 id="lower-case-hex"),
    pytest.param(b"5;name=value\r\nHello\r\n0;last\r\n\r\n", b"Hello",
                 "a size may carry extensions (b'5;name=value'): cut the line at b';' before int(size, 16) "
                 "(RFC 9112 §7.1.1)", id="chunk-extensions"),
    pytest.param(b"4\r\na\r\nb\r\n0\r\n\r\n", b"a\r\nb", CHUNK_FORMAT, id="crlf-inside-chunk-data"),
    pytest.param(b"3\r\nabc\r\n0\r\nExpires: never\r\n\r\n", b"abc", LAST_CHUNK, id="trailer-fields"),
])
def test_decode_chunked(fetch, encoded, body, hint):
    try:
        got = fetch.decode_chunked(encoded)
    except ValueError as error:  # the learner's own check refused a valid body: say which, and why
        pytest.fail(f"decode_chunked({show_bytes(encoded)}) raised ValueError: {error}\n"
                    f"This body is valid; expected {show_bytes(body)}.\nhint: {hint}", pytrace=False)
    assert got == body, wire_report(server_sent=encoded, got=got, hint=hint)


@pytest.mark.exercise("1.3")
@pytest.mark.parametrize("encoded", [
    pytest.param(b"zz\r\nHello\r\n0\r\n\r\n", id="size-not-hex"),
    pytest.param(b"-5\r\nHello\r\n0\r\n\r\n", id="negative-size"),
    pytest.param(b"10\r\nHello\r\n0\r\n\r\n", id="chunk-shorter-than-its-size"),
    pytest.param(b"5\r\nHello", id="ends-before-the-last-chunk"),
])
def test_decode_chunked_rejects_malformed_bodies(fetch, encoded):
    with pytest.raises(ValueError):
        got = fetch.decode_chunked(encoded)
        pytest.fail(f"decode_chunked({encoded!r}) returned {got!r}; a malformed body must raise ValueError")


# -- exercise 1.4: parse_response -------------------------------------------------------


@pytest.mark.exercise("1.4")
def test_parse_status_reason_headers_and_body(fetch):
    response = fetch.parse_response(SIMPLE_RESPONSE)
    assert (response.status, response.reason) == (200, "OK"), f"status line 'HTTP/1.1 200 OK' gave {response.status!r}, {response.reason!r}"
    names_kept = "content-type" not in response.headers and "Content-Type" in response.headers
    assert response.headers.get("content-type") == "text/plain", (
        f"expected headers['content-type'] == 'text/plain'; got headers {response.headers!r}\n"
        + ("header names are case-insensitive (RFC 9110 §5.1): store them lower-cased"
           if names_kept else "split each header line at its first ':' and strip the value"))
    assert response.body == BODY, wire_report(server_sent=SIMPLE_RESPONSE, got=response.body)


@pytest.mark.exercise("1.4")
@pytest.mark.parametrize("status_line, status, reason", [
    pytest.param(b"HTTP/1.1 404 Not Found", 404, "Not Found", id="reason-with-a-space"),
    pytest.param(b"HTTP/1.1 418 I'm a teapot", 418, "I'm a teapot", id="reason-with-two-spaces"),
    pytest.param(b"HTTP/1.1 204 ", 204, "", id="empty-reason"),
    pytest.param(b"HTTP/1.0 500 Internal Server Error", 500, "Internal Server Error", id="http-1.0"),
])
def test_parse_status_line(fetch, status_line, status, reason):
    response = fetch.parse_response(status_line + b"\r\nContent-Length: 0\r\n\r\n")
    assert (response.status, response.reason) == (status, reason), (
        f"{status_line!r} gave status={response.status!r} reason={response.reason!r}; "
        "hint: split the status line at most twice: the reason phrase may contain spaces")


@pytest.mark.exercise("1.4")
def test_header_names_are_lower_case_and_values_trimmed(fetch):
    raw = b"HTTP/1.1 200 OK\r\nCONTENT-Type:   text/html  \r\nX-Custom-Header: Yes\r\nContent-Length: 0\r\n\r\n"
    headers = fetch.parse_response(raw).headers
    assert headers.get("content-type") == "text/html" and headers.get("x-custom-header") == "Yes", (
        f"got headers {headers!r}; header names are case-insensitive, so store them lower-cased; "
        "strip the spaces around values (keep the values' own case)")


@pytest.mark.exercise("1.4")
def test_body_is_cut_to_content_length(fetch):
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHelloEXTRA BYTES"
    body = fetch.parse_response(raw).body
    assert body == b"Hello", wire_report(
        server_sent=raw, got=body, hint="Content-Length: 5 means the body is exactly 5 bytes; anything after is not body")


@pytest.mark.exercise("1.4")
@pytest.mark.parametrize("header", [b"Transfer-Encoding: chunked", b"transfer-encoding: Chunked"], ids=["chunked", "mixed-case"])
def test_chunked_body_is_decoded(fetch, header):
    raw = CHUNKED_RESPONSE.replace(b"Transfer-Encoding: chunked", header)
    body = fetch.parse_response(raw).body
    assert body == b"Hello, chunks", wire_report(
        server_sent=raw, got=body, hint="with Transfer-Encoding: chunked, the body is decode_chunked(what follows the head)")


@pytest.mark.exercise("1.4")
def test_body_without_framing_runs_to_the_end(fetch):
    raw = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this\r\nis body"
    body = fetch.parse_response(raw).body
    assert body == b"all of this\r\nis body", wire_report(
        server_sent=raw, got=body, hint="with neither Content-Length nor chunked, the body is everything after the head")


@pytest.mark.exercise("1.4")
def test_a_header_given_twice_keeps_both_values(fetch):
    raw = b"HTTP/1.1 200 OK\r\nVary: Accept\r\nVary: Cookie\r\nContent-Length: 0\r\n\r\n"
    headers = fetch.parse_response(raw).headers
    assert headers.get("vary") == "Accept, Cookie", (
        f"got {headers.get('vary')!r}; two fields of one name are one list: join them with ', ' (RFC 9110 §5.3)")


@pytest.mark.exercise("1.4")
def test_a_response_without_an_empty_line_is_an_error(fetch):
    with pytest.raises(ValueError):
        got = fetch.parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
        pytest.fail(f"the head never ended, yet parse_response returned {got!r}: raise ValueError")


@pytest.mark.exercise("1.4")
def test_fetch_and_parse_a_chunked_response(fetch):
    got, server = fetch_from(fetch, [ReadRequest(), Send(CHUNKED_RESPONSE, piece=4), Close()])
    response = fetch.parse_response(got)
    assert (response.status, response.body) == (200, b"Hello, chunks"), wire_report(
        server_sent=CHUNKED_RESPONSE, got=response.body)
