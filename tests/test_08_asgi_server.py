"""Lesson 08: the ASGI server, tested black-box over loopback.

Every test starts the learner's `Server(app, "127.0.0.1", 0, ...)` on its own event
loop in a background thread (`tests.harness.running_asgi_server`), talks to it with
`http.client` or a raw socket, and stops it. The apps are plain ASGI callables defined
here; they report what the server gave them through thread-safe queues, so a test
can check the scope or the body pieces without trusting the response.
Starlette and FastAPI are tested in test_08_frameworks.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import queue
import logging
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.harness import RawHttpClient, nc_command, running_asgi_server, show_bytes, wire_report

WAIT = 5.0  # seconds a test waits for something the server should do at once

# --- Requests, as the bytes on the wire ------------------------------------------------

SIMPLE_GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
GET_CLOSE = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
GET_HTTP10 = b"GET / HTTP/1.0\r\n\r\n"
HEAD_REQUEST = b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n"
ENCODED_PATH_GET = b"GET /caf%C3%A9/a%20b?x=1%202&y HTTP/1.1\r\nHost: test\r\n\r\n"
POST_HELLO = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED_POST = (b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
EXPECT_CONTINUE_HEAD = (b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                        b"Expect: 100-continue\r\n\r\n")
GET_WITHOUT_HOST = b"GET / HTTP/1.1\r\n\r\n"
GET_TWO_HOSTS = b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n"
# What `curl --http2 http://...` sends: "switch to HTTP/2 if you speak it" (RFC 7540 §3.2).
H2C_UPGRADE_GET = (b"GET /h2c HTTP/1.1\r\nHost: test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                   b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n")
WEBSOCKET_UPGRADE_GET = (b"GET /chat HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
# httptools skips the body of an Upgrade request: a server that let it through would
# run the "body" as a second request (request smuggling).
SMUGGLED_GET = b"GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n"
UPGRADE_WITH_A_BODY = (b"POST / HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(SMUGGLED_GET), SMUGGLED_GET))


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- Apps -------------------------------------------------------------------------------

async def read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def send_bytes(send, status: int, body: bytes, headers=()) -> None:
    headers = [(b"content-length", b"%d" % len(body)), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def echo_app(scope, receive, send):
    """Answers with JSON describing the request: how a test sees what the server parsed."""
    assert scope["type"] == "http"  # no lifespan support: "auto" must cope with that
    body = await read_body(receive)
    status = int(scope["path"].rsplit("/", 1)[1]) if scope["path"].startswith("/status/") else 200
    if scope["path"] == "/slow":
        await asyncio.sleep(0.3)  # the app's own work, not a synchronisation
    report = {
        "method": scope["method"], "path": scope["path"], "raw_path": scope["raw_path"].decode("latin-1"),
        "query_string": scope["query_string"].decode("latin-1"), "http_version": scope["http_version"],
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
        "body": body.decode("latin-1"), "client": list(scope["client"]),
    }
    await send_bytes(send, status, json.dumps(report).encode(), [(b"content-type", b"application/json")])


def recording_app(records: queue.Queue, respond: bool = True):
    """Puts each scope on `records`, then (if asked) answers 200 "ok"."""
    async def app(scope, receive, send):
        assert scope["type"] == "http"
        records.put(scope)
        if respond:
            await send_bytes(send, 200, b"ok")
    return app


def status_app(status: int, body: bytes = b"", content_length: bool = False):
    async def app(scope, receive, send):
        headers = [(b"content-length", b"%d" % len(body))] if content_length else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    return app


async def streaming_app(scope, receive, send):
    """Three body pieces and no Content-Length: the server must frame them itself."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for piece in (b"one,", b"two,", b"three"):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


# --- Fixtures and helpers --------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(8)


@contextlib.contextmanager
def raw_client(server):
    with RawHttpClient(server.address, timeout=WAIT) as client:
        yield client


@contextlib.contextmanager
def http_connection(server):
    connection = http.client.HTTPConnection(*server.address, timeout=WAIT)
    try:
        yield connection
    finally:
        connection.close()


def ask(server, request: bytes, method: str = "GET"):
    """Send one request on a new connection; returns (status, reason, headers, body, client)."""
    with raw_client(server) as client:
        client.send(request)
        status, reason, headers, body = client.read_response(method)
        return status, reason, headers, body, client


def report(request: bytes, client: RawHttpClient, port: int, hint: str, got=None) -> str:
    return wire_report(client_sent=request, server_sent=client.wire, got=got, hint=hint,
                       reproduce=nc_command(request, port=port))


def header(headers, name: str) -> str | None:
    values = [value for key, value in headers if key == name]
    return values[0] if values else None


def next_record(records: queue.Queue, what: str):
    try:
        return records.get(timeout=WAIT)
    except queue.Empty:
        pytest.fail(f"Within {WAIT} s the app never {what}.", pytrace=False)


# --- 8.1 the server's life -------------------------------------------------------------

@pytest.mark.exercise("8.1")
def test_start_binds_a_free_port_and_serves(serve):
    server = serve(echo_app)
    host, port = server.address
    assert host == "127.0.0.1" and port > 0, (
        f"server.address should be the bound (host, port) after start(), got {server.address!r}: "
        "read it from the listening socket (getsockname), since port 0 means 'any free port'.")
    with http_connection(server) as connection:
        connection.request("GET", "/hello")
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["path"] == "/hello"


