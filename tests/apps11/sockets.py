"""WebSocket routes: an echo with a path parameter, JSON both ways, and a refusal.

Served by the reference lesson-10 server (the only one of the course that speaks
WebSocket); a `websockets` client runs each SESSION against both apps.
"""


def ours(fw):
    app = fw.App(title="sockets")

    @app.websocket("/echo/{name}")
    async def echo(websocket: fw.WebSocket):
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(f"{websocket.path_params['name']}: {text}")
        except fw.WebSocketDisconnect:
            pass

    @app.websocket("/sum")
    async def total(websocket: fw.WebSocket):
        await websocket.accept()
        numbers = await websocket.receive_json()
        await websocket.send_json({"sum": sum(numbers), "count": len(numbers)})
        await websocket.close(4000)

    @app.websocket("/private")
    async def private(websocket: fw.WebSocket):
        await websocket.close()  # before accept: the client gets 403

    return app


def theirs():
    from fastapi import FastAPI, WebSocket, WebSocketDisconnect

    app = FastAPI(title="sockets")

    @app.websocket("/echo/{name}")
    async def echo(websocket: WebSocket, name: str):
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(f"{name}: {text}")
        except WebSocketDisconnect:
            pass

    @app.websocket("/sum")
    async def total(websocket: WebSocket):
        await websocket.accept()
        numbers = await websocket.receive_json()
        await websocket.send_json({"sum": sum(numbers), "count": len(numbers)})
        await websocket.close(4000)

    @app.websocket("/private")
    async def private(websocket: WebSocket):
        await websocket.close()

    return app


# (id, path, messages the client sends in turn, what it checks): the client records each
# answer, then how the connection ended (the close code, or the HTTP status of a refusal).
SESSIONS = [
    ("echo-path-parameter", "/echo/ada", ["hello", "again"], "path parameter, text both ways, the client's close"),
    ("json-and-app-close", "/sum", ["[1, 2, 3]"], "receive_json, send_json, close(4000) by the app"),
    ("close-before-accept", "/private", [], "close before accept is an HTTP 403"),
    ("no-such-route", "/nowhere", [], "a WebSocket request no route matches is refused (403)"),
]
