"""Lesson 10 demo: WebSocket frames on the wire, then your server speaking them.

    make demo-lesson 10                              # all three parts below
    python lessons/10_websockets/demo.py --frames    # only the frames (needs 10.1)
    python lessons/10_websockets/demo.py --wire      # only the raw handshake and frames
    python lessons/10_websockets/demo.py --chat      # only the chat
    python lessons/10_websockets/demo.py --flow      # flow control, measured (not in the default run)

--frames (exercise 10.1, no sockets). Part 1 dumps, frame by frame, what a client
sends: a masked text message (the example of RFC 6455 §5.7, byte for byte), a text
message in three fragments with a ping between two of them (the first fragment ends
in the middle of a UTF-8 character), and a close. Part 2 feeds that stream to your
FrameParser in 7-byte pieces and prints each event with the byte where it completed.
Part 3 shows what a server sends back, built by your builders: no mask. Part 4 feeds
three broken streams and prints the close code your parser chose for each.

--wire (10.2, 10.3). Your Server on 127.0.0.1, a free port, serving `wire_app`; a raw
socket plays the client, so every byte is visible: a refused version (426), a refused
path (403), then a whole connection: the handshake, a masked text frame and the
unmasked echo, a ping the server answers by itself, the app's close and the client's
answer; and a close the client starts. After each connection, what the app received.

--chat (10.2-10.5). The same Server with a broadcast app; three clients of the
`websockets` library join, talk, one leaves, and then the server shuts down: the
others are closed with 1012. Printed as a transcript.

--flow (10.4). server.py in a process of its own (its command line, --ws-max-queue N),
serving `never_receives`; a raw socket floods it with 64 KiB messages until the server
stops reading; the demo prints how much the client got to send and how much the
server's memory (VmRSS, Linux) grew: with uvicorn's default queue of 32 messages, and
with a queue so long it never fills, as if there were no flow control.

The client frames are built here with a fixed masking key (a browser picks a
fresh random key per frame, RFC 6455 §5.3), so the dump is the same every run.
If your server is not ready yet, the demo says which exercise to finish and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs

from frames import (BytesMessage, Close, FrameParser, Ping, Pong, ProtocolError, TextMessage, close_frame,
                    pong_frame, text_frame)

HERE = Path(__file__).resolve().parent
KEY = bytes.fromhex("37fa213d")  # the masking key of RFC 6455 §5.7's examples
OPCODES = {0x0: "CONTINUATION", 0x1: "TEXT", 0x2: "BINARY", 0x8: "CLOSE", 0x9: "PING", 0xA: "PONG"}


def masked(first_byte: int, payload: bytes) -> bytes:
    """A client frame (payload under 126 bytes): byte 0 as given, MASK set, the key, the payload XOR key."""
    return bytes([first_byte, 0x80 | len(payload)]) + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


GREETING = "κόσμε, world"
GREETING_BYTES = GREETING.encode()  # "κ" is 2 bytes: the first fragment ends after 1 of them
CLIENT_STREAM = (
    bytes.fromhex("818537fa213d7f9f4d5158")  # RFC 6455 §5.7: a masked "Hello"
    + masked(0x01, GREETING_BYTES[:1])  # TEXT, FIN 0: the first fragment
    + masked(0x89, b"are you there?")  # PING between fragments (§5.4 allows it)
    + masked(0x00, GREETING_BYTES[1:6])  # CONTINUATION, FIN 0
    + masked(0x80, GREETING_BYTES[6:])  # CONTINUATION, FIN 1: the message is whole
    + masked(0x88, (1000).to_bytes(2, "big") + b"bye")  # CLOSE 1000 "bye"
)


def split_frames(stream: bytes) -> list[bytes]:
    """The frames of a stream of short frames (length < 126), for the dump only."""
    frames, offset = [], 0
    while offset < len(stream):
        size = 2 + (4 if stream[offset + 1] & 0x80 else 0) + (stream[offset + 1] & 0x7F)
        frames.append(stream[offset:offset + size])
        offset += size
    return frames


def dump(frame: bytes) -> None:
    first, second = frame[0], frame[1]
    has_mask, length = bool(second & 0x80), second & 0x7F
    key = frame[2:6] if has_mask else b""
    payload = frame[2 + len(key):]
    clear = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if has_mask else payload
    print(f"   {frame[:2].hex(' ')} | FIN={first >> 7} opcode={first & 0x0F:#x} {OPCODES[first & 0x0F]:<12}"
          f" MASK={int(has_mask)} length={length}")
    if has_mask:
        print(f"   {key.hex(' ')} | masking key")
    if payload:
        print(f"   {payload.hex(' ')} | payload{', masked' if has_mask else ''}")
        print(f"   {'':{len(payload) * 3 - 1}} | {'unmasked: ' if has_mask else ''}{clear!r}")
    if first & 0x0F == 0x8 and len(clear) >= 2:  # a Close: a 2-byte code, then the reason (§5.5.1)
        print(f"   {'':{len(payload) * 3 - 1}} | code {int.from_bytes(clear[:2], 'big')}, "
              f"reason {clear[2:].decode(errors='replace')!r}")
    print()


def show(event) -> str:
    if isinstance(event, TextMessage):
        return f"TextMessage({event.text!r})"
    if isinstance(event, BytesMessage):
        return f"BytesMessage({event.data!r})"
    if isinstance(event, (Ping, Pong)):
        return f"{type(event).__name__}({event.payload!r})"
    if isinstance(event, Close):
        return f"Close(code={event.code}, reason={event.reason!r})"
    return f"?? {event!r}"


def part_1() -> None:
    print(f"== 1. what the client sent: {len(CLIENT_STREAM)} bytes, {len(split_frames(CLIENT_STREAM))} frames")
    for frame in split_frames(CLIENT_STREAM):
        dump(frame)


def part_2() -> None:
    print("== 2. your FrameParser, fed 7 bytes at a time")
    parser = FrameParser()
    for start in range(0, len(CLIENT_STREAM), 7):
        parser.feed(CLIENT_STREAM[start:start + 7])
        while (event := parser.next_event()) is not None:
            print(f"   after byte {min(start + 7, len(CLIENT_STREAM)):3}: {show(event)}")
    print()


def part_3() -> None:
    print("== 3. what the server answers, built by your builders (never masked)")
    for call, frame in [(f"text_frame({'Hello'!r})", text_frame("Hello")),
                        (f"pong_frame({b'are you there?'!r})", pong_frame(b"are you there?")),
                        (f"text_frame({GREETING!r})", text_frame(GREETING)),
                        ("close_frame(1000, 'bye')", close_frame(1000, "bye"))]:
        print(f"   {call}")
        dump(frame)


BROKEN = [
    ("a client frame without a mask (§5.1)", bytes.fromhex("810548656c6c6f")),
    ("a header announcing 2**40 bytes (§5.2), no payload yet",
     bytes([0x82, 0xFF]) + (2**40).to_bytes(8, "big") + KEY),
    ("a first fragment that no UTF-8 text can start with (§8.1)", masked(0x01, b"caf\xff")),
]


def part_4() -> None:
    print("== 4. broken streams: the close code your parser chose")
    for what, stream in BROKEN:
        parser = FrameParser()
        parser.feed(stream)
        try:
            print(f"   {what}: {show(parser.next_event())} (expected a ProtocolError)")
        except ProtocolError as error:
            print(f"   {what}:\n      ProtocolError {error.code}: {error.reason}")
    print()



# --- --wire: a raw socket against your server ------------------------------------------------------------

RFC_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example key; its accept value is known


def handshake(path: str, version: bytes = b"13") -> bytes:
    return (b"GET %s HTTP/1.1\r\nHost: demo\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: %s\r\n\r\n" % (path.encode(), RFC_KEY, version))


class NotReady(Exception):
    """The server did something a finished lesson 10 would not; the message says what."""


class AppLog:
    """What wire_app received on each connection, and a flag raised when the app returns."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.done = threading.Event()  # the client runs in a thread: a threading.Event, not asyncio's


