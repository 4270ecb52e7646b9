"""The floor: the least a middleware that keeps sessions in a server-side store can do.

No signature, no cookie parsing beyond finding its own name, no expiry, none of
express-session's rules: the id from the cookie, a lookup in a dict, a copy for the
app, and a wrapped send that stores a changed session and sets a new one's cookie.
Nobody should use it (an unsigned id, sessions that never end); it is a yardstick,
measured in the same run as the real contenders: what any store-backed middleware
pays before it does any of its real work. Its figure against Starlette's
SessionMiddleware shows how far a ratio target can go on this machine and Python.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

NAME = "floor.sid"
_NEEDLE = NAME + "="
_BNEEDLE = _NEEDLE.encode()

Store = dict[str, dict[str, Any]]
Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _find(header: str) -> str | None:
    """The value of the first ``floor.sid`` pair in a Cookie header."""
    at = header.find(_NEEDLE)
    if at < 0:
        return None
    start = at + len(_NEEDLE)
    end = header.find(";", start)
    return header[start:] if end < 0 else header[start:end]


def _set_cookie(sid: str) -> str:
    return f"{NAME}={sid}; Path=/; HttpOnly"


class FloorASGI:
    def __init__(self, app: Callable[..., Awaitable[None]], store: Store | None = None) -> None:
        self.app = app
        self.store: Store = {} if store is None else store

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        sid = None
        for key, value in scope["headers"]:
            if key == b"cookie":
                sid = _find(value.decode("latin-1"))
                break
        stored = self.store.get(sid) if sid is not None else None
        session = scope["session"] = dict(stored) if stored is not None else {}

        async def wrapped(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and session != (stored or {}):
                new = stored is None
                key = secrets.token_urlsafe(24) if new or sid is None else sid
                self.store[key] = dict(session)
                if new:
                    cookie = (b"set-cookie", _set_cookie(key).encode("latin-1"))
                    message["headers"] = [*message.get("headers", ()), cookie]
            await send(message)

        await self.app(scope, receive, wrapped)


StartResponse = Callable[..., Any]


class FloorWSGI:
    def __init__(self, app: Callable[..., Iterable[bytes]], store: Store | None = None) -> None:
        self.app = app
        self.store: Store = {} if store is None else store

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        header = environ.get("HTTP_COOKIE")
        sid = _find(header) if header else None
        stored = self.store.get(sid) if sid is not None else None
        session = environ["floor.session"] = dict(stored) if stored is not None else {}

        def wrapped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if session != (stored or {}):
                new = stored is None
                key = secrets.token_urlsafe(24) if new or sid is None else sid
                self.store[key] = dict(session)
                if new:
                    headers = [*headers, ("Set-Cookie", _set_cookie(key))]
            return start_response(status, headers, exc_info)

        return self.app(environ, wrapped)


__all__ = ["NAME", "FloorASGI", "FloorWSGI"]
