"""WSGISessionMiddleware: the WSGI data path, top to bottom.

Load (or create) the session before the app runs; save it when the app calls
``start_response`` (before the headers leave), and anything changed while the
body is produced before the last chunk is handed to the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._core import Engine, RequestState, release
from ._speedups import RequestCore
from .options import build_options

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

SESSION_KEY = "fastsession.session"
SESSION_ID_KEY = "fastsession.session_id"


class WSGISessionMiddleware:
    """express-session for WSGI: ``environ["fastsession.session"]`` is a `Session`."""

    def __init__(self, app: WSGIApp, /, *, secret: Any, **options: Any) -> None:
        self.app = app
        self.engine = Engine(
            build_options(secret=secret, allow_async_store=False, **options), asgi=False
        )

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get(SESSION_KEY) is not None:
            return self.app(environ, start_response)
        engine = self.engine
        options = engine.static_options
        if options is None:
            options = engine.cookie_options(environ)
            prefix = options.get("path") or "/"
        else:
            prefix = engine.static_path
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if not (path or "/").startswith(prefix):
            return self.app(environ, start_response)

        # 1. The id from the first cookie with our name, if its signature verifies;
        # 2. load it, or start a new session (an unknown id is never reused).
        state = engine.wsgi_begin(_State, environ, options, start_response)

        # 3. Run the app; commit when it starts the response (RequestCore.start_response)
        # and before its last chunk.
        body = self.app(environ, state.start_response)
        if state.started and isinstance(body, (list, tuple)):
            # The whole body already exists: commit now and keep the list (and
            # the Content-Length a server can derive from it).
            state.commit(True)
            release(environ, SESSION_KEY)
            return body
        return _Body(body, state)


class _State(RequestState):
    """A WSGI request's session."""

    __slots__ = ()

    def secure_scheme(self) -> bool:
        environ = self.conn
        if self.engine.proxy is True:
            value = environ.get("HTTP_X_FORWARDED_PROTO", "")
            return bool(value.split(",", 1)[0].strip().lower() == "https")
        return bool(environ.get("wsgi.url_scheme") == "https")


class _Body:
    """The app's body, one chunk behind, so the last chunk waits for the commit."""

    __slots__ = ("_body", "_state")

    def __init__(self, body: Iterable[bytes], state: RequestCore) -> None:
        self._body = body
        self._state = state

    def __iter__(self) -> Iterator[bytes]:
        state = self._state
        iterator = iter(self._body)
        held = None
        for chunk in iterator:
            if held is not None:
                yield held
            held = chunk
        if state.started:
            state.commit(True)
        if held is not None:
            yield held

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            release(self._state.conn, SESSION_KEY)
