"""WSGISessionMiddleware: the WSGI data path, top to bottom.

Load (or create) the session before the app runs; save it when the app calls
``start_response`` (before the headers leave), and anything changed while the
body is produced before the last chunk is handed to the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._core import DESTROY, SET, TOUCH, Engine, RequestState, logger, store_error
from .options import build_options

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

SESSION_KEY = "fastsession.session"
SESSION_ID_KEY = "fastsession.session_id"


class WSGISessionMiddleware:
    """express-session for WSGI: ``environ["fastsession.session"]`` is a `Session`."""

    def __init__(self, app: WSGIApp, *, secret: Any, **options: Any) -> None:
        self.app = app
        self.engine = Engine(
            build_options(secret=secret, allow_async_store=False, **options), asgi=False
        )

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get(SESSION_KEY) is not None:
            return self.app(environ, start_response)
        engine = self.engine
        options = engine.cookie_options(environ)
        prefix = engine.static_path or (options.get("path") or "/")
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if not (path or "/").startswith(prefix):
            return self.app(environ, start_response)

        state = RequestState(
            engine, environ, SESSION_KEY, SESSION_ID_KEY, options,
            lambda: _is_secure(environ, engine),
        )

        # 1. The id from the first cookie with our name, if its signature verifies.
        sid = state.cookie_id = engine.read_id(environ.get("HTTP_COOKIE"))

        # 2. Load it, or start a new session (an unknown id is never reused).
        if sid is not None:
            try:
                record = engine.store.get(sid)
            except FileNotFoundError:
                record = None
            except Exception as exc:
                logger.error("cannot load session: store get() failed: %r", exc)
                raise store_error("get", exc) from exc
            if record is not None:
                state.inflate(sid, record)
            else:
                state.generate()
        else:
            state.generate()

        # 3. Run the app; commit when it starts the response and before its last chunk.
        def session_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            if not state.started:
                state.started = True
                line = _commit(state, False)
                if line is not None:
                    headers = [*headers, ("Set-Cookie", line)]
            return start_response(status, headers, exc_info)

        body = self.app(environ, session_start_response)
        if isinstance(body, (list, tuple)) and state.started:
            # The whole body already exists: commit now and keep the list (and
            # the Content-Length a server can derive from it).
            _commit(state, True)
            return body
        return _Body(body, state)


class _Body:
    """The app's body, one chunk behind, so the last chunk waits for the commit."""

    __slots__ = ("_body", "_state")

    def __init__(self, body: Iterable[bytes], state: RequestState) -> None:
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
            _commit(state, True)
        if held is not None:
            yield held

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


def _commit(state: RequestState, final: bool) -> str | None:
    """Do what the core decides; a store failure is raised, never swallowed."""
    line, op, arg = state.plan(final)
    if op:
        store = state.engine.store
        try:
            if op == SET:
                try:
                    store.set(arg.id, arg)
                finally:
                    arg._encoded = None
            elif op == TOUCH:
                store.touch(arg.id, arg)
            elif op == DESTROY:
                store.destroy(arg)
        except Exception as exc:
            name = {SET: "set", TOUCH: "touch", DESTROY: "destroy"}[op]
            logger.error("cannot store session: store %s() failed: %r", name, exc)
            raise store_error(name, exc) from exc
    return line


def _is_secure(environ: Environ, engine: Engine) -> bool:
    if engine.proxy is True:
        value = environ.get("HTTP_X_FORWARDED_PROTO", "")
        return bool(value.split(",", 1)[0].strip().lower() == "https")
    return bool(environ.get("wsgi.url_scheme") == "https")