def describe(message: dict) -> str:
    """One ASGI message as the transcript shows it."""
    if message["type"] == "websocket.receive":
        return f"websocket.receive {message.get('text', message.get('bytes'))!r}"
    if message["type"] == "websocket.disconnect":
        return f"websocket.disconnect code={message.get('code')}"
    return message["type"]


def make_wire_app(logs: list[AppLog]) -> Callable:
    async def wire_app(scope, receive, send):
        """/private refuses (close before accept: 403); /echo echoes text, and closes on "quit"."""
        log = AppLog()
        logs.append(log)
        try:
            log.received.append(describe(await receive()))  # websocket.connect
            if scope["path"] != "/echo":
                await send({"type": "websocket.close"})
                return
            await send({"type": "websocket.accept"})
            while (message := await receive())["type"] == "websocket.receive":
                log.received.append(describe(message))
                if message.get("text") == "quit":
                    await send({"type": "websocket.close", "code": 1000, "reason": "bye"})
                else:
                    await send({"type": "websocket.send", "text": message.get("text")})
            log.received.append(describe(message))
        finally:
            log.done.set()
    return wire_app


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """`size` bytes from a blocking socket; NotReady if the server closes first."""
    data = b""
    while len(data) < size:
        piece = sock.recv(size - len(data))
        if not piece:
            raise NotReady(f"the server closed the connection after {data!r}: a frame was cut short")
        data += piece
    return data


