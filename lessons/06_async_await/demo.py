"""Lesson 06 demo: an echo server and 100 clients, on your loop and then on asyncio.

The program below is written once, against a module called `aio`. Run with
`aio = loop` (your loop.py) and with `aio = asyncio`, it is the same code: every
name it uses (get_running_loop, sock_accept, sock_recv, sock_sendall,
sock_connect, create_task, gather, CancelledError, run) exists in both.

Part 2 shows blocked-loop detection: one client calls time.sleep(), which stops
every other task. In debug mode your loop names the task and the line it was
stuck on; asyncio's debug mode reports the task and how long it took.

Run it:  make demo-lesson 6   (or: make demo-lesson 6 IMPL=solutions)
"""

import asyncio
import logging
import socket
import time

import loop

CLIENTS = 100  # concurrent connections
ROUNDS = 20  # messages each client sends and waits to get back
MESSAGE = b"x" * 1000  # bytes per message
TRIES = 3  # runs per implementation; the best is shown (the machine may be busy)
SLOW_THINKING = 0.25  # seconds the sloppy client blocks the loop in part 2


# --- The program: identical on both implementations ---------------------------------

async def handle(aio, conn):
    ev = aio.get_running_loop()
    with conn:
        while data := await ev.sock_recv(conn, 65536):
            await ev.sock_sendall(conn, data)


async def serve(aio, listener, handlers):
    ev = aio.get_running_loop()
    while True:
        conn, _ = await ev.sock_accept(listener)
        handlers.append(ev.create_task(handle(aio, conn)))


async def client(aio, address, think=0.0):
    ev = aio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    with sock:
        await ev.sock_connect(sock, address)
        for _ in range(ROUNDS):
            if think:
                time.sleep(think)  # a synchronous call: the mistake part 2 is about
            await ev.sock_sendall(sock, MESSAGE)
            received = 0
            while received < len(MESSAGE):
                piece = await ev.sock_recv(sock, 65536)
                if not piece:
                    raise ConnectionError("the server closed early")
                received += len(piece)
    return ROUNDS


async def echo_session(aio, clients=CLIENTS, sloppy=0):
    """Start the server, run the clients concurrently; (messages echoed, seconds)."""
    ev = aio.get_running_loop()
    handlers = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(clients)
        listener.setblocking(False)
        server = ev.create_task(serve(aio, listener, handlers))
        address = listener.getsockname()
        started = time.perf_counter()
        thinkers = [SLOW_THINKING if n < sloppy else 0.0 for n in range(clients)]
        counts = await aio.gather(*(client(aio, address, think) for think in thinkers))
        elapsed = time.perf_counter() - started
        server.cancel()
        try:
            await server
        except aio.CancelledError:
            pass
        await aio.gather(*handlers)
    return sum(counts), elapsed


# --- Running it -----------------------------------------------------------------------

def best_of(aio):
    runs = [aio.run(echo_session(aio)) for _ in range(TRIES)]
    return min(runs, key=lambda run: run[1])


def part1():
    print(f"Part 1: an echo server and {CLIENTS} clients, each sending {ROUNDS} messages of "
          f"{len(MESSAGE)} bytes\n(best of {TRIES} runs each)\n")
    print(f"  {'implementation':<16} {'messages':>9} {'seconds':>8} {'messages/s':>11}")
    for name, aio in [("your loop.py", loop), ("asyncio", asyncio)]:
        messages, seconds = best_of(aio)
        print(f"  {name:<16} {messages:>9} {seconds:>8.3f} {messages / seconds:>11.0f}")


def part2():
    print(f"\nPart 2: the same, 10 clients, one of which calls time.sleep({SLOW_THINKING}) before each "
          "message.\nDebug mode reports each step that blocked the loop longer than "
          "slow_callback_duration (0.1 s).\nThe first two reports of each:\n")
    logging.basicConfig(format="    %(name)s: %(message)s")
    for name, aio in [("your loop.py", loop), ("asyncio", asyncio)]:
        print(f"  {name}:")
        handler = _FirstReports(limit=2)
        logging.getLogger(aio.__name__ if aio is asyncio else "loop").addFilter(handler)
        messages, seconds = aio.run(echo_session(aio, clients=10, sloppy=1), debug=True)
        print(f"    ... {handler.seen} reports; {messages} messages in {seconds:.2f} s: every client waited "
              f"through the {ROUNDS} sleeps.\n")


class _FirstReports(logging.Filter):
    """Lets the first `limit` slow-step warnings through and counts the rest."""

    def __init__(self, limit):
        super().__init__()
        self.limit, self.seen = limit, 0

    def filter(self, record):
        if "took" not in record.getMessage():
            return False
        self.seen += 1
        return self.seen <= self.limit


if __name__ == "__main__":
    part1()
    part2()
