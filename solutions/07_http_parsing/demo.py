"""Lesson 07 demo: a captured request stream through your parser, then a smuggling attempt.

    make demo-lesson 7

Part 1 feeds three requests that curl 7.88.1 really sent (captured with a
listening socket, one curl run each) back to back, the way a pipelining client
sends them, in pieces of a few sizes, and prints the events. Part 2 builds the
ASGI scope of one of them and a response head. Part 3 feeds the classic
CL.TE smuggling request and shows it refused.
"""

from __future__ import annotations

from parser import BadRequest, Body, EndOfMessage, Request, RequestParser, build_scope, chunk, LAST_CHUNK, response_head

CAPTURED = (
    b"GET /items?page=2&q=caf%C3%A9 HTTP/1.1\r\nHost: 127.0.0.1:35731\r\nUser-Agent: curl/7.88.1\r\n"
    b"Accept: */*\r\n\r\n"
    b"POST /items HTTP/1.1\r\nHost: 127.0.0.1:35731\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
    b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    b'1d\r\n{"name": "teapot", "size": 3}\r\n0\r\n\r\n'
    b"DELETE /items/7 HTTP/1.1\r\nHost: 127.0.0.1:35731\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
    b"Connection: close\r\n\r\n"
)

# A front-end proxy that believes Content-Length forwards all 44 bytes as one
# request's body; a back end that believes Transfer-Encoding sees the body end
# at "0\r\n\r\n" and then a second request, GET /admin, that the proxy never checked.
SMUGGLING = (
    b"POST /search HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /admin HTTP/1.1\r\nHost: shop.example\r\n\r\n"
)


def show(event) -> str:
    if isinstance(event, Request):
        flags = [name for name in ("keep_alive", "expect_continue") if getattr(event, name)]
        return (f"Request {event.method} {event.path!r} query={event.query_string!r} "
                f"HTTP/{event.http_version} {len(event.headers)} headers" + "".join(f" {flag}" for flag in flags))
    if isinstance(event, Body):
        return f"Body {event.data!r}"
    if isinstance(event, EndOfMessage):
        return "EndOfMessage"
    return f"?? {event!r}"


def feed_in_pieces(data: bytes, size: int) -> list:
    parser = RequestParser()
    events = []
    for start in range(0, len(data), size):
        for event in parser.feed(data[start:start + size]):
            events.append((start, event))
    return events


def part_1() -> list:
    print(f"== 1. {len(CAPTURED)} bytes, three pipelined requests, fed whole")
    whole = feed_in_pieces(CAPTURED, len(CAPTURED))
    for _, event in whole:
        print("   ", show(event))
    for size in (1, 7, 100):
        pieces = feed_in_pieces(CAPTURED, size)
        requests = [event for _, event in pieces if isinstance(event, Request)]
        body = b"".join(event.data for _, event in pieces if isinstance(event, Body))
        same = requests == [event for _, event in whole if isinstance(event, Request)]
        print(f"   fed in {size:3}-byte pieces: {len(pieces):2} events, same requests: {same}, body {body!r}")
    print("   (one byte at a time, the body comes out as many small Body events: pieces do not matter)")
    return [event for _, event in whole if isinstance(event, Request)]


def part_2(request: Request) -> None:
    print("\n== 2. the ASGI scope of the first request, and a response head")
    scope = build_scope(request, client=("127.0.0.1", 51234), server=("127.0.0.1", 35731))
    for key, value in scope.items():
        print(f"    {key:13} {value!r}")
    head = response_head(404, [(b"content-type", b"text/plain"), (b"transfer-encoding", b"chunked")])
    print("   ", head + chunk(b"no such item\n") + chunk(b"") + LAST_CHUNK)
    try:
        response_head(302, [(b"location", b"/next\r\nSet-Cookie: session=stolen")])
    except ValueError as error:
        print(f"    a CRLF in a header value: ValueError: {error}")


def part_3() -> None:
    print("\n== 3. a request-smuggling attempt (Content-Length and Transfer-Encoding)")
    try:
        events = RequestParser().feed(SMUGGLING)
        print("    ACCEPTED (this is the bug):", [show(event) for event in events])
    except BadRequest as error:
        print(f"    BadRequest, status {error.status}: {error}")
        print("    -> the server answers 400 and closes; GET /admin is never parsed")


if __name__ == "__main__":
    requests = part_1()
    part_2(requests[0])
    part_3()
