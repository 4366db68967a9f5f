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
    "unsolicited pong answered": [("websocket", "elif isinstance(event, Pong) and self.ping_payload:",
                                   "elif isinstance(event, Pong):\n                self.transport.write(pong_frame(b''))")],
    "ws_max_size not given to the parser": [("websocket", "FrameParser(server.ws_max_size)", "FrameParser()")],
    "received text handed to the app as bytes": [(
        "websocket", '{"type": "websocket.receive", "text": event.text}',
        '{"type": "websocket.receive", "bytes": event.text.encode()}')],
    # tests/test_10_frameworks.py: Starlette's send_denial_response carries its own content-length
    "the app's content-length sent beside the server's": [(
        "websocket", 'if bytes(name).lower() not in (b"content-length", b"connection")]', "]")],
})

# 10.2-10.5: the server's WebSocket behaviour (websocket.py; "server": the hook in server.py).
# Caught by tests/test_10_websockets.py.
MUTANTS.update({
    # 10.2 the handshake
    "accept key computed without the RFC's GUID": [("websocket", "hashlib.sha1(key.strip() + GUID)",
                                                    "hashlib.sha1(key.strip())")],
    "Connection compared whole, case-sensitively": [(
        "websocket", 'and b"upgrade" in header_tokens(headers, b"connection"))',
        'and (b"connection", b"Upgrade") in headers)')],
    "version not checked (no 426)": [("websocket", 'if versions != [b"13"]:', "if False:")],
    "key not checked (no 400)": [("websocket", "    if len(nonce) != 16:\n", "    if False:\n")],
    "403 not sent for close-before-accept: accepted, then closed": [(
        "websocket", 'self.refuse(403, [], b"403 Forbidden\\n")',
        'self.accept({"type": "websocket.accept"}); self.start_closing(NORMAL_CLOSURE)')],
    "subprotocol chosen by the app not sent": [("websocket", "    if subprotocol is not None:\n",
                                                "    if False:\n")],
    "app returning without accepting leaves the handshake unanswered": [(
        "websocket", 'self.refuse(500, [], b"500 Internal Server Error\\n")', "self.transport.close()")],
    "the hook missing (upgrade served as HTTP)": [(
        "server", "if (self.parser.should_upgrade() and http_version", "if (False and http_version")],
    "an HTTP/1.0 Upgrade taken for a WebSocket": [("server", 'and http_version != "1.0"\n', "\n")],
    "the HTTP connection left in server.connections after the switch": [(
        "server", "        self.shared.connections.discard(self)  # the WebSocket takes this connection's place\n",
        "")],
    "the HTTP keep-alive clock left running on the WebSocket": [(
        "server", "        self.deadline = None\n        if self.timer is not None:\n            self.timer.cancel()\n"
                  "            self.timer = None\n        self.shared.connections.discard(self)  # the WebSocket",
        "        self.wait_for_bytes(self.shared.timeout_keep_alive)\n"
        "        self.shared.connections.discard(self)  # the WebSocket")],
    "WebSocket not counted in connections": [("websocket", "        self.shared.connections.add(self)\n", "")],
    # 10.3 messages and closing
    "bytes after the handshake's head dropped": [("server", "self.upgrade_data = bytes(data) + self.unparsed",
                                                   'self.upgrade_data = b""')],
    "early frames not read at accept": [("websocket", "            self.data_received(early)\n", "            pass\n")],
    "ping not answered": [("websocket", "                    self.transport.write(pong_frame(event.payload))\n",
                           "                    pass\n")],
    "ping shown to the app": [("websocket", "                if self.state is State.OPEN:  # §5.5.2",
                               "                self.deliver({'type': 'websocket.receive', 'bytes': event.payload})\n"
                               "                if self.state is State.OPEN:  # §5.5.2")],
    "1005 sent on the wire": [("websocket", "self.transport.write(close_frame(None if close.code == NO_STATUS_RECEIVED "
                                            "else close.code))", "self.transport.write(b'\\x88\\x02' + "
                                            "close.code.to_bytes(2, 'big'))")],
    "close not echoed": [("websocket", "            self.transport.write(close_frame(None if close.code == "
                                       "NO_STATUS_RECEIVED else close.code))\n", "")],
    "TCP left open after the close handshake": [(
        "websocket", "        self.transport.close()  # the server closes TCP first", "        pass  # ")],
    "disconnect code always 1000": [("websocket", "self.close_code, self.close_reason = close.code, close.reason",
                                     "self.close_code, self.close_reason = NORMAL_CLOSURE, close.reason")],
    "1006 not reported on a dropped connection": [(
        "websocket", "self.close_code = ABNORMAL_CLOSURE  # no Close frame either way",
        "self.close_code = NORMAL_CLOSURE  # no Close frame either way")],
    "text sent as binary": [("websocket", "text_frame(text) if text is not None else binary_frame(data)",
                             "binary_frame(text.encode()) if text is not None else binary_frame(data)")],
    "app's close reason dropped": [("websocket", 'message.get("reason") or ""', '""')],
    "app crash closes with 1000, not 1011": [("websocket", "            self.end_after_app(INTERNAL_ERROR)\n",
                                               "            self.end_after_app(NORMAL_CLOSURE)\n")],
    "send() after the close returns silently": [(
        "websocket", "            raise ClientDisconnected(f\"{message['type']!r} after the WebSocket closed",
        "            return None; (f\"{message['type']!r} after the WebSocket closed")],
    # 10.4 flow control, limits, keep-alive
    "reading never paused": [("websocket", "                self.transport.pause_reading()\n",
                              "                pass\n")],
    "the inbox limit keeps the peer's Close unread": [(
        "websocket", "while len(self.inbox) < self.shared.ws_max_queue or self.state is not State.OPEN:",
        "while len(self.inbox) < self.shared.ws_max_queue:")],
    "reading never resumed": [("websocket", "                self.transport.resume_reading()\n",
                               "                pass\n")],
    "send() never waits (drain ignored)": [(
        "websocket", "            if self.drained is not None:  # 10.4: the client is not reading: wait until it does\n"
                     "                await self.drain()\n", "")],
    "keep-alive ping never sent": [("websocket", "            self.set_timer(self.shared.ws_ping_interval, "
                                                 "self.send_ping)\n", "            pass\n")],
    "pong not checked: the next ping never comes": [("websocket", "            self.schedule_ping()\n        # END",
                                                     "            pass\n        # END")],
    "dead peer never closed": [("websocket", "            self.set_timer(self.shared.ws_ping_timeout, "
                                             "self.ping_timed_out)\n", "            pass\n")],
    # 10.5 shutdown
    "a handshake cut off by shutdown gets 500": [("websocket", "            if code == SERVICE_RESTART:  # 10.5",
                                                  "            if False:  # 10.5")],
    "shutdown does not close WebSockets": [("websocket", "            self.start_closing(SERVICE_RESTART, "
                                                         "\"server shutting down\")\n", "            pass\n")],
})
