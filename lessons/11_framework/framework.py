"""Lesson 11: FastAPI deconstructed, a web framework of your own.

What you build
--------------
The layer between an ASGI server and a handler, with the names FastAPI gives it:

    11.1  Routing: `App` with @app.get/post/put/delete/websocket, path templates
          (`/items/{item_id}`), 404 and 405 (with Allow), app.mount(prefix, app),
          and a small `WebSocket` over ASGI's receive/send.
    11.2  `Request` (query, headers, cookies, body, json) and the responses:
          Response, JSONResponse, PlainTextResponse, StreamingResponse.
    11.3  Parameters from the handler's signature: path, query, header and a
          Pydantic model as the body, validated by Pydantic; failures are a 422.
    11.4  `Depends`: nested, called once per request, `yield` clean-up after the
          response, `app.dependency_overrides`.
    11.5  @app.middleware("http"), HTTPException and @app.exception_handler,
          lifespan, app.state.
    11.6  /openapi.json built from the routes and the models, and /docs.

Run the tests: `make test-lesson 11`. See it beside FastAPI: `make demo-lesson 11`.

How this works
--------------
The server calls `await app(scope, receive, send)` once per request (lesson 08).
Everything here turns that one call into a call of *your* function with the
arguments it asked for, and turns what it returns back into ASGI messages:

    ASGI call -> Request -> middleware -> exception handlers -> router
              -> dependencies and parameters -> handler -> Response -> send()

Rules:
1. Work is done once per route, not once per request: when a handler is
   registered, its signature is read into a `Dependant` (which parameter comes
   from where, and the Pydantic `TypeAdapter` that converts it). A request only
   looks values up and validates them.
2. Inside the app everything is a `Response` object until the last step; only
   `Response.__call__` speaks ASGI. So middleware is a plain function
   `request -> Response` wrapped around the next one, and a mounted sub-app is
   a Response whose `__call__` hands the ASGI call on.
3. Every request owns one `AsyncExitStack`. Dependencies with `yield` are
   entered on it; it is closed after the response has been sent, whatever the
   handler did, so their clean-up always runs, and runs last. (FastAPI also
   throws the handler's exception in at the `yield`; here an HTTPException is a
   response by then. Clean-up in a `finally:` behaves the same in both.)
4. Validation collects every error of a request before answering, in the order
   FastAPI reports them: dependencies first, then path, query, header, body.
   A body that is not JSON is the exception: that error is answered alone.

What it leaves out of FastAPI: response_model, form data and files, cookie
parameters, list-valued query parameters, Query()/Header() validation options
(gt=, max_length=, ...), several body parameters, routers, security schemes,
background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import functools
import inspect
import json
import re
import types
import typing
from dataclasses import dataclass, field
from http import HTTPStatus
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable
from urllib.parse import parse_qsl

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import to_jsonable_python

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
Endpoint = Callable[..., Any]
REQUIRED: Any = inspect.Parameter.empty  # "no default": the value must come with the request
SOURCES = ("path", "query", "header", "body")  # FastAPI reports errors and lists parameters in this order


# --- Exceptions ----------------------------------------------------------------------

class HTTPException(Exception):
    """Raise it anywhere in a handler or dependency: the client gets `status_code`
    and `{"detail": detail}`, with `headers` added to the response."""

    def __init__(self, status_code: int, detail: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail)
        self.status_code = status_code
        self.detail = detail if detail is not None else HTTPStatus(status_code).phrase
        self.headers = headers


class RequestValidationError(Exception):
    """The request did not fit the handler's signature; `errors` as FastAPI lists them."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


class WebSocketDisconnect(Exception):
    """The client closed the WebSocket (or went away): `code` is the close code."""

    def __init__(self, code: int = 1000) -> None:
        super().__init__(code)
        self.code = code


# --- 11.1 Routing ---------------------------------------------------------------------------

PATH_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:path)?}")


def compile_path(template: str) -> tuple[re.Pattern, list[str]]:
    """`/items/{item_id}` -> a regex that matches `/items/42` with item_id="42", and the
    parameter names. A parameter never spans a "/" unless written `{name:path}`."""
    # TODO: exercise 11.1
    raise NotImplementedError("Exercise 11.1: escape the literal parts; each {name} becomes a named group of one segment.")


