"""Lesson 10, exercise 10.1 — WebSocket frames, sans-I/O. No sockets here.

The conformance list follows the case categories of the Autobahn|Testsuite that
apply to a frame parser: 1 framing, 2 ping/pong, 3 reserved bits, 4 opcodes,
5 fragmentation, 6 UTF-8, 7 close payloads, 9 limits. Each case id is
`<category>-<what>-rfc<section of RFC 6455>`. Every case is fed three ways
(h11's habit): whole, one byte at a time, and followed by the bytes of a next
frame; the events (and the error, with its close code) must be the same.

Client frames are built here by `client_frame()` with a fixed mask, the one of
RFC 6455 §5.7's examples, and masked by a plain loop (not the learner's code).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.harness import show_bytes

pytestmark = pytest.mark.timeout(5)  # pure computation, well under a second

MASK = bytes.fromhex("37fa213d")  # the masking key of RFC 6455 §5.7's examples
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1, RSV2, RSV3 = 0x40, 0x20, 0x10
SMALL_LIMIT = 1000  # max_message_size of the parser in the limit cases (category 9)


def client_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
                 masked: bool = True) -> bytes:
    """One frame as a client sends it (RFC 6455 §5.2): masked, shortest length form."""
    first = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if masked else 0
    if len(payload) <= 125:
        header = bytes([first, mask_bit | len(payload)])
    elif len(payload) <= 0xFFFF:
        header = bytes([first, mask_bit | 126]) + len(payload).to_bytes(2, "big")
    else:
        header = bytes([first, mask_bit | 127]) + len(payload).to_bytes(8, "big")
    if not masked:
        return header + payload
    return header + MASK + bytes(byte ^ MASK[index % 4] for index, byte in enumerate(payload))


def text(message: str | bytes, fin: bool = True, opcode: int = TEXT) -> bytes:
    return client_frame(opcode, message.encode() if isinstance(message, str) else message, fin=fin)


def more(payload: str | bytes, fin: bool = True) -> bytes:
    """A continuation frame."""
    return text(payload, fin=fin, opcode=CONTINUATION)


def close(code: int | None = None, reason: bytes = b"") -> bytes:
    return client_frame(CLOSE, (code.to_bytes(2, "big") if code is not None else b"") + reason)


def header_only(opcode: int, length: int) -> bytes:
    """A masked frame header announcing `length` bytes, with no payload after it."""
    if length <= 125:
        return bytes([0x80 | opcode, 0x80 | length]) + MASK
    if length <= 0xFFFF:
        return bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big") + MASK
    return bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big") + MASK


KAPPA = "κόσμε"  # Autobahn's UTF-8 greeting: 2-byte code points
KAPPA_BYTES = KAPPA.encode()
BINARY_125 = bytes(range(125))
BINARY_126 = bytes(range(256))[-126:]  # 0x82..0xff: never UTF-8, must not be checked as text
RFC_MASKED_HELLO = bytes.fromhex("818537fa213d7f9f4d5158")  # RFC 6455 §5.7, verbatim
TRAILING_PING = client_frame(PING, b"after")
TRAILING = TRAILING_PING + client_frame(PING, b"later")[:5]  # a whole frame and the start of one


@dataclass(frozen=True)
class Case:
    wire: bytes
    expected: list  # ("text", str) ("bytes", b) ("ping", b) ("pong", b) ("close", code, reason) ("error", code)
    max_message_size: int | None = None  # None: the parser's default


def case(id_: str, wire: bytes, *expected, max_message_size: int | None = None):
    return pytest.param(Case(wire, list(expected), max_message_size), id=id_)


ERR_PROTOCOL, ERR_UTF8, ERR_TOO_BIG = ("error", 1002), ("error", 1007), ("error", 1009)

CONFORMANCE = [
    # 1: framing — lengths in their three forms, masking (RFC 6455 §5.2, §5.3)
    case("1-text-empty-rfc5.6", text(""), ("text", "")),
    case("1-text-125-bytes-7-bit-length-rfc5.2", text("*" * 125), ("text", "*" * 125)),
    case("1-text-126-bytes-16-bit-length-rfc5.2", text("*" * 126), ("text", "*" * 126)),
    case("1-text-65535-bytes-16-bit-length-rfc5.2", text("*" * 65535), ("text", "*" * 65535)),
    case("1-text-65536-bytes-64-bit-length-rfc5.2", text("*" * 65536), ("text", "*" * 65536)),
    case("1-binary-empty-rfc5.6", client_frame(BINARY), ("bytes", b"")),
    case("1-binary-125-bytes-rfc5.2", client_frame(BINARY, BINARY_125), ("bytes", BINARY_125)),
    case("1-binary-126-bytes-rfc5.2", client_frame(BINARY, BINARY_126), ("bytes", BINARY_126)),
    case("1-binary-65536-bytes-rfc5.2", client_frame(BINARY, bytes(65536)), ("bytes", bytes(65536))),
    case("1-rfc-example-masked-hello-rfc5.7", RFC_MASKED_HELLO, ("text", "Hello")),
    case("1-two-messages-back-to-back-rfc5.6", text("one") + client_frame(BINARY, b"two"),
         ("text", "one"), ("bytes", b"two")),
    case("1-unmasked-client-frame-rfc5.1", client_frame(TEXT, b"Hello", masked=False), ERR_PROTOCOL),
    case("1-64-bit-length-top-bit-set-rfc5.2", bytes([0x82, 0xFF]) + (2**63 + 5).to_bytes(8, "big") + MASK,
         ERR_PROTOCOL),
    # 2: ping and pong (§5.5.2, §5.5.3)
    case("2-ping-empty-rfc5.5.2", client_frame(PING), ("ping", b"")),
    case("2-ping-with-payload-rfc5.5.2", client_frame(PING, b"Hello"), ("ping", b"Hello")),
    case("2-ping-binary-payload-rfc5.5.2", client_frame(PING, b"\x00\xff\xfe\xfd\xfc"),
         ("ping", b"\x00\xff\xfe\xfd\xfc")),
    case("2-ping-125-bytes-rfc5.5", client_frame(PING, b"*" * 125), ("ping", b"*" * 125)),
    case("2-ping-126-bytes-rfc5.5", client_frame(PING, b"*" * 126), ERR_PROTOCOL),
    case("2-pong-unasked-rfc5.5.3", client_frame(PONG, b"beat"), ("pong", b"beat")),
    case("2-ten-pings-in-one-piece-rfc5.5.2", b"".join(client_frame(PING, b"%d" % n) for n in range(10)),
         *[("ping", b"%d" % n) for n in range(10)]),
    case("2-ping-fragmented-rfc5.5", client_frame(PING, b"a", fin=False) + more("b"), ERR_PROTOCOL),
    # 3: reserved bits (§5.2: no extension negotiated, so all must be 0)
    case("3-rsv1-on-text-rfc5.2", client_frame(TEXT, b"Hello", rsv=RSV1), ERR_PROTOCOL),
    case("3-rsv2-on-text-rfc5.2", client_frame(TEXT, b"Hello", rsv=RSV2), ERR_PROTOCOL),
    case("3-rsv3-on-text-rfc5.2", client_frame(TEXT, b"Hello", rsv=RSV3), ERR_PROTOCOL),
    case("3-rsv-on-binary-rfc5.2", client_frame(BINARY, b"\x00", rsv=RSV1 | RSV3), ERR_PROTOCOL),
    case("3-rsv-on-ping-rfc5.2", client_frame(PING, b"", rsv=RSV2), ERR_PROTOCOL),
    case("3-rsv-on-close-rfc5.2", client_frame(CLOSE, b"\x03\xe8", rsv=RSV1 | RSV2 | RSV3), ERR_PROTOCOL),
    case("3-rsv-after-a-good-message-rfc5.2", text("Hello") + client_frame(TEXT, b"x", rsv=RSV1),
         ("text", "Hello"), ERR_PROTOCOL),
    # 4: opcodes (§5.2: 3-7 and 0xB-0xF are reserved)
    *[case(f"4-reserved-data-opcode-{op:#x}-rfc5.2", client_frame(op, b"x"), ERR_PROTOCOL) for op in range(3, 8)],
    *[case(f"4-reserved-control-opcode-{op:#x}-rfc5.2", client_frame(op), ERR_PROTOCOL) for op in range(0xB, 0x10)],
    case("4-reserved-opcode-after-a-good-message-rfc5.2", text("Hello") + client_frame(5, b"x"),
         ("text", "Hello"), ERR_PROTOCOL),
    # 5: fragmentation (§5.4)
    case("5-text-in-two-fragments-rfc5.4", text("Hel", fin=False) + more("lo"), ("text", "Hello")),
    case("5-binary-in-three-fragments-rfc5.4",
         client_frame(BINARY, b"\x01", fin=False) + more(b"\x02", fin=False) + more(b"\x03"),
         ("bytes", b"\x01\x02\x03")),
    case("5-empty-fragments-rfc5.4", text("", fin=False) + more("", fin=False) + more("a") ,
         ("text", "a")),
    case("5-two-fragmented-messages-in-a-row-rfc5.4",
         text("a", fin=False) + more("b") + client_frame(BINARY, b"c", fin=False) + more(b"d"),
         ("text", "ab"), ("bytes", b"cd")),
    case("5-ping-between-fragments-rfc5.4", text("Hel", fin=False) + client_frame(PING, b"p") + more("lo"),
         ("ping", b"p"), ("text", "Hello")),
    case("5-pong-between-fragments-rfc5.4", text("Hel", fin=False) + client_frame(PONG) + more("lo"),
         ("pong", b""), ("text", "Hello")),
    case("5-close-between-fragments-rfc5.4", text("Hel", fin=False) + close(1000),
         ("close", 1000, "")),
    case("5-continuation-without-a-message-rfc5.4", more("lo"), ERR_PROTOCOL),
    case("5-continuation-after-a-whole-message-rfc5.4", text("Hello") + more("!"),
         ("text", "Hello"), ERR_PROTOCOL),
    case("5-unfinished-continuation-without-a-message-rfc5.4", more("lo", fin=False), ERR_PROTOCOL),
    case("5-new-text-inside-a-fragmented-message-rfc5.4", text("Hel", fin=False) + text("lo"), ERR_PROTOCOL),
    case("5-new-binary-inside-fragmented-text-rfc5.4", text("Hel", fin=False) + client_frame(BINARY, b"lo"),
         ERR_PROTOCOL),
    case("5-fragmented-close-rfc5.5", client_frame(CLOSE, b"\x03", fin=False) + more(b"\xe8"), ERR_PROTOCOL),
    case("5-fragmented-ping-between-fragments-rfc5.5",
         text("a", fin=False) + client_frame(PING, b"p", fin=False) + more("b"), ERR_PROTOCOL),
    # 6: UTF-8 of text messages (§5.6, §8.1)
    case("6-two-byte-code-points-rfc8.1", text(KAPPA), ("text", KAPPA)),
    case("6-four-byte-code-point-rfc8.1", text("clef 𝄞"), ("text", "clef 𝄞")),
    case("6-code-point-split-across-fragments-rfc8.1",
         text(KAPPA_BYTES[:1], fin=False) + more(KAPPA_BYTES[1:]), ("text", KAPPA)),
    case("6-every-byte-its-own-fragment-rfc8.1",
         text(KAPPA_BYTES[:1], fin=False) + b"".join(more(KAPPA_BYTES[i:i + 1], fin=False)
                                                     for i in range(1, len(KAPPA_BYTES))) + more(""),
         ("text", KAPPA)),
    case("6-highest-code-point-u10ffff-rfc8.1", text("\U0010ffff"), ("text", "\U0010ffff")),
    case("6-byte-ff-rfc8.1", text(b"ab\xffcd"), ERR_UTF8),
    case("6-overlong-slash-rfc8.1", text(b"\xc0\xaf"), ERR_UTF8),
    case("6-surrogate-rfc8.1", text(b"\xed\xa0\x80"), ERR_UTF8),
    case("6-beyond-u10ffff-rfc8.1", text(b"\xf4\x90\x80\x80"), ERR_UTF8),
    case("6-code-point-cut-at-the-end-rfc8.1", text(KAPPA_BYTES[:-1]), ERR_UTF8),
    case("6-code-point-left-open-by-the-last-fragment-rfc8.1", text(KAPPA_BYTES[:1], fin=False) + more(""),
         ERR_UTF8),
    case("6-fail-fast-on-the-first-fragment-rfc8.1", text(b"\xce\xba\xff", fin=False), ERR_UTF8),
    case("6-fail-fast-on-a-middle-fragment-rfc8.1",
         text("Hello", fin=False) + more(b"\xf5", fin=False), ERR_UTF8),
    case("6-binary-is-not-utf-8-checked-rfc5.6", client_frame(BINARY, b"\xff\xfe"), ("bytes", b"\xff\xfe")),
    # 7: close payloads (§5.5.1, §7.1.5, §7.4)
    case("7-close-empty-rfc7.1.5", close(), ("close", 1005, "")),
    case("7-close-with-code-rfc5.5.1", close(1000), ("close", 1000, "")),
    case("7-close-with-reason-rfc5.5.1", close(1001, "au revoir ☺".encode()), ("close", 1001, "au revoir ☺")),
    case("7-close-reason-123-bytes-rfc5.5", close(1000, b"r" * 123), ("close", 1000, "r" * 123)),
    case("7-close-payload-126-bytes-rfc5.5", close(1000, b"r" * 124), ERR_PROTOCOL),
    case("7-close-payload-of-1-byte-rfc5.5.1", client_frame(CLOSE, b"\x03"), ERR_PROTOCOL),
    case("7-close-reason-not-utf-8-rfc5.5.1", close(1000, b"\xce\xba\xff"), ERR_UTF8),
    *[case(f"7-close-code-{code}-accepted-rfc7.4", close(code), ("close", code, ""))
      for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 3000, 3999, 4000, 4999)],
    *[case(f"7-close-code-{code}-refused-rfc7.4", close(code), ERR_PROTOCOL)
      for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)],
    case("7-bytes-after-close-ignored-rfc5.5.1", close(1000) + text("late") + b"\xff\xff",
         ("close", 1000, "")),
    # 9: limits (max_message_size; 1009 from the header, before any payload)
    case("9-message-at-the-limit", text("*" * SMALL_LIMIT), ("text", "*" * SMALL_LIMIT),
         max_message_size=SMALL_LIMIT),
    case("9-message-one-byte-over-the-limit-rfc7.4.1", text("*" * (SMALL_LIMIT + 1)), ERR_TOO_BIG,
         max_message_size=SMALL_LIMIT),
    case("9-16-bit-length-over-the-limit-header-only-rfc7.4.1", header_only(BINARY, SMALL_LIMIT + 1),
         ERR_TOO_BIG, max_message_size=SMALL_LIMIT),
    case("9-64-bit-length-over-the-limit-header-only-rfc7.4.1", header_only(BINARY, 2**40), ERR_TOO_BIG),
    case("9-fragments-at-the-limit", text("*" * 500, fin=False) + more("*" * 500),
         ("text", "*" * SMALL_LIMIT), max_message_size=SMALL_LIMIT),
    case("9-fragments-over-the-limit-rfc7.4.1", text("*" * 600, fin=False) + header_only(CONTINUATION, 600),
         ERR_TOO_BIG, max_message_size=SMALL_LIMIT),
    case("9-control-frames-do-not-count", text("*" * 600, fin=False) + client_frame(PING, b"*" * 100)
         + more("*" * 400), ("ping", b"*" * 100), ("text", "*" * SMALL_LIMIT), max_message_size=SMALL_LIMIT),
    case("9-a-ping-over-a-tiny-limit-is-read", client_frame(PING, b"*" * 100), ("ping", b"*" * 100),
         max_message_size=10),
    case("9-a-new-message-starts-from-zero", text("*" * 800) + text("*" * 800),
         ("text", "*" * 800), ("text", "*" * 800), max_message_size=SMALL_LIMIT),
]

NEXT_STEP = {  # by category: what to look at when a case of it fails
    "1": "read byte 1's 7-bit length (126: a 16-bit length follows,\n"
         "127: a 64-bit one), then the 4-byte mask; unmask with\n"
         "payload[i] ^ mask[i % 4] (§5.2, §5.3).",
    "2": "a ping or pong is its own event at once; over 125 bytes or\n"
         "FIN 0 is ProtocolError(1002) (§5.5).",
    "3": "RSV1-3 (byte 0 & 0x70) must be 0 when no extension was\n"
         "negotiated: ProtocolError(1002) (§5.2).",
    "4": "only opcodes 0, 1, 2, 8, 9 and 0xA exist; any other is\n"
         "ProtocolError(1002) (§5.2).",
    "5": "keep fragments until FIN; a continuation needs an open message,\n"
         "a new TEXT/BINARY needs none; control frames may come in\n"
         "between and come out at once (§5.4).",
    "6": "decode text with codecs.getincrementaldecoder('utf-8')(),\n"
         "fragment by fragment, final=True on the last one;\n"
         "UnicodeDecodeError becomes ProtocolError(1007) (§8.1).",
    "7": "empty: Close(1005, ''); 1 byte: 1002; the code must pass\n"
         "is_valid_close_code(); a reason not UTF-8: 1007 (§5.5.1).",
    "9": "add this frame's length to the fragments so far and compare with\n"
         "max_message_size as soon as the length is read, before the\n"
         "payload comes: ProtocolError(1009) (§7.4.1).",
}

OPCODE_NAMES = {CONTINUATION: "CONTINUATION", TEXT: "TEXT", BINARY: "BINARY", CLOSE: "CLOSE",
                PING: "PING", PONG: "PONG"}


def frames_on_the_wire(wire: bytes, limit: int = 4) -> str:
    """The client's frames, unmasked, for a person to read: `TEXT fin=0 b'Hel' · ...`.

    Only for messages: a plain reading of the header, never the learner's parser.
    """
    shown_frames, offset = [], 0
    while offset + 2 <= len(wire) and len(shown_frames) < limit:
        first, second = wire[offset], wire[offset + 1]
        length, at = second & 0x7F, offset + 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length, at = int.from_bytes(wire[at:at + size], "big"), at + size
        key = wire[at:at + 4] if second & 0x80 else b""
        at += len(key)
        payload = wire[at:at + length]
        if key:
            payload = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload[:40]))
        name = OPCODE_NAMES.get(first & 0x0F, f"opcode {first & 0x0F:#x}")
        notes = [f"fin={first >> 7}"] if not first & 0x80 else []
        notes += [f"rsv={first & 0x70:#04x}"] if first & 0x70 else []
        notes += [] if key else ["unmasked"]
        body = show_bytes(payload[:40], 40) + ("..." if length > 40 else "")
        if at + length > len(wire):
            body = f"({length} bytes announced, {max(0, len(wire) - at)} sent)"
        elif name == "CLOSE" and length >= 2:
            body = f"code {int.from_bytes(payload[:2], 'big')} reason {show_bytes(payload[2:40], 40)}"
        elif length > 40:
            notes.append(f"{length} bytes")
        shown_frames.append(" ".join([name, *notes, body]))
        offset = at + length
    if offset < len(wire):
        shown_frames.append(f"+ {len(wire) - offset} more bytes")
    return " · ".join(shown_frames)


@pytest.fixture(scope="module")
def frames(load_lesson):
    return load_lesson(10, "frames")


# -- helpers: feeding bytes three ways, and reading events ------------------------------------

SINGLE_BYTES = 300  # then 1 KiB pieces: a 64 KiB case fed by single bytes would only test speed


def one_byte_at_a_time(wire: bytes) -> list[bytes]:
    head = [wire[i:i + 1] for i in range(min(len(wire), SINGLE_BYTES))]
    return head + [wire[i:i + 1024] for i in range(SINGLE_BYTES, len(wire), 1024)]


FEEDS = ["whole", "one-byte-at-a-time", "with-trailing-data"]


def describe(frames, event) -> tuple:
    kinds = {frames.TextMessage: ("text", "text"), frames.BytesMessage: ("bytes", "data"),
             frames.Ping: ("ping", "payload"), frames.Pong: ("pong", "payload")}
    if type(event) in kinds:
        kind, field = kinds[type(event)]
        return kind, getattr(event, field)
    if isinstance(event, frames.Close):
        return "close", event.code, event.reason
    return "not an event", event


def read_all(frames, pieces: list[bytes], max_message_size: int | None = None) -> list:
    """Feed each piece, then take next_event() until None; an error ends the list."""
    options = {} if max_message_size is None else {"max_message_size": max_message_size}
    parser = frames.FrameParser(**options)
    got = []
    for piece in pieces:
        parser.feed(piece)
        try:
            while (event := parser.next_event()) is not None:
                got.append(describe(frames, event))
                if len(got) > 100:  # no case has that many: next_event() never says None
                    return got + [("next_event() kept returning events", "never None")]
        except frames.ProtocolError as error:
            return got + [("error", error.code)]
    return got


def shown(events: list) -> str:
    if not events:
        return "nothing (next_event() returned None)"
    parts = []
    for event in events:
        if event[0] in ("text", "bytes", "ping", "pong") and isinstance(event[1], (str, bytes)) \
                and len(event[1]) > 40:
            event = (event[0], f"<{len(event[1])} {'chars' if event[0] == 'text' else 'bytes'}>")
        parts.append("ProtocolError(%s)" % event[1] if event[0] == "error" else repr(event))
    return ", ".join(parts)


# -- exercise 10.1: the builders (first: they are the parser backwards) -----------------------

BUILT = [  # (call, arguments, the bytes RFC 6455 §5.7 or §5.2 says)
    pytest.param("text_frame", ("Hello",), "810548656c6c6f", id="text-hello-rfc5.7"),
    pytest.param("text_frame", (KAPPA,), "810a" + KAPPA_BYTES.hex(), id="text-utf-8-rfc5.6"),
    pytest.param("ping_frame", (b"Hello",), "890548656c6c6f", id="ping-hello-rfc5.7"),
    pytest.param("pong_frame", (b"Hello",), "8a0548656c6c6f", id="pong-hello-rfc5.7"),
    pytest.param("ping_frame", (), "8900", id="ping-empty-rfc5.5.2"),
    pytest.param("binary_frame", (b"\x00" * 125,), "827d" + "00" * 125, id="binary-125-7-bit-length-rfc5.2"),
    pytest.param("binary_frame", (b"\x00" * 126,), "827e007e" + "00" * 126, id="binary-126-16-bit-length-rfc5.2"),
    pytest.param("binary_frame", (b"\x00" * 256,), "827e0100" + "00" * 256, id="binary-256-16-bit-length-rfc5.7"),
    pytest.param("binary_frame", (b"\x00" * 65535,), "827effff" + "00" * 65535, id="binary-65535-16-bit-rfc5.2"),
    pytest.param("binary_frame", (b"\x00" * 65536,), "827f0000000000010000" + "00" * 65536,
                 id="binary-64KiB-64-bit-length-rfc5.7"),
    pytest.param("close_frame", (), "880203e8", id="close-default-1000-rfc5.5.1"),
    pytest.param("close_frame", (1001, "bye"), "880503e9627965", id="close-code-and-reason-rfc5.5.1"),
    pytest.param("close_frame", (None,), "8800", id="close-without-code-rfc5.5.1"),
    pytest.param("close_frame", (1012,), "880203f4", id="close-service-restart-rfc11.7"),
]


@pytest.mark.exercise("10.1")
@pytest.mark.parametrize("name, arguments, expected_hex", BUILT)
def test_builders_write_unmasked_server_frames(frames, name, arguments, expected_hex):
    expected = bytes.fromhex(expected_hex)
    got = getattr(frames, name)(*arguments)
    shown_arguments = ", ".join(show_bytes(a, 20) if isinstance(a, bytes) else repr(a) for a in arguments)
    assert got == expected, (
        f"{name}({shown_arguments})\n  expected: {show_bytes(expected, 60)}\n  got:      "
        f"{show_bytes(got, 60) if isinstance(got, bytes) else repr(got)}\n"
        "  hint: byte 0 is 0x80 (FIN) | opcode; byte 1 the length with the MASK bit 0:\n"
        "  a server never masks (§5.1); 126 + 2 bytes or 127 + 8 bytes for longer.")


@pytest.mark.exercise("10.1")
def test_a_fragmented_message_is_built_with_fin_and_continuation(frames):
    got = frames.build_frame(frames.Opcode.TEXT, b"Hel", fin=False) + frames.build_frame(
        frames.Opcode.CONTINUATION, b"lo")
    expected = bytes.fromhex("010348656c8002") + b"lo"  # RFC 6455 §5.7's fragmented "Hello"
    assert got == expected, (
        f"build_frame(TEXT, b'Hel', fin=False) + build_frame(CONTINUATION, b'lo')\n"
        f"  expected: {show_bytes(expected)}\n  got:      {show_bytes(got)}\n"
        "  hint: FIN is the top bit of byte 0: 0 on every fragment but the last.")


REFUSED = [
    pytest.param("ping_frame", (b"*" * 126,), id="ping-over-125-bytes-rfc5.5"),
    pytest.param("pong_frame", (b"*" * 126,), id="pong-over-125-bytes-rfc5.5"),
    pytest.param("close_frame", (1000, "r" * 124), id="close-reason-over-123-bytes-rfc5.5"),
    pytest.param("close_frame", (1000, "é" * 62), id="close-reason-over-123-utf-8-bytes-rfc5.5"),
    pytest.param("close_frame", (1005,), id="close-code-1005-never-sent-rfc7.4.1"),
    pytest.param("close_frame", (1006,), id="close-code-1006-never-sent-rfc7.4.1"),
    pytest.param("close_frame", (999,), id="close-code-999-rfc7.4.2"),
    pytest.param("close_frame", (None, "why"), id="close-reason-without-code-rfc5.5.1"),
]


@pytest.mark.exercise("10.1")
@pytest.mark.parametrize("name, arguments", REFUSED)
def test_builders_refuse_frames_the_rfc_forbids(frames, name, arguments):
    try:
        got = getattr(frames, name)(*arguments)
    except ValueError:
        return
    shown_arguments = ", ".join(show_bytes(a, 20) if isinstance(a, bytes) else repr(a) for a in arguments)
    pytest.fail(f"{name}({shown_arguments}) returned {show_bytes(got, 40)}; a peer would fail the\n"
                "  connection on it. Raise ValueError: control frames carry at most 125 bytes,\n"
                "  and 1005, 1006 (and codes is_valid_close_code() refuses) are never sent.",
                pytrace=False)


@pytest.mark.exercise("10.1")
def test_a_control_frame_cannot_be_built_fragmented(frames):
    try:
        got = frames.build_frame(frames.Opcode.PING, b"", fin=False)
    except ValueError:
        return
    pytest.fail(f"build_frame(Opcode.PING, b'', fin=False) returned {show_bytes(got)};\n"
                "  control frames are never fragmented (§5.5): raise ValueError.", pytrace=False)


# -- exercise 10.1: the conformance list -----------------------------------------------------


@pytest.mark.exercise("10.1")
@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("conformance", CONFORMANCE)
def test_reads_as_rfc6455_says(frames, conformance: Case, feed: str, request):
    expected = list(conformance.expected)
    if feed == "whole":
        pieces = [conformance.wire]
    elif feed == "one-byte-at-a-time":
        pieces = one_byte_at_a_time(conformance.wire)
    else:
        pieces = [conformance.wire + TRAILING]
        if expected[-1][0] not in ("error", "close"):  # the stream goes on: the next frame is read
            expected.append(("ping", b"after"))
    got = read_all(frames, pieces, conformance.max_message_size)
    if got != expected:
        case_id = request.node.callspec.id.rsplit(f"-{feed}", 1)[0]
        hint = NEXT_STEP[case_id.split("-")[0]].replace("\n", "\n    ")
        limit = conformance.max_message_size
        parser_made = f", FrameParser(max_message_size={limit})" if limit else ""
        pytest.fail(
            f"case {case_id}, fed {feed.replace('-', ' ')}{parser_made}\n"
            f"  the client sent:  {frames_on_the_wire(conformance.wire)}\n"
            f"  expected:         {shown(expected)}\n"
            f"  your parser gave: {shown(got)}\n"
            f"  next step: {hint}",
            pytrace=False,
        )


# -- exercise 10.1: the parser's other promises ----------------------------------------------


@pytest.mark.exercise("10.1")
def test_a_failed_parser_raises_the_same_error_again(frames):
    parser = frames.FrameParser()
    parser.feed(client_frame(TEXT, b"Hello", rsv=RSV1) + text("next"))
    with pytest.raises(frames.ProtocolError) as first:
        parser.next_event()
    try:
        again = parser.next_event()
    except frames.ProtocolError as error:
        assert error.code == first.value.code == 1002, (
            f"the second call raised close code {error.code}, the first {first.value.code}; both should be 1002")
        return
    pytest.fail(f"after a ProtocolError, next_event() returned {again!r}; a failed parser reads no more:\n"
                "  remember the error and raise it again on every later call.", pytrace=False)


ERRORS_WITH_REASONS = [
    pytest.param(client_frame(0x3, b"x"), 1002, id="reserved-opcode-1002"),
    pytest.param(text(b"\xff"), 1007, id="not-utf-8-1007"),
    pytest.param(header_only(BINARY, 2**40), 1009, id="too-big-1009"),
]


@pytest.mark.exercise("10.1")
@pytest.mark.parametrize("wire, code", ERRORS_WITH_REASONS)
def test_protocol_error_has_a_reason_that_fits_a_close_frame(frames, wire, code):
    parser = frames.FrameParser()
    parser.feed(wire)
    with pytest.raises(frames.ProtocolError) as caught:
        parser.next_event()
    reason = caught.value.reason
    assert caught.value.code == code and isinstance(reason, str) and reason, (
        f"expected ProtocolError({code}, reason) with a reason a person can read;\n"
        f"  got code {caught.value.code}, reason {reason!r}")
    assert len(reason.encode()) <= 123, (
        f"the reason is {len(reason.encode())} bytes of UTF-8: {reason!r}\n"
        "  the server sends it back in a Close frame, where at most 123 bytes fit (§5.5).")


CLIENT_SIDE = [
    pytest.param(client_frame(TEXT, b"Hello", masked=False), [("text", "Hello")], id="unmasked-text-read-rfc5.1"),
    pytest.param(bytes.fromhex("810548656c6c6f"), [("text", "Hello")], id="rfc-example-unmasked-hello-rfc5.7"),
    pytest.param(RFC_MASKED_HELLO, [("error", 1002)], id="masked-server-frame-refused-rfc5.1"),
]


@pytest.mark.exercise("10.1")
@pytest.mark.parametrize("wire, expected", CLIENT_SIDE)
def test_a_client_side_parser_wants_unmasked_frames(frames, wire, expected):
    parser = frames.FrameParser(from_client=False)
    parser.feed(wire)
    try:
        got = [describe(frames, parser.next_event())]
    except frames.ProtocolError as error:
        got = [("error", error.code)]
    assert got == expected, (
        f"FrameParser(from_client=False) reads what a server sends: frames without a mask\n"
        f"  fed:      {show_bytes(wire)}\n  expected: {shown(expected)}\n  got:      {shown(got)}\n"
        "  hint: from_client=False turns the mask rule round (§5.1: a server never masks).")
