"""Lesson 10 — WebSocket frames, sans-I/O (RFC 6455 §5).

What you build (exercise 10.1):
  FrameParser.feed(data)         keep the bytes a client sent, in any pieces
  FrameParser.next_event()       the next whole message or control frame, or None
  unmask(payload, mask)          undo a client's mask (RFC 6455 §5.3)
  parse_close(payload)           the code and reason of a close frame
  build_frame(opcode, payload)   one server frame (never masked)
  text_frame / binary_frame / ping_frame / pong_frame / close_frame
                                 the frames a server sends, built on build_frame

Test your code:  make test-lesson 10       See it run:  make demo-lesson 10

How this works
--------------
This module does no I/O. A server hands `feed()` whatever `recv()` gave it and
then asks `next_event()` until it answers None ("need more bytes"):

    TextMessage(text)     a whole text message, every fragment joined, UTF-8 decoded
    BytesMessage(data)    a whole binary message, every fragment joined
    Ping(payload)         answer it with pong_frame(payload)      (RFC 6455 §5.5.2)
    Pong(payload)         the answer to a ping (or an unasked heartbeat, §5.5.3)
    Close(code, reason)   the peer starts (or answers) the closing handshake (§5.5.1)

The frame on the wire (§5.2), read in this order:

    byte 0    FIN (last fragment?), RSV1-3 (must be 0), opcode (4 bits)
    byte 1    MASK (1 for every client frame), payload length (7 bits)
    then      126: the length is the next 2 bytes; 127: the next 8 bytes
    then      the 4-byte masking key (when MASK is 1)
    then      the payload, each byte XOR-ed with key[i % 4]

Rules the parser keeps:
1. Pieces do not matter. Bytes fed whole, one at a time, or in any split give
   the same events, then the same error: a frame is read only once it is whole.
2. Errors come as early as the bytes allow. Every check a frame's header can
   decide (reserved bits, opcode, mask, sizes, fragment order) is made when the
   header is in, before its payload arrives: a client announcing 2**62 bytes is
   refused after 10 bytes, never buffered.
3. Every protocol error is a ProtocolError carrying the close code to send
   (1002 protocol error, 1007 bad UTF-8, 1009 too big, §7.4.1). Once one is
   raised the parser is failed: next_event() raises it again.
4. A Close ends the stream: bytes after it are ignored (§5.5.1: nothing may
   follow a Close frame).
5. Messages are whole: fragments are kept until the FIN frame; control frames
   may come between them and come out at once (§5.4). The fragmentation state is
   one field, `state`.

Why next_event() and not feed() -> list (lesson 07's shape)? A server must act on
the messages before a bad frame (echo them, say) and then send the bad frame's
close code; one event at a time keeps that order without a list that an
exception would throw away. h11 has the same shape (receive_data / next_event).
"""

from __future__ import annotations

import codecs
import enum
from dataclasses import dataclass
from typing import Optional, Union

# websockets' default (its max_size); uvicorn allows 16 MiB. A server that reads
# whole messages into memory needs a bound, and chat-sized messages fit in 1 MiB.
MAX_MESSAGE_SIZE = 1024 * 1024
MAX_CONTROL_PAYLOAD = 125  # control frames carry at most 125 bytes (§5.5)


class Opcode(enum.IntEnum):
    """The frame types of RFC 6455 §5.2 (§11.8 registers no others)."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


CONTROL_OPCODES = (Opcode.CLOSE, Opcode.PING, Opcode.PONG)  # opcodes with the top bit set (§5.5)

# Close codes (§7.4.1) a server sends and a close frame carries.
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
NO_STATUS_RECEIVED = 1005  # reported for a Close without a code; never sent on the wire
ABNORMAL_CLOSURE = 1006  # reported when TCP closed without a Close; never sent on the wire
INVALID_PAYLOAD = 1007  # text that is not UTF-8
MESSAGE_TOO_BIG = 1009
SERVICE_RESTART = 1012  # IANA registry (§11.7): what a server sends when it shuts down


def is_valid_close_code(code: int) -> bool:
    """True for a code a close frame may carry on the wire.

    1000-1003 and 1007-1011 are RFC 6455's (§7.4.1); 1012-1014 are registered
    with IANA since (§11.7); 3000-4999 belong to libraries and applications
    (§7.4.2). 1004 is reserved, and 1005, 1006 and 1015 only ever name what an
    endpoint saw: they "MUST NOT be set as a status code in a Close control frame".
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


# -- Events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextMessage:
    text: str  # the whole message, every fragment joined and decoded


@dataclass(frozen=True)
class BytesMessage:
    data: bytes  # the whole message, every fragment joined


