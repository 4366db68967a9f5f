"""Lesson 05 mistakes the tests must catch (see course/mutants.py)."""

READ_LOOP = """        while not conn.peer_done:
            try:
                data = conn.sock.recv(RECV_SIZE)
            except BlockingIOError:
                break  # drained: in edge-triggered mode we hear again only when new bytes arrive
            if not data:
                conn.peer_done = True  # a FIN (half-close): answers still go out, then we close
                break
            conn.received += data"""

READ_ONCE = """        try:
            data = conn.sock.recv(RECV_SIZE)
        except BlockingIOError:
            data = None
        if data == b"":
            conn.peer_done = True
        elif data:
            conn.received += data"""

MUTANTS = {
    "a blocking listener (accept() waits for the next client)": [
        ("        self._listener.setblocking(False)  # accept() must raise", "        # accept() must raise")],
    "blocking client sockets (recv() waits for the next bytes)": [
        ("            sock.setblocking(False)  # accepted", "            # accepted")],
    "one accept() per event (edge-triggered stalls the backlog)": [
        ("            self._epoll.register(sock.fileno(), conn.interest)",
         "            self._epoll.register(sock.fileno(), conn.interest)\n            return")],
    "one recv() per event (edge-triggered stalls)": [(READ_LOOP, READ_ONCE)],
    "send() assumed to take everything": [("            del conn.pending[:sent]", "            conn.pending.clear()")],
    "sendall() on the client socket (a slow reader blocks everyone)": [
        ("                sent = conn.sock.send(conn.pending)",
         "                conn.sock.setblocking(True)\n                conn.sock.sendall(conn.pending)\n"
         "                conn.sock.setblocking(False)\n                sent = len(conn.pending)")],
    "EPOLLOUT left on after the buffer drained": [
        ("        if conn.pending:\n            wanted |= select.EPOLLOUT", "        if True:\n            wanted |= select.EPOLLOUT")],
    "EPOLLIN kept after the client's FIN": [
        ("        if not conn.peer_done:\n            wanted |= select.EPOLLIN", "        if True:\n            wanted |= select.EPOLLIN")],
    "each recv() answered as a whole request": [
        ("        for head in take_heads(conn.received):",
         "        heads, conn.received = ([bytes(conn.received)] if conn.received else []), bytearray()\n"
         "        for head in heads:")],
    "only the first pipelined head answered": [("    return heads\n", "    return heads[:1]\n")],
    "closed at the FIN, with answers still pending": [
        ("        if conn.peer_done and not conn.pending:", "        if conn.peer_done:")],
    "closed after every answer (no keep-alive)": [
        ("        if conn.peer_done and not conn.pending:", "        if not conn.pending:")],
    "the FIN never noticed": [("                conn.peer_done = True  # a FIN", "                pass  # a FIN")],
    "a client's ConnectionResetError stops the server": [
        ("        except OSError:\n            # ECONNRESET", "        except BlockingIOError:\n            # ECONNRESET")],
    "shutdown() sets the flag but does not wake the loop": [('                self._wake_send.send(b"\\0")', "                pass")],
    "client sockets left open after shutdown()": [
        ("        for conn in list(self._connections.values()):\n            self._close(conn)\n", "")],
    "the epoll left open after shutdown()": [("        self._epoll.close()\n", "")],
}
