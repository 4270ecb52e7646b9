"""SessionMiddleware: the ASGI data path, top to bottom.

Load (or create) the session before the app runs; save it before the response
headers leave, and anything changed while the body streams before the last
body message, so a client never sees a response before the store has answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from ._speedups import new_request, release
from .engine import cookie_options, make_engine
from .options import build_options
from .secure import asgi_secure_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_TYPES = frozenset({"http", "websocket"})


class SessionMiddleware:
    """express-session for ASGI: ``scope["session"]`` is an `AsyncSession`.

    ``SessionMiddleware(app, secret="...", **options)``; the options are the
    same as `WSGISessionMiddleware`'s (see the README's table).
    """

    def __init__(self, app: ASGIApp, /, *, secret: Any, **options: Any) -> None:
        self.app = app
        self.options = opts = build_options(secret=secret, **options)
        self.engine = make_engine(opts, asgi=True, secure_of=asgi_secure_of(opts.proxy))
        # Static cookie options: the path prefix a request needs, found once.
        self.static: Mapping[str, Any] | None = opts.cookie
        self.prefix = (opts.cookie.get("path") or "/") if opts.cookie is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        try:
            await self.app(scope, receive, request.asgi_send)
            if request.started and scope["type"] == "websocket":
                # A websocket ends without a final message of ours to wait for.
                if engine.inline:
                    request.commit(True)
                else:
                    await request.acommit(True)
        finally:
            release(scope, "session")
