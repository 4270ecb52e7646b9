"""The demo app: express-session's README view counter and login flow, as one WSGI app.

Stdlib only, so `pip install .` then `python -m fastsession demo` is all it takes.
"""

from __future__ import annotations

import html
import os
import secrets
import sys
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import TextIO
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from . import MemoryStore, Session, WSGISessionMiddleware
from ._speedups import EXTENSIONS

SECRET_ENV = "FASTSESSION_DEMO_SECRET"
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


def make_app(secret: str | None = None) -> WSGIApplication:
    """The demo app wrapped in the session middleware.

    :param secret: the signing secret; by default ``FASTSESSION_DEMO_SECRET``, or a
        random one, in which case the sessions end when the process does.
    """
    if secret is None:
        secret = os.environ.get(SECRET_ENV) or None
    if secret is None:
        source = f"random, generated at start (set {SECRET_ENV} to keep sessions across restarts)"
        secret = secrets.token_urlsafe(32)
    else:
        source = f"from {SECRET_ENV}" if os.environ.get(SECRET_ENV) == secret else "given"
    impl = "compiled" if EXTENSIONS else "pure Python"
    footer = html.escape(f"fastsession, {impl} kernels; secret: {source}; MemoryStore")

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

    def home(session: Session) -> bytes:
        # express-session README: the view counter, with the cookie's remaining life.
        session["views"] = int(session.get("views", 0)) + 1
        expires = session.cookie.expires
        parts = []
        user = session.get("user")
        if user:
            parts.append(f'<p>Hello, {html.escape(str(user))}! <a href="/logout">Log out</a></p>')
        else:
            parts.append(_LOGIN_FORM)
        parts.append(f"<p>Views: {session['views']}</p>")
        if expires is not None:
            parts.append(
                f"<p>The cookie expires in {session.cookie.max_age:.0f} s "
                f"({expires.isoformat(timespec='seconds')}).</p>"
            )
        else:
            parts.append("<p>The cookie lasts until the browser closes.</p>")
        return _page("\n".join(parts), footer)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        session: Session = environ["fastsession.session"]
        path, method = environ.get("PATH_INFO") or "/", environ["REQUEST_METHOD"]
        if path == "/" and method == "GET":
            return respond(start_response, "200 OK", home(session))
        if path == "/login" and method == "GET":
            return respond(start_response, "200 OK", _page(_LOGIN_FORM, footer))
        if path == "/login" and method == "POST":
            user = (_read_form(environ).get("user") or [""])[0].strip()
            if not user or len(user) > MAX_USER:
                hint = f"<p>Give a username of 1 to {MAX_USER} characters.</p>"
                body = _page(hint + _LOGIN_FORM, footer)
                return respond(start_response, "400 Bad Request", body)
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

    return WSGISessionMiddleware(app, secret=secret, store=MemoryStore(), cookie={"max_age": 3600})


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per request, so a slow client blocks no one."""

    daemon_threads = True


def serve(host: str = "127.0.0.1", port: int = 8000, *, out: TextIO | None = None) -> None:
    """Serve the demo until Ctrl-C; prints the URL (the real port when ``port`` is 0)."""
    out = out or sys.stdout
    app = make_app()
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
