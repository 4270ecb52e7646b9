"""The typed way to reach the session from a Starlette (or FastAPI, Litestar) request.

Starlette types ``request.session`` as ``dict[str, Any]``, so a type checker
refuses ``await request.session.regenerate()``. ``get_session(request)`` returns
the same object typed as what it is, an `AsyncSession`::

    from fastsession.starlette import get_session

    async def login(request: Request) -> Response:
        session = get_session(request)
        await session.regenerate()
        session["user"] = "ann"
        ...

Nothing here imports Starlette: any connection with a ``scope`` works
(Starlette's and Litestar's ``Request`` and ``WebSocket``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .errors import SessionError
from .session import AsyncSession


class HasScope(Protocol):
    """A request or websocket: anything with its ASGI ``scope``."""

    @property
    def scope(self) -> Mapping[str, Any]: ...


def get_session(connection: HasScope) -> AsyncSession:
    """The request's session (``scope["session"]``), typed.

    Raises `SessionError` when the request has none: `SessionMiddleware` is not
    installed above the app (or the path is outside ``cookie.path``), or the
    session was destroyed or unset earlier in this request.
    """
    session = connection.scope.get("session")
    if isinstance(session, AsyncSession):
        return session
    if "session_id" in connection.scope:
        raise SessionError("this request's session was destroyed or unset earlier in the request")
    if session is not None:
        raise SessionError(
            f"scope['session'] is a {type(session).__name__}, not fastsession's session: "
            "another session middleware is installed above fastsession's SessionMiddleware"
        )
    raise SessionError(
        "no session on this request: install fastsession.SessionMiddleware around the app "
        "(app.add_middleware(SessionMiddleware, secret=...)), and check that the request's "
        "path is inside the cookie's path"
    )


__all__ = ["HasScope", "get_session"]