def read_head(sock: socket.socket) -> bytes:
    """The HTTP response head (through the blank line), then any body Content-Length announces."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            raise NotReady(f"the server closed the connection; it had sent {data!r}")
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            rest += recv_exactly(sock, int(line.split(b":")[1]) - len(rest))
    return head + b"\r\n\r\n" + rest


def read_frame(sock: socket.socket) -> bytes:
    """One server frame (short: its length fits the 7 bits)."""
    header = recv_exactly(sock, 2)
    if header[1] & 0x80 or header[1] & 0x7F > 125:
        raise NotReady(f"a server frame starting {header.hex(' ')}: masked, or longer than this demo reads")
    return header + recv_exactly(sock, header[1] & 0x7F)


def print_http(direction: str, data: bytes) -> None:
    head, _, body = data.decode("latin-1").partition("\r\n\r\n")
    for line in [*head.split("\r\n"), ""] + ([body.rstrip("\n")] if body else []):
        print(f"   {direction} {line}")
    print()


def send_frame(sock: socket.socket, what: str, frame: bytes) -> None:
    print(f"   >> {what}")
    dump(frame)
    sock.sendall(frame)


def receive_frame(sock: socket.socket, what: str) -> None:
    frame = read_frame(sock)
    print(f"   << {what}")
    dump(frame)


def connect_and_upgrade(address: tuple[str, int], path: str, show: bool) -> socket.socket:
    sock = socket.create_connection(address, timeout=5)
    sock.sendall(handshake(path))
    answer = read_head(sock)
    if show:
        print_http(">>", handshake(path))
        print_http("<<", answer)
    if not answer.startswith(b"HTTP/1.1 101"):
        sock.close()
        raise NotReady(f"the handshake got {answer.splitlines()[0]!r}, not 101 Switching Protocols "
                       "(exercise 10.2: websocket.accept)")
    return sock


def wait_for_close(sock: socket.socket) -> None:
    print(f"   << {'(the server closed TCP)' if sock.recv(1) == b'' else '(more bytes: expected the TCP close)'}\n")


def expect_status(answer: bytes, status: bytes, exercise: str) -> None:
    status_line = answer.split(b"\r\n")[0].decode("latin-1")
    if not answer.startswith(b"HTTP/1.1 " + status):
        raise NotReady(f"expected {status.decode()}, got {status_line!r}:\n   {exercise}")


def show_app(logs: list[AppLog]) -> None:
    if not logs:
        raise NotReady("your server never called the app for that WebSocket request: "
                       "the hook in server.py (exercise 10.2) hands it over")
    log = logs.pop()
    if not log.done.wait(5):
        raise NotReady("the app did not return within 5 s of the close: did it get websocket.disconnect?")
    print("   the app received:", *log.received, sep="\n      ")
    print()


def wire_tour(address: tuple[str, int], logs: list[AppLog]) -> None:
    """Runs in a thread: plain blocking sockets, so every byte is the demo's own."""
    print("-- 5a. a client that asks for version 8 (Sec-WebSocket-Version: 8), §4.4")
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(handshake("/echo", b"8"))
        answer = read_head(sock)
        print_http("<<", answer)
        expect_status(answer, b"426", "a WebSocket request goes to the hook in server.py, then\n"
                      "   handshake_refusal() (exercise 10.2); a 400 or 500 means it was served as HTTP")
    print("-- 5b. /private: the app refuses with websocket.close before websocket.accept")
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(handshake("/private"))
        answer = read_head(sock)
        print_http("<<", answer)
        expect_status(answer, b"403", "websocket.close before websocket.accept is a 403 (exercise 10.2)")
    show_app(logs)

    print("-- 5c. a whole connection: the handshake (§4), then frames (§5)")
    with connect_and_upgrade(address, "/echo", show=True) as sock:
        send_frame(sock, "a text message, masked (RFC 6455 §5.7's bytes)", bytes.fromhex("818537fa213d7f9f4d5158"))
        receive_frame(sock, "the app's echo: the same text, not masked")
        send_frame(sock, "a ping", masked(0x89, b"still there?"))
        receive_frame(sock, "the pong, from the server itself: the app never sees pings (§5.5.2)")
        send_frame(sock, 'the text "quit": the app answers with websocket.close', masked(0x81, b"quit"))
        receive_frame(sock, "the server's Close, with the app's code and reason")
        send_frame(sock, "the client's answer: a Close with the same code (§5.5.1)",
                   masked(0x88, (1000).to_bytes(2, "big")))
        wait_for_close(sock)
    show_app(logs)

    print("-- 5d. the client closes first")
    with connect_and_upgrade(address, "/echo", show=False) as sock:
        print("   (the handshake as above: 101 Switching Protocols)\n")
        send_frame(sock, "a Close 1001 (going away)", masked(0x88, (1001).to_bytes(2, "big") + b"going away"))
        receive_frame(sock, "the server echoes the code (§5.5.1)")
        wait_for_close(sock)
    show_app(logs)