@dataclass(frozen=True)
class Ping:
    payload: bytes  # at most 125 bytes; a pong must carry the same bytes back


@dataclass(frozen=True)
class Pong:
    payload: bytes


@dataclass(frozen=True)
class Close:
    code: int  # 1005 (NO_STATUS_RECEIVED) when the close frame had no payload (§7.1.5)
    reason: str  # "" when none was given


Event = Union[TextMessage, BytesMessage, Ping, Pong, Close]


class ProtocolError(Exception):
    """The peer broke RFC 6455. `code` is the close code to send before closing:
    1002 (a protocol error), 1007 (text that is not UTF-8) or 1009 (a message
    over the size limit). `reason` says what was wrong, in a few words that fit
    in the Close frame the server sends back (at most 123 bytes of UTF-8)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    opcode: Opcode
    fin: bool  # the last frame of its message
    payload: bytes  # unmasked


# -- Exercise 10.1: the parser -------------------------------------------------------------


class State(enum.Enum):
    BETWEEN_MESSAGES = "the next data frame starts a message"
    IN_MESSAGE = "a fragmented message is open: only continuation and control frames may come"
    CLOSED = "a Close arrived; later bytes are ignored"
    FAILED = "the peer broke the protocol; nothing more is read"


class FrameParser:
    """One connection's frame reader: `feed(bytes)`, then `next_event()` until None.

    `max_message_size` bounds a message's payload, all its fragments together:
    more raises ProtocolError(1009) as soon as a frame header announces it.
    `from_client`: True (a server's parser) requires every frame to be masked,
    False (a client's parser) requires none to be (RFC 6455 §5.1).
    """

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE, *, from_client: bool = True) -> None:
        # EXERCISE 10.1: read client frames: feed() keeps bytes, next_event() returns whole messages and control frames, ProtocolError carries the close code.
        self.max_message_size = max_message_size
        self.from_client = from_client
        self.state = State.BETWEEN_MESSAGES
        self._buffer = bytearray()  # bytes fed and not yet read as a whole frame
        self._failure: Optional[ProtocolError] = None  # raised again once failed
        # The fragmented message being read (state IN_MESSAGE)
        self._message_opcode = Opcode.TEXT  # TEXT or BINARY: the first fragment's
        self._fragments: list[bytes] = []
        self._message_size = 0  # bytes in the fragments so far
        self._text_parts: list[str] = []  # decoded as the fragments come
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        # END EXERCISE

    def feed(self, data: bytes) -> None:
        """Keep `data` (any piece of the byte stream) for next_event() to read.

        Bytes fed after a Close, or after a ProtocolError, are ignored.
        """
        # EXERCISE 10.1: add the bytes to a buffer unless the stream has ended.
        if self.state in (State.CLOSED, State.FAILED):
            return
        self._buffer += data
        # END EXERCISE

    def next_event(self) -> Optional[Event]:
        """The next event the bytes fed so far complete; None: need more bytes.

        Events come in the order of the frames; a fragmented message comes out once,
        whole, when its last fragment arrives; a control frame between its fragments
        comes out when it arrives. After a Close, None forever.

        Raises ProtocolError (and again on every later call) for: reserved bits set
        (no extension is negotiated) or an unknown opcode; a frame not masked as
        `from_client` says; a 64-bit length with its top bit set; a control frame
        that is fragmented or over 125 bytes; a continuation frame with no message
        to continue, or a new message before the last one's final fragment: all 1002.
        Text (each fragment as it comes, and the whole at the end) that is not
        UTF-8: 1007. A message over max_message_size: 1009. A close payload of one
        byte, or with a code is_valid_close_code() refuses: 1002; its reason not
        UTF-8: 1007.
        """
        # EXERCISE 10.1: read whole frames from the buffer and turn them into events until one is complete.
        if self._failure is not None:
            raise self._failure
        try:
            while self.state is not State.CLOSED:
                frame = self._read_frame()
                if frame is None:
                    return None
                event = self._on_frame(frame)
                if event is not None:
                    return event
            return None
        except ProtocolError as error:
            self.state = State.FAILED
            self._failure = error
            self._buffer.clear()
            raise
        # END EXERCISE
    # SOLUTION ONLY

    # -- reading one frame (§5.2) -----------------------------------------------------------

    def _read_frame(self) -> Optional[Frame]:
        """The next whole frame, taken out of the buffer; None if it is not all here.

        The header is checked as soon as its bytes are in, even while the payload
        is still missing (rule 2); checking again on the next call is cheap.
        """
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        fin, opcode, masked, length = self._check_first_two_bytes(buffer[0], buffer[1])
        offset = 2
        if length == 126:  # a 16-bit length follows
            if len(buffer) < 4:
                return None
            length, offset = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:  # a 64-bit length follows
            if len(buffer) < 10:
                return None
            length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if length >> 63:
                raise ProtocolError(PROTOCOL_ERROR, "the top bit of a 64-bit length must be 0 (§5.2)")
        self._check_size(opcode, length)
        mask = b""
        if masked:
            if len(buffer) < offset + 4:
                return None
            mask, offset = bytes(buffer[offset:offset + 4]), offset + 4
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset:offset + length])
        del buffer[:offset + length]
        return Frame(opcode, fin, unmask(payload, mask) if masked else payload)

    def _check_first_two_bytes(self, first: int, second: int) -> tuple[bool, Opcode, bool, int]:
        """(fin, opcode, masked, 7-bit length) of a header, or ProtocolError(1002)."""
        fin, masked, length = bool(first & 0x80), bool(second & 0x80), second & 0x7F
        if first & 0x70:  # RSV1-3: only an extension may set them, and none was negotiated
            raise ProtocolError(PROTOCOL_ERROR, f"reserved bits set: {first & 0x70:#04x} (§5.2)")
        try:
            opcode = Opcode(first & 0x0F)
        except ValueError:
            raise ProtocolError(PROTOCOL_ERROR, f"unknown opcode {first & 0x0F:#x} (§5.2)") from None
        if masked != self.from_client:  # §5.1: clients mask every frame, servers none
            said = "a client frame is not masked" if self.from_client else "a server frame is masked"
            raise ProtocolError(PROTOCOL_ERROR, f"{said} (§5.1)")
        if opcode in CONTROL_OPCODES:
            # Length 126 or 127 announces an extended length: over 125 either way (§5.5).
            if length > MAX_CONTROL_PAYLOAD:
                raise ProtocolError(PROTOCOL_ERROR, f"a {opcode.name} frame over 125 bytes (§5.5)")
            if not fin:
                raise ProtocolError(PROTOCOL_ERROR, f"a fragmented {opcode.name} frame (§5.5)")
        elif opcode is Opcode.CONTINUATION and self.state is not State.IN_MESSAGE:
            raise ProtocolError(PROTOCOL_ERROR, "a continuation frame with no message to continue (§5.4)")
        elif opcode is not Opcode.CONTINUATION and self.state is State.IN_MESSAGE:
            raise ProtocolError(PROTOCOL_ERROR,
                                f"a new {opcode.name} message inside a fragmented one (§5.4)")
        return fin, opcode, masked, length

    def _check_size(self, opcode: Opcode, length: int) -> None:
        if opcode in CONTROL_OPCODES:
            return  # at most 125 bytes, checked with the first two bytes
        so_far = self._message_size if opcode is Opcode.CONTINUATION else 0
        if so_far + length > self.max_message_size:
            raise ProtocolError(MESSAGE_TOO_BIG, f"a message of {so_far + length} bytes or more; "
                                                 f"the limit is {self.max_message_size}")

    # -- from frames to events --------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> Optional[Event]:
        """The event this frame completes, if any."""
        if frame.opcode is Opcode.PING:
            return Ping(frame.payload)
        if frame.opcode is Opcode.PONG:
            return Pong(frame.payload)
        if frame.opcode is Opcode.CLOSE:
            self.state = State.CLOSED
            self._buffer.clear()
            return parse_close(frame.payload)
        if frame.opcode is not Opcode.CONTINUATION:
            self._start_message(frame.opcode)
        self._add_fragment(frame)
        if not frame.fin:
            self.state = State.IN_MESSAGE
            return None
        self.state = State.BETWEEN_MESSAGES
        if self._message_opcode is Opcode.TEXT:
            return TextMessage("".join(self._text_parts))
        return BytesMessage(b"".join(self._fragments))

    def _start_message(self, opcode: Opcode) -> None:
        self._message_opcode = opcode
        self._fragments, self._text_parts, self._message_size = [], [], 0
        self._utf8.reset()

    def _add_fragment(self, frame: Frame) -> None:
        self._message_size += len(frame.payload)
        if self._message_opcode is Opcode.BINARY:
            self._fragments.append(frame.payload)
            return
        # The incremental decoder keeps a code point split across fragments for
        # the next one, and fails at once on bytes no UTF-8 text can start with
        # (Autobahn 6.4: "fail fast"); final=True fails on a code point left open.
        try:
            self._text_parts.append(self._utf8.decode(frame.payload, final=frame.fin))
        except UnicodeDecodeError as error:
            raise ProtocolError(INVALID_PAYLOAD, f"text that is not UTF-8: {error.reason} (§8.1)") from None

    # END SOLUTION ONLY


def unmask(payload: bytes, mask: bytes) -> bytes:
    """`payload` with each byte XOR-ed with mask[i % 4] (RFC 6455 §5.3).

    Masking twice gives the payload back, so this also masks.
    """
    # EXERCISE 10.1: XOR every byte of the payload with the mask byte at its position modulo 4.
    # One big-integer XOR, not a Python loop over the bytes: 1 MiB takes 6 ms, the
    # loop 211 ms (python -m timeit, lesson 10 README).
    repeated = (mask * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")
    # END EXERCISE


def parse_close(payload: bytes) -> Close:
    """The Close event of a close frame's payload (RFC 6455 §5.5.1, §7.1.5).

    Empty: Close(1005, "") (no code was given). Otherwise a 2-byte code, big-endian,
    then a UTF-8 reason. Raises ProtocolError: 1002 for a 1-byte payload or a code
    is_valid_close_code() refuses, 1007 for a reason that is not UTF-8.
    """
    # EXERCISE 10.1: return Close(1005, "") for an empty payload; otherwise check the length, the code and the reason's UTF-8.
    if not payload:
        return Close(NO_STATUS_RECEIVED, "")
    if len(payload) == 1:
        raise ProtocolError(PROTOCOL_ERROR, "a close payload of 1 byte: a code takes 2 (§5.5.1)")
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_close_code(code):
        raise ProtocolError(PROTOCOL_ERROR, f"close code {code} may not be sent (§7.4)")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(INVALID_PAYLOAD, "a close reason that is not UTF-8 (§5.5.1)") from None
    return Close(code, reason)
    # END EXERCISE


# -- Exercise 10.1: the builders -----------------------------------------------------------


def build_frame(opcode: Opcode, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """One frame as a server sends it: never masked (RFC 6455 §5.1), no reserved bits.

    The length takes the shortest form (§5.2): 7 bits up to 125, then 126 and 16
    bits up to 65535, then 127 and 64 bits. `fin=False` sends a fragment that is not
    the last. Raises ValueError for a control frame over 125 bytes or not final.
    """
    # EXERCISE 10.1: check control frames, then write FIN and the opcode, the length in its shortest form (no MASK bit), and the payload.
    if opcode in CONTROL_OPCODES and (len(payload) > MAX_CONTROL_PAYLOAD or not fin):
        raise ValueError(f"a {opcode.name} frame must be final and at most 125 bytes, "
                         f"got {len(payload)} bytes, fin={fin}")
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length <= 125:
        header = bytes([first, length])
    elif length <= 0xFFFF:
        header = bytes([first, 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([first, 127]) + length.to_bytes(8, "big")
    return header + payload
    # END EXERCISE


def text_frame(text: str) -> bytes:
    """One final text frame carrying `text` encoded as UTF-8."""
    # EXERCISE 10.1: build a TEXT frame of the UTF-8 bytes.
    return build_frame(Opcode.TEXT, text.encode("utf-8"))
    # END EXERCISE


def binary_frame(data: bytes) -> bytes:
    """One final binary frame carrying `data`."""
    # EXERCISE 10.1: build a BINARY frame.
    return build_frame(Opcode.BINARY, data)
    # END EXERCISE


def ping_frame(payload: bytes = b"") -> bytes:
    """A ping; the peer answers with a pong carrying the same payload (≤ 125 bytes)."""
    # EXERCISE 10.1: build a PING frame.
    return build_frame(Opcode.PING, payload)
    # END EXERCISE


def pong_frame(payload: bytes = b"") -> bytes:
    """A pong: the answer to Ping(payload), with the same payload (§5.5.3)."""
    # EXERCISE 10.1: build a PONG frame.
    return build_frame(Opcode.PONG, payload)
    # END EXERCISE


def close_frame(code: Optional[int] = NORMAL_CLOSURE, reason: str = "") -> bytes:
    """A close frame: the 2-byte code then the UTF-8 reason (§5.5.1).

    `code=None` sends an empty payload (then `reason` must be ""). Raises ValueError
    for a code is_valid_close_code() refuses (1005 and 1006 are never sent) and for
    a reason that makes the payload longer than 125 bytes.
    """
    # EXERCISE 10.1: check the code and the reason, then build a CLOSE frame of the code (2 bytes, big-endian) and the reason.
    if code is None:
        if reason:
            raise ValueError(f"a close reason needs a code, got reason {reason!r} without one")
        return build_frame(Opcode.CLOSE)
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent in a close frame (RFC 6455 §7.4)")
    payload = code.to_bytes(2, "big") + reason.encode("utf-8")
    if len(payload) > MAX_CONTROL_PAYLOAD:
        raise ValueError(f"the close reason is {len(payload) - 2} bytes of UTF-8; at most 123 fit")
    return build_frame(Opcode.CLOSE, payload)
    # END EXERCISE
