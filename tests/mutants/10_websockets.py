"""Lesson 10 mistakes the tests must catch (see course/mutants.py).

Exercise 10.1's mistakes live in frames.py, not in the lesson's server module:
MODULE names the file the edits apply to.
"""

MODULE = "frames"

SIZE_CHECK = "        self._check_size(opcode, length)\n"
TAKE_PAYLOAD = "        payload = bytes(buffer[offset:offset + length])\n"

MUTANTS = {
    # 10.1 reading frames (RFC 6455 §5.2, §5.3)
    "mask ignored": [("return Frame(opcode, fin, unmask(payload, mask) if masked else payload)",
                      "return Frame(opcode, fin, payload)")],
    "mask bytes applied in the wrong order": [("repeated = (mask * ", "repeated = (mask[::-1] * ")],
    "unmasked client frames accepted": [("if masked != self.from_client:", "if masked and not self.from_client:")],
    "16-bit length read as 7-bit": [("if length == 126:  # a 16-bit length follows",
                                     "if False:  # a 16-bit length follows")],
    "64-bit length trusted past the maximum": [(SIZE_CHECK, "        if offset != 10:\n    " + SIZE_CHECK)],
    "size checked only once the payload is in": [(SIZE_CHECK, ""), (TAKE_PAYLOAD, SIZE_CHECK + TAKE_PAYLOAD)],
    "64-bit length with its top bit set accepted": [("if length >> 63:", "if False:")],
    "size limit per frame, not per message": [(
        "so_far = self._message_size if opcode is Opcode.CONTINUATION else 0", "so_far = 0")],
    "control frames counted against the message limit": [(
        "            return  # at most 125 bytes, checked with the first two bytes\n", "")],
    "reserved bits not checked": [("if first & 0x70:", "if False:")],
    # 10.1 control frames (§5.5)
    "control frame over 125 bytes accepted": [("if length > MAX_CONTROL_PAYLOAD:", "if False:")],
    "fragmented control frame accepted": [("            if not fin:\n", "            if False:\n")],
    # 10.1 fragmentation (§5.4)
    "continuation without a start accepted": [(
        "elif opcode is Opcode.CONTINUATION and self.state is not State.IN_MESSAGE:", "elif False:")],
    "new data frame inside a fragmented message accepted": [(
        "elif opcode is not Opcode.CONTINUATION and self.state is State.IN_MESSAGE:", "elif False:")],
    "fragments of the last message kept for the next": [(
        "self._fragments, self._text_parts, self._message_size = [], [], 0", "self._message_size = 0")],
    # 10.1 UTF-8 (§8.1)
    "UTF-8 checked per fragment only": [(
        "self._text_parts.append(self._utf8.decode(frame.payload, final=frame.fin))",
        "self._text_parts.append(frame.payload.decode())")],
    "UTF-8 checked only when the message is whole": [
        ("if self._message_opcode is Opcode.BINARY:", "if True:"),
        ('            return TextMessage("".join(self._text_parts))\n', (
            "            try:\n"
            '                return TextMessage(b"".join(self._fragments).decode("utf-8"))\n'
            "            except UnicodeDecodeError:\n"
            '                raise ProtocolError(INVALID_PAYLOAD, "not UTF-8") from None\n'))],
    # 10.1 close payloads (§5.5.1, §7.4)
    "close codes 1004-1006 accepted on the wire": [("return 1000 <= code <= 1003 or", "return 1000 <= code <= 1006 or")],
    "empty close read as 1000, not 1005": [("return Close(NO_STATUS_RECEIVED, \"\")", "return Close(NORMAL_CLOSURE, \"\")")],
    "close reason not checked for UTF-8": [('reason = payload[2:].decode("utf-8")',
                                            'reason = payload[2:].decode("utf-8", errors="replace")')],
    "bytes after a Close read on": [("            while self.state is not State.CLOSED:\n", "            while True:\n"),
                                    ("            self.state = State.CLOSED\n            self._buffer.clear()\n",
                                     "            self.state = State.CLOSED\n")],
    "a failed parser reads on": [("            raise self._failure\n", "            pass\n")],
    # 10.1 building server frames
    "server frames masked": [("    return header + payload\n",
                              "    return bytes([header[0], header[1] | 0x80]) + header[2:] + bytes(4) + payload\n")],
    "7-bit length used for 126 bytes": [("if length <= 125:", "if length <= 126:")],
    "close code written little-endian": [('payload = code.to_bytes(2, "big")', 'payload = code.to_bytes(2, "little")')],
    "control frames built over 125 bytes": [(
        "if opcode in CONTROL_OPCODES and (len(payload) > MAX_CONTROL_PAYLOAD or not fin):",
        "if opcode in CONTROL_OPCODES and not fin:")],
}

# conformance (tests/test_10_conformance.py: the server's side of RFC 6455, over a socket)
PROTOCOL_ERROR_CLOSE = "                    self.start_closing(error.code, error.reason)\n"
MUTANTS.update({
    "every protocol error closed with 1002": [("websocket", PROTOCOL_ERROR_CLOSE,
                                               PROTOCOL_ERROR_CLOSE.replace("error.code", "1002"))],
    "protocol error ends TCP without a Close frame": [
        ("websocket", PROTOCOL_ERROR_CLOSE, "                    self.transport.close()\n")],
    "after a protocol error the server waits for the client's Close": [
        ("websocket", "                    self.transport.write_eof()\n", "")],
    "pong sent without the ping's payload": [("websocket", "pong_frame(event.payload)", "pong_frame()")],
    "unsolicited pong answered": [("websocket", "                self.pong_received(event.payload)\n",
                                   "                self.transport.write(pong_frame(event.payload))\n")],
    "ws_max_size not given to the parser": [("websocket", "FrameParser(server.ws_max_size)", "FrameParser()")],
    "received text handed to the app as bytes": [(
        "websocket", '{"type": "websocket.receive", "text": event.text}',
        '{"type": "websocket.receive", "bytes": event.text.encode()}')],
    # tests/test_10_frameworks.py: Starlette's send_denial_response carries its own content-length
    "the app's content-length sent beside the server's": [(
        "websocket", 'if bytes(name).lower() not in (b"content-length", b"connection")]', "]")],
})
