"""Lesson 01 demo: blocking fetches add up.

Starts a local server whose answers each take a while, then fetches three of its
URLs one after another with *your* fetch(). Each fetch blocks until its answer is
complete, so the program waits through every delay in turn: the total is the sum.
Lesson 02 starts from here: how to wait for several sockets at once.

Run it:  make demo-lesson 1   (or: make demo-lesson 1 IMPL=solutions)
"""

import time

from course.demo import slow_http_server
from fetch import fetch, parse_response

DELAYS = [0.5, 0.3, 0.7]  # seconds the server waits before answering each URL


def main() -> None:
    with slow_http_server() as (host, port):
        print(f"A local server on {host}:{port} answers /delay/<s> after <s> seconds.\n")
        started = time.perf_counter()
        for delay in DELAYS:
            path = f"/delay/{delay}"
            before = time.perf_counter()
            response = parse_response(fetch(host, port, path))
            took = time.perf_counter() - before
            print(f"  GET {path:<12} -> {response.status} {response.reason:<3} "
                  f"in {took:4.2f} s   (elapsed so far {time.perf_counter() - started:4.2f} s)")
        total = time.perf_counter() - started
    print(f"\nThe server's delays sum to {sum(DELAYS):.2f} s; the three fetches took {total:.2f} s.")
    print("While one fetch waits in recv(), the program can do nothing else: not even start the next one.")


if __name__ == "__main__":
    main()