@dataclass
class Route:
    path: str  # the template, e.g. "/items/{item_id}"
    endpoint: Endpoint
    methods: list[str]  # empty for a WebSocket route
    kind: str = "http"  # the ASGI scope type it answers: "http" or "websocket"
    status_code: int = 200
    include_in_schema: bool = True
    regex: re.Pattern = field(init=False)  # made from `path` by compile_path()
    dependant: Dependant = field(init=False)  # the endpoint's signature, read once

    def __post_init__(self) -> None:
        self.regex, names = compile_path(self.path)
        self.dependant = analyse(self.endpoint, names)

    @property
    def name(self) -> str:
        return self.endpoint.__name__


# --- 11.2 Requests ---------------------------------------------------------------------

class Headers(dict):
    """Header names are case-insensitive (RFC 9110 §5.1): keys are stored lower-case and
    looked up lower-case. A repeated header keeps its first value, as Starlette's does."""

    def __init__(self, items: Iterable[tuple[str, str]] | dict = ()) -> None:
        super().__init__()
        for name, value in (items.items() if isinstance(items, dict) else items):
            self.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name.lower(), value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class HTTPConnection:
    """What a request and a WebSocket share: the scope, read into friendly attributes."""

    def __init__(self, scope: dict, receive: Callable, app: "App | None" = None) -> None:
        self.scope = scope
        self.receive = receive
        self.app = app
        self.path_params: dict[str, str] = {}  # set by the router
        # Lifespan state (ASGI spec, "Lifespan State"), readable as request.state.x.
        self.state = SimpleNamespace(**scope.get("state", {}))
        self.exit_stack: contextlib.AsyncExitStack | None = None  # where `yield` dependencies live
        self.dependency_cache: dict[Callable, Any] = {}  # dependency -> its value, for this request

    @property
    def url_path(self) -> str:
        """The path the routes see: the scope's path without the prefix the app is mounted at."""
        path, root = self.scope["path"], self.scope.get("root_path", "")
        return path[len(root):] if root and path.startswith(root) else path

    @functools.cached_property
    def query_params(self) -> dict[str, str]:
        """The query string decoded; a repeated name keeps its last value (as Starlette)."""
        # TODO: exercise 11.2
        raise NotImplementedError('Exercise 11.2: decode scope["query_string"] into a dict (parse_qsl, blank values kept).')

    @functools.cached_property
    def headers(self) -> Headers:
        # TODO: exercise 11.2
        raise NotImplementedError("Exercise 11.2: the scope's headers (latin-1 bytes pairs) as a Headers mapping.")

    @functools.cached_property
    def cookies(self) -> dict[str, str]:
        """`Cookie: a=1; b=2` -> {"a": "1", "b": "2"} (RFC 6265 §4.2.1)."""
        # TODO: exercise 11.2
        raise NotImplementedError('Exercise 11.2: split the Cookie header on ";" and each pair on its first "=".')


class Request(HTTPConnection):
    """One HTTP request. `await request.body()` reads the whole body (once; later calls
    return the same bytes), `await request.json()` decodes it."""

    def __init__(self, scope: dict, receive: Callable, app: "App | None" = None) -> None:
        super().__init__(scope, receive, app)
        self._body: bytes | None = None

    @property
    def method(self) -> str:
        return self.scope["method"]

    async def body(self) -> bytes:
        # TODO: exercise 11.2
        raise NotImplementedError("Exercise 11.2: receive() http.request messages until more_body is false; keep the bytes.")

    async def json(self) -> Any:
        return json.loads(await self.body())


# --- 11.2 Responses --------------------------------------------------------------------

