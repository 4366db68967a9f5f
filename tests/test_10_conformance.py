"""Lesson 10 — a conformance list for your server's WebSockets (exercises 10.3, 10.4).

The cases follow the Autobahn|Testsuite's categories that a server without
extensions must pass: 1 framing, 2 ping/pong, 3 reserved bits, 4 opcodes,
5 fragmentation, 6 UTF-8, 7 close handling, 9 limits. Each case id starts with
the number of the Autobahn case it is modelled on and ends with the section of
RFC 6455 that decides it: `5.9-continuation-without-start-rfc5.4`.

tests/test_10_frames.py runs such a list against frames.py alone; this one runs
it over a socket against the whole server, with an echo app: the bytes a client
sends, the frames the server answers. So it also checks what frames.py cannot
know: the pong is written, the Close is answered or sent with the parser's code,
the connection ends, a message reaches the app and comes back whole.

How each case runs: a raw socket does the handshake, then plays the case's
rounds: send frames (masked, built by tests/test_10_frames.py's `client_frame`),
read the frames the server answers with. As Autobahn's client does, it waits for
a round's answer before the next round: an echo is owed only while the
connection is open, so a Close sent right behind a message may rightly cut its
echo off. A case that goes well ends with the client's Close 1000, echoed; a bad
one with the server's Close (1002, 1007, 1009). Either way the server must then
close the TCP connection: after answering the client's Close (§7.1.1), and after
a protocol error without waiting for the client's Close (§7.1.7: "MUST NOT
continue to attempt to process data (including a responding Close frame)").
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import pytest

from tests.harness import name_stubs_behind_failures, show_bytes, stubs_hit, wire_report  # noqa: F401 - stubs_hit: a fixture
from tests.test_10_frames import (BINARY, CLOSE, CONTINUATION, KAPPA, KAPPA_BYTES, PING, PONG, RSV1, RSV2, RSV3,
                                  TEXT, client_frame, close, frames_on_the_wire, header_only, more, text)
# Lesson 10's serve(): an option the Server does not take yet names exercise 10.2, and at
# teardown the server first sees its clients go (so 10.3 passes before 10.5 is written).
from tests.test_10_websockets import serve  # noqa: F401 - a fixture

WAIT = 5.0  # seconds to wait for what the server should do at once
KB, MB = 1024, 1024 * 1024
LIMIT = 64 * KB  # ws_max_size of the category 9 cases that check the limit

HANDSHAKE = (b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")  # RFC 6455 §1.3
CLOSE_1000 = close(1000)
HELLO = text("Hello")
ECHO_HELLO = ("text", "Hello")
NORMAL, PROTOCOL_ERROR, INVALID_PAYLOAD, TOO_BIG = 1000, 1002, 1007, 1009
OPCODES = {CONTINUATION: "continuation", TEXT: "text", BINARY: "binary", CLOSE: "close", PING: "ping", PONG: "pong"}


# --- The app: echo every message as it came (text as text, bytes as bytes) -------------------

async def echo_app(scope, receive, send):
    assert scope["type"] == "websocket", f"the echo app serves WebSockets only, got a {scope['type']} scope"
    message = await receive()
    assert message["type"] == "websocket.connect", f"the first message must be websocket.connect, got {message}"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        reply = {"text": message["text"]} if message.get("text") is not None else {"bytes": message["bytes"]}
        try:
            await send({"type": "websocket.send", **reply})
        except OSError:  # ASGI 2.4: send() after the close raises OSError
            return


# --- A raw client ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerFrame:
    first_byte: int  # FIN, RSV1-3, opcode
    second_byte: int  # MASK, 7-bit length
    length_bytes: int  # 0, 2 or 8: the extended length's size
    payload: bytes

    @property
    def opcode(self) -> int:
        return self.first_byte & 0x0F

    def problems(self) -> list[str]:
        """What RFC 6455 §5.1/§5.2 forbids in a server's frame (this list sends nothing needing fragments)."""
        found = []
        if not self.first_byte & 0x80:
            found.append("FIN is 0: the echo of a message is one final frame here")
        if self.first_byte & 0x70:
            found.append(f"reserved bits {self.first_byte & 0x70:#04x} set: no extension was negotiated (§5.2)")
        if self.second_byte & 0x80:
            found.append("the MASK bit is set: a server never masks its frames (§5.1)")
        shortest = 0 if len(self.payload) <= 125 else 2 if len(self.payload) <= 0xFFFF else 8
        if self.length_bytes != shortest:
            found.append(f"a {len(self.payload)}-byte payload with a {self.length_bytes * 8 or 7}-bit length: "
                         f"§5.2 wants the shortest form ({shortest * 8 or 7}-bit)")
        return found

    def event(self) -> tuple:
        """("text", str), ("bytes", b), ("pong", b), ("close", code or None: no code) or ("opcode N", b)."""
        payload = self.payload
        if self.opcode == TEXT:
            try:
                return ("text", payload.decode("utf-8"))
            except UnicodeDecodeError:
                return ("text that is not UTF-8", payload)
        if self.opcode == BINARY:
            return ("bytes", payload)
        if self.opcode == CLOSE:
            return ("close", int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None)
        return (OPCODES.get(self.opcode, f"opcode {self.opcode:#x}"), payload)


