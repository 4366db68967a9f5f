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
        # TODO: exercise 10.1
        raise NotImplementedError("Exercise 10.1: read client frames: feed() keeps bytes, next_event() returns whole messages and control frames, ProtocolError carries the close code.")

    def feed(self, data: bytes) -> None:
        """Keep `data` (any piece of the byte stream) for next_event() to read.

        Bytes fed after a Close, or after a ProtocolError, are ignored.
        """
        # TODO: exercise 10.1
        raise NotImplementedError("Exercise 10.1: add the bytes to a buffer unless the stream has ended.")

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
        # TODO: exercise 10.1
        raise NotImplementedError("Exercise 10.1: read whole frames from the buffer and turn them into events until one is complete.")


def unmask(payload: bytes, mask: bytes) -> bytes:
    """`payload` with each byte XOR-ed with mask[i % 4] (RFC 6455 §5.3).

    Masking twice gives the payload back, so this also masks.
    """
    # TODO: exercise 10.1
    raise NotImplementedError("Exercise 10.1: XOR every byte of the payload with the mask byte at its position modulo 4.")


def parse_close(payload: bytes) -> Close:
    """The Close event of a close frame's payload (RFC 6455 §5.5.1, §7.1.5).

    Empty: Close(1005, "") (no code was given). Otherwise a 2-byte code, big-endian,
    then a UTF-8 reason. Raises ProtocolError: 1002 for a 1-byte payload or a code
    is_valid_close_code() refuses, 1007 for a reason that is not UTF-8.
    """
    # TODO: exercise 10.1
    raise NotImplementedError('Exercise 10.1: return Close(1005, "") for an empty payload; otherwise check the length, the code and the reason\'s UTF-8.')


# -- Exercise 10.1: the builders -----------------------------------------------------------


def build_frame(opcode: Opcode, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """One frame as a server sends it: never masked (RFC 6455 §5.1), no reserved bits.

    The length takes the shortest form (§5.2): 7 bits up to 125, then 126 and 16
    bits up to 65535, then 127 and 64 bits. `fin=False` sends a fragment that is not
    the last. Raises ValueError for a control frame over 125 bytes or not final.
    """
    # TODO: exercise 10.1
    raise NotImplementedError("Exercise 10.1: check control frames, then write FIN and the opcode, the length in its shortest form (no MASK bit), and the payload.")


def text_frame(text: str) -> bytes:
    """One final text frame carrying `text` encoded as UTF-8."""
    # TODO: exercise 10.1
    raise NotImplementedError("Exercise 10.1: build a TEXT frame of the UTF-8 bytes.")


def binary_frame(data: bytes) -> bytes:
    """One final binary frame carrying `data`."""
    # TODO: exercise 10.1
    raise NotImplementedError("Exercise 10.1: build a BINARY frame.")


def ping_frame(payload: bytes = b"") -> bytes:
    """A ping; the peer answers with a pong carrying the same payload (≤ 125 bytes)."""
    # TODO: exercise 10.1
    raise NotImplementedError("Exercise 10.1: build a PING frame.")


def pong_frame(payload: bytes = b"") -> bytes:
    """A pong: the answer to Ping(payload), with the same payload (§5.5.3)."""
    # TODO: exercise 10.1
    raise NotImplementedError("Exercise 10.1: build a PONG frame.")


def close_frame(code: Optional[int] = NORMAL_CLOSURE, reason: str = "") -> bytes:
    """A close frame: the 2-byte code then the UTF-8 reason (§5.5.1).

    `code=None` sends an empty payload (then `reason` must be ""). Raises ValueError
    for a code is_valid_close_code() refuses (1005 and 1006 are never sent) and for
    a reason that makes the payload longer than 125 bytes.
    """
    # TODO: exercise 10.1
    raise NotImplementedError("Exercise 10.1: check the code and the reason, then build a CLOSE frame of the code (2 bytes, big-endian) and the reason.")