class Response:
    """A status, headers and a body; `await response(scope, receive, send)` sends it.

    Handlers and middleware may change `status_code`, `headers` (a Headers mapping) or
    `body` until then: the Content-Length and Content-Type headers are added when sent."""

    media_type: str | None = None

    def __init__(self, content: Any = b"", status_code: int = 200, headers: dict[str, str] | None = None,
                 media_type: str | None = None) -> None:
        self.status_code = status_code
        self.headers = Headers(headers or {})
        self.media_type = media_type or self.media_type
        self.body = self.render(content)

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else str(content).encode("utf-8")

    def head(self) -> list[tuple[bytes, bytes]]:
        """The raw headers: the handler's, plus the length and type of the body."""
        headers = dict(self.headers)
        if self.media_type and "content-type" not in headers:
            text = self.media_type.startswith("text/") and "charset" not in self.media_type
            headers["content-type"] = self.media_type + ("; charset=utf-8" if text else "")
        headers["content-length"] = str(len(self.body))
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.head()})
        await send({"type": "http.response.body", "body": self.body})


class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


class JSONResponse(Response):
    """`content` as compact UTF-8 JSON, the bytes Starlette's JSONResponse makes."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class StreamingResponse(Response):
    """A body that an (async) iterator yields piece by piece: each piece is sent as it
    comes, with no Content-Length, so the server frames it (chunked, lesson 08)."""

    def __init__(self, content: AsyncIterator | Iterable, status_code: int = 200,
                 headers: dict[str, str] | None = None, media_type: str | None = None) -> None:
        super().__init__(b"", status_code, headers, media_type)
        self.pieces = content

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        # TODO: exercise 11.2
        raise NotImplementedError("Exercise 11.2: send the start (no content-length), then one more_body message per piece, then the end.")


async def _as_async(pieces: AsyncIterator | Iterable) -> AsyncIterator:
    if hasattr(pieces, "__aiter__"):
        async for piece in pieces:
            yield piece
    else:
        for piece in pieces:
            yield piece


def to_response(value: Any, status_code: int = 200) -> Response:
    """What a handler returned, as a Response: a Response as it is, anything else as JSON
    (Pydantic models as `model_dump(mode="json")` would give them, like FastAPI)."""
    if isinstance(value, Response):
        return value
    # TODO: exercise 11.2
    raise NotImplementedError("Exercise 11.2: make the value JSON-able (pydantic_core.to_jsonable_python) and a JSONResponse.")


# --- 11.1 Mounts and WebSockets: the other things a route can lead to -------------------

class Mounted(Response):
    """A sub-application as a response: the router's answer for a path under a mount.
    Its ASGI call is the sub-app's, with the prefix added to root_path (as Starlette).
    Headers a middleware sets on it are added to the sub-app's response head."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        super().__init__()
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        # TODO: exercise 11.1
        raise NotImplementedError("Exercise 11.1: call the sub-app with root_path extended by the prefix (path stays whole).")


