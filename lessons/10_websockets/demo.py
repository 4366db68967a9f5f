"""Lesson 10 demo: what WebSocket frames look like on the wire, read by your FrameParser.

    make demo-lesson 10

Part 1 dumps, frame by frame, what a client sends: a masked text message (the
example of RFC 6455 §5.7, byte for byte), a text message in three fragments
with a ping between two of them (the first fragment ends in the middle of a
UTF-8 character), and a close. Part 2 feeds that stream to your FrameParser in
7-byte pieces and prints each event with the byte where it completed. Part 3
shows what a server sends back, built by your builders: no mask. Part 4 feeds
three broken streams and prints the close code your parser chose for each.

The client frames are built here with a fixed masking key (a browser picks a
fresh random key per frame, RFC 6455 §5.3), so the dump is the same every run.
"""

from __future__ import annotations

from frames import (BytesMessage, Close, FrameParser, Ping, Pong, ProtocolError, TextMessage, close_frame,
                    pong_frame, text_frame)

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


if __name__ == "__main__":
    part_1()
    part_2()
    part_3()
    part_4()
