"""The application variants the middleware benchmarks compare, in-process and over HTTP.

Every variant answers two paths: ``/read`` reads ``session["views"]`` and ``/write``
increments it. The body is the value seen, so a harness can check that the cookie it
replays really reaches an existing session. A bare variant is the same app without a
session; "added µs" and "keep %" are always against the bare app of the same family.
Peers are imported inside their builders: a missing peer fails only its own variant.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from flask import Flask

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Protocol = Literal["asgi", "wsgi"]

SECRET = "benchmark-secret-0123456789abcdef-not-for-production"
TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")


def _views_body(views: object) -> bytes:
    return str(views).encode()


# --- raw ASGI ------------------------------------------------------------------------


async def bare_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: reads nothing, answers "ok". Messages are fresh per call because
    session middlewares append Set-Cookie to the start message's header list in place."""
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT_PLAIN]})
    await send({"type": "http.response.body", "body": b"ok"})


async def session_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    session = scope["session"]
    if scope["path"] == "/write":
        views = session["views"] = session.get("views", 0) + 1
    else:
        views = session.get("views")
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT_PLAIN]})
    await send({"type": "http.response.body", "body": _views_body(views)})


def _asgi_fastsession() -> ASGIApp:
    import fastsession

    app: ASGIApp = fastsession.SessionMiddleware(session_asgi, secret=SECRET)
    return app


def _asgi_starlette() -> ASGIApp:
    from starlette.middleware.sessions import SessionMiddleware

    return SessionMiddleware(session_asgi, secret_key=SECRET)


def _asgi_starsessions() -> ASGIApp:
    from starsessions import InMemoryStore, SessionAutoloadMiddleware, SessionMiddleware

    inner = SessionAutoloadMiddleware(session_asgi)
    return SessionMiddleware(inner, store=InMemoryStore(), cookie_https_only=False)


# --- Starlette applications (the HTTP runs) --------------------------------------------


def _starlette(middleware: list[Any], with_session: bool) -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def read(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.session.get("views")))

    async def write(request: Request) -> PlainTextResponse:
        views = request.session["views"] = request.session.get("views", 0) + 1
        return PlainTextResponse(str(views))

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = (
        [Route("/read", read), Route("/write", write)]
        if with_session
        else [
            Route("/read", ok),
            Route("/write", ok),
        ]
    )
    return Starlette(routes=routes, middleware=middleware)


def _starlette_bare() -> ASGIApp:
    return _starlette([], with_session=False)


def _starlette_fastsession() -> ASGIApp:
    from starlette.middleware import Middleware

    import fastsession

    # The ignore: mypy cannot match a keyword-only option plus **options to Starlette's
    # ParamSpec-typed factory.
    stack = [Middleware(fastsession.SessionMiddleware, secret=SECRET)]
    return _starlette(stack, True)


def _starlette_cookie() -> ASGIApp:
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware

    return _starlette([Middleware(SessionMiddleware, secret_key=SECRET)], True)


def _starlette_starsessions() -> ASGIApp:
    from starlette.middleware import Middleware
    from starsessions import InMemoryStore, SessionAutoloadMiddleware, SessionMiddleware

    stack = [
        Middleware(SessionMiddleware, store=InMemoryStore(), cookie_https_only=False),
        Middleware(SessionAutoloadMiddleware),
    ]
    return _starlette(stack, True)


# --- WSGI ----------------------------------------------------------------------------


def bare_wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"ok"]


def _session_wsgi(key: str, explicit_save: bool) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        session = environ[key]
        if environ["PATH_INFO"] == "/write":
            views = session["views"] = session.get("views", 0) + 1
            if explicit_save:  # Beaker saves only when asked (or with session.auto)
                session.save()
        else:
            views = session.get("views")
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [_views_body(views)]

    return app


def _wsgi_fastsession() -> WSGIApp:
    import fastsession

    inner = _session_wsgi("fastsession.session", explicit_save=False)
    app: WSGIApp = fastsession.WSGISessionMiddleware(inner, secret=SECRET)
    return app


def _wsgi_beaker() -> WSGIApp:
    from beaker.middleware import SessionMiddleware  # type: ignore[import-untyped]

    options = {"session.type": "memory", "session.secret": SECRET, "session.auto": False}
    app: WSGIApp = SessionMiddleware(_session_wsgi("beaker.session", True), options)
    return app


def _flask(kind: str) -> WSGIApp:
    """Flask, bare or with a session: its own signed cookie, Flask-Session on cachelib's
    in-memory SimpleCache, or fastsession wrapped around ``app.wsgi_app``."""
    from flask import Flask

    app = Flask(f"bench_{kind}")
    if kind == "flask-session":
        from cachelib import SimpleCache
        from flask_session import Session  # type: ignore[import-untyped]

        # Unsigned ids: Flask-Session 0.8 deprecates its signer (the id's entropy suffices).
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache(100_000))
        Session(app)
    elif kind == "cookie":
        app.config.update(SECRET_KEY=SECRET)
    elif kind == "fastsession":
        import fastsession

        app.wsgi_app = fastsession.WSGISessionMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, secret=SECRET
        )

    add_flask_routes(app, kind)
    return app