class WebSocket(HTTPConnection):
    """The server side of one WebSocket, over ASGI's `websocket.*` messages (ASGI spec,
    "WebSocket"). receive_* raise WebSocketDisconnect when the client has gone."""

    def __init__(self, scope: dict, receive: Callable, send: Callable, app: "App | None" = None) -> None:
        super().__init__(scope, receive, app)
        self.send = send

    async def accept(self, subprotocol: str | None = None) -> None:
        # TODO: exercise 11.1
        raise NotImplementedError("Exercise 11.1: wait for websocket.connect, then send websocket.accept.")

    async def receive_message(self) -> dict:
        # TODO: exercise 11.1
        raise NotImplementedError("Exercise 11.1: the next websocket.receive message; a websocket.disconnect raises WebSocketDisconnect.")

    async def receive_text(self) -> str:
        return (await self.receive_message())["text"]

    async def receive_bytes(self) -> bytes:
        return (await self.receive_message())["bytes"]

    async def receive_json(self) -> Any:
        return json.loads((await self.receive_message())["text"])

    async def send_text(self, text: str) -> None:
        await self.send({"type": "websocket.send", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, value: Any) -> None:
        await self.send_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    async def close(self, code: int = 1000) -> None:
        await self.send({"type": "websocket.close", "code": code})


# --- 11.3 Parameters from the signature --------------------------------------------------

class Param:
    """Marks where a parameter comes from, with its default: `q: str = Query("x")`."""

    source = "query"

    def __init__(self, default: Any = REQUIRED, *, alias: str | None = None) -> None:
        self.default = default
        self.alias = alias


class Query(Param):
    source = "query"


class Header(Param):
    """A header. `user_agent` reads `user-agent`: underscores become hyphens (FastAPI's
    convert_underscores), because a Python name cannot hold a hyphen."""

    source = "header"


class Body(Param):
    source = "body"


class Depends:
    """`db = Depends(get_db)`: the parameter's value is what `get_db` returns (or yields),
    called with its own parameters solved the same way; once per request unless
    `use_cache=False`."""

    def __init__(self, dependency: Callable | None = None, *, use_cache: bool = True) -> None:
        self.dependency = dependency  # None: the parameter's type is the dependency (`p: Paging = Depends()`)
        self.use_cache = use_cache


@dataclass
class Field:
    """One parameter of a handler or dependency, read from its signature once."""

    name: str  # the Python parameter name
    source: str  # one of SOURCES
    key: str  # its name on the wire: the query key, the header name, the path parameter
    annotation: Any
    default: Any
    adapter: TypeAdapter  # converts and validates the raw value (Pydantic)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass
class Dependant:
    """A callable and what it needs: its fields, and its dependencies (name -> Depends)."""

    call: Callable
    fields: list[Field] = field(default_factory=list)  # in SOURCES order
    dependencies: dict[str, Depends] = field(default_factory=dict)
    special: dict[str, type] = field(default_factory=dict)  # name -> Request or WebSocket: passed as is
    kind: str = "function"  # how to call it: see call_kind()


def call_kind(call: Callable) -> str:
    """"async generator", "generator", "coroutine" or "function": decided once per callable,
    because inspect's checks cost a few microseconds each, on every request (profiled)."""
    if inspect.isasyncgenfunction(call):
        return "async generator"
    if inspect.isgeneratorfunction(call):
        return "generator"
    if inspect.iscoroutinefunction(call):
        return "coroutine"
    return "function"


def analyse(call: Callable, path_names: Iterable[str] = ()) -> Dependant:
    """Read `call`'s signature and type hints into a Dependant.

    A parameter named in the path template is a path parameter; one annotated Request or
    WebSocket gets the connection; a Depends default is a dependency; Query/Header/Body
    say where; otherwise a Pydantic model is the body and anything else a query parameter.
    `Annotated[int, Query()]` works as well as `= Query()`."""
    # A class is called like a function: its parameters are its __init__'s.
    hints = typing.get_type_hints(call.__init__ if inspect.isclass(call) else call, include_extras=True)
    dependant = Dependant(call, kind=call_kind(call))
    for name, parameter in inspect.signature(call).parameters.items():
        annotation, marker = _unwrap(hints.get(name, Any), parameter.default)
        if isinstance(marker, Depends):
            dependant.dependencies[name] = marker if marker.dependency else Depends(annotation, use_cache=marker.use_cache)
        elif isinstance(annotation, type) and issubclass(annotation, HTTPConnection):
            dependant.special[name] = annotation
        else:
            dependant.fields.append(_field(name, annotation, marker, path_names))
    dependant.fields.sort(key=lambda f: SOURCES.index(f.source))  # stable: the signature's order within a source
    return dependant


def _unwrap(annotation: Any, default: Any) -> tuple[Any, Any]:
    """(the type, the marker or plain default): `Annotated[T, Query()]` -> (T, Query())."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extras = typing.get_args(annotation)
        marker = next((extra for extra in extras if isinstance(extra, (Param, Depends))), None)
        if marker is not None:
            if isinstance(marker, Param) and default is not REQUIRED:
                marker = type(marker)(default, alias=marker.alias)
            return annotation, marker
    return annotation, default


def _field(name: str, annotation: Any, marker: Any, path_names: Iterable[str]) -> Field:
    """Where one parameter comes from: its marker says, else the path template, else its
    type (a Pydantic model is the body, anything else the query string)."""
    # TODO: exercise 11.3
    raise NotImplementedError('Exercise 11.3: choose the source, default and wire name (headers: "_" -> "-"); a TypeAdapter of the type.')


def _is_body_type(annotation: Any) -> bool:
    """A model or a dict (or an Optional one) cannot come from a query string: FastAPI reads
    it from the body."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_body_type(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return isinstance(annotation, type) and issubclass(annotation, (BaseModel, dict))


def validate(field_: Field, raw: Any, present: bool) -> tuple[Any, list[dict]]:
    """(the converted value, []) or (None, FastAPI's errors for it). `present` is whether
    the request carried the value at all."""
    # TODO: exercise 11.3
    raise NotImplementedError('Exercise 11.3: missing -> the default or a "missing" error; present -> TypeAdapter, loc prefixed.')


async def read_raw(field_: Field, conn: HTTPConnection) -> tuple[Any, bool]:
    """(the raw value, whether the request had it) for one field. A body that is not
    JSON raises RequestValidationError at once, as FastAPI does."""
    # TODO: exercise 11.3
    raise NotImplementedError("Exercise 11.3: look the field up in the path, query, headers, or (JSON-decoded) body.")


@functools.lru_cache(maxsize=64)  # parsing the header cost ~5 us a request (profiled); clients send few kinds
def _is_json(content_type: str | None) -> bool:
    """No content type, application/json or application/*+json: the body is JSON (FastAPI)."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


async def solve(dependant: Dependant, conn: HTTPConnection) -> tuple[dict[str, Any], list[dict]]:
    """The keyword arguments to call `dependant.call` with, and every validation error:
    dependencies first, then path, query, header and body fields (FastAPI's order)."""
    values: dict[str, Any] = {name: conn for name in dependant.special}
    errors: list[dict] = []
    for name, depends in dependant.dependencies.items():
        values[name], dependency_errors = await call_dependency(depends, conn)
        errors += dependency_errors
    for field_ in dependant.fields:
        raw, present = await read_raw(field_, conn)
        values[field_.name], field_errors = validate(field_, raw, present)
        errors += field_errors
    return values, errors


# --- 11.4 Dependencies -----------------------------------------------------------------------

async def call_dependency(depends: Depends, conn: HTTPConnection) -> tuple[Any, list[dict]]:
    """The dependency's value for this request, or (None, errors) if its own parameters
    failed. The app's dependency_overrides replace it; its value is cached per request."""
    # TODO: exercise 11.4
    raise NotImplementedError("Exercise 11.4: override, cache, solve its own parameters, call it (on the exit stack if it yields).")


async def run_call(dependant: Dependant, kwargs: dict, exit_stack: contextlib.AsyncExitStack) -> Any:
    """Call a handler or dependency of any kind: a generator's value is what it yields, and
    its code after `yield` runs when the request's exit stack closes (after the response)."""
    call, kind = dependant.call, dependant.kind
    if kind in ("async generator", "generator"):
        # TODO: exercise 11.4
        raise NotImplementedError("Exercise 11.4: enter it on the exit stack as a context manager: its value is what it yields.")
    if kind == "coroutine":
        return await call(**kwargs)
    # A plain function may block (a database driver, a file): FastAPI runs it in a thread
    # so the event loop keeps serving everyone else meanwhile.
    return await asyncio.to_thread(call, **kwargs)


# --- The application ---------------------------------------------------------------------------

DOCS_PAGE = """<!doctype html>
<html><head><title>{title} - Swagger UI</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "{openapi_url}", dom_id: "#swagger-ui"}})</script>
</body></html>"""


class App:
    """An ASGI application: `await app(scope, receive, send)`, for "http", "websocket"
    and "lifespan" scopes. Register handlers with @app.get(path) and friends."""

    def __init__(self, *, title: str = "FastAPI", version: str = "0.1.0",
                 lifespan: Callable[["App"], contextlib.AbstractAsyncContextManager] | None = None,
                 openapi_url: str | None = "/openapi.json", docs_url: str | None = "/docs") -> None:
        self.title, self.version, self.lifespan = title, version, lifespan
        self.routes: list[Route] = []
        self.mounts: list[tuple[str, ASGIApp]] = []
        self.state = SimpleNamespace()  # yours: set things on it at startup, read them in handlers
        self.dependency_overrides: dict[Callable, Callable] = {}
        self.middlewares: list[Callable] = []
        self.exception_handlers: dict[type, Callable] = {
            HTTPException: http_exception_handler, RequestValidationError: validation_exception_handler}
        self._dependants: dict[Callable, Dependant] = {}  # callable -> its analysed signature
        self._openapi: dict | None = None
        if openapi_url:
            self.add_route(openapi_url, self._openapi_endpoint, ["GET"], include_in_schema=False)
            if docs_url:
                page = DOCS_PAGE.format(title=title, openapi_url=openapi_url)

                async def docs() -> HTMLResponse:  # async: a plain function would cost a thread
                    return HTMLResponse(page)
                self.add_route(docs_url, docs, ["GET"], include_in_schema=False)

    # Registering routes (11.1)

    def add_route(self, path: str, endpoint: Endpoint, methods: list[str], **options: Any) -> None:
        self.routes.append(Route(path, endpoint, methods, **options))

    def route(self, path: str, methods: list[str], **options: Any) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            self.add_route(path, endpoint, methods, **options)
            return endpoint  # unchanged: the function stays callable as it was
        return register

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, ["PUT"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, ["DELETE"], **options)

    def websocket(self, path: str) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, [], kind="websocket", include_in_schema=False)

    def mount(self, prefix: str, app: ASGIApp) -> None:
        """Hand every request under `prefix` (e.g. "/v1") to another ASGI app."""
        self.mounts.append((prefix.rstrip("/"), app))

    def dependant_of(self, call: Callable) -> Dependant:
        if call not in self._dependants:
            self._dependants[call] = analyse(call)
        return self._dependants[call]

    # Registering middleware and exception handlers (11.5)

    def middleware(self, kind: str) -> Callable[[Callable], Callable]:
        """@app.middleware("http"): `async def f(request, call_next) -> Response`. The
        middleware added last runs first (it wraps the ones before it), as in FastAPI."""
        def register(function: Callable) -> Callable:
            if kind != "http":
                raise ValueError(f'only "http" middleware exists, not {kind!r}')
            self.middlewares.append(function)
            return function
        return register

    def middleware_chain(self) -> Callable[[Request], Awaitable[Response]]:
        """handle_errors wrapped in each middleware, the last added outermost."""
        call_next = self.handle_errors
        for middleware in self.middlewares:
            # TODO: exercise 11.5
            raise NotImplementedError("Exercise 11.5: wrap: a function of the request that calls middleware(request, call_next).")
        return call_next

    def exception_handler(self, exc_class: type[Exception]) -> Callable[[Callable], Callable]:
        """@app.exception_handler(E): `async def f(request, exc) -> Response` answers for
        every E (and subclass) a handler or dependency raises."""
        def register(handler: Callable) -> Callable:
            # TODO: exercise 11.5
            raise NotImplementedError("Exercise 11.5: remember the handler for this exception class; return it unchanged.")
        return register

    # The ASGI interface

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            await self.handle_http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.handle_websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.handle_lifespan(scope, receive, send)

    async def handle_http(self, scope: dict, receive: Callable, send: Callable) -> None:
        request = Request(scope, receive, self)
        # One exit stack per request (rule 3): `yield` dependencies are entered on it, and
        # leaving this block runs their clean-up, after the response has been sent.
        async with contextlib.AsyncExitStack() as exit_stack:
            request.exit_stack = exit_stack
            response = await self.middleware_chain()(request)
            await response(scope, receive, send)

    # The request's way in (11.5): middleware -> exception handlers -> router

    async def handle_errors(self, request: Request) -> Response:
        """The router's answer, or the registered handler's for what it raised."""
        try:
            return await self.dispatch(request)
        except Exception as error:
            handler = next((self.exception_handlers[cls] for cls in type(error).__mro__
                            if cls in self.exception_handlers), None)
            if handler is None:
                raise  # the server answers 500 (lesson 08) and the exit stack still closes
            return await handler(request, error)

    async def dispatch(self, request: Request) -> Response:
        """The router: the first route whose path and method match, a mount, 405 or 404."""
        # TODO: exercise 11.1
        raise NotImplementedError("Exercise 11.1: match the path against each route; then the mounts; 405 with Allow if only the method differed.")

    async def call_endpoint(self, route: Route, request: Request) -> Response:
        values, errors = await solve(route.dependant, request)
        if errors:
            raise RequestValidationError(errors)
        value = await run_call(route.dependant, values, request.exit_stack)
        return to_response(value, route.status_code)

    async def handle_websocket(self, scope: dict, receive: Callable, send: Callable) -> None:
        websocket = WebSocket(scope, receive, send, self)
        # TODO: exercise 11.1
        raise NotImplementedError("Exercise 11.1: find the websocket route, solve its parameters (errors: close 1008), call it.")

    async def handle_lifespan(self, scope: dict, receive: Callable, send: Callable) -> None:
        """ASGI lifespan: enter `lifespan(app)` on startup, exit it on shutdown. A dict it
        yields becomes the lifespan state every request sees (request.state)."""
        # TODO: exercise 11.5
        raise NotImplementedError("Exercise 11.5: startup -> enter the context (failed: startup.failed); shutdown -> exit it.")

    # OpenAPI (11.6)

    async def _openapi_endpoint(self) -> JSONResponse:
        if self._openapi is None:  # built once: the routes do not change while serving
            self._openapi = self.openapi()
        return JSONResponse(self._openapi)

    def openapi(self) -> dict:
        """The OpenAPI 3.1 document of the routes, as FastAPI writes it."""
        # TODO: exercise 11.6
        raise NotImplementedError("Exercise 11.6: one operation per route and method; every field's schema from one generator; no nulls.")


def operation(route: Route, method: str, fields: list[tuple[Field, dict]]) -> dict:
    """One path operation: summary, operationId, parameters, requestBody, responses.
    `fields`: the route's flat fields, each with its JSON Schema."""
    # TODO: exercise 11.6
    raise NotImplementedError("Exercise 11.6: FastAPI's operationId and summary; the flat fields (own and dependencies') as parameters.")


def flat_fields(dependant: Dependant, seen: set | None = None) -> list[Field]:
    """The dependant's own fields, then its dependencies' (recursively), each (source, key) once."""
    seen = set() if seen is None else seen
    found = []
    for field_ in dependant.fields:
        if (field_.source, field_.key) not in seen:
            seen.add((field_.source, field_.key))
            found.append(field_)
    for depends in dependant.dependencies.values():
        found += flat_fields(analyse(depends.dependency), seen)
    return found


def parameter_schema(field_: Field, schema: dict) -> dict:
    """A parameter object (OpenAPI 3.1 §4.8.12): where, whether required, its JSON Schema
    with a title and the default."""
    schema = {**schema, "title": _title(field_.key)}
    if not field_.required:
        schema["default"] = to_jsonable_python(field_.default)
    return {"name": field_.key, "in": field_.source, "required": field_.required, "schema": schema}


def _title(name: str) -> str:
    return name.title().replace("_", " ")  # FastAPI's: "item_id" -> "Item Id", "user-agent" -> "User-Agent"


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


REF_TEMPLATE = "#/components/schemas/{model}"


VALIDATION_RESPONSE = {"description": "Validation Error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}
# The schema of a 422's body: the shape validate() gives each error.
VALIDATION_SCHEMAS = {
    "HTTPValidationError": {
        "properties": {"detail": {"items": {"$ref": "#/components/schemas/ValidationError"},
                                  "type": "array", "title": "Detail"}},
        "type": "object", "title": "HTTPValidationError"},
    "ValidationError": {
        "properties": {
            "loc": {"items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}, "type": "array",
                    "title": "Location"},
            "msg": {"type": "string", "title": "Message"},
            "type": {"type": "string", "title": "Error Type"},
            "input": {"title": "Input"},
            "ctx": {"type": "object", "title": "Context"}},
        "type": "object", "required": ["loc", "msg", "type"], "title": "ValidationError"},
}


# --- The default exception handlers (11.5) ----------------------------------------------------

async def http_exception_handler(request: Request, error: HTTPException) -> Response:
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)


async def validation_exception_handler(request: Request, error: RequestValidationError) -> Response:
    # Pydantic's ctx may hold an exception object (a ValueError of a validator): shown as text.
    return JSONResponse({"detail": to_jsonable_python(error.errors, fallback=str)}, status_code=422)