async def part_5(Server: type) -> None:
    logs: list[AppLog] = []
    server = Server(make_wire_app(logs), "127.0.0.1", 0, lifespan="off", access_log=False)
    await server.start()
    try:
        print(f"== 5. your server on ws://{server.address[0]}:{server.address[1]}, a raw socket as the client")
        await asyncio.to_thread(wire_tour, server.address, logs)
    finally:
        await server.shutdown()


# --- --chat: three clients of the websockets library --------------------------------------------------------

class ChatRoom:
    """A broadcast chat as a bare ASGI app: ws://host/chat?name=alice joins the room."""

    def __init__(self) -> None:
        self.members: dict[str, object] = {}  # name -> that connection's ASGI send
        self.departures: list[str] = []  # "bob 1012": who left, with the code the app was told

    async def broadcast(self, text: str) -> None:
        for send in list(self.members.values()):
            try:
                await send({"type": "websocket.send", "text": text})
            except OSError:
                pass  # that member is closing (ASGI 2.4: send() raises OSError); it is leaving anyway

    async def __call__(self, scope, receive, send) -> None:
        name = parse_qs(scope["query_string"].decode()).get("name", ["anonymous"])[0]
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        self.members[name] = send
        await self.broadcast(f"* {name} joined ({len(self.members)} here)")
        while (message := await receive())["type"] == "websocket.receive":
            await self.broadcast(f"{name}: {message['text']}")
        del self.members[name]
        self.departures.append(f"{name} {message['code']}")
        await self.broadcast(f"* {name} left (code {message['code']})")