class RawWebSocket:
    """A WebSocket client on a plain socket: the handshake, then frames as bytes.

    `received` holds every byte the server sent after its 101 response."""

    def __init__(self, address, timeout: float = WAIT) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # pieces leave one by one
        self.buffer = b""
        self.received = b""

    def handshake(self) -> bytes:
        """Send HANDSHAKE; return the server's response head (whatever its status)."""
        self.sock.sendall(HANDSHAKE)
        while b"\r\n\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                break
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.received = self.buffer
        return head

    def send(self, data: bytes, piece: Optional[int] = None) -> None:
        try:
            for start in range(0, len(data), piece or len(data) or 1):
                self.sock.sendall(data[start:start + (piece or len(data))])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed early; what it sent before says why

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(256 * KB)
        except ConnectionResetError:
            data = b""
        self.buffer += data
        self.received += data
        return bool(data)

    def _take(self, size: int) -> Optional[bytes]:
        while len(self.buffer) < size:
            if not self._fill():
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_frame(self) -> Optional[ServerFrame]:
        """The next whole frame; None once the server closed the connection (b"" or a reset).
        Raises socket.timeout if nothing comes within the timeout."""
        head = self._take(2)
        if head is None:
            return None
        length, length_bytes = head[1] & 0x7F, 0
        if length >= 126:
            length_bytes = 2 if length == 126 else 8
            extended = self._take(length_bytes)
            if extended is None:
                return None
            length = int.from_bytes(extended, "big")
        if head[1] & 0x80 and self._take(4) is None:  # a (wrongly) masked frame: skip the key
            return None
        payload = self._take(length)
        return None if payload is None else ServerFrame(head[0], head[1], length_bytes, payload)

    def read_frames(self, count: int) -> tuple[list[ServerFrame], str]:
        """Up to `count` frames, fewer if a Close comes first; and how the stream went on:
        "closed" (the server ended the TCP connection), "silent" (nothing more within
        the timeout), "" (`count` frames came and no Close) or, after a Close, what came next."""
        frames: list[ServerFrame] = []
        try:
            while len(frames) < count:
                frame = self.read_frame()
                if frame is None:
                    return frames, "closed"
                frames.append(frame)
                if frame.opcode == CLOSE:
                    after = self.read_frame()
                    return frames, "closed" if after is None else f"a frame after the Close: {after.event()}"
        except socket.timeout:
            return frames, "silent"
        return frames, ""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawWebSocket":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# --- The cases ------------------------------------------------------------------------------

Wire = Union[bytes, Callable[[], bytes]]  # a callable builds a big case when its test runs, not at collection


@dataclass(frozen=True)
class Round:
    wire: Wire  # what the client sends
    expected: list[tuple]  # the events of the frames the server answers with

    def bytes(self) -> bytes:
        return self.wire() if callable(self.wire) else self.wire


@dataclass(frozen=True)
class Case:
    """Rounds of "send these bytes, expect these frames"; the last round ends with the server's Close."""
    rounds: list[Round]
    piece: Optional[int] = None  # send each round's bytes in pieces of this many bytes
    options: dict = field(default_factory=dict)  # Server(...) keyword arguments
    server_fails_it: bool = False  # the server closes first, for a protocol error

    @property
    def expected(self) -> list[tuple]:
        return [event for round_ in self.rounds for event in round_.expected]


