"""Demo: your lesson 08 server runs a FastAPI app, and curl can talk to it.

    make demo-lesson 8                                  # serves on 127.0.0.1:8000
    python lessons/08_asgi_server/demo.py --port 8001   # another port

It starts `Server(examples.fastapi_app.app)`, sends itself a few requests (printed
below), then keeps serving until Ctrl-C so you can try the curl commands it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import signal
import sys

from examples.fastapi_app import app  # Python put this script's folder on sys.path
from server import Server

TOUR = [  # (method, path, JSON body or None): what the demo asks its own server
    ("GET", "/items/3?q=red", None),
    ("POST", "/items", {"name": "pen", "price": 1.5}),
    ("POST", "/items", {"name": "pen"}),  # no price: FastAPI answers 422
    ("GET", "/openapi.json", None),
]


def tour(host: str, port: int) -> None:
    """Runs in a thread (http.client blocks): one keep-alive connection, several requests."""
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        for method, path, payload in TOUR:
            body = json.dumps(payload).encode() if payload is not None else None
            connection.request(method, path, body=body, headers={"content-type": "application/json"})
            response = connection.getresponse()
            text = response.read().decode()
            print(f"  {method} {path} -> {response.status} {response.reason}: {text[:70]}{'...' if len(text) > 70 else ''}")
    finally:
        connection.close()


async def main(port: int) -> int:
    server = Server(app, "127.0.0.1", port)
    try:
        await server.start()
    except OSError as error:
        print(f"Could not listen on 127.0.0.1:{port} ({error.strerror}); try: python {sys.argv[0]} --port 8001")
        return 1
    host, port = server.address
    print(f"Serving the example FastAPI app on http://{host}:{port}\n\nA few requests, sent by the demo itself:")
    await asyncio.to_thread(tour, host, port)
    print(f"""
Now try it yourself from another terminal:
  curl -i 'http://{host}:{port}/items/3?q=red'
  curl -i -X POST http://{host}:{port}/items -H 'content-type: application/json' -d '{{"name": "pen", "price": 1.5}}'
  curl -i http://{host}:{port}/openapi.json
  open http://{host}:{port}/docs in a browser
Press Ctrl-C to stop.""", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.shutdown()
    print("\nStopped: listener closed, connections closed, lifespan shutdown done.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    sys.exit(asyncio.run(main(parser.parse_args().port)))
