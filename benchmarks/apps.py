"""The application variants the middleware benchmarks compare, in-process and over HTTP.

Every variant answers two paths: ``/read`` reads ``session["views"]`` and ``/write``
increments it. The body is the value seen, so a harness can check that the cookie it
replays really reaches an existing session. ``/login/<user>`` starts a session holding
``user`` and ``views == 1``: distinct data, so that even a cookie-only session (Starlette's)
gets a distinct cookie per session (benchmarks/traffic.py). A bare variant is the same
app without a session; "added µs" and "keep %" are always against the bare app of the
same family.
Peers are imported inside their builders: a missing peer fails only its own variant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

# Re-exported: the bench files and tests reach the in-process calls through this module.
from benchmarks.calls import ASGIApp as ASGIApp
from benchmarks.calls import Message as Message
from benchmarks.calls import Receive as Receive
from benchmarks.calls import Response as Response
from benchmarks.calls import Scope as Scope
from benchmarks.calls import Send as Send
from benchmarks.calls import StartResponse as StartResponse
from benchmarks.calls import WSGIApp as WSGIApp
from benchmarks.calls import asgi_scope as asgi_scope
from benchmarks.calls import call_asgi as call_asgi
from benchmarks.calls import call_wsgi as call_wsgi
from benchmarks.calls import discard as discard
from benchmarks.calls import discard_start_response as discard_start_response
from benchmarks.calls import receive as receive
from benchmarks.calls import wsgi_environ as wsgi_environ

if TYPE_CHECKING:
    from flask import Flask

Protocol = Literal["asgi", "wsgi"]

SECRET = "benchmark-secret-0123456789abcdef-not-for-production"
# Room for the real-traffic benchmarks' 100,000 sessions and more (DESIGN's default is 100k).
STORE_ENTRIES = 200_000
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
    session, path = scope["session"], scope["path"]
    if path == "/write":
        session["views"] = session.get("views", 0) + 1
    elif path.startswith("/login/"):  # a new session with its own data
        session["user"] = path[7:]
        session["views"] = 1
    views = session.get("views")
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT_PLAIN]})
    await send({"type": "http.response.body", "body": _views_body(views)})


def memory_store() -> Any:
    import fastsession

    return fastsession.MemoryStore(max_entries=STORE_ENTRIES)


def _asgi_fastsession(store: Any = None) -> ASGIApp:
    import fastsession

    store = store or memory_store()
    app: ASGIApp = fastsession.SessionMiddleware(session_asgi, secret=SECRET, store=store)
    return app


def _asgi_floor(store: Any = None) -> ASGIApp:
    from benchmarks.floor import FloorASGI

    return FloorASGI(session_asgi, store)


def _asgi_starlette() -> ASGIApp:
    from starlette.middleware.sessions import SessionMiddleware

    return SessionMiddleware(session_asgi, secret_key=SECRET)


def _asgi_starsessions(store: Any = None) -> ASGIApp:
    from starsessions import InMemoryStore, SessionAutoloadMiddleware, SessionMiddleware

    inner = SessionAutoloadMiddleware(session_asgi)
    return SessionMiddleware(inner, store=store or InMemoryStore(), cookie_https_only=False)


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

    async def login(request: Request) -> PlainTextResponse:
        request.session["user"] = request.path_params["user"]
        request.session["views"] = 1
        return PlainTextResponse("1")

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = (
        [Route("/read", read), Route("/write", write), Route("/login/{user}", login)]
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

    stack = [Middleware(fastsession.SessionMiddleware, secret=SECRET, store=memory_store())]
    return _starlette(stack, True)


def _starlette_floor() -> ASGIApp:
    from starlette.middleware import Middleware

    from benchmarks.floor import FloorASGI

    return _starlette([Middleware(FloorASGI)], True)


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


def session_wsgi(key: str, explicit_save: bool) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        session = environ[key]
        path = environ["PATH_INFO"]
        if path == "/write":
            session["views"] = session.get("views", 0) + 1
        elif path.startswith("/login/"):  # a new session with its own data
            session["user"] = path[7:]
            session["views"] = 1
        if explicit_save and path != "/read":  # Beaker saves only when asked
            session.save()
        views = session.get("views")
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [_views_body(views)]

    return app


def _wsgi_fastsession(store: Any = None) -> WSGIApp:
    import fastsession

    inner = session_wsgi("fastsession.session", explicit_save=False)
    store = store or memory_store()
    app: WSGIApp = fastsession.WSGISessionMiddleware(inner, secret=SECRET, store=store)
    return app


def _wsgi_floor(store: Any = None) -> WSGIApp:
    from benchmarks.floor import FloorWSGI

    return FloorWSGI(session_wsgi("floor.session", explicit_save=False), store)


def _wsgi_beaker() -> WSGIApp:
    from beaker.middleware import SessionMiddleware  # type: ignore[import-untyped]

    options = {"session.type": "memory", "session.secret": SECRET, "session.auto": False}
    app: WSGIApp = SessionMiddleware(session_wsgi("beaker.session", True), options)
    return app


def _flask(kind: str, store: Any = None) -> WSGIApp:
    """Flask, bare or with a session: its own signed cookie, Flask-Session on cachelib's
    in-memory SimpleCache, or fastsession wrapped around ``app.wsgi_app``."""
    from flask import Flask

    app = Flask(f"bench_{kind}")
    if kind == "flask-session":
        from cachelib import SimpleCache
        from flask_session import Session  # type: ignore[import-untyped]

        # Unsigned ids: Flask-Session 0.8 deprecates its signer (the id's entropy suffices).
        cache = SimpleCache(STORE_ENTRIES)  # past its threshold it drops every third entry
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)
        Session(app)
    elif kind == "cookie":
        app.config.update(SECRET_KEY=SECRET)
    elif kind == "fastsession":
        import fastsession

        app.wsgi_app = fastsession.WSGISessionMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, secret=SECRET, store=store or memory_store()
        )

    add_flask_routes(app, kind)
    return app


def _flask_fastsession(store: Any = None) -> WSGIApp:
    return _flask("fastsession", store)


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

    @app.route("/login/<user>")
    def login(user: str) -> str:
        if kind != "bare":
            data = current()
            data["user"] = user
            data["views"] = 1
        return "1"


# --- the registry ----------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One contender: ``baseline`` names the bare variant it is measured against."""

    name: str
    protocol: Protocol
    baseline: str
    build: Callable[..., Any]  # store=... for the variants benchmarks/traffic.py counts

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
        # Not a product: the least a store-backed middleware does (benchmarks/floor.py).
        Variant("floor", "asgi", "bare", _asgi_floor),
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
        Variant("floor", "wsgi", "bare", _wsgi_floor),
        Variant("beaker", "wsgi", "bare", _wsgi_beaker),
        Variant("flask", "wsgi", "flask", lambda: _flask("bare")),
        Variant("flask+fastsession", "wsgi", "flask", _flask_fastsession),
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
        Variant("floor", "asgi", "bare", _starlette_floor),
        Variant("starlette", "asgi", "bare", _starlette_cookie),
        Variant("starsessions", "asgi", "bare", _starlette_starsessions),
    )
}


# --- in-process calls of a variant ------------------------------------------------


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