async def expect(clients: dict, names: str) -> None:
    """Each named client receives one message; printed in that order, so the transcript is stable."""
    for name in names.split():
        print(f"   {'':12}{name:>6} receives {await asyncio.wait_for(clients[name].recv(), 5)!r}")


async def chat_script(address: tuple[str, int]) -> dict:
    from websockets.asyncio.client import connect

    clients = {}
    for name, everyone in (("alice", "alice"), ("bob", "alice bob"), ("carol", "alice bob carol")):
        print(f"   {name} connects")
        clients[name] = await connect(f"ws://{address[0]}:{address[1]}/chat?name={name}", open_timeout=5)
        await expect(clients, everyone)
    for name, text in (("alice", "hi all"), ("bob", "hi alice!")):
        print(f"   {name} sends {text!r}")
        await clients[name].send(text)
        await expect(clients, "alice bob carol")
    print("   carol closes (1000)")
    await clients["carol"].close()
    print(f"   {'':12} carol's connection: closed, code {clients['carol'].close_code}")
    await expect(clients, "alice bob")
    return clients


async def part_6(Server: type) -> None:
    room = ChatRoom()
    server = Server(room, "127.0.0.1", 0, lifespan="off", access_log=False)
    await server.start()
    try:
        print(f"== 6. a chat on ws://{server.address[0]}:{server.address[1]}/chat, "
              f"three clients of the websockets library")
        clients = await chat_script(server.address)
    except BaseException:
        await server.shutdown()
        raise
    print("   the server shuts down (SIGTERM would do the same)")
    await asyncio.wait_for(server.shutdown(), 10)
    for name in ("alice", "bob"):
        await asyncio.wait_for(clients[name].wait_closed(), 5)
        print(f"   {'':12}{name:>6}'s connection: closed, code {clients[name].close_code} "
              f"{clients[name].close_reason!r}")
    print(f"   the app saw them leave with: {', '.join(sorted(room.departures))}\n")



# --- --flow: what waits while the app does not receive (10.4) --------------------------------------------

FLOOD_MESSAGE = 64 * 1024  # bytes of each binary message the client floods with
FLOOD_TOTAL = 100 * 1024 * 1024  # the most it tries to send
QUEUES = (32, 1_000_000)  # ws_max_queue: uvicorn's default, and so many that it never fills


async def never_receives(scope, receive, send):
    """The --flow server's app: accepts, then never calls receive() again."""
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await asyncio.sleep(60)  # longer than the demo: every message the client sends must wait


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:  # Linux only, like lesson 09's --flow
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def binary_frame_masked(payload: bytes) -> bytes:
    """A client BINARY frame of 65536 bytes or more (a 64-bit length, §5.2); the payload is zeros,
    so masked it is the key repeated."""
    return bytes([0x82, 0x80 | 127]) + len(payload).to_bytes(8, "big") + KEY + KEY * (len(payload) // 4)


def flood(port: int, stall: float = 0.7, limit: float = 10.0) -> float:
    """Send 64 KiB messages until the socket takes nothing for `stall` s; MB sent."""
    with connect_and_upgrade(("127.0.0.1", port), "/", show=False) as sock:
        sock.setblocking(False)
        message, sent, started = binary_frame_masked(bytes(FLOOD_MESSAGE)), 0, time.monotonic()
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_WRITE)
            while sent < FLOOD_TOTAL and time.monotonic() - started < limit:
                if not selector.select(stall):
                    break  # the server stopped reading: both kernel buffers are full
                with contextlib.suppress(BlockingIOError):
                    sent += sock.send(message)
        time.sleep(0.3)  # the server reads what it still will before we look at its memory
        return sent / 2**20