@pytest.mark.exercise("8.1")
def test_shutdown_stops_listening_and_closes_idle_connections(lesson, fd_leak_check):
    with running_asgi_server(lesson, echo_app, lifespan="off") as server:
        idle = RawHttpClient(server.address, timeout=WAIT)
        idle.send(SIMPLE_GET)
        idle.read_response()  # answered, and now idle on a keep-alive connection
    with idle:  # the `with` above ran shutdown() and waited for serve_forever() to return
        assert idle.closed_by_server(), (
            "After shutdown() a keep-alive client is still connected: close every open transport.")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=WAIT).close()


# --- 8.2 parsing into a scope, per connection -------------------------------------------

SCOPE_KEYS = {"type", "asgi", "http_version", "method", "scheme", "path", "raw_path", "query_string",
              "root_path", "headers", "client", "server"}


@pytest.mark.exercise("8.2")
def test_scope_has_every_key_of_the_asgi_http_spec(serve):
    records = queue.Queue()
    server = serve(recording_app(records))
    with raw_client(server) as client:
        client.send(SIMPLE_GET)
        scope = next_record(records, "was called after a GET")
        client.read_response()
        local = client.sock.getsockname()
    missing = SCOPE_KEYS - set(scope)
    assert not missing, f"The scope lacks {sorted(missing)}; the ASGI HTTP spec defines {sorted(SCOPE_KEYS)}."
    expected = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/",
                "raw_path": b"/", "query_string": b"", "root_path": "",
                "client": tuple(local), "server": tuple(server.address)}
    got = {key: (tuple(scope[key]) if key in ("client", "server") else scope[key]) for key in expected}
    assert got == expected
    assert scope["asgi"]["version"] == "3.0", f"scope['asgi'] should say version '3.0', got {scope['asgi']!r}"
    assert scope["headers"] == [(b"host", b"test")] or scope["headers"] == [[b"host", b"test"]]


@pytest.mark.exercise("8.2")
def test_path_is_percent_decoded_and_raw_path_and_query_are_not(serve):
    status, _, _, body, client = ask(serve(echo_app), ENCODED_PATH_GET)
    seen = json.loads(body)
    assert (seen["path"], seen["raw_path"], seen["query_string"]) == ("/café/a b", "/caf%C3%A9/a%20b", "x=1%202&y"), (
        "scope['path'] is the path percent-decoded (as UTF-8); raw_path is the path's bytes as sent; "
        "query_string is everything after '?', still encoded. httptools.parse_url splits them.")


@pytest.mark.exercise("8.2")
def test_header_names_are_lowercase_and_repeats_are_kept_in_order(serve):
    request = get("/", "X-Custom: One", "x-custom: Two", "Accept: */*")
    _, _, _, body, _ = ask(serve(echo_app), request)
    assert json.loads(body)["headers"] == [["host", "test"], ["x-custom", "One"], ["x-custom", "Two"], ["accept", "*/*"]]


@pytest.mark.exercise("8.2")
def test_two_interleaved_clients_never_see_each_others_request(serve):
    server = serve(echo_app)
    request_a = b"POST /a HTTP/1.1\r\nHost: test\r\nX-Client: A\r\nContent-Length: 6\r\n\r\nbody-A"
    request_b = b"POST /b HTTP/1.1\r\nHost: test\r\nX-Client: B\r\nContent-Length: 6\r\n\r\nbody-B"
    with raw_client(server) as a, raw_client(server) as b:
        a.send(request_a[:40])  # A is halfway through its head...
        b.send(request_b)  # ...when B sends a whole request,
        _, _, _, body_b = b.read_response()
        a.send(request_a[40:])  # and only then A finishes.
        _, _, _, body_a = a.read_response()
    seen_a, seen_b = json.loads(body_a), json.loads(body_b)
    assert (seen_a["path"], seen_a["body"], seen_a["headers"][1]) == ("/a", "body-A", ["x-client", "A"]) and \
        (seen_b["path"], seen_b["body"], seen_b["headers"][1]) == ("/b", "body-B", ["x-client", "B"]), (
        f"Client A's app saw {seen_a!r}\nclient B's app saw {seen_b!r}\n"
        "Each connection needs its own parser, URL, header list and body: keep them on the "
        "protocol object (one per connection), never on the server.")


@pytest.mark.exercise("8.2")
def test_second_request_on_a_connection_starts_with_fresh_headers(serve):
    server = serve(echo_app)
    with raw_client(server) as client:
        client.send(get("/first", "X-Only-First: yes"))
        client.read_response()
        client.send(get("/second"))
        _, _, _, body = client.read_response()
    assert json.loads(body)["headers"] == [["host", "test"]], (
        f"The second request's scope has headers {json.loads(body)['headers']!r}: start a new header list "
        "for every request (on_message_begin), not one per connection.")


UPGRADE_HINT = ("serve an Upgrade you do not speak as plain HTTP (RFC 9110 §7.8);\n"
                "        after HttpParserUpgrade(offset), feed the parser data[offset:]")


