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
    def delete(self, key: str) -> bool: ...
    def items(self) -> list[tuple[str, bytes]]: ...
    def clear(self) -> None: ...
    def sweep(self, limit: int) -> int: ...
    def __len__(self) -> int: ...


LRUFactory = Callable[..., LRULike]


class CookieLike(Protocol):
    @property
    def expires(self) -> datetime | None: ...


class StorableSession(Protocol):
    """What a store is handed by `set` and `touch`."""

    @property
    def id(self) -> str: ...
    @property
    def cookie(self) -> CookieLike: ...
    def to_record(self) -> Record: ...
    def to_json(self) -> bytes: ...


Scope = dict[str, Any]
Environ = dict[str, Any]
CookieOptionsMapping = Mapping[str, Any]
