"""SessionMiddleware: the ASGI data path, top to bottom.

Load (or create) the session before the app runs; save it before the response
headers leave, and anything changed while the body streams before the last
body message, so a client never sees a response before the store has answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._core import (
    DESTROY,
    SET,
    TOUCH,
    Engine,
    RequestState,
    load_failed,
    store_failed,
)
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

    def __init__(self, app: ASGIApp, *, secret: Any, **options: Any) -> None:
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
            state: _State = _InlineState(engine, scope, options)
        else:
            state = _AwaitingState(engine, scope, options)
        state.send = send

        # 1. The id from the first cookie with our name, if its signature verifies.
        header = None
        for name, value in scope.get("headers") or ():
            if name == b"cookie":
                text = value.decode("latin-1")
                header = text if header is None else f"{header}; {text}"
        sid = state.cookie_id = engine.read_id(header)

        # 2. Load it, or start a new session (an unknown id is never reused).
        if sid is not None:
            try:
                if engine.inline:
                    record = engine.sget(sid)  # type: ignore[misc]
                else:
                    record = await engine.aget(sid)
            except FileNotFoundError:
                record = None
            except Exception as exc:
                raise load_failed(exc) from exc
            if record is not None:
                state.inflate(sid, record)
            else:
                state.generate()
        else:
            state.generate()

        # 3. Run the app; commit at the response's start and before its last message.
        await self.app(scope, receive, state.wrapped_send)
        if scope["type"] == "websocket" and state.started:
            # A websocket ends without a final message of ours to wait for.
            await state.commit_async(True)


class _State(RequestState):
    """An ASGI request's session state and the ``send`` the app is given."""

    __slots__ = ("send",)

    session_key = "session"
    id_key = "session_id"

    send: Send

    def secure_scheme(self) -> bool:
        scope = self.conn
        if self.engine.proxy is True:
            for name, value in scope.get("headers") or ():
                if name == b"x-forwarded-proto":
                    first = value.split(b",", 1)[0]
                    return bool(first.strip().lower() == b"https")
            return False
        return bool(scope.get("scheme") in ("https", "wss"))

    def wrapped_send(self, message: Message) -> Awaitable[None]:
        raise NotImplementedError

    async def commit_async(self, final: bool) -> str | None:
        """Do what the core decides; a store failure is raised, never swallowed."""
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
                raise store_failed(op, exc) from exc
        return line


class _AwaitingState(_State):
    """A store whose calls are awaited (async, or run in a worker thread)."""

    __slots__ = ()

    async def wrapped_send(self, message: Message) -> None:
        kind = message["type"]
        if kind in _START:
            self.started = True
            line = await self.commit_async(False)
            if line is not None:
                message = _with_cookie(message, line)
        elif self.started and (
            (kind == "http.response.body" and not message.get("more_body", False))
            or kind == "websocket.close"
        ):
            await self.commit_async(True)
        await self.send(message)


class _InlineState(_State):
    """A store called inline (MemoryStore): the commit needs no coroutine of its
    own, so the app awaits the server's ``send`` directly, right after it."""

    __slots__ = ()

    def wrapped_send(self, message: Message) -> Awaitable[None]:
        kind = message["type"]
        if kind in _START:
            self.started = True
            line = self.commit(False)
            if line is not None:
                message = _with_cookie(message, line)
        elif self.started and (
            (kind == "http.response.body" and not message.get("more_body", False))
            or kind == "websocket.close"
        ):
            self.commit(True)
        return self.send(message)

    def commit(self, final: bool) -> str | None:
        """`commit_async` with the store called directly."""
        line, op, arg = self.plan(final)
        if op:
            engine = self.engine
            try:
                if op == SET:
                    try:
                        engine.sset(arg._id, arg)  # type: ignore[misc]
                    finally:
                        arg._encoded = None
                elif op == TOUCH:
                    try:
                        engine.stouch(arg._id, arg)  # type: ignore[misc]
                    finally:
                        arg._encoded = None
                elif op == DESTROY:
                    engine.sdestroy(arg)  # type: ignore[misc]
            except Exception as exc:
                raise store_failed(op, exc) from exc
        return line

    async def commit_async(self, final: bool) -> str | None:
        return self.commit(final)


def _with_cookie(message: Message, line: str) -> Message:
    message = dict(message)
    message["headers"] = [*message.get("headers", ()), (b"set-cookie", line.encode("latin-1"))]
    return message
