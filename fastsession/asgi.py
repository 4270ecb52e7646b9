"""SessionMiddleware: the ASGI data path, top to bottom.

Load (or create) the session before the app runs; save it before the response
headers leave, and anything changed while the body streams before the last
body message, so a client never sees a response before the store has answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._core import DESTROY, SET, TOUCH, Engine, RequestState, logger, store_error
from .options import build_options

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_START = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})


class SessionMiddleware:
    """express-session for ASGI: ``scope["session"]`` is an `AsyncSession`.

    ``SessionMiddleware(app, secret="...", **options)``; the options are the
    same as `WSGISessionMiddleware`'s (see the README's table).
    """

    def __init__(self, app: ASGIApp, *, secret: Any, **options: Any) -> None:
        self.app = app
        self.engine = Engine(build_options(secret=secret, **options), asgi=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("session") is not None:
            await self.app(scope, receive, send)
            return
        engine = self.engine
        options = engine.cookie_options(scope)
        prefix = engine.static_path or (options.get("path") or "/")
        if not scope.get("path", "/").startswith(prefix):
            await self.app(scope, receive, send)
            return

        state = RequestState(
            engine, scope, "session", "session_id", options, lambda: _is_secure(scope, engine)
        )

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
                record = await engine.aget(sid)
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

        # 3. Run the app; commit at the response's start and before its last message.
        async def send_wrapper(message: Message) -> None:
            kind = message["type"]
            if kind in _START:
                state.started = True
                line = await _commit(state, False)
                if line is not None:
                    message = dict(message)
                    message["headers"] = [
                        *message.get("headers", ()),
                        (b"set-cookie", line.encode("latin-1")),
                    ]
            elif state.started and (
                (kind == "http.response.body" and not message.get("more_body", False))
                or kind == "websocket.close"
            ):
                await _commit(state, True)
            await send(message)

        await self.app(scope, receive, send_wrapper)
        if scope["type"] == "websocket" and state.started:
            # A websocket ends without a final message of ours to wait for.
            await _commit(state, True)


async def _commit(state: RequestState, final: bool) -> str | None:
    """Do what the core decides; a store failure is raised, never swallowed."""
    line, op, arg = state.plan(final)
    if op:
        engine = state.engine
        try:
            if op == SET:
                try:
                    await engine.aset(arg.id, arg)
                finally:
                    arg._encoded = None
            elif op == TOUCH:
                await engine.atouch(arg.id, arg)
            elif op == DESTROY:
                await engine.adestroy(arg)
        except Exception as exc:
            name = {SET: "set", TOUCH: "touch", DESTROY: "destroy"}[op]
            logger.error("cannot store session: store %s() failed: %r", name, exc)
            raise store_error(name, exc) from exc
    return line


def _is_secure(scope: Scope, engine: Engine) -> bool:
    if engine.proxy is True:
        for name, value in scope.get("headers") or ():
            if name == b"x-forwarded-proto":
                first = value.split(b",", 1)[0]
                return bool(first.strip().lower() == b"https")
        return False
    return bool(scope.get("scheme") in ("https", "wss"))
