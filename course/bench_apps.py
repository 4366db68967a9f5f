"""The applications `make bench` serves: the same ones for every server measured."""

from __future__ import annotations

HELLO_BODY = b"Hello, world!"
HELLO_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(HELLO_BODY)).encode())]


async def serve_lifespan(receive, send) -> None:
    """Acknowledge startup and shutdown: the app has nothing to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def hello(scope, receive, send):
    """The smallest useful ASGI app: what the server costs, with the app costing ~nothing."""
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    await send({"type": "http.response.start", "status": 200, "headers": HELLO_HEADERS})
    await send({"type": "http.response.body", "body": HELLO_BODY})


def _make_api():
    from fastapi import FastAPI  # imported here: only the FastAPI run needs it

    app = FastAPI()

    @app.get("/")
    async def item() -> dict:
        return {"id": 42, "name": "widget", "tags": ["a", "b"]}

    return app


api = _make_api()


async def ws_echo(scope, receive, send):
    """A WebSocket echo: each text message straight back. What the server's WebSocket path costs."""
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")})
