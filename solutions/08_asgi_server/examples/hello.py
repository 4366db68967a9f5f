"""The smallest useful ASGI app, with no framework: every byte of the protocol is in view.

    python solutions/08_asgi_server/server.py examples.hello:app --port 8000
    curl -i http://127.0.0.1:8000/anything?x=1
    curl -i --data-binary @README.md http://127.0.0.1:8000/upload
"""


async def app(scope, receive, send):
    if scope["type"] == "lifespan":  # nothing to set up: say so, and wait for the end
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    size = 0
    more_body = True
    while more_body:  # the body arrives in pieces; count it without keeping it
        message = await receive()
        size += len(message.get("body", b""))
        more_body = message.get("more_body", False)
    text = f"Hello! You sent {scope['method']} {scope['path']} with {size} body bytes.\n"
    body = text.encode()
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body))],
    })
    await send({"type": "http.response.body", "body": body})