@pytest.mark.exercise("8.2")
@pytest.mark.parametrize("upgrade_request, pipelined", [
    pytest.param(H2C_UPGRADE_GET, False, id="h2c"),
    pytest.param(WEBSOCKET_UPGRADE_GET, False, id="websocket"),
    pytest.param(H2C_UPGRADE_GET, True, id="h2c-pipelined"),
])
def test_unsupported_upgrade_is_served_as_http_and_the_connection_goes_on(serve, upgrade_request, pipelined):
    server = serve(echo_app)
    second = get("/after-upgrade")
    with raw_client(server) as client:
        client.send(upgrade_request + second if pipelined else upgrade_request)
        try:
            first = client.read_response()
            if not pipelined:
                client.send(second)
            after = client.read_response()
        except (ConnectionError, ValueError, socket.timeout) as error:
            pytest.fail(report(upgrade_request + second, client, server.address[1],
                               f"{UPGRADE_HINT} [{type(error).__name__}: {error}]"), pytrace=False)
    path = upgrade_request.split(b" ")[1].decode()
    got = [(first[0], json.loads(first[3])["path"] if first[0] == 200 else None),
           (after[0], json.loads(after[3])["path"] if after[0] == 200 else None)]
    assert got == [(200, path), (200, "/after-upgrade")], report(
        upgrade_request + second, client, server.address[1], UPGRADE_HINT, got=got)


@pytest.mark.exercise("8.2")
@pytest.mark.timeout(20)
def test_curl_http2_gets_an_http11_answer(serve):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed: get it (apt install curl, brew install curl) to "
                    "run this test, which sends `curl --http2` to your server")
    server = serve(echo_app)
    url = "http://%s:%d/h2c" % server.address
    command = [curl, "--silent", "--show-error", "--include", "--http2", "--noproxy", "*",
               "--max-time", str(WAIT), url]
    result = subprocess.run(command, capture_output=True, timeout=WAIT * 2)
    status_line = result.stdout.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 200 OK", (
        f"\n  `{' '.join(command)}` got {show_bytes(status_line)} "
        f"(exit {result.returncode}, {result.stderr.decode(errors='replace').strip()!r})"
        f"\n  hint: {UPGRADE_HINT}")


# --- 8.3 receive(): the body in pieces, 100 Continue, http.disconnect -------------------

BIG_BODY = 10 * 1024 * 1024  # 10 MB: far more than one recv() or one socket buffer


@pytest.mark.exercise("8.3")
@pytest.mark.timeout(30)
def test_a_10_mb_upload_reaches_receive_in_pieces_before_it_has_all_arrived(serve):
    first_piece = threading.Event()
    pieces = []

    async def counting_app(scope, receive, send):
        more = True
        while more:
            message = await receive()
            pieces.append(len(message.get("body", b"")))
            first_piece.set()
            more = message.get("more_body", False)
        await send_bytes(send, 200, str(sum(pieces)).encode())

    server = serve(counting_app)
    head = b"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n" % BIG_BODY
    with raw_client(server) as client:
        client.send(head + b"x" * (1024 * 1024))
        # The rest is sent only once the app has a piece: a server that waits for the
        # whole body before calling the app never gets there.
        assert first_piece.wait(WAIT), (
            f"The client sent the head and 1 MB of a {BIG_BODY}-byte body; in {WAIT} s the app's receive() "
            "returned nothing. Start the app when the head is complete (on_headers_complete) and hand it "
            "each piece of body as it arrives, with more_body=True, instead of waiting for the whole body.")
        client.send(b"x" * (BIG_BODY - 1024 * 1024))
        status, _, _, body = client.read_response()
    assert (status, body) == (200, str(BIG_BODY).encode()), f"the app counted {body!r} bytes"
    assert len(pieces) > 2 and pieces[0] < BIG_BODY, f"receive() returned pieces of {pieces[:10]}..."


@pytest.mark.exercise("8.3")
@pytest.mark.parametrize("request_bytes, body", [
    pytest.param(POST_HELLO, "hello", id="content-length"),
    pytest.param(CHUNKED_POST, "hello world", id="chunked"),
    pytest.param(SIMPLE_GET, "", id="no-body"),
])
def test_request_body_reaches_the_app(serve, request_bytes, body):
    server = serve(echo_app)
    _, _, _, got, client = ask(server, request_bytes)
    assert json.loads(got)["body"] == body, report(request_bytes, client, server.address[1],
                                                    "the app's receive() calls together should return the body")


def disconnect_recorder(records: queue.Queue, respond_first: bool):
    async def app(scope, receive, send):
        await read_body(receive)
        if respond_first:
            await send_bytes(send, 200, b"ok")
        records.put("waiting")
        records.put((await receive())["type"])
    return app


@pytest.mark.exercise("8.3")
def test_app_waiting_in_receive_gets_http_disconnect_when_the_client_leaves(serve):
    records = queue.Queue()
    server = serve(disconnect_recorder(records, respond_first=False))
    with raw_client(server) as client:
        client.send(POST_HELLO)
        assert next_record(records, "read the body") == "waiting"
    assert next_record(records, "got anything from receive() after the client closed") == "http.disconnect", (
        "After the body, receive() should wait, and return {'type': 'http.disconnect'} when the client goes away "
        "(connection_lost): apps use that to stop long-polls and streams.")