def echoes(id_: str, wire: Wire, *events: tuple, piece: Optional[int] = None, **options):
    """A case that goes well: the wire, then (once its answer came) Close 1000, echoed."""
    rounds = [Round(wire, list(events)), Round(CLOSE_1000, [("close", NORMAL)])]
    return pytest.param(Case(rounds, piece, options), id=id_)


def fails(id_: str, wire: Wire, code: int, *, first: Optional[bytes] = None, piece: Optional[int] = None,
          **options):
    """A case the server must fail with Close `code`; `first`: a message echoed before the bad wire."""
    rounds = [Round(first, [ECHO_HELLO])] if first else []
    rounds.append(Round(wire, [("close", code)]))
    return pytest.param(Case(rounds, piece, options, server_fails_it=True), id=id_)


def closes(id_: str, wire: bytes, *events: tuple):
    """A case that ends with the client's own Close in `wire` (no Close 1000 added)."""
    return pytest.param(Case([Round(wire, list(events))]), id=id_)


def ping(payload: bytes = b"", **kwargs) -> bytes:
    return client_frame(PING, payload, **kwargs)


def pong(payload: bytes = b"", **kwargs) -> bytes:
    return client_frame(PONG, payload, **kwargs)


def binary(payload: bytes, fin: bool = True) -> bytes:
    return client_frame(BINARY, payload, fin=fin)


BYTES_125 = bytes(range(125))
BINARY_PAYLOAD = b"\x00\xff\xfe\xfd\xfc\xfb"


