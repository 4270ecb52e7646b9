"""SessionMiddleware: the ASGI data path, top to bottom.

Load (or create) the session before the app runs; save it before the response
headers leave, and anything changed while the body streams before the last
body message, so a client never sees a response before the store has answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import timedelta
from typing import Any

from ._speedups import new_request, release
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
from .replaced import LITESTAR_KEY, adopt, watching_send
from .secure import asgi_secure_of
from .stores import AsyncStore, Store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: Starlette types a scope as a MutableMapping, Litestar as
# TypedDicts, and both frameworks' apps (and both type checkers) must accept this one.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

_TYPES = frozenset({"http", "websocket"})


class SessionMiddleware:
    """express-session for ASGI: ``scope["session"]`` is an `AsyncSession`.

    ``SessionMiddleware(app, secret="...", **options)``; the options are the
    same as `WSGISessionMiddleware`'s (see the README's table).
    """

    @named_options
    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: Secret | None = None,
        store: Store | AsyncStore | None = None,
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
        :param store: a `Store` or an `AsyncStore`; by default one `MemoryStore`, shared by the
            middlewares of this process that read the same cookie (same secrets
            and name), so a framework that builds a middleware per route (Litestar)
            keeps one login across routes.
        :param name: the cookie's name, ``"connect.sid"`` (``"session"`` with ``secret_key``).
        :param cookie: the cookie's attributes (`CookieParams`, or a `CookieOptions`),
            or a callable of the ASGI scope returning them for each new session.
        :param genid: a callable of the ASGI scope returning a new session id.
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
        self.engine = make_engine(opts, asgi=True, secure_of=asgi_secure_of(opts.proxy))
        # Static cookie options: the path prefix a request needs, found once.
        self.static: Mapping[str, Any] | None = opts.cookie
        self.prefix = (opts.cookie.get("path") or "/") if opts.cookie is not None else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in _TYPES or scope.get("session") is not None:
            await self.app(scope, receive, send)
            return
        options = self.static
        if options is None:
            options = cookie_options(self.options, scope)
            prefix = options.get("path") or "/"
        else:
            prefix = self.prefix
        # express reads parseurl(req).pathname || "/": an empty path is the root.
        if not (scope.get("path") or "/").startswith(prefix):
            await self.app(scope, receive, send)
            return

        engine = self.engine
        request = new_request(engine, scope, options, send)
        # 1. The id from the first cookie with our name, if its signature
        # verifies (SidReader); 2. load it, or start a new session: an
        # unknown id is never reused.
        sid = engine.sids.read_asgi(scope.get("headers"))
        if engine.inline:
            request.begin(sid)
        else:
            await request.abegin(sid)
        # 3. Run the app; the send it is given commits at the response's start
        # and before its last message (RequestCore.asgi_send).
        send_app: Send = request.asgi_send
        session = None
        if LITESTAR_KEY in scope:  # inlined replaced.watches(): a lookup per request
            # Litestar's set_session()/clear_session() replace scope["session"].
            session = scope["session"]
            send_app = watching_send(scope, "session", session, send_app)
        try:
            await self.app(scope, receive, send_app)
            if request.started and scope["type"] == "websocket":
                if session is not None:
                    await adopt(scope, "session", session)
                # A websocket ends without a final message of ours to wait for.
                if engine.inline:
                    request.commit(True)
                else:
                    await request.acommit(True)
        finally:
            release(scope, "session")
