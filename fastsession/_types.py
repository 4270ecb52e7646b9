"""Protocols shared by the kernel twins and their callers.

Each kernel has a pure twin (`_x_py.py`) and a compiled twin (`_x_c`); both
satisfy these protocols, which is what `_speedups` binds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

Record = dict[str, Any]
"""A stored session record: express-session's JSON object, parsed."""


class SignerLike(Protocol):
    """HMAC-SHA256 signer in cookie-signature's format, keys prepared once.

    The first secret signs; every secret is tried, in order, on unsign.
    """

    def sign(self, value: str) -> str: ...
    def unsign(self, signed: str) -> str | None: ...


class CookieTemplateLike(Protocol):
    """A Set-Cookie line with its constant attributes prepared once."""

    def render(self, value: str, expires: float | None) -> str: ...


class LRULike(Protocol):
    """Bounded LRU of bytes with a per-entry deadline (clock units, seconds)."""

    def get(self, key: str) -> bytes | None: ...
    def peek(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, deadline: float) -> None: ...
    def touch(self, key: str, deadline: float) -> bool: ...
    def swap(self, key: str, expected: bytes, value: bytes, deadline: float) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def items(self) -> list[tuple[str, bytes]]: ...
    def clear(self) -> None: ...
    def sweep(self, limit: int) -> int: ...
    def __len__(self) -> int: ...


LRUFactory = Callable[..., LRULike]


class CookieLike(Protocol):
    """What a store reads of a session's cookie."""

    @property
    def expires(self) -> datetime | None:
        """When the cookie expires (aware, UTC), or None for a browser-session cookie."""
        ...


class StorableSession(Protocol):
    """What a store's ``set(sid, session)`` and ``touch(sid, session)`` receive.

    A store needs nothing else: ``to_json()`` is what to keep, and
    ``cookie.expires`` when it may be dropped. `Session` and `AsyncSession`
    are StorableSessions, and so is `fastsession.testing.StandInSession`.
    """

    @property
    def id(self) -> str:
        """The session id."""
        ...

    @property
    def cookie(self) -> CookieLike:
        """The session's cookie: ``cookie.expires`` (an aware UTC datetime, or None
        for a browser-session cookie) is when the stored copy may expire."""
        ...

    def to_record(self) -> Record:
        """The stored record, a JSON-ready dict: ``{"cookie": {...}, **data}``."""
        ...

    def to_json(self) -> bytes:
        """The stored record as express-session's exact JSON bytes: what to store."""
        ...


Scope = dict[str, Any]
Environ = dict[str, Any]
CookieOptionsMapping = Mapping[str, Any]
