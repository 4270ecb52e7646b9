"""The Redis stores' shared base: what RedisStore and AsyncRedisStore have in common.

`_RedisStoreBase` holds the options, the key naming (``prefix + sid``, the
escaped ``SCAN`` pattern), connect-redis's TTL rule (the cookie's expiry in whole
seconds rounded up, else ``ttl``) and the record codec (express-session's JSON,
or the ``serializer``); `_client_errors` finds which client exceptions become
`StoreError`. The commands themselves, sync and async, are in ``redis.py``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .. import _clock
from .._types import Record, StorableSession
from ..errors import CorruptSessionError, StoreError, check_record
from . import _redis_cache
from ._redis_cache import LocalCacheOption
from ._users import UserKey

_json_loads: Callable[[bytes | str], Any]
try:
    from orjson import loads as _orjson_loads

    _json_loads = _orjson_loads
except ImportError:  # pragma: no cover
    _json_loads = json.loads

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DEFAULT_TTL = 86_400
_GLOB_SPECIALS = frozenset("*?[]\\")


class Serializer(Protocol):
    """Anything with ``dumps``/``loads``, like the ``json`` module."""

    def dumps(self, obj: Any, /) -> str | bytes: ...
    def loads(self, data: Any, /) -> Any: ...


# The ``ttl=`` option's types, documented where redis.py re-exports them.
TTLFunction = Callable[[StorableSession], "int | float | timedelta"]
TTL = int | float | timedelta | TTLFunction | None


def _client_errors() -> tuple[type[BaseException], ...]:
    """The exception bases of the Redis client libraries in use.

    Only libraries already imported matter: a client object exists, so its
    package is loaded. ``OSError`` covers socket errors a client lets through.
    """
    errors: list[type[BaseException]] = [OSError]
    for module, name in (("redis.exceptions", "RedisError"), ("valkey.exceptions", "ValkeyError")):
        exc = getattr(sys.modules.get(module), name, None)
        if isinstance(exc, type) and issubclass(exc, BaseException):
            errors.append(exc)
    return tuple(errors)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in _GLOB_SPECIALS else c for c in text)


class _RedisStoreBase(UserKey):
    """Options, key naming, TTL rule and record codec shared by both faces."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str | None = "sess:",
        ttl: TTL = _DEFAULT_TTL,
        disable_touch: bool = False,
        disable_ttl: bool = False,
        serializer: Serializer | None = None,
        scan_count: int = 100,
        user_key: str | None = None,
        user_prefix: str | None = None,
        local_cache: LocalCacheOption = 0,
    ) -> None:
        if client is None:
            raise TypeError("client: a Redis client is required")
        if prefix is None:
            prefix = "sess:"
        if not isinstance(prefix, str):
            raise TypeError(f"prefix: expected str, got {type(prefix).__name__}")
        if serializer is not None and not (
            callable(getattr(serializer, "dumps", None))
            and callable(getattr(serializer, "loads", None))
        ):
            raise TypeError("serializer: needs callable dumps() and loads()")
        if isinstance(scan_count, bool) or not isinstance(scan_count, int) or scan_count < 1:
            raise ValueError(f"scan_count: expected a positive int, got {scan_count!r}")
        self.client = client
        self.prefix = prefix
        self.disable_touch = bool(disable_touch)
        self.disable_ttl = bool(disable_ttl)
        self.serializer = serializer
        self.scan_count = scan_count
        self._ttl_fn: TTLFunction | None = None
        self._ttl_seconds = _DEFAULT_TTL
        self._resolve_ttl(ttl)
        self._match = _glob_escape(prefix) + "*"
        self._errors = _client_errors()
        # A cluster client splits multi-key reads by slot; MGET would fail CROSSSLOT.
        self._mget = getattr(client, "mget_nonatomic", None) or client.mget
        self.local_copy = _redis_cache.make_local_copy(client, prefix, local_cache)
        if user_prefix is None:
            user_prefix = "user:" + prefix  # outside SCAN's `prefix*` (all, length, clear)
        if not isinstance(user_prefix, str):
            raise TypeError(f"user_prefix: expected str, got {type(user_prefix).__name__}")
        self.user_prefix = user_prefix
        if user_key is not None:
            self.index_users(user_key)

    def index_users(self, key: str) -> None:
        """Index the sessions by the data key ``key`` (the middleware's ``user_key``):
        a sorted set per user, ``user_prefix + str(user)``, of session ids scored
        by their expiry; a ValueError if the store already indexes another key."""
        self._claim_user_key(key)

    def _user_index(self, user: str) -> str:
        return self.user_prefix + user

    def _forget(self, sids: Iterable[str]) -> None:
        """Drop the local copies of sessions written other than through `forgets`."""
        if self.local_copy is not None:
            for sid in sids:
                self.local_copy.forget(self._key(sid))

    @property
    def ttl(self) -> int | TTLFunction:
        """The ``ttl`` in effect: whole seconds, or the callable."""
        return self._ttl_fn if self._ttl_fn is not None else self._ttl_seconds

    def _resolve_ttl(self, ttl: TTL) -> None:
        if callable(ttl) and not isinstance(ttl, timedelta):
            self._ttl_fn = ttl
            return
        if isinstance(ttl, timedelta):
            ttl = ttl.total_seconds()
        if not ttl:
            return  # connect-redis: `opts.ttl || 86400`
        if isinstance(ttl, bool) or not isinstance(ttl, int | float):
            raise TypeError(f"ttl: expected seconds or a callable, got {type(ttl).__name__}")
        if not math.isfinite(ttl) or ttl < 0:
            raise ValueError(f"ttl: expected a positive number of seconds, got {ttl!r}")
        self._ttl_seconds = math.ceil(ttl)

    def _key(self, sid: str) -> str:
        return self.prefix + sid

    def _ttl_for(self, session: StorableSession) -> int:
        """Seconds the key lives: connect-redis's ``_getTTL``."""
        if self._ttl_fn is not None:
            seconds = self._ttl_fn(session)
            if isinstance(seconds, timedelta):
                seconds = seconds.total_seconds()
            return math.ceil(seconds)
        expires = session.cookie.expires
        if expires is not None:
            # Whole milliseconds, as JavaScript Dates hold them, then rounded up.
            expires_ms = (expires - _EPOCH) // _MS
            now_ms = math.floor(_clock.now() * 1000)
            return -((now_ms - expires_ms) // 1000)
        return self._ttl_seconds

    def _dump(self, session: StorableSession) -> str | bytes:
        if self.serializer is None:
            return session.to_json()
        return self.serializer.dumps(session.to_record())

    def _load(self, raw: bytes | str) -> Record:
        try:
            record = _json_loads(raw) if self.serializer is None else self.serializer.loads(raw)
        except (ValueError, TypeError) as exc:
            raise CorruptSessionError(f"stored session is not valid: {exc}") from exc
        check_record(record)
        return record  # type: ignore[no-any-return]

    def _records(self, keys: list[str], values: Iterable[bytes | str | None]) -> dict[str, Record]:
        start = len(self.prefix)
        # A key can expire between SCAN and MGET; connect-redis skips it too.
        return {k[start:]: self._load(v) for k, v in zip(keys, values, strict=True) if v}

    def _fail(self, command: str, exc: BaseException) -> StoreError:
        return StoreError(f"Redis {command} failed: {type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r}, prefix={self.prefix!r})"


__all__ = ["TTL", "Serializer", "TTLFunction"]