def flow_figures(queue: int) -> tuple[float, float]:
    """server.py in a process of its own with --ws-max-queue `queue`: (MB the client sent, MB its RSS grew)."""
    port = free_port()
    command = [sys.executable, str(HERE / "server.py"), "demo:never_receives", "--port", str(port),
               "--lifespan", "off", "--app-dir", str(HERE), "--ws-max-queue", str(queue)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode(errors="replace").strip().splitlines()
                    raise NotReady(f"server.py did not start with --ws-max-queue: {error[-1] if error else '?'}"
                                   "\n   (exercise 10.4 adds the flag)") from None
                time.sleep(0.05)  # polling a process's port: there is no event to wait on
        before = rss_mb(process.pid)
        sent = flood(port)
        return sent, rss_mb(process.pid) - before
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its app sleeps a minute: no graceful stop
        process.wait(5)
        process.stderr.close()


def part_7() -> None:
    print(f"== 7. flow control: a client floods {FLOOD_MESSAGE // 1024} KiB messages, the app never receives")
    for queue in QUEUES:
        sent, grown = flow_figures(queue)
        stalled = f"sent all {sent:.0f} MB" if sent * 2**20 >= FLOOD_TOTAL else f"stalled after {sent:.1f} MB"
        print(f"   --ws-max-queue {queue:<8} the client {stalled:<22} server RSS {grown:+.1f} MB")
    print()


# --- running the parts, and saying which exercise is missing ------------------------------------------------

class Failures(logging.Handler):
    """Collects what the server logged and the loop's unhandled errors, to name a missing exercise.

    Installed on the root logger, it also keeps the server's tracebacks out of the transcript."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])

    def loop_error(self, loop, context: dict) -> None:
        if context.get("exception") is not None:
            self.errors.append(context["exception"])


def diagnose(error: BaseException, failures: Failures) -> str:
    stubs = [e for e in [error, *failures.errors] if isinstance(e, NotImplementedError)]
    if stubs:
        exercise = re.search(r"Exercise (\d+\.\d+)", str(stubs[0]))
        step = f"make test-lesson 10 EX={exercise[1]}" if exercise else "make test-lesson 10"
        return f"your code raised NotImplementedError:\n   {stubs[0]}\n   finish that exercise first: {step}"
    if isinstance(error, NotReady):
        return f"{error}\n   run make test-lesson 10: its first failure says what to fix"
    return (f"{type(error).__name__}: {error}\n   (your server's logged errors: "
            f"{[repr(e) for e in failures.errors][:3] or 'none'}); run make test-lesson 10")


def check_handshake_functions() -> None:
    """Call websocket.py's handshake functions once: a stub raises here, where the message is
    plain, rather than inside the server, which may turn it into a 400 or a closed socket."""
    import websocket

    headers = [(b"host", b"demo"), (b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
               (b"sec-websocket-key", RFC_KEY), (b"sec-websocket-version", b"13")]
    websocket.is_websocket_request("GET", headers)
    websocket.handshake_refusal(headers)
    websocket.accept_key(RFC_KEY)


async def run_server_parts(wanted: list[str], failures: Failures) -> None:
    asyncio.get_running_loop().set_exception_handler(failures.loop_error)
    from server import Server  # the stub raises NotImplementedError here: exercise 10.0

    check_handshake_functions()

    if "wire" in wanted:
        await asyncio.wait_for(part_5(Server), 30)
    if "chat" in wanted:
        await asyncio.wait_for(part_6(Server), 30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for part in ("frames", "wire", "chat"):
        parser.add_argument(f"--{part}", action="store_true", help=f"run the {part} part (default: all three)")
    parser.add_argument("--flow", action="store_true", help="measure flow control (10.4): not part of the default")
    args = parser.parse_args(argv)
    wanted = [part for part in ("frames", "wire", "chat", "flow") if getattr(args, part)] or ["frames", "wire", "chat"]
    failures = Failures()
    logging.getLogger().addHandler(failures)
    try:
        if "frames" in wanted:
            part_1()
            part_2()
            part_3()
            part_4()
        if "wire" in wanted or "chat" in wanted:
            asyncio.run(run_server_parts(wanted, failures))
        if "flow" in wanted:
            part_7()
    except Exception as error:  # a stub, a refusal, a timeout: say which exercise, exit 1
        print(f"\n== the demo stopped: {diagnose(error, failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