def big_message(size: int, kind: int = TEXT, fragment: Optional[int] = None) -> Callable[[], bytes]:
    """A `size`-byte message (ASCII text or bytes), in fragments of `fragment` bytes if given."""
    def build() -> bytes:
        payload = b"*" * size if kind == TEXT else bytes(range(256)) * (size // 256) + bytes(size % 256)
        step = fragment or size or 1
        starts = list(range(0, size, step)) or [0]
        return b"".join(client_frame(kind if i == 0 else CONTINUATION, payload[start:start + step],
                                     fin=start == starts[-1]) for i, start in enumerate(starts))
    return build


def big_echo(size: int, kind: int = TEXT) -> tuple:
    return ("text", "*" * size) if kind == TEXT else ("bytes", bytes(range(256)) * (size // 256) + bytes(size % 256))


LENGTHS = [0, 125, 126, 127, 128, 65535, 65536]
LENGTH_FORM = {0: "7-bit", 125: "7-bit", 126: "16-bit", 127: "16-bit", 128: "16-bit", 65535: "16-bit",
               65536: "64-bit"}

FRAMING = [  # 1: framing (§5.2 lengths in their three forms, §5.3 masking, §5.6 data frames)
    *[echoes(f"1.1-text-{n}-bytes-{LENGTH_FORM[n]}-length-rfc5.2", text("*" * n), ("text", "*" * n))
      for n in LENGTHS],
    echoes("1.1.8-text-65535-bytes-in-997-byte-pieces-rfc5.2", text("*" * 65535), ("text", "*" * 65535),
           piece=997),
    *[echoes(f"1.2-binary-{n}-bytes-{LENGTH_FORM[n]}-length-rfc5.2", binary(b"\xfe" * n), ("bytes", b"\xfe" * n))
      for n in LENGTHS],
    echoes("1.2.8-binary-65535-bytes-in-997-byte-pieces-rfc5.2", binary(b"\xfe" * 65535),
           ("bytes", b"\xfe" * 65535), piece=997),
    echoes("1.3-two-messages-in-one-piece-rfc5.6", HELLO + binary(BINARY_PAYLOAD), ECHO_HELLO,
           ("bytes", BINARY_PAYLOAD)),
    echoes("1.4-a-frame-one-byte-at-a-time-rfc5.2", text(KAPPA), ("text", KAPPA), piece=1),
    fails("1.5-unmasked-client-frame-rfc5.1", client_frame(TEXT, b"Hello", masked=False), PROTOCOL_ERROR),
]

PINGS = [  # 2: pings and pongs (§5.5.2, §5.5.3)
    echoes("2.1-ping-without-payload-rfc5.5.2", ping(), ("pong", b"")),
    echoes("2.2-ping-with-text-payload-rfc5.5.2", ping(b"Hello, world!"), ("pong", b"Hello, world!")),
    echoes("2.3-ping-with-binary-payload-rfc5.5.2", ping(BINARY_PAYLOAD), ("pong", BINARY_PAYLOAD)),
    echoes("2.4-ping-with-125-bytes-rfc5.5", ping(BYTES_125), ("pong", BYTES_125)),
    fails("2.5-ping-with-126-bytes-rfc5.5", ping(bytes(126)), PROTOCOL_ERROR),
    echoes("2.6-ping-125-bytes-in-1-byte-pieces-rfc5.5.2", ping(BYTES_125), ("pong", BYTES_125), piece=1),
    echoes("2.7-unsolicited-pong-without-payload-ignored-rfc5.5.3", pong()),
    echoes("2.8-unsolicited-pong-with-payload-ignored-rfc5.5.3", pong(b"unsolicited")),
    echoes("2.9-unsolicited-pong-then-ping-rfc5.5.3", pong(b"unsolicited") + ping(b"ping"), ("pong", b"ping")),
    echoes("2.10-ten-pings-in-a-row-rfc5.5.2", b"".join(ping(b"ping %d" % n) for n in range(10)),
           *[("pong", b"ping %d" % n) for n in range(10)]),
    echoes("2.11-ten-pings-in-1-byte-pieces-rfc5.5.2", b"".join(ping(b"ping %d" % n) for n in range(10)),
           *[("pong", b"ping %d" % n) for n in range(10)], piece=1),
]

RESERVED_BITS = [  # 3: reserved bits (§5.2: nonzero only if an extension says so; none is negotiated)
    fails("3.1-rsv1-on-text-rfc5.2", client_frame(TEXT, b"Hello", rsv=RSV1), PROTOCOL_ERROR),
    fails("3.2-rsv2-after-an-echo-then-ping-rfc5.2", client_frame(TEXT, b"Hello", rsv=RSV2) + ping(),
          PROTOCOL_ERROR, first=HELLO),
    fails("3.3-rsv1-rsv2-in-1-byte-pieces-rfc5.2", client_frame(TEXT, b"Hello", rsv=RSV1 | RSV2) + ping(),
          PROTOCOL_ERROR, first=HELLO, piece=1),
    fails("3.4-rsv3-on-text-rfc5.2", client_frame(TEXT, b"Hello", rsv=RSV3), PROTOCOL_ERROR),
    fails("3.5-rsv1-rsv3-on-binary-rfc5.2", client_frame(BINARY, BINARY_PAYLOAD, rsv=RSV1 | RSV3), PROTOCOL_ERROR),
    fails("3.6-rsv2-rsv3-on-ping-rfc5.2", client_frame(PING, b"Hello", rsv=RSV2 | RSV3), PROTOCOL_ERROR),
    fails("3.7-all-rsv-bits-on-close-rfc5.2", client_frame(CLOSE, b"\x03\xe8", rsv=RSV1 | RSV2 | RSV3),
          PROTOCOL_ERROR),
]

OPCODE_CASES = [  # 4: opcodes (§5.2: 0x3-0x7 and 0xB-0xF are reserved)
    *[fails(f"4.1-reserved-data-opcode-{op:#x}-rfc5.2", client_frame(op, b"reserved"), PROTOCOL_ERROR)
      for op in range(0x3, 0x8)],
    *[fails(f"4.2-reserved-control-opcode-{op:#x}-rfc5.2", client_frame(op, b"reserved"), PROTOCOL_ERROR)
      for op in range(0xB, 0x10)],
    fails("4.1.3-echo-then-opcode-0x5-then-ping-rfc5.2", client_frame(0x5, b"x") + ping(),
          PROTOCOL_ERROR, first=HELLO),
    fails("4.2.3-echo-then-opcode-0xd-then-ping-rfc5.2", client_frame(0xD, b"") + ping(),
          PROTOCOL_ERROR, first=HELLO),
]

FRAGMENTATION = [  # 5: fragmentation (§5.4; control frames are never fragmented, §5.5)
    fails("5.1-ping-in-two-fragments-rfc5.5", ping(b"frag", fin=False) + more(b"ment"), PROTOCOL_ERROR),
    fails("5.2-pong-in-two-fragments-rfc5.5", pong(b"frag", fin=False) + more(b"ment"), PROTOCOL_ERROR),
    echoes("5.3-text-in-two-fragments-rfc5.4", text("fragment", fin=False) + more("ed"), ("text", "fragmented")),
    echoes("5.4-text-in-two-fragments-in-1-byte-pieces-rfc5.4", text("fragment", fin=False) + more("ed"),
           ("text", "fragmented"), piece=1),
    echoes("5.6-ping-between-fragments-rfc5.4", text("fragment", fin=False) + ping(b"between") + more("ed"),
           ("pong", b"between"), ("text", "fragmented")),
    echoes("5.7-ping-between-fragments-in-1-byte-pieces-rfc5.4",
           text("fragment", fin=False) + ping(b"between") + more("ed"),
           ("pong", b"between"), ("text", "fragmented"), piece=1),
    fails("5.9-continuation-without-start-rfc5.4", more("ment") + HELLO, PROTOCOL_ERROR),
    fails("5.12-unfinished-continuation-without-start-rfc5.4", more("ment", fin=False) + more("ed"), PROTOCOL_ERROR),
    fails("5.15-fragments-after-the-final-one-rfc5.4", more("ed", fin=False) + more("again"), PROTOCOL_ERROR,
          first=text("Hel", fin=False) + more("lo")),
    fails("5.18-new-text-inside-a-fragmented-message-rfc5.4", text("frag", fin=False) + text("ment"),
          PROTOCOL_ERROR),
    echoes("5.19-pings-between-five-fragments-rfc5.4",
           text("a", fin=False) + ping(b"1") + more("b", fin=False) + ping(b"2") + more("c", fin=False)
           + pong(b"unsolicited") + more("d", fin=False) + ping(b"3") + more("e"),
           ("pong", b"1"), ("pong", b"2"), ("pong", b"3"), ("text", "abcde")),
    echoes("5.20-binary-in-three-fragments-rfc5.4",
           binary(b"\x01", fin=False) + more(b"\x02", fin=False) + more(b"\x03"), ("bytes", b"\x01\x02\x03")),
    fails("5.21-close-in-two-fragments-rfc5.5", client_frame(CLOSE, b"\x03", fin=False) + more(b"\xe8"),
          PROTOCOL_ERROR),
]

VALID_UTF8 = ["κόσμε", "\u0080", "\u07ff", "\u0800", "\uffff", "\U00010000", "\U0010ffff", "\ufeffBOM", "𝄞 clef"]
INVALID_UTF8 = {  # Markus Kuhn's UTF-8 decoder stress test, which Autobahn's 6.x cases are taken from
    "lone-continuation-byte": b"\x80",
    "byte-ff": b"ab\xffcd",
    "overlong-slash": b"\xc0\xaf",
    "overlong-nul-3-bytes": b"\xe0\x80\x80",
    "surrogate-d800": b"\xed\xa0\x80",
    "beyond-u10ffff": b"\xf4\x90\x80\x80",
    "code-point-cut-at-the-end": KAPPA_BYTES[:-1],
    "5-byte-sequence": b"\xf8\x88\x80\x80\x80",
}

UTF8 = [  # 6: UTF-8 in text messages (§5.6, §8.1: invalid text fails the connection with 1007)
    echoes("6.1.1-empty-text-rfc5.6", text(""), ("text", "")),
    echoes("6.1.2-three-empty-fragments-rfc5.4", text("", fin=False) + more("", fin=False) + more(""), ("text", "")),
    echoes("6.1.3-empty-nonempty-empty-fragments-rfc5.4",
           text("", fin=False) + more("middle", fin=False) + more(""), ("text", "middle")),
    *[echoes(f"6.2-valid-{index}-{len(sample.encode())}-bytes-rfc8.1", text(sample), ("text", sample))
      for index, sample in enumerate(VALID_UTF8)],
    echoes("6.2.3-every-byte-its-own-fragment-rfc8.1",
           text(KAPPA_BYTES[:1], fin=False)
           + b"".join(more(KAPPA_BYTES[i:i + 1], fin=False) for i in range(1, len(KAPPA_BYTES))) + more(""),
           ("text", KAPPA)),
    echoes("6.2.4-code-point-split-across-fragments-rfc8.1",
           text("clef 𝄞".encode()[:6], fin=False) + more("clef 𝄞".encode()[6:]), ("text", "clef 𝄞")),
    *[fails(f"6.3-invalid-{name}-rfc8.1", text(sample), INVALID_PAYLOAD) for name, sample in INVALID_UTF8.items()],
    fails("6.3.2-invalid-split-across-fragments-rfc8.1", text(b"\xed\xa0", fin=False) + more(b"\x80"),
          INVALID_PAYLOAD),
    fails("6.3.3-code-point-left-open-by-the-last-fragment-rfc8.1", text(KAPPA_BYTES[:1], fin=False) + more(""),
          INVALID_PAYLOAD),
    # 6.4 "fail fast": the first fragment is already wrong; the client sends nothing more,
    # so the server must not wait for the message's end to say so.
    fails("6.4.1-fail-fast-on-the-first-fragment-rfc8.1", text(b"\xce\xba\xf4\x90\x80\x80", fin=False),
          INVALID_PAYLOAD),
    fails("6.4.2-fail-fast-on-a-middle-fragment-rfc8.1", text("valid", fin=False) + more(b"\xf5", fin=False),
          INVALID_PAYLOAD),
    echoes("6.5-invalid-bytes-in-binary-are-not-checked-rfc5.6", binary(b"\xed\xa0\x80\xff"),
           ("bytes", b"\xed\xa0\x80\xff")),
    fails("6.6-echo-before-invalid-text-rfc8.1", text(b"\xc0\xaf"), INVALID_PAYLOAD, first=HELLO),
]

VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535]

CLOSING = [  # 7: the close handshake (§5.5.1, §7.1, §7.4)
    echoes("7.1.1-echo-then-close-rfc7.1.2", HELLO, ECHO_HELLO),
    closes("7.1.2-close-twice-only-one-answer-rfc5.5.1", CLOSE_1000 + CLOSE_1000, ("close", NORMAL)),
    closes("7.1.3-ping-after-close-not-answered-rfc5.5.1", CLOSE_1000 + ping(b"late"), ("close", NORMAL)),
    closes("7.1.4-text-after-close-not-echoed-rfc5.5.1", CLOSE_1000 + text("late"), ("close", NORMAL)),
    closes("7.1.5-close-between-fragments-rfc5.5.1", text("frag", fin=False) + CLOSE_1000 + more("ment"),
           ("close", NORMAL)),
    closes("7.3.1-close-without-payload-answered-without-code-rfc7.1.5", close(), ("close", None)),
    fails("7.3.2-close-with-1-byte-payload-rfc5.5.1", client_frame(CLOSE, b"\x03"), PROTOCOL_ERROR),
    closes("7.3.3-close-with-code-only-rfc5.5.1", close(1000), ("close", NORMAL)),
    closes("7.3.4-close-with-code-and-reason-rfc5.5.1", close(1000, b"see you"), ("close", NORMAL)),
    closes("7.3.5-close-with-123-byte-reason-rfc5.5", close(1000, b"r" * 123), ("close", NORMAL)),
    fails("7.3.6-close-with-124-byte-reason-rfc5.5", close(1000, b"r" * 124), PROTOCOL_ERROR),
    fails("7.5.1-close-reason-not-utf-8-rfc5.5.1", close(1000, b"\xce\xba\xf4\x90\x80\x80"), INVALID_PAYLOAD),
    *[closes(f"7.7-valid-code-{code}-answered-rfc7.4.1", close(code), ("close", code)) for code in VALID_CODES],
    *[fails(f"7.9-invalid-code-{code}-rfc7.4.1", close(code), PROTOCOL_ERROR) for code in INVALID_CODES],
]

LIMITS = [  # 9: big messages, and ws_max_size (§10.4: an endpoint may limit a frame's and a message's size)
    *[echoes(f"9.1-text-{size // KB}-kb-rfc5.2", big_message(size), big_echo(size))
      for size in (64 * KB, 256 * KB, MB)],
    *[echoes(f"9.2-binary-{size // KB}-kb-rfc5.2", big_message(size, BINARY), big_echo(size, BINARY))
      for size in (64 * KB, 256 * KB, MB)],
    *[echoes(f"9.3-text-1-mb-in-{fragment}-byte-fragments-rfc5.4", big_message(MB, TEXT, fragment), big_echo(MB))
      for fragment in (4 * KB, 64 * KB)],
    echoes("9.4-binary-1-mb-in-64-kb-fragments-rfc5.4", big_message(MB, BINARY, 64 * KB), big_echo(MB, BINARY)),
    echoes("9.5-text-1-mb-in-64-kb-pieces-rfc5.2", big_message(MB), big_echo(MB), piece=64 * KB),
    echoes("9.6-message-of-exactly-ws-max-size", big_message(LIMIT), big_echo(LIMIT), ws_max_size=LIMIT),
    fails("9.7-text-one-byte-over-ws-max-size-rfc7.4.1", big_message(LIMIT + 1), TOO_BIG, ws_max_size=LIMIT),
    fails("9.7-binary-header-announcing-4-gb-rfc7.4.1", header_only(BINARY, 4 * 1024 * MB), TOO_BIG,
          ws_max_size=LIMIT),
    fails("9.7-fragments-adding-up-past-ws-max-size-rfc7.4.1", big_message(LIMIT + 1, BINARY, 16 * KB), TOO_BIG,
          ws_max_size=LIMIT),
    echoes("9.7-control-frames-not-counted-in-ws-max-size",
           text("*" * (LIMIT - 10), fin=False) + ping(b"*" * 100) + more("*" * 10),
           ("pong", b"*" * 100), ("text", "*" * LIMIT), ws_max_size=LIMIT),
    echoes("9.7-each-message-counted-from-zero", text("*" * (LIMIT - 1)) + text("*" * (LIMIT - 1)),
           ("text", "*" * (LIMIT - 1)), ("text", "*" * (LIMIT - 1)), ws_max_size=LIMIT),
]

CATEGORIES = {"1": FRAMING, "2": PINGS, "3": RESERVED_BITS, "4": OPCODE_CASES, "5": FRAGMENTATION, "6": UTF8,
              "7": CLOSING, "9": LIMITS}

NEXT_STEP = {  # by Autobahn category: where to look when one of its cases fails
    "1": "frames.py reads lengths and masks (test_10_frames.py's category 1\n"
         "  shows it alone); the server echoes with text_frame/binary_frame;\n"
         "  a ProtocolError (an unmasked frame) closes with start_closing(error.code).",
    "2": "read_events(): a Ping gets pong_frame(its payload) at once, from\n"
         "  the server, never the app; a Pong nobody asked for is dropped.",
    "3": "a frame with RSV bits set is a ProtocolError(1002): read_events()\n"
         "  answers it with start_closing(error.code, ...).",
    "4": "an unknown opcode is a ProtocolError(1002): read_events() answers\n"
         "  it with start_closing(error.code, ...).",
    "5": "fragments make one message (frames.py); a control frame between\n"
         "  them is acted on at once; a misplaced continuation is a 1002.",
    "6": "text is checked as its fragments come (frames.py); invalid UTF-8\n"
         "  closes with 1007: the ProtocolError's own code.",
    "7": "close_received(): answer an OPEN peer's Close with its code (an\n"
         "  empty Close with an empty one), then close TCP; read nothing more.",
    "9": "FrameParser(ws_max_size) must get the server's setting; a message\n"
         "  over it closes with 1009 as soon as a header announces it.",
}


def describe(events: list[tuple], limit: int = 60) -> str:
    """Events as a short list for a message: `text 'Hello', pong b'', close 1000`."""
    shown = []
    for kind, *rest in events:
        value = rest[0] if rest else None
        if isinstance(value, (str, bytes)) and len(value) > limit:
            value = f"{value[:20]!r}...({len(value)} {'chars' if isinstance(value, str) else 'bytes'})"
        elif value is not None:
            value = repr(value) if isinstance(value, (str, bytes)) else str(value)
        if kind == "close" and value is None:
            value = "(no code)"
        shown.append(kind if value is None else f"{kind} {value}")
    return ", ".join(shown) or "no frames"


@pytest.fixture(scope="module")
def lesson(load_lesson):
    return load_lesson(10)


def run_case(serve, case: Case, category: str) -> None:
    """Play the case's rounds; fail at the first answer that differs from the expected one."""
    server = serve(echo_app, **case.options)
    sent, events, frames = b"", [], []
    with RawWebSocket(server.address) as client:
        head = client.handshake()
        if not head.startswith(b"HTTP/1.1 101"):
            pytest.fail("The WebSocket handshake did not give 101 Switching Protocols:"
                        + wire_report(client_sent=HANDSHAKE, server_sent=head,
                                      hint="exercise 10.2 first (tests/test_10_websockets.py)"), pytrace=False)
        for round_ in case.rounds:
            wire = round_.bytes()
            client.send(wire, case.piece)
            sent += wire
            got, after = client.read_frames(len(round_.expected))
            frames += got
            events += [frame.event() for frame in got]
            if not answers_match([frame.event() for frame in got], round_.expected, case.server_fails_it):
                fail_with_events(case, category, sent, client.received, events, after)
    if after != "closed":
        did = f"kept the connection open for {WAIT:g} s" if after == "silent" else f"sent {after}"
        hint = ("after a protocol error, send the Close, then close TCP (or\n"
                "  write_eof()): §7.1.7 forbids reading the client's Close"
                if case.server_fails_it else "after answering the client's Close, close TCP (§7.1.1)")
        pytest.fail(f"After its Close frame the server {did}.\n" + on_the_wire(sent, client.received)
                    + f"\n  hint: {hint}", pytrace=False)
    problems = [f"{frame.event()[0]}: {problem}" for frame in frames for problem in frame.problems()]
    assert not problems, "\n".join(["The server's frames break RFC 6455:", *problems])


def answers_match(got: list[tuple], expected: list[tuple], server_fails_it: bool) -> bool:
    """Equal, except that the Close answering the client's may carry 1000 instead of the
    client's own code: RFC 6455 §5.5.1 says an endpoint "typically" echoes the code, and
    Autobahn's close cases accept either (the module's rule is to echo)."""
    if got == expected:
        return True
    answering_a_close = not server_fails_it and expected and expected[-1][0] == "close"
    return bool(answering_a_close and got[:-1] == expected[:-1] and got[-1:] == [("close", NORMAL)])


def fail_with_events(case: Case, category: str, sent: bytes, received: bytes, events: list[tuple],
                     after: str) -> None:
    pieces = f" (sent in {case.piece}-byte pieces)" if case.piece else ""
    silence = {"silent": " (then silence)", "closed": " (then the connection closed)"}.get(after, "")
    pytest.fail(f"Expected the server to answer with\n  {describe(case.expected)}\n"
                f"got\n  {describe(events)}{silence}{pieces}\n" + on_the_wire(sent, received)
                + f"\n  hint: {NEXT_STEP[category]}", pytrace=False)


def on_the_wire(sent: bytes, received: bytes) -> str:
    """The client's frames unmasked, one a line, and the server's bytes (never masked)."""
    client_frames = frames_on_the_wire(sent, limit=6).replace(" · ", "\n      ")
    return f"  the client sent:\n      {client_frames}\n  the server sent: {show_bytes(received, 160)}"


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("case", CATEGORIES["1"])
def test_1_framing(serve, case):
    run_case(serve, case, "1")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("case", CATEGORIES["2"])
def test_2_pings_and_pongs(serve, case):
    run_case(serve, case, "2")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("case", CATEGORIES["3"])
def test_3_reserved_bits(serve, case):
    run_case(serve, case, "3")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("case", CATEGORIES["4"])
def test_4_opcodes(serve, case):
    run_case(serve, case, "4")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("case", CATEGORIES["5"])
def test_5_fragmentation(serve, case):
    run_case(serve, case, "5")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("case", CATEGORIES["6"])
def test_6_utf8(serve, case):
    run_case(serve, case, "6")


@pytest.mark.exercise("10.3")
@pytest.mark.parametrize("case", CATEGORIES["7"])
def test_7_close_handling(serve, case):
    run_case(serve, case, "7")


@pytest.mark.exercise("10.4")
@pytest.mark.parametrize("case", CATEGORIES["9"])
def test_9_limits(serve, case):
    run_case(serve, case, "9")


# A failure caused by a stub names it (tests/harness.py).
globals().update(name_stubs_behind_failures(globals()))
