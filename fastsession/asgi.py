"""SessionMiddleware: the ASGI data path, top to bottom.

Load (or create) the session before the app runs; save it before the response
headers leave, and anything changed while the body streams before the last
body message, so a client never sees a response before the store has answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._core import DESTROY, SET, TOUCH, Engine, RequestState, release
from .options import build_options

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_START = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})
_TYPES = frozenset({"http", "websocket"})


class SessionMiddleware:
    """express-session for ASGI: ``scope["session"]`` is an `AsyncSession`.

    ``SessionMiddleware(app, secret="...", **options)``; the options are the
    same as `WSGISessionMiddleware`'s (see the README's table).
    """

    def __init__(self, app: ASGIApp, /, *, secret: Any, **options: Any) -> None:
        self.app = app
        self.engine = Engine(build_options(secret=secret, **options), asgi=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in _TYPES or scope.get("session") is not None:
            await self.app(scope, receive, send)
            return
        engine = self.engine
        options = engine.static_options
        if options is None:
            options = engine.cookie_options(scope)
            prefix = options.get("path") or "/"
        else:
            prefix = engine.static_path
        if not scope.get("path", "/").startswith(prefix):
            await self.app(scope, receive, send)
            return

        if engine.inline:
            # 1. The id from the first cookie with our name, if its signature
            # verifies; 2. load it, or start a new session (an unknown id is
            # never reused): EngineCore.asgi_begin. 3. Run the app, committing
            # at the response's start and before its last message, the store
            # called inline (RequestCore.asgi_send).
            state = engine.asgi_begin(_State, scope, options, send)
            try:
                await self.app(scope, receive, state.asgi_send)
                if state.started and scope["type"] == "websocket":
                    # A websocket ends without a final message of ours to wait for.
                    state.commit(True)
            finally:
                release(scope, "session")
            return

        # The same with a store whose calls are awaited.
        state = _State(engine, scope, options)
        state.respond = send
        state.cookie_id = sid = engine.read_asgi_id(scope.get("headers"))
        if sid is not None:
            try:
                record = await engine.aget(sid)
            except FileNotFoundError:
                record = None
            except Exception as exc:
                raise engine.load_failed(exc) from exc
            if record is not None:
                state.inflate(sid, record)
            else:
                state.generate()
        else:
            state.generate()
        try:
            await self.app(scope, receive, state.awaiting_send)
            if state.started and scope["type"] == "websocket":
                await state.commit_async(True)
        finally:
            release(scope, "session")


class _State(RequestState):
    """An ASGI request's session."""

    __slots__ = ()

    def secure_scheme(self) -> bool:
        scope = self.conn
        if self.engine.proxy is True:
            for name, value in scope.get("headers") or ():
                if name == b"x-forwarded-proto":
                    first = value.split(b",", 1)[0]
                    return bool(first.strip().lower() == b"https")
            return False
        return bool(scope.get("scheme") in ("https", "wss"))

    async def awaiting_send(self, message: Message) -> None:
        """`asgi_send` for a store whose calls are awaited."""
        kind = message["type"]
        if kind in _START:
            self.started = True
            line = await self.commit_async(False)
            if line is not None:
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"set-cookie", line.encode("latin-1")),
                ]
        elif self.started and (
            (kind == "http.response.body" and not message.get("more_body", False))
            or kind == "websocket.close"
        ):
            await self.commit_async(True)
        await self.respond(message)

    async def commit_async(self, final: bool) -> str | None:
        """`commit` with the store's calls awaited."""
        line, op, arg = self.plan(final)
        if op:
            engine = self.engine
            try:
                if op == SET:
                    try:
                        await engine.aset(arg.id, arg)
                    finally:
                        arg._encoded = None
                elif op == TOUCH:
                    try:
                        await engine.atouch(arg.id, arg)
                    finally:
                        arg._encoded = None
                elif op == DESTROY:
                    await engine.adestroy(arg)
            except Exception as exc:
                raise engine.store_failed(op, exc) from exc
        return line
