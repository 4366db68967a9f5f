"""Lesson 02 mistakes the tests must catch (see course/mutants.py)."""

CONNECT_WAIT = "    yield sock, selectors.EVENT_WRITE\n"
SO_ERROR_CHECK = (
    "    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)\n"
    "    if error:\n"
    "        # OSError(errno, text) builds the matching subclass: 111 -> ConnectionRefusedError.\n"
    '        raise OSError(error, f"connect to {address} failed: {os.strerror(error)}")\n'
)
RECV_TRY = (
    "        try:\n"
    "            piece = sock.recv(RECV_SIZE)\n"
    "        except BlockingIOError:\n"
    "            yield sock, selectors.EVENT_READ  # nothing there yet: wait, then retry\n"
    "            continue\n"
)
SELECT = "        select.select(readers, writers, [])  # no timeout: sleep until the kernel says ready"

MUTANTS = {
    "a blocking socket (no setblocking(False))": [("    sock.setblocking(False)\n", "")],
    "SO_ERROR read before the wait (no yield before using the connecting socket)": [
        (CONNECT_WAIT, ""), (SO_ERROR_CHECK, SO_ERROR_CHECK + CONNECT_WAIT)],
    "a connect that never waits (not a generator)": [(CONNECT_WAIT, "")],
    "a connect that waits for EVENT_READ": [(CONNECT_WAIT, "    yield sock, selectors.EVENT_READ\n")],
    "a refused connect swallowed": [(SO_ERROR_CHECK, "    sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)\n")],
    "a refused connect that hangs (connect retried until it works)": [(CONNECT_WAIT, (
        "    while sock.connect_ex(address) not in (0, errno.EISCONN):\n"
        "        yield sock, selectors.EVENT_WRITE\n")), ("import os\n", "import errno\nimport os\n")],
    "send()'s return value ignored": [("            sent += sock.send(remaining[sent:])",
                                       "            sock.send(remaining[sent:])\n            sent = len(data)")],
    "after a partial send, send from the start again": [("sent += sock.send(remaining[sent:])",
                                                         "sent += sock.send(data)")],
    "send() retried in a busy loop": [("            yield sock, selectors.EVENT_WRITE  # the buffer is full: wait for room",
                                       "            continue")],
    "BlockingIOError not caught on recv": [(RECV_TRY, (
        "        piece = sock.recv(RECV_SIZE)\n"
        "        if piece:\n"
        "            yield sock, selectors.EVENT_READ\n"))],
    "recv() retried in a busy loop": [("            yield sock, selectors.EVENT_READ  # nothing there yet: wait, then retry\n",
                                       "")],
    "recv_steps stops at a short read": [("        pieces.append(piece)\n",
                                          "        pieces.append(piece)\n        return b''.join(pieces)\n")],
    "fetch_steps leaves its socket open": [(
        "    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:",
        "    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n    if True:")],
    "fetch_steps connects with a blocking connect()": [(
        "        yield from connect_steps(sock, (host, port))",
        "        sock.connect((host, port))\n        sock.setblocking(False)")],
    "fetch_steps sends with one send()": [(
        "        yield from send_steps(sock, build_request(authority, path))",
        "        sock.send(build_request(authority, path))")],
    "drive() resumes without waiting": [(SELECT, "        pass")],
    "drive() polls select with a zero time-out": [(SELECT, (
        "        while select.select(readers, writers, [], 0) == ([], [], []):\n"
        "            pass  # poll"))],
    "drive() always waits to read": [(SELECT, "        select.select([sock], [], [])")],
    "drive() loses the return value": [("            return finished.value", "            return None")],
}