@pytest.mark.exercise("8.3")
def test_receive_after_the_response_returns_http_disconnect(serve):
    records = queue.Queue()
    server = serve(disconnect_recorder(records, respond_first=True))
    with raw_client(server) as client:
        client.send(POST_HELLO)
        client.read_response()
        assert next_record(records, "finished") == "waiting"
        assert next_record(records, "got anything from receive() after its response was complete") == \
            "http.disconnect", "Once the response is complete, receive() returns http.disconnect (ASGI HTTP spec)."


@pytest.mark.exercise("8.3")
def test_client_leaving_mid_body_gives_http_disconnect(serve):
    records = queue.Queue()

    async def app(scope, receive, send):
        while True:
            message = await receive()
            records.put(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    server = serve(app)
    with raw_client(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly ten b")
        assert next_record(records, "received the first piece") == "http.request"
    seen = [next_record(records, "returned from receive() after the client closed mid-body")]
    assert seen[-1] == "http.disconnect", f"receive() returned {seen!r}; the body can never complete now"


@pytest.mark.exercise("8.3")
def test_expect_100_continue_is_answered_when_the_app_reads(serve):
    server = serve(echo_app)
    with raw_client(server) as client:
        client.send(EXPECT_CONTINUE_HEAD)
        interim = client.read_until(b"\r\n\r\n")
        assert interim == b"HTTP/1.1 100 Continue", report(
            EXPECT_CONTINUE_HEAD, client, server.address[1],
            "the client waits for '100 Continue' before it sends the body: write it when the app first calls "
            "receive() (RFC 9110 §10.1.1)")
        client.send(b"hello")
        status, _, _, body = client.read_response()
    assert status == 200 and json.loads(body)["body"] == "hello"


@pytest.mark.exercise("8.3")
def test_no_100_continue_when_the_app_answers_without_reading(serve):
    server = serve(status_app(417, b"no thanks", content_length=True))
    with raw_client(server) as client:
        client.send(EXPECT_CONTINUE_HEAD)
        status, _, headers, _ = client.read_response()
        assert status == 417, report(EXPECT_CONTINUE_HEAD, client, server.address[1],
                                     "send 100 Continue only when the app asks for the body")
        assert client.closed_by_server(), report(
            EXPECT_CONTINUE_HEAD, client, server.address[1],
            "the app answered before the body came, so the next bytes on this connection could be that body: "
            "close the connection after such a response")


# --- 8.4 send(): the response head and its framing --------------------------------------

@pytest.mark.exercise("8.4")
@pytest.mark.parametrize("status", [
    pytest.param(200, id="200"), pytest.param(201, id="201"), pytest.param(301, id="301"),
    pytest.param(404, id="404"), pytest.param(418, id="418"), pytest.param(422, id="422"),
    pytest.param(500, id="500"), pytest.param(503, id="503"),
])
def test_status_line_has_the_reason_phrase_of_its_status(serve, status):
    server = serve(echo_app)
    request = get(f"/status/{status}")
    got_status, reason, _, _, client = ask(server, request)
    expected = http.HTTPStatus(status).phrase
    assert (got_status, reason) == (status, expected), report(
        request, client, server.address[1], f"expected 'HTTP/1.1 {status} {expected}': the reason phrase "
        "belongs to the status (http.HTTPStatus(status).phrase), it is not always 'OK'")


@pytest.mark.exercise("8.4")
def test_responses_carry_date_and_server_headers(serve):
    _, _, headers, _, client = ask(serve(echo_app), SIMPLE_GET)
    date, server = header(headers, "date"), header(headers, "server")
    assert date and date.endswith(" GMT") and server, (
        f"got date={date!r} server={server!r}: an origin server sends Date (RFC 9110 §6.6.1, "
        "email.utils.formatdate(usegmt=True)) and it is polite to name itself in Server")


@pytest.mark.exercise("8.4")
def test_content_length_from_the_app_means_no_chunking(serve):
    server = serve(status_app(200, b"exactly", content_length=True))
    _, _, headers, body, client = ask(server, SIMPLE_GET)
    assert header(headers, "transfer-encoding") is None and body == b"exactly", report(
        SIMPLE_GET, client, server.address[1], "the app gave Content-Length: send the body as it is")


@pytest.mark.exercise("8.4")
def test_response_without_content_length_is_chunked(serve):
    server = serve(streaming_app)
    _, _, headers, body, client = ask(server, SIMPLE_GET)
    assert header(headers, "transfer-encoding") == "chunked" and body == b"one,two,three", report(
        SIMPLE_GET, client, server.address[1],
        "no Content-Length from the app: send 'transfer-encoding: chunked' and frame each body "
        "message as a chunk, ending with the last chunk b'0\\r\\n\\r\\n'")
    assert client.wire.endswith(b"5\r\nthree\r\n0\r\n\r\n")


@pytest.mark.exercise("8.4")
@pytest.mark.parametrize("app, first_request, method", [
    pytest.param(status_app(200, b"the body", content_length=True), HEAD_REQUEST, "HEAD", id="HEAD"),
    pytest.param(streaming_app, HEAD_REQUEST, "HEAD", id="HEAD-streaming"),
    pytest.param(status_app(204), SIMPLE_GET, "GET", id="204"),
    pytest.param(status_app(204, b"dropped"), SIMPLE_GET, "GET", id="204-app-sends-a-body"),
    pytest.param(status_app(304), SIMPLE_GET, "GET", id="304"),
])
def test_no_body_for_head_204_and_304(serve, app, first_request, method):
    server = serve(app)
    with raw_client(server) as client:
        client.send(first_request + SIMPLE_GET)  # a second request, to see where the first response ends
        first = client.read_response(method)
        try:
            second = client.read_response()
        except (ValueError, ConnectionError) as error:
            pytest.fail(report(first_request + SIMPLE_GET, client, server.address[1],
                               "a response to HEAD, and a 204 or 304, ends with its head: no body bytes, no "
                               f"chunked framing, not even b'0\\r\\n\\r\\n' (RFC 9112 §6.3) [{error}]"), pytrace=False)
    assert first[3] == b"" and second[0] == first[0]
    if first[0] == 204:
        assert header(first[2], "transfer-encoding") is None and header(first[2], "content-length") is None


@pytest.mark.exercise("8.4")
@pytest.mark.parametrize("messages", [
    pytest.param([{"type": "http.response.body", "body": b"x"}], id="body-before-start"),
    pytest.param([{"type": "http.response.start", "status": 200, "headers": []}] * 2, id="start-twice"),
])
def test_send_rejects_messages_out_of_order(serve, messages):
    records = queue.Queue()

    async def app(scope, receive, send):
        try:
            for message in messages:
                await send(message)
        except Exception as error:  # noqa: BLE001 - the test reports whatever was raised
            records.put(type(error).__name__)
            raise
        records.put("accepted")

    server = serve(app)
    with raw_client(server) as client:
        client.send(SIMPLE_GET)
        outcome = next_record(records, "finished sending")
    assert outcome == "RuntimeError", (
        f"send({messages[-1]!r}) in that order gave {outcome!r}: one http.response.start, then body "
        "messages, is the only legal order; raise RuntimeError for anything else.")


def endless_stream_app(started: threading.Event, outcome: queue.Queue):
    """On /stream, streams 1 KB pieces for as long as send() lets it (at most ~20 s), puts
    on `outcome` what send() raised (or "never raised"), and re-raises, as the ASGI spec
    allows. Any other path gets a plain 200."""
    async def app(scope, receive, send):
        if scope["path"] != "/stream":
            return await send_bytes(send, 200, b"ok")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        started.set()
        try:
            for _ in range(2000):
                await send({"type": "http.response.body", "body": b"x" * 1024, "more_body": True})
                await asyncio.sleep(0.01)  # the app's own pace, not a synchronisation
        except BaseException as error:
            outcome.put(error)
            raise
        outcome.put("never raised")
    return app


@pytest.mark.exercise("8.4")
def test_send_after_the_client_has_gone_raises_an_oserror_the_server_does_not_log(serve, caplog):
    started, outcome = threading.Event(), queue.Queue()
    server = serve(endless_stream_app(started, outcome))
    with raw_client(server) as client:
        client.send(get("/stream"))
        client.read_until(b"\r\n\r\n")  # the head: the app is streaming now
        assert started.wait(WAIT)
    # The client has closed. The app's next send() must raise an OSError subclass (ASGI
    # HTTP spec 2.4, "Disconnected Client"), or it streams on for nobody.
    try:
        error = outcome.get(timeout=WAIT)
        got = f"send() raised {error!r}"
    except queue.Empty:
        error, got = None, f"send() still returned normally after {WAIT} s"
    assert isinstance(error, OSError), (
        f"\n  the client closed mid-response; the app's {got}"
        "\n  expected: an OSError subclass (ClientDisconnected), so the app stops"
        "\n  hint: connection_lost marks the running cycle disconnected;"
        "\n        send() checks that before anything else")
    # A new request is answered once the loop has finished with the first one (one thread):
    # anything it logged about the disconnected client is in caplog by then.
    assert ask(server, SIMPLE_GET)[0] == 200
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, (
        f"\n  the server logged {errors[0].getMessage()!r} for a client that left"
        "\n  expected: no error log; a client leaving is not the app's fault (ASGI spec)"
        "\n  hint: catch ClientDisconnected around `await app(...)`, before Exception")


# --- 8.5 keep-alive and pipelining ------------------------------------------------------

@pytest.mark.exercise("8.5")
def test_keep_alive_serves_several_requests_on_one_connection(serve):
    server = serve(echo_app)
    with http_connection(server) as connection:
        ports = []
        for path in ("/1", "/2", "/3"):
            connection.request("GET", path)
            response = connection.getresponse()
            seen = json.loads(response.read())
            assert response.getheader("connection") != "close", "HTTP/1.1 connections stay open by default"
            ports.append(seen["client"][1])
    assert len(set(ports)) == 1, (
        f"Three requests on one http.client connection came from client ports {ports}: the server closed "
        "the connection after each response. Keep it open and read the next request (RFC 9112 §9.3).")


@pytest.mark.exercise("8.5")
def test_pipelined_requests_are_answered_in_order(serve):
    server = serve(echo_app)
    request = get("/slow") + get("/fast") + get("/also-fast")
    with raw_client(server) as client:
        client.send(request)  # all three at once, before any answer
        paths = [json.loads(client.read_response()[3])["path"] for _ in range(3)]
    assert paths == ["/slow", "/fast", "/also-fast"], report(
        request, client, server.address[1],
        f"responses came for {paths}: a client matches responses to requests by order alone, so run "
        "one request at a time per connection and queue the rest (RFC 9112 §9.3.2)")


@pytest.mark.exercise("8.5")
def test_ten_pipelined_requests_in_one_packet_are_all_answered(serve):
    server = serve(echo_app)
    request = b"".join(get(f"/{n}") for n in range(10))
    with raw_client(server) as client:
        client.send(request)
        paths = [json.loads(client.read_response()[3])["path"] for _ in range(10)]
    assert paths == [f"/{n}" for n in range(10)]


@pytest.mark.exercise("8.5")
@pytest.mark.parametrize("request_bytes", [
    pytest.param(GET_CLOSE, id="connection-close"),
    pytest.param(GET_HTTP10, id="http-1.0"),
])
def test_connection_closes_after_the_response_when_asked(serve, request_bytes):
    server = serve(status_app(200, b"bye", content_length=True))
    with raw_client(server) as client:
        client.send(request_bytes)
        _, _, headers, body = client.read_response()
        assert body == b"bye" and header(headers, "connection") == "close", report(
            request_bytes, client, server.address[1], "say 'connection: close' in a response before closing")
        assert client.closed_by_server(), report(request_bytes, client, server.address[1],
                                                 "the client asked for one response only: close after it")


@pytest.mark.exercise("8.5")
def test_http10_client_gets_an_unchunked_body_ended_by_close(serve):
    server = serve(streaming_app)
    with raw_client(server) as client:
        client.send(GET_HTTP10)
        _, _, headers, body = client.read_response()
    assert header(headers, "transfer-encoding") is None and body == b"one,two,three", report(
        GET_HTTP10, client, server.address[1],
        "an HTTP/1.0 client cannot read chunked: with no Content-Length, send the body as it is and close")


# --- 8.6 errors: 400 and 500 ------------------------------------------------------------

@pytest.mark.exercise("8.6")
@pytest.mark.parametrize("request_bytes", [
    pytest.param(b"HELLO THERE\r\n\r\n", id="not-http"),
    pytest.param(b"GET / HTTP/1.1\r\nHost test\r\n\r\n", id="header-without-colon"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: test\r\nContent-Length: abc\r\n\r\n", id="bad-content-length"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\n", id="content-length-and-chunked"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                 id="bad-chunk-size"),
    pytest.param(UPGRADE_WITH_A_BODY, id="upgrade-with-a-body"),
])
def test_bad_request_gets_400_then_the_connection_closes(serve, request_bytes):
    server = serve(echo_app)
    with raw_client(server) as client:
        client.send(request_bytes)
        try:
            status, _, _, _ = client.read_response()
        except (ConnectionError, ValueError) as error:
            pytest.fail(report(request_bytes, client, server.address[1],
                               f"expected a 400 response before the close ({error}): catch "
                               "httptools.HttpParserError in data_received and answer 400"), pytrace=False)
        assert status == 400 and client.closed_by_server(), report(
            request_bytes, client, server.address[1], "after a 400 nothing on this connection can be trusted: close")


@pytest.mark.exercise("8.6")
def test_good_request_before_garbage_is_answered_first(serve):
    server = serve(echo_app)
    request = get("/good") + b"GARBAGE\r\n\r\n"
    with raw_client(server) as client:
        client.send(request)
        first, second = client.read_response(), client.read_response()
    assert (first[0], second[0]) == (200, 400), report(request, client, server.address[1],
                                                        "answer the good request, then 400 for the garbage")


@pytest.mark.exercise("8.6")
@pytest.mark.parametrize("request_bytes", [
    pytest.param(GET_WITHOUT_HOST, id="no-host"),
    pytest.param(GET_TWO_HOSTS, id="two-hosts"),
])
def test_http11_request_without_exactly_one_host_gets_400(serve, request_bytes):
    records = queue.Queue()
    server = serve(recording_app(records))
    with raw_client(server) as client:
        client.send(request_bytes)
        try:
            status = client.read_response()[0]
        except (ConnectionError, ValueError, socket.timeout) as error:
            status = f"no response ({type(error).__name__})"
        hint = ("an HTTP/1.1 request needs exactly one Host, or 400 (RFC 9112 §3.2):\n"
                "        call check_head (http11.py) in on_headers_complete")
        assert status == 400, report(request_bytes, client, server.address[1], hint, got=status)
        assert client.closed_by_server(), report(request_bytes, client, server.address[1],
                                                 "after a 400, close the connection")
    assert records.empty(), "the app was called for a request the server must refuse"


@pytest.mark.exercise("8.6")
@pytest.mark.parametrize("request_bytes, status", [
    pytest.param(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                 id="chunked-from-http-1.0"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
                 id="a-coding-we-cannot-decode"),
    pytest.param(b"GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505, id="http-2.0-request-line"),
])
def test_heads_httptools_accepts_but_check_head_refuses_get_its_status(serve, request_bytes, status):
    records = queue.Queue()
    server = serve(recording_app(records))
    with raw_client(server) as client:
        client.send(request_bytes)
        try:
            got = client.read_response()[0]
        except (ConnectionError, ValueError, socket.timeout) as error:
            got = f"no response ({type(error).__name__})"
        assert got == status, report(
            request_bytes, client, server.address[1], got=got,
            hint=f"check_head raises BadRequest(status={status}) for this head:\n"
                 "        answer with that status, not always 400")
    assert records.empty(), "the app was called for a request the server must refuse"


async def crash_app(scope, receive, send):
    if scope["path"] == "/ok":
        return await send_bytes(send, 200, b"fine")
    if scope["path"] == "/after-start":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    if scope["path"] == "/no-response":
        return None
    if scope["path"] == "/bad-header":
        return await send_bytes(send, 200, b"x", [(b"x-injected", b"a\r\nset-cookie: stolen=1")])
    raise ValueError("the app failed on purpose")


@pytest.mark.exercise("8.6")
@pytest.mark.parametrize("path", [
    pytest.param("/raise", id="app-raises"),
    pytest.param("/no-response", id="app-returns-without-response"),
    pytest.param("/bad-header", id="app-sends-a-header-with-crlf"),
])
def test_app_failing_before_its_response_gets_500_then_close(serve, path):
    server = serve(crash_app)
    request = get(path)
    with raw_client(server) as client:
        client.send(request)
        try:
            status, reason, headers, _ = client.read_response()
        except (ConnectionError, ValueError, socket.timeout) as error:
            pytest.fail(report(request, client, server.address[1],
                               f"expected a 500 response ({type(error).__name__}: {error}): catch the app's "
                               "exception around `await app(...)` and, if no response started, send 500"),
                        pytrace=False)
        assert (status, header(headers, "connection")) == (500, "close"), report(
            request, client, server.address[1], "500 Internal Server Error, with connection: close")
        assert header(headers, "set-cookie") is None, "a header value with CRLF must never reach the wire"
        assert client.closed_by_server(), report(request, client, server.address[1], "close after the 500")
    assert ask(server, get("/ok"))[0] == 200, "after an app crash, the server must keep serving"


@pytest.mark.exercise("8.6")
def test_app_failing_after_its_response_started_gets_the_connection_closed(serve):
    server = serve(crash_app)
    request = get("/after-start")
    with raw_client(server) as client:
        client.send(request)
        with pytest.raises(ConnectionError):  # 7 of the promised 100 bytes, then the close
            try:
                client.read_response()
            except socket.timeout:
                pytest.fail(report(request, client, server.address[1],
                                   "the app crashed after starting its response: the client waits for the rest "
                                   "until you close the connection"), pytrace=False)


# --- 8.7 lifespan -----------------------------------------------------------------------

def lifespan_app(events: list, fail_startup: bool = False):
    async def app(scope, receive, send):
        if scope["type"] == "http":
            return await send_bytes(send, 200, json.dumps({"events": events, "state": scope.get("state")}).encode())
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "lifespan.startup":
                if fail_startup:
                    return await send({"type": "lifespan.startup.failed", "message": "no database"})
                scope["state"]["db"] = "connected"
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    return app


@pytest.mark.exercise("8.7")
@pytest.mark.parametrize("mode", [pytest.param("on", id="on"), pytest.param("auto", id="auto")])
def test_lifespan_startup_runs_before_serving_and_shutdown_after(lesson, fd_leak_check, mode):
    events = []
    with running_asgi_server(lesson, lifespan_app(events), lifespan=mode) as server:
        _, _, _, body, _ = ask(server, SIMPLE_GET)
    seen = json.loads(body)
    assert seen["events"] == ["lifespan.startup"], (
        f"When the first request was served the app had seen {seen['events']}: start() must send "
        "lifespan.startup and wait for lifespan.startup.complete before accepting connections.")
    assert events == ["lifespan.startup", "lifespan.shutdown"], f"after shutdown() the app had seen {events}"
    assert seen["state"] == {"db": "connected"}, (
        f"scope['state'] was {seen['state']!r}: copy the lifespan scope's state dict into each request's scope")


@pytest.mark.exercise("8.7")
def test_lifespan_startup_failure_makes_start_raise_and_leaves_nothing_listening(lesson, fd_leak_check):
    error = None
    try:
        with running_asgi_server(lesson, lifespan_app([], fail_startup=True), lifespan="on"):
            pass
    except Exception as raised:  # noqa: BLE001 - any error from start() will do, if it names the cause
        error = raised
    if isinstance(error, NotImplementedError):
        raise error
    assert error is not None and "no database" in str(error), (
        f"start() {'raised ' + repr(error) if error else 'returned'} although the app sent "
        "lifespan.startup.failed with the message 'no database': start() should raise an error carrying "
        "that message (LifespanFailure), so that the server never serves an app that could not start.")


@pytest.mark.exercise("8.7")
def test_lifespan_startup_failure_closes_the_listening_socket(lesson, fd_leak_check):
    async def attempt():
        server = lesson.Server(lifespan_app([], fail_startup=True), "127.0.0.1", 0, lifespan="on")
        with pytest.raises(Exception) as raised:
            await server.start()
        if raised.errisinstance(NotImplementedError):
            raise raised.value  # an untouched stub: say which exercise, not "address is None"
        return server.address

    address = asyncio.run(attempt())
    assert address is not None, "start() binds first, so server.address is set even when startup then fails"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=WAIT).close()


async def returns_on_lifespan_app(scope, receive, send):
    """How many tutorials say "no lifespan here": return at once from anything but HTTP."""
    if scope["type"] != "http":
        return
    await send_bytes(send, 200, b"ok")


@pytest.mark.exercise("8.7")
@pytest.mark.parametrize("app", [
    pytest.param(echo_app, id="app-raises"),  # echo_app asserts scope["type"] == "http"
    pytest.param(returns_on_lifespan_app, id="app-returns"),
])
def test_lifespan_auto_serves_an_app_without_lifespan_support(serve, app):
    try:
        server = serve(app, lifespan="auto")
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - the test reports whatever start() raised
        pytest.fail(f"\n  start() raised {error!r} with lifespan=\"auto\""
                    "\n  expected: an app that raises or returns before answering"
                    "\n  lifespan.startup has no lifespan support: serve it without"
                    "\n  hint: in auto mode, settle `started` as a success then", pytrace=False)
    assert ask(server, SIMPLE_GET)[0] == 200


@pytest.mark.exercise("8.7")
def test_lifespan_on_refuses_an_app_that_returns_without_starting_up(lesson, fd_leak_check):
    with pytest.raises(Exception) as raised:
        with running_asgi_server(lesson, returns_on_lifespan_app, lifespan="on"):
            pass
    if raised.errisinstance(NotImplementedError):
        raise raised.value
    assert raised.errisinstance(lesson.LifespanFailure), (
        f"start() raised {raised.value!r}: with lifespan=\"on\" the app must start up, and one "
        "that returns without lifespan.startup.complete did not: raise LifespanFailure")


# --- 8.8 the command line ---------------------------------------------------------------

@pytest.mark.exercise("8.8")
def test_import_app_finds_module_colon_attribute(lesson, tmp_path, monkeypatch):
    (tmp_path / "lesson08_cli_app.py").write_text("class Holder:\n    app = 'the app'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert lesson.import_app("lesson08_cli_app:Holder.app") == "the app"
    finally:
        sys.modules.pop("lesson08_cli_app", None)


@pytest.mark.exercise("8.8")
@pytest.mark.parametrize("spec", [pytest.param("no_colon", id="no-colon"), pytest.param("os:no_such", id="no-attr")])
def test_import_app_rejects_a_bad_spec(lesson, spec):
    with pytest.raises(ValueError):
        lesson.import_app(spec)


CLI_APP = textwrap.dedent("""
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            message = await receive()
            if FAIL_STARTUP:
                await send({"type": "lifespan.startup.failed", "message": "refusing on purpose"})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]})
        await send({"type": "http.response.body", "body": b"cli"})
""")


@contextlib.contextmanager
def cli_process(impl_dir, app_dir, spec, folder="08_asgi_server"):
    """The lesson's server.py run as a command on `spec`; lesson 09 passes its own folder."""
    script = impl_dir / folder / "server.py"
    process = subprocess.Popen(
        [sys.executable, str(script), spec, "--port", "0", "--app-dir", str(app_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(WAIT)
        process.stdout.close()


def read_line_with(process, needle: str, deadline: float) -> str:
    output = ""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(deadline - time.monotonic()):
                break
            line = process.stdout.readline()
            if not line:
                break
            output += line
            if needle in line:
                return line
    pytest.fail(f"The server never printed a line with {needle!r}; its output was:\n{output}", pytrace=False)


@pytest.mark.exercise("8.8")
@pytest.mark.timeout(20)
def test_command_line_serves_an_app_and_exits_cleanly_on_ctrl_c(impl_dir, tmp_path):
    (tmp_path / "cli_app.py").write_text("FAIL_STARTUP = False\n" + CLI_APP)
    with cli_process(impl_dir, tmp_path, "cli_app:app") as process:
        line = read_line_with(process, "http://", time.monotonic() + 10)
        port = int(line.split("http://")[1].split(":")[1].split()[0].rstrip("/"))
        with http_connection(type("Address", (), {"address": ("127.0.0.1", port)})) as connection:
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"cli"
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0, "Ctrl-C (SIGINT) should shut the server down and exit with status 0"


@pytest.mark.exercise("8.8")
@pytest.mark.timeout(20)
def test_command_line_exits_with_an_error_when_startup_fails(impl_dir, tmp_path):
    (tmp_path / "cli_fail_app.py").write_text("FAIL_STARTUP = True\n" + CLI_APP)
    with cli_process(impl_dir, tmp_path, "cli_fail_app:app") as process:
        try:
            code = process.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail("The app refused to start (lifespan.startup.failed) but the server kept running: "
                        "exit with a non-zero status instead.", pytrace=False)
        output = process.stdout.read()
    assert code not in (0, None) and "refusing on purpose" in output and "Traceback" not in output, (
        f"exit status {code}, output:\n{output}\nExpected a non-zero status and the app's message, no traceback.")
