"""WSGISessionMiddleware: the WSGI data path, top to bottom.

Load (or create) the session before the app runs; save it when the app calls
``start_response`` (before the headers leave), and anything changed while the
body is produced before the last chunk is handed to the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from ._speedups import RequestCore, new_request, release
from .engine import cookie_options, make_engine
from .options import build_options, named_options
from .params import (
    DEFAULT,
    CookieArg,
    DefaultType,
    Genid,
    SameSite,
    Secret,
    StarletteSecretKey,
    Unset,
)
from .secure import wsgi_secure_of
from .stores import Store

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

SESSION_KEY = "fastsession.session"
SESSION_ID_KEY = "fastsession.session_id"


class WSGISessionMiddleware:
    """express-session for WSGI: ``environ["fastsession.session"]`` is a `Session`."""

    @named_options
    def __init__(
        self,
        app: WSGIApp,
        *,
        secret: Secret | None = None,
        store: Store | None = None,
        name: str | None = None,
        cookie: CookieArg | None = None,
        genid: Genid | None = None,
        proxy: bool | None = None,
        resave: bool = False,
        rolling: bool = False,
        save_uninitialized: bool = False,
        unset: Unset = "keep",
        user_key: str | None = None,
        touch_after: float | timedelta | None = None,
        absolute_timeout: float | timedelta | None = None,
        cache_headers: bool = True,
        secret_key: StarletteSecretKey | None = None,
        session_cookie: str | None = None,
        max_age: float | timedelta | None | DefaultType = DEFAULT,
        path: str | None = None,
        same_site: SameSite | None = None,
        https_only: bool | None = None,
        domain: str | None = None,
    ) -> None:
        """Wrap ``app``; every option is checked here, and a bad one is an error naming it.

        :param secret: signs the cookie; several (a list) for rotation: the
            first signs, all verify. Required, unless Starlette's ``secret_key``.
        :param store: a (sync) `Store`; by default one `MemoryStore`, shared by the
            middlewares of this process that read the same cookie (same secrets
            and name), so a framework that builds a middleware per route (Litestar)
            keeps one login across routes.
        :param name: the cookie's name, ``"connect.sid"`` (``"session"`` with ``secret_key``).
        :param cookie: the cookie's attributes (`CookieParams`, or a `CookieOptions`),
            or a callable of the WSGI environ returning them for each new session.
        :param genid: a callable of the WSGI environ returning a new session id.
        :param proxy: True: trust the first ``X-Forwarded-Proto`` for the scheme;
            None/False: the scheme the server reports.
        :param resave: save an unmodified loaded session on every request.
        :param rolling: send the cookie on every response, resetting its expiry.
        :param save_uninitialized: save a new session nobody wrote to (and send its cookie).
        :param unset: what unsetting the request's session does in the store:
            ``"keep"`` or ``"destroy"`` it.
        :param user_key: the data key holding the user id (``"user_id"``): the
            store then indexes sessions by user, for ``store.sessions_of(user)``
            and ``store.destroy_user(user)`` (docs/user-index.md).
        :param touch_after: seconds: an unchanged session's store expiry (and a
            rolling cookie) is renewed only once the last renewal is this old.
        :param absolute_timeout: seconds: a session this old since it was created
            (or regenerated) is destroyed and a new one begins, however active.
        :param cache_headers: ``Vary: Cookie`` on the responses, and
            ``Cache-Control: private`` on those with a Set-Cookie and no Cache-Control.
        :param secret_key: Starlette's name for ``secret``; the Starlette keywords
            below then default as in Starlette's SessionMiddleware.
        :param session_cookie: Starlette's name for ``name``.
        :param max_age: Starlette's name for ``cookie["max_age"]`` (seconds; 14 days
            with ``secret_key``; None: a browser-session cookie).
        :param path: Starlette's name for ``cookie["path"]``.
        :param same_site: Starlette's name for ``cookie["same_site"]`` (``"lax"``
            with ``secret_key``).
        :param https_only: Starlette's name for ``cookie["secure"]``.
        :param domain: Starlette's name for ``cookie["domain"]``.
        """
        self.app = app
        self.options = opts = build_options(
            secret=secret,
            store=store,
            name=name,
            cookie=cookie,
            genid=genid,
            proxy=proxy,
            resave=resave,
            rolling=rolling,
            save_uninitialized=save_uninitialized,
            unset=unset,
            user_key=user_key,
            touch_after=touch_after,
            absolute_timeout=absolute_timeout,
            cache_headers=cache_headers,
            secret_key=secret_key,
            session_cookie=session_cookie,
            max_age=max_age,
            path=path,
            same_site=same_site,
            https_only=https_only,
            domain=domain,
        )
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
