"""WSGISessionMiddleware: the WSGI data path, top to bottom.

Load (or create) the session before the app runs; save it when the app calls
``start_response`` (before the headers leave), and anything changed while the
body is produced before the last chunk is handed to the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._speedups import RequestCore, new_request, release
from .engine import cookie_options, make_engine
from .options import build_options
from .secure import wsgi_secure_of

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

SESSION_KEY = "fastsession.session"
SESSION_ID_KEY = "fastsession.session_id"


class WSGISessionMiddleware:
    """express-session for WSGI: ``environ["fastsession.session"]`` is a `Session`."""

    def __init__(self, app: WSGIApp, /, *, secret: Any, **options: Any) -> None:
        self.app = app
        self.options = opts = build_options(secret=secret, **options)
        self.engine = make_engine(opts, asgi=False, secure_of=wsgi_secure_of(opts.proxy))
        self.static: Mapping[str, Any] | None = opts.cookie
        self.prefix = (opts.cookie.get("path") or "/") if opts.cookie is not None else None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get(SESSION_KEY) is not None:
            return self.app(environ, start_response)
        options = self.static
        if options is None:
            options = cookie_options(self.options, environ)
            prefix = options.get("path") or "/"
        else:
            prefix = self.prefix
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if not (path or "/").startswith(prefix):
            return self.app(environ, start_response)

        engine = self.engine
        request = new_request(engine, environ, options, start_response)
        # 1. The id from the first cookie with our name, if its signature
        # verifies; 2. load it, or start a new session (an unknown id is never reused).
        request.begin(engine.sids.read(environ.get("HTTP_COOKIE")))
        # 3. Run the app; commit when it starts the response
        # (RequestCore.start_response) and before its last chunk.
        try:
            body = self.app(environ, request.start_response)
        except BaseException:
            release(environ, SESSION_KEY)
            raise
        if request.started and isinstance(body, (list, tuple)):
            # The whole body already exists: commit now and keep the list (and
            # the Content-Length a server can derive from it).
            try:
                request.commit(True)
            finally:
                release(environ, SESSION_KEY)
            return body
        return _Body(body, request)


class _Body:
    """The app's body, one chunk behind, so the last chunk waits for the commit."""

    __slots__ = ("_body", "_request")

    def __init__(self, body: Iterable[bytes], request: RequestCore) -> None:
        self._body = body
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        request = self._request
        held = None
        for chunk in self._body:
            if held is not None:
                yield held
            held = chunk
        if request.started:
            request.commit(True)
        if held is not None:
            yield held

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            release(self._request.conn, SESSION_KEY)