def add_flask_routes(app: Flask, kind: str) -> None:
    """/read and /write on a Flask app; fastsession's session is in the environ."""
    from flask import request, session

    def current() -> MutableMapping[str, Any]:
        if kind == "fastsession":
            found: MutableMapping[str, Any] = request.environ["fastsession.session"]
            return found
        return session

    @app.route("/read")
    def read() -> str:
        return "ok" if kind == "bare" else str(current().get("views"))

    @app.route("/write")
    def write() -> str:
        if kind == "bare":
            return "ok"
        data = current()
        data["views"] = data.get("views", 0) + 1
        return str(data["views"])


# --- the registry ----------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One contender: ``baseline`` names the bare variant it is measured against."""

    name: str
    protocol: Protocol
    baseline: str
    build: Callable[[], Any]

    @property
    def has_session(self) -> bool:
        return not self.name.startswith("bare") and self.name != "flask"


ASGI_VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("bare", "asgi", "bare", lambda: bare_asgi),
        # The bare app again, measured as a contender: its added cost is the noise floor.
        Variant("bare-control", "asgi", "bare", lambda: bare_asgi),
        Variant("fastsession", "asgi", "bare", _asgi_fastsession),
        Variant("starlette", "asgi", "bare", _asgi_starlette),
        Variant("starsessions", "asgi", "bare", _asgi_starsessions),
    )
}

WSGI_VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("bare", "wsgi", "bare", lambda: bare_wsgi),
        Variant("bare-control", "wsgi", "bare", lambda: bare_wsgi),
        Variant("fastsession", "wsgi", "bare", _wsgi_fastsession),
        Variant("beaker", "wsgi", "bare", _wsgi_beaker),
        Variant("flask", "wsgi", "flask", lambda: _flask("bare")),
        Variant("flask+fastsession", "wsgi", "flask", lambda: _flask("fastsession")),
        Variant("flask+flask-session", "wsgi", "flask", lambda: _flask("flask-session")),
        Variant("flask+cookie", "wsgi", "flask", lambda: _flask("cookie")),
    )
}

# Served by uvicorn in benchmarks/http_load.py.
STARLETTE_VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("bare", "asgi", "bare", _starlette_bare),
        Variant("bare-control", "asgi", "bare", _starlette_bare),
        Variant("fastsession", "asgi", "bare", _starlette_fastsession),
        Variant("starlette", "asgi", "bare", _starlette_cookie),
        Variant("starsessions", "asgi", "bare", _starlette_starsessions),
    )
}


# --- prebuilt requests and in-process calls ---------------------------------------------


def asgi_scope(path: str, cookie: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")]
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def wsgi_environ(path: str, cookie: str | None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


_REQUEST: Message = {"type": "http.request", "body": b"", "more_body": False}


async def receive() -> Message:
    return _REQUEST


async def discard(message: Message) -> None:
    return None


def discard_start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
    return None


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def set_cookie(self) -> str | None:
        """The ``name=value`` pair of the (last) Set-Cookie header, as a client replays it."""
        found = [v for k, v in self.headers if k.lower() == "set-cookie"]
        return found[-1].split(";", 1)[0].strip() if found else None


async def call_asgi(app: ASGIApp, path: str, cookie: str | None = None) -> Response:
    response = Response(0, [], b"")

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = [(k.decode(), v.decode()) for k, v in message["headers"]]
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")

    await app(asgi_scope(path, cookie), receive, capture)
    return response


def call_wsgi(app: WSGIApp, path: str, cookie: str | None = None) -> Response:
    response = Response(0, [], b"")

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        response.status = int(status.split(" ", 1)[0])
        response.headers = list(headers)

    body = app(wsgi_environ(path, cookie), start_response)
    try:
        response.body = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return response


def call(variant: Variant, app: Any, path: str, cookie: str | None = None) -> Response:
    """One request in-process, on a private event loop for ASGI (warm-ups and checks only)."""
    if variant.protocol == "wsgi":
        return call_wsgi(app, path, cookie)
    return asyncio.run(call_asgi(app, path, cookie))


def existing_session(variant: Variant, app: Any) -> str | None:
    """Create a session holding ``views == 1`` and return the cookie that carries it,
    checking that replaying the cookie finds it (else the benchmark would time the
    new-session path). Bare variants have no cookie."""
    if not variant.has_session:
        return None
    first = call(variant, app, "/write")
    cookie = first.set_cookie()
    if first.status != 200 or first.body != b"1" or cookie is None:
        raise RuntimeError(f"{variant.name}: the first write gave {first}")
    again = call(variant, app, "/read", cookie)
    if again.body != b"1":
        raise RuntimeError(f"{variant.name}: replaying {cookie!r} found {again.body!r}, not 1")
    return cookie
