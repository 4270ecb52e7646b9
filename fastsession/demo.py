"""The demo app: express-session's README view counter and login flow.

One process: a WSGI app on the standard library's server, so `pip install .` then
`python -m fastsession demo` is all it takes. Several workers (``--workers N``,
with a shared store such as ``--store sqlite:PATH``): the same app as ASGI under
uvicorn, whose workers import the module-level factory :func:`asgi_app_from_env`;
:func:`app_from_env` is the WSGI one, for gunicorn or waitress. Each page names the
process that served it, so a user sees the session follow them across workers.
"""

from __future__ import annotations

import html
import os
import secrets
import socket
import sys
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import Any, TextIO
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from . import AsyncSession, MemoryStore, Session, SessionMiddleware, WSGISessionMiddleware
from ._speedups import EXTENSIONS
from .asgi import ASGIApp, Receive, Scope, Send
from .stores import Store

SECRET_ENV = "FASTSESSION_DEMO_SECRET"
STORE_ENV = "FASTSESSION_DEMO_STORE"
MAX_FORM = 4096  # bytes of login form read; a username needs far less
MAX_USER = 64

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fastsession demo</title></head>
<body>
<h1>fastsession demo</h1>
{body}
<hr>
<p><small>{footer}</small></p>
</body></html>
"""

_LOGIN_FORM = """<form action="/login" method="post">
<label>Username: <input name="user" maxlength="64" required autofocus></label>
<button type="submit">Log in</button>
</form>"""


def _page(body: str, footer: str) -> bytes:
    return _PAGE.format(body=body, footer=footer).encode("utf-8")


def _read_form(environ: WSGIEnvironment) -> dict[str, list[str]]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_FORM)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    return parse_qs(raw.decode("utf-8", "replace"))


def store_from_spec(spec: str) -> Store:
    """``memory`` (the default) or ``sqlite:PATH``; anything else is a ``ValueError``."""
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:") and len(spec) > len("sqlite:"):
        from .stores.sqlite import SQLiteStore

        return SQLiteStore(spec[len("sqlite:") :])
    raise ValueError(f"store: expected 'memory' or 'sqlite:PATH', got {spec!r}")


def _secret_and_footer(secret: str | None, store: Store) -> tuple[str, str]:
    if secret is None:
        secret = os.environ.get(SECRET_ENV) or None
    if secret is None:
        source = f"random, generated at start (set {SECRET_ENV} to keep sessions across restarts)"
        secret = secrets.token_urlsafe(32)
    else:
        source = f"from {SECRET_ENV}" if os.environ.get(SECRET_ENV) == secret else "given"
    impl = "compiled" if EXTENSIONS else "pure Python"
    footer = html.escape(f"fastsession, {impl} kernels; secret: {source}; {store!r}")
    return secret, footer


def _user_from(form: dict[str, list[str]]) -> str | None:
    user = (form.get("user") or [""])[0].strip()
    return user if user and len(user) <= MAX_USER else None


def _home(session: dict[str, Any], max_age: float | None, expires: Any, footer: str) -> bytes:
    # express-session README: the view counter, with the cookie's remaining life.
    session["views"] = int(session.get("views", 0)) + 1
    parts = []
    user = session.get("user")
    if user:
        parts.append(f'<p>Hello, {html.escape(str(user))}! <a href="/logout">Log out</a></p>')
    else:
        parts.append(_LOGIN_FORM)
    parts.append(f"<p>Views: {session['views']}</p>")
    if expires is not None and max_age is not None:
        parts.append(
            f"<p>The cookie expires in {max_age:.0f} s "
            f"({expires.isoformat(timespec='seconds')}).</p>"
        )
    else:
        parts.append("<p>The cookie lasts until the browser closes.</p>")
    parts.append(f"<p>Served by process {os.getpid()}.</p>")
    return _page("\n".join(parts), footer)


_BAD_LOGIN = f"<p>Give a username of 1 to {MAX_USER} characters.</p>" + _LOGIN_FORM


def make_app(secret: str | None = None, store: Store | None = None) -> WSGIApplication:
    """The demo app wrapped in the WSGI session middleware.

    :param secret: the signing secret; by default ``FASTSESSION_DEMO_SECRET``, or a
        random one, in which case the sessions end when the process does.
    :param store: the session store; a new ``MemoryStore`` by default.
    """
    store = MemoryStore() if store is None else store
    secret, footer = _secret_and_footer(secret, store)

    def respond(
        start_response: StartResponse, status: str, body: bytes, location: str | None = None
    ) -> Iterable[bytes]:
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        if location is not None:
            headers.append(("Location", location))
        start_response(status, headers)
        return [body]

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        session: Session = environ["fastsession.session"]
        path, method = environ.get("PATH_INFO") or "/", environ["REQUEST_METHOD"]
        if path == "/" and method == "GET":
            body = _home(session, session.cookie.max_age, session.cookie.expires, footer)
            return respond(start_response, "200 OK", body)
        if path == "/login" and method == "GET":
            return respond(start_response, "200 OK", _page(_LOGIN_FORM, footer))
        if path == "/login" and method == "POST":
            user = _user_from(_read_form(environ))
            if user is None:
                return respond(start_response, "400 Bad Request", _page(_BAD_LOGIN, footer))
            # express-session README: a new id against session fixation, then the
            # user, then save before the redirect so the next request sees it.
            session.regenerate()
            session["user"] = user
            session.save()
            return respond(start_response, "302 Found", b"", location="/")
        if path == "/logout" and method in ("GET", "POST"):
            session.pop("user", None)
            session.save()
            session.regenerate()
            return respond(start_response, "302 Found", b"", location="/")
        if path in ("/", "/login", "/logout"):
            return respond(start_response, "405 Method Not Allowed", _page("", footer))
        return respond(start_response, "404 Not Found", _page("<p>Not found.</p>", footer))

    return WSGISessionMiddleware(app, secret=secret, store=store, cookie={"max_age": 3600})


def make_asgi_app(secret: str | None = None, store: Store | None = None) -> ASGIApp:
    """The same demo as an ASGI app in the ASGI session middleware."""
    store = MemoryStore() if store is None else store
    secret, footer = _secret_and_footer(secret, store)

    async def respond(send: Send, status: int, body: bytes, location: str | None = None) -> None:
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if location is not None:
            headers.append((b"location", location.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def read_form(receive: Receive) -> dict[str, list[str]]:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")[: MAX_FORM - len(raw)]
            if not message.get("more_body"):
                return parse_qs(raw.decode("utf-8", "replace"))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to start or stop
        session: AsyncSession = scope["session"]
        path, method = scope["path"], scope["method"]
        if path == "/" and method == "GET":
            body = _home(session, session.cookie.max_age, session.cookie.expires, footer)
            return await respond(send, 200, body)
        if path == "/login" and method == "GET":
            return await respond(send, 200, _page(_LOGIN_FORM, footer))
        if path == "/login" and method == "POST":
            user = _user_from(await read_form(receive))
            if user is None:
                return await respond(send, 400, _page(_BAD_LOGIN, footer))
            await session.regenerate()
            session["user"] = user
            await session.save()
            return await respond(send, 302, b"", location="/")
        if path == "/logout" and method in ("GET", "POST"):
            session.pop("user", None)
            await session.save()
            await session.regenerate()
            return await respond(send, 302, b"", location="/")
        if path in ("/", "/login", "/logout"):
            return await respond(send, 405, _page("", footer))
        return await respond(send, 404, _page("<p>Not found.</p>", footer))

    return SessionMiddleware(app, secret=secret, store=store, cookie={"max_age": 3600})


def app_from_env() -> WSGIApplication:
    """WSGI factory for process-per-worker servers: ``gunicorn 'fastsession.demo:app_from_env()'``.

    The store is ``FASTSESSION_DEMO_STORE`` (``memory`` or ``sqlite:PATH``) and the
    secret ``FASTSESSION_DEMO_SECRET``: every worker must have the same of both.
    """
    return make_app(store=store_from_spec(os.environ.get(STORE_ENV) or "memory"))


def asgi_app_from_env() -> ASGIApp:
    """ASGI factory, as :func:`app_from_env`.

    ``uvicorn --factory --workers 4 fastsession.demo:asgi_app_from_env``
    """
    return make_asgi_app(store=store_from_spec(os.environ.get(STORE_ENV) or "memory"))


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per request, so a slow client blocks no one."""

    daemon_threads = True


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    store: str = "memory",
    workers: int = 1,
    out: TextIO | None = None,
) -> None:
    """Serve the demo until Ctrl-C; prints the URL (the real port when ``port`` is 0).

    One worker: the standard library's threaded server. More: uvicorn with that many
    worker processes, which needs a store they share (``sqlite:PATH``).
    """
    out = out or sys.stdout
    if workers > 1:
        _serve_workers(host, port, store, workers, out)
        return
    app = make_app(store=store_from_spec(store))
    with make_server(host, port, app, server_class=ThreadingWSGIServer) as server:
        url = f"http://{host}:{server.server_port}/"
        print(f"fastsession demo on {url} (Ctrl-C to stop)", file=out, flush=True)
        if not os.environ.get(SECRET_ENV):
            note = f"secret: random, generated at start; set {SECRET_ENV} to keep sessions"
            print(note, file=out, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped", file=out, flush=True)


def _serve_workers(host: str, port: int, store: str, workers: int, out: TextIO) -> None:
    try:
        import uvicorn
    except ImportError:
        raise SystemExit("--workers needs uvicorn: pip install uvicorn") from None
    if store == "memory":
        raise ValueError(
            "--workers needs a store the workers share, such as --store sqlite:PATH "
            "(each worker would keep its own MemoryStore)"
        )
    store_from_spec(store)  # a bad spec or an unusable file fails here, once
    # The workers are new processes: they read the store and the secret from the environment.
    os.environ[STORE_ENV] = store
    if not os.environ.get(SECRET_ENV):
        os.environ[SECRET_ENV] = secrets.token_urlsafe(32)
        print("secret: random, shared by the workers until they stop", file=out, flush=True)
    if port == 0:
        with socket.socket() as probe:  # uvicorn reports no port of its own choosing
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    url = f"http://{host}:{port}/"
    print(
        f"fastsession demo on {url} with {workers} workers (Ctrl-C to stop)", file=out, flush=True
    )
    uvicorn.run(
        "fastsession.demo:asgi_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        lifespan="off",
    )
    print("stopped", file=out, flush=True)
