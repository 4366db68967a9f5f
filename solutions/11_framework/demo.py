"""Demo: one small app, written with your framework and with FastAPI, on your server.

    make demo-lesson 11
    python lessons/11_framework/demo.py --reference-server   # skip your lesson-09 server

It builds the same item store twice (`ours()` with framework.py beside this file,
`theirs()` with FastAPI), serves both with your lesson-09 server (the reference one
if yours is not finished yet, and it says so) on 127.0.0.1, free ports, and sends
each the same requests over real sockets. For each request it prints your answer,
then FastAPI's, or "(the same)". Then it compares the two /openapi.json documents.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field

HERE = Path(__file__).resolve().parent
REFERENCE_SERVER = HERE.parent.parent / "solutions" / "09_production" / "server.py"
WIDTH = 80


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)


def ours(fw):
    app = fw.App(title="demo")

    def get_token(x_token: str = fw.Header()):
        if x_token != "secret":
            raise fw.HTTPException(401, "bad token")
        return x_token

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: Optional[str] = None):
        return {"item_id": item_id, "q": q}

    @app.post("/items", status_code=201)
    async def create_item(item: Item, token: str = fw.Depends(get_token)):
        return item

    return app


def theirs():
    from fastapi import Depends, FastAPI, Header, HTTPException

    app = FastAPI(title="demo")

    def get_token(x_token: str = Header()):
        if x_token != "secret":
            raise HTTPException(401, "bad token")
        return x_token

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: Optional[str] = None):
        return {"item_id": item_id, "q": q}

    @app.post("/items", status_code=201)
    async def create_item(item: Item, token: str = Depends(get_token)):
        return item

    return app


TOKEN = {"X-Token": "secret", "Content-Type": "application/json"}
REQUESTS = [
    ("GET", "/items/3?q=pen", {}, b""),
    ("GET", "/items/three", {}, b""),
    ("POST", "/items", TOKEN, b'{"name": "pen", "price": 2.5}'),
    ("POST", "/items", TOKEN, b'{"price": -1}'),
    ("POST", "/items", {"X-Token": "guess", "Content-Type": "application/json"}, b'{"name": "pen", "price": 2}'),
    ("DELETE", "/items/3", {}, b""),
]


def load(path: Path, name: str):
    sys.path.insert(0, str(path.parent))  # the module may import its siblings (http11.py)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))


async def start_server(server_path: Path, apps: list):
    """Started servers for `apps` on free ports, or NotImplementedError from an unfinished one."""
    module = load(server_path, f"demo_server_{len(sys.modules)}")
    servers = []
    for app in apps:
        server = module.Server(app, "127.0.0.1", 0, lifespan="off", access_log=False)
        await server.start()
        servers.append(server)
    return servers


def fetch(address, method: str, target: str, headers: dict, body: bytes) -> str:
    connection = http.client.HTTPConnection(*address, timeout=5)
    try:
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        if response.getheader("content-type") == "application/json":  # spaced, so it folds at items
            text = json.dumps(json.loads(text), ensure_ascii=False)
        allow = response.getheader("allow")
    finally:
        connection.close()
    return f"{response.status} {text}" + (f"   (Allow: {allow})" if allow else "")


def show(label: str, text: str) -> None:
    """`  yours    <text>`, folded at spaces to WIDTH columns."""
    lines = textwrap.wrap(text, WIDTH - 11, break_on_hyphens=False) or [""]
    print(f"  {label:<8} {lines[0]}")
    for line in lines[1:]:
        print(" " * 11 + line)


def tour(ours_address, theirs_address) -> None:
    for method, target, headers, body in REQUESTS:
        print(f"{method} {target}" + (f"  {body.decode()}" if body else "")
              + (f"  X-Token: {headers['X-Token']}" if "X-Token" in headers else ""))
        mine, fastapi = (fetch(address, method, target, headers, body) for address in (ours_address, theirs_address))
        show("yours", mine)
        show("FastAPI", "(the same)" if fastapi == mine else fastapi)
    ours_doc, theirs_doc = (json.loads(fetch(address, "GET", "/openapi.json", {}, b"").split(" ", 1)[1])
                            for address in (ours_address, theirs_address))
    same = ours_doc["paths"] == theirs_doc["paths"]
    print(f"GET /openapi.json: {len(ours_doc['paths'])} paths; the same paths, parameters and "
          f"responses as FastAPI's: {'yes' if same else 'NO'}")


async def main(use_reference: bool) -> int:
    framework = load(HERE / "framework.py", "framework")
    try:
        apps = [ours(framework), theirs()]
    except NotImplementedError as error:
        print(f"Your framework is not finished yet ({error}).\nRun `make test-lesson 11` and finish "
              "the exercises first; `make demo-lesson 11 IMPL=solutions` shows the reference.")
        return 1
    server_path = HERE.parent / "09_production" / "server.py"
    if use_reference or not server_path.exists():
        server_path = REFERENCE_SERVER
    try:
        servers = await start_server(server_path, apps)
    except Exception as error:  # NotImplementedError from a stub, or whatever else stopped it
        print(f"Your lesson-09 server did not start ({type(error).__name__}: {error}).\n"
              "Using the reference one; `make test-lesson 9` shows what is left to do in yours.")
        server_path = REFERENCE_SERVER
        servers = await start_server(server_path, apps)
    print(f"Both apps on {server_path.relative_to(HERE.parent.parent)}:\n")
    try:
        await asyncio.to_thread(tour, servers[0].address, servers[1].address)
    finally:
        for server in servers:
            await server.shutdown()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference-server", action="store_true", help="serve on the reference 09 server")
    sys.exit(asyncio.run(main(parser.parse_args().reference_server)))
