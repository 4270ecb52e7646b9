"""FastAPI's dependency for the session: ``SessionDep``.

::

    from fastsession.fastapi import SessionDep

    @app.post("/login")
    async def login(session: SessionDep) -> RedirectResponse:
        await session.regenerate()
        session["user"] = "ann"
        return RedirectResponse("/", 302)

``SessionDep`` is ``Annotated[AsyncSession, Depends(session_of)]``, so the
parameter is typed as an `AsyncSession` for mypy, pyright and editors, and it
works in HTTP and websocket routes alike. Install the middleware as in
Starlette: ``app.add_middleware(SessionMiddleware, secret=...)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from .session import AsyncSession
from .starlette import get_session


def session_of(connection: HTTPConnection) -> AsyncSession:
    """The request's (or websocket's) session; `SessionError` when there is none."""
    return get_session(connection)


SessionDep = Annotated[AsyncSession, Depends(session_of)]
"""A path-operation (or dependency) parameter typed ``SessionDep`` receives the session."""

__all__ = ["SessionDep", "session_of"]
