"""Start one course server (any folder laid out like lessons/) on an app, for `make bench`.

    python -m course.bench_launch SERVER_PY module:app --port 8001 [--loop uvloop]

Uses only the curriculum's interface of lessons 08 and 09: `run(app, host, port)`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import importlib.util
import sys
from pathlib import Path


def load_server(path: Path):
    sys.path.insert(0, str(path.parent))  # the server may import helper modules beside it
    spec = importlib.util.spec_from_file_location("course_bench_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def use_uvloop() -> None:
    """Make every later asyncio.run() (the server's run() calls it) build a uvloop loop.

    Since Python 3.12 asyncio.run() takes a loop_factory. Event loop policies, the
    older way, are deprecated from 3.14 and go in 3.16, so only 3.10 and 3.11 use one.
    Call this before the server module is loaded, so `from asyncio import run` sees it.
    """
    import uvloop

    if sys.version_info >= (3, 12):
        asyncio.run = functools.partial(asyncio.run, loop_factory=uvloop.new_event_loop)
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("server", type=Path)
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    if args.loop == "uvloop":
        use_uvloop()
    module_name, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module_name), attribute)
    load_server(args.server).run(app, args.host, args.port)


if __name__ == "__main__":
    main()
