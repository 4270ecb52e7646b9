"""Store and AsyncStore: the protocol every session store follows.

Required: ``get``, ``set``, ``destroy``. Recommended: ``touch`` (the
middleware calls it for an unmodified loaded session when ``resave`` is off;
a store without it is simply not touched, as in express-session) and
``replace`` (the middleware writes a session it loaded with it, so that a
session destroyed meanwhile by another request is not brought back; the base
classes' default is not atomic). Optional: ``all``, ``clear``, ``length``.

``touch`` may return False to say the session is gone (None or True: touched).

Optional, for the middleware's ``user_key``: ``index_users(key)`` (keep an
index from the data key ``key``'s value to session ids), then
``sessions_of(user)`` and ``destroy_user(user, *, keep=None)``; every built-in
store has them (docs/user-index.md).

A store that cannot be reached raises; it never reports a session as absent
because of a fault. A record without a ``cookie`` object is corrupt.
"""

from __future__ import annotations

from typing import ClassVar

from .._types import Record, StorableSession


class Store:
    """Base class of synchronous stores (usable from both middlewares).

    ``blocking`` tells the ASGI middleware whether calls may wait on I/O: if
    so they run in a worker thread so the event loop is never blocked.
    """

    blocking: ClassVar[bool] = True

    def get(self, sid: str) -> Record | None:
        """The record stored for ``sid`` as a dict, or None when absent or expired."""
        raise NotImplementedError

    def set(self, sid: str, session: StorableSession) -> None:
        """Store ``session.to_json()`` under ``sid``; it expires with ``session.cookie.expires``."""
        raise NotImplementedError

    def replace(self, sid: str, session: StorableSession) -> bool:
        """`set`, but only if ``sid`` is stored (and not expired): True when
        written, False when the session is gone (nothing written).

        This default is ``get`` then ``set``, not atomic: a destroy between the
        two is undone. A store that can should do it in one step.
        """
        if self.get(sid) is None:
            return False
        self.set(sid, session)
        return True

    def destroy(self, sid: str) -> None:
        """Delete ``sid``; an absent session is not an error."""
        raise NotImplementedError

    def all(self) -> dict[str, Record]:
        """Every live session: ``{sid: record}`` (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not list its sessions")

    def clear(self) -> None:
        """Delete every session (optional)."""
        raise NotImplementedError(f"{type(self).__name__} cannot clear its sessions")

    def length(self) -> int:
        """How many live sessions there are (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not count its sessions")


class AsyncStore:
    """Base class of asynchronous stores (ASGI middleware only)."""

    async def get(self, sid: str) -> Record | None:
        """The record stored for ``sid`` as a dict, or None when absent or expired."""
        raise NotImplementedError

    async def set(self, sid: str, session: StorableSession) -> None:
        """Store ``session.to_json()`` under ``sid``; it expires with ``session.cookie.expires``."""
        raise NotImplementedError

    async def replace(self, sid: str, session: StorableSession) -> bool:
        """`set`, but only if ``sid`` is stored (and not expired): True when
        written, False when the session is gone (nothing written).

        This default is ``get`` then ``set``, not atomic (see `Store.replace`).
        """
        if await self.get(sid) is None:
            return False
        await self.set(sid, session)
        return True

    async def destroy(self, sid: str) -> None:
        """Delete ``sid``; an absent session is not an error."""
        raise NotImplementedError

    async def all(self) -> dict[str, Record]:
        """Every live session: ``{sid: record}`` (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not list its sessions")

    async def clear(self) -> None:
        """Delete every session (optional)."""
        raise NotImplementedError(f"{type(self).__name__} cannot clear its sessions")

    async def length(self) -> int:
        """How many live sessions there are (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not count its sessions")


def has_touch(store: Store | AsyncStore) -> bool:
    """Whether the store implements ``touch`` (checked once, as express does)."""
    return callable(getattr(store, "touch", None))


__all__ = ["AsyncStore", "Store", "has_touch"]
