"""Lesson 01 mistakes the tests must catch (see course/mutants.py)."""

READ_LOOP = "        while piece := sock.recv(RECV_SIZE):\n            pieces.append(piece)"

MUTANTS = {
    "a single recv() instead of a loop": [(READ_LOOP, "        pieces.append(sock.recv(RECV_SIZE))")],
    "a read loop that stops at a short read": [(READ_LOOP, (
        "        while True:\n"
        "            piece = sock.recv(RECV_SIZE)\n"
        "            pieces.append(piece)\n"
        "            if len(piece) < RECV_SIZE:\n"
        "                break"))],
    "LF instead of CRLF": [('("\\r\\n".join(lines) + "\\r\\n\\r\\n")', '("\\n".join(lines) + "\\n\\n")')],
    "no Host header": [('f"Host: {host}", ', "")],
    "header names compared case-sensitively": [("name.strip().lower()", "name.strip()")],
    "chunked body left encoded": [("body = decode_chunked(rest)", "body = rest")],
    "chunk extensions not removed": [('.split(b";", 1)[0].strip()', ".strip()")],
    "several chunks: only the first kept": [("        position = end + len(CRLF)", "        return bytes(body)")],
    "the last (empty) chunk not recognised": [("if size == 0:", "if size == 0 and body == b'never':")],
    "Content-Length ignored": [('body = rest[:int(headers["content-length"])]', "body = rest")],
    "the socket left open": [("    with socket.create_connection((host, port)) as sock:",
                              "    sock = socket.create_connection((host, port))\n    if True:")],
}
