"""RedisStore and AsyncRedisStore: connect-redis 9 compatible session stores.

Keys are ``prefix + sid``, values express-session's JSON, and key TTLs follow
the cookie's expiry in whole seconds rounded up, so an Express app using
connect-redis and a fastsession app share sessions through the same Redis.
``replace`` is ``SET ... XX`` (written only while the key exists), with the
same TTL rule as ``set``: a TTL of zero or less deletes the key.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .. import _clock
from .._types import Record, StorableSession
from ..errors import CorruptSessionError, StoreError, check_record
from . import AsyncStore, Store, _redis_cache, _redis_cached, _redis_users
from ._redis_cache import LocalCache, LocalCacheOption
from ._redis_cached import aforgets, forgets
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
_DELETE_BATCH = 1000


class Serializer(Protocol):
    """Anything with ``dumps``/``loads``, like the ``json`` module."""

    def dumps(self, obj: Any, /) -> str | bytes: ...
    def loads(self, data: Any, /) -> Any: ...


TTLFunction = Callable[[StorableSession], "int | float | timedelta"]
"""``ttl=`` as a function of the session: its lifetime in seconds."""
TTL = int | float | timedelta | TTLFunction | None
"""``ttl=``: seconds (or a `timedelta`, or a `TTLFunction`) for sessions without expiry."""


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


# How the sync and async faces share the index, command by command:
# sessions_of: ZRANGE user-set, MGET (per slot) the sessions, ZREM the stale ids;
# destroy_user: the same, then DEL every session but `keep` and ZREM them.


class RedisStore(_RedisStoreBase, Store):
    """Sessions in Redis through a synchronous client (``redis.Redis``,
    ``redis.cluster.RedisCluster`` or a Valkey client).

    The ASGI middleware runs its calls in a worker thread (``blocking``).
    Every client error is raised as :class:`~fastsession.errors.StoreError`
    with the client's exception as its cause.

    :param client: the Redis client; configure timeouts and retries on it.
    :param prefix: key prefix (``"sess:"``, like connect-redis).
    :param ttl: seconds for sessions whose cookie has no expiry, or a callable
        ``(session) -> seconds`` that decides for every session.
    :param disable_touch: make ``touch`` do nothing.
    :param disable_ttl: store keys without expiry (and never touch).
    :param serializer: an object with ``dumps``/``loads``; JSON by default.
    :param scan_count: the ``COUNT`` hint for the ``SCAN`` of ``all``/``ids``.
    :param user_key: index the sessions by this data key's value (a user id),
        for `sessions_of` and `destroy_user` (see docs/user-index.md).
    :param user_prefix: the prefix of the per-user index keys (``"user:" + prefix``).
    :param local_cache: keep recently read sessions in memory, kept true by
        Redis client tracking: a number of entries or a
        :class:`~fastsession.stores.redis.LocalCache`; 0 (off) by default.
    """

    def get(self, sid: str) -> Record | None:
        if self.local_copy is not None:
            return _redis_cached.get(self, sid)
        try:
            raw = self.client.get(self._key(sid))
        except self._errors as exc:
            raise self._fail("GET", exc) from exc
        return self._load(raw) if raw else None

    @forgets
    def set(self, sid: str, session: StorableSession) -> None:
        self._write(sid, session, xx=False)

    @forgets
    def replace(self, sid: str, session: StorableSession) -> bool:
        """`set` only if the key exists (``SET ... XX``): False when the session is gone."""
        return self._write(sid, session, xx=True)

    def _write(self, sid: str, session: StorableSession, *, xx: bool) -> bool:
        """``SET`` (with ``xx``, only over an existing key) under connect-redis's TTL
        rule, a TTL of 0 or less deleting the key: whether a key was written (deleted)."""
        ttl = self._ttl_for(session)
        key = self._key(sid)
        ex = None if self.disable_ttl else ttl
        try:
            if ttl <= 0:
                return bool(self.client.delete(key))
            if self.user_key is not None:
                # An index entry queued for a session found gone (xx) is stale, and
                # dropped when its user's set is read.
                pipe = self.client.pipeline(transaction=False)
                pipe.set(key, self._dump(session), ex=ex, xx=xx)
                _redis_users.index(self, pipe, sid, session, ttl)
                return bool(pipe.execute()[0])
            return bool(self.client.set(key, self._dump(session), ex=ex, xx=xx))
        except self._errors as exc:
            raise self._fail("DEL" if ttl <= 0 else "SET", exc) from exc

    def touch(self, sid: str, session: StorableSession) -> bool | None:
        """``EXPIRE``: False when the session is gone; None when touch is disabled."""
        if self.disable_touch or self.disable_ttl:
            return None
        ttl = self._ttl_for(session)
        try:
            if self.user_key is not None and ttl > 0:
                # The user's set must outlive the session it now outlives.
                pipe = self.client.pipeline(transaction=False)
                pipe.expire(self._key(sid), ttl)
                _redis_users.index(self, pipe, sid, session, ttl)
                return bool(pipe.execute()[0])
            return bool(self.client.expire(self._key(sid), ttl))
        except self._errors as exc:
            raise self._fail("EXPIRE", exc) from exc

    @forgets
    def destroy(self, sid: str) -> None:
        try:
            self.client.delete(self._key(sid))
        except self._errors as exc:
            raise self._fail("DEL", exc) from exc

    def sessions_of(self, user: str | int) -> dict[str, Record]:
        """The live sessions of ``user`` (keyed by ``str()``): ``{sid: record}``.

        Ids found stale (gone, expired, or now another user's) leave the index.
        """
        return _redis_users.sessions_of(self, user)

    def destroy_user(self, user: str | int, *, keep: str | None = None) -> int:
        """Destroy every session of ``user`` but ``keep``; how many were destroyed."""
        return _redis_users.destroy_user(self, user, keep)

    def _keys(self, match: str | None = None) -> list[str]:
        try:
            found: Iterator[bytes | str] = self.client.scan_iter(
                match=match or self._match, count=self.scan_count
            )
            return list(dict.fromkeys(_redis_users.text(k) for k in found))
        except self._errors as exc:
            raise self._fail("SCAN", exc) from exc

    def ids(self) -> list[str]:
        """The ids of every stored session (``SCAN``; order unspecified)."""
        start = len(self.prefix)
        return [k[start:] for k in self._keys()]

    def all(self) -> dict[str, Record]:
        keys = self._keys()
        if not keys:
            return {}
        try:
            values = self._mget(keys)
        except self._errors as exc:
            raise self._fail("MGET", exc) from exc
        return self._records(keys, values)

    def length(self) -> int:
        return len(self._keys())

    def clear(self) -> None:
        if self.local_copy is not None:
            self.local_copy.forget_all()
        keys = self._keys()
        if self.user_key is not None:  # no session left: no user index either
            keys += self._keys(_glob_escape(self.user_prefix) + "*")
        try:
            for i in range(0, len(keys), _DELETE_BATCH):
                self.client.delete(*keys[i : i + _DELETE_BATCH])
        except self._errors as exc:
            raise self._fail("DEL", exc) from exc


class AsyncRedisStore(_RedisStoreBase, AsyncStore):
    """Sessions in Redis through ``redis.asyncio.Redis`` (or its cluster client).

    Same options and behaviour as :class:`RedisStore`, with coroutine methods.
    """

    async def get(self, sid: str) -> Record | None:
        if self.local_copy is not None:
            return await _redis_cached.aget(self, sid)
        try:
            raw = await self.client.get(self._key(sid))
        except self._errors as exc:
            raise self._fail("GET", exc) from exc
        return self._load(raw) if raw else None

    @aforgets
    async def set(self, sid: str, session: StorableSession) -> None:
        await self._write(sid, session, xx=False)

    @aforgets
    async def replace(self, sid: str, session: StorableSession) -> bool:
        """`set` only if the key exists (``SET ... XX``): False when the session is gone."""
        return await self._write(sid, session, xx=True)

    async def _write(self, sid: str, session: StorableSession, *, xx: bool) -> bool:
        """``SET`` (with ``xx``, only over an existing key) under connect-redis's TTL
        rule, a TTL of 0 or less deleting the key: whether a key was written (deleted)."""
        ttl = self._ttl_for(session)
        key = self._key(sid)
        ex = None if self.disable_ttl else ttl
        try:
            if ttl <= 0:
                return bool(await self.client.delete(key))
            if self.user_key is not None:
                # An index entry queued for a session found gone (xx) is stale, and
                # dropped when its user's set is read.
                pipe = self.client.pipeline(transaction=False)
                pipe.set(key, self._dump(session), ex=ex, xx=xx)
                _redis_users.index(self, pipe, sid, session, ttl)
                return bool((await pipe.execute())[0])
            return bool(await self.client.set(key, self._dump(session), ex=ex, xx=xx))
        except self._errors as exc:
            raise self._fail("DEL" if ttl <= 0 else "SET", exc) from exc

    async def touch(self, sid: str, session: StorableSession) -> bool | None:
        """``EXPIRE``: False when the session is gone; None when touch is disabled."""
        if self.disable_touch or self.disable_ttl:
            return None
        ttl = self._ttl_for(session)
        try:
            if self.user_key is not None and ttl > 0:
                pipe = self.client.pipeline(transaction=False)
                pipe.expire(self._key(sid), ttl)
                _redis_users.index(self, pipe, sid, session, ttl)
                return bool((await pipe.execute())[0])
            return bool(await self.client.expire(self._key(sid), ttl))
        except self._errors as exc:
            raise self._fail("EXPIRE", exc) from exc

    @aforgets
    async def destroy(self, sid: str) -> None:
        try:
            await self.client.delete(self._key(sid))
        except self._errors as exc:
            raise self._fail("DEL", exc) from exc

    async def sessions_of(self, user: str | int) -> dict[str, Record]:
        """The live sessions of ``user``; see `RedisStore.sessions_of`."""
        return await _redis_users.asessions_of(self, user)

    async def destroy_user(self, user: str | int, *, keep: str | None = None) -> int:
        """Destroy every session of ``user`` but ``keep``; how many were destroyed."""
        return await _redis_users.adestroy_user(self, user, keep)

    async def _keys(self, match: str | None = None) -> list[str]:
        try:
            found: AsyncIterator[bytes | str] = self.client.scan_iter(
                match=match or self._match, count=self.scan_count
            )
            return list(dict.fromkeys([_redis_users.text(k) async for k in found]))
        except self._errors as exc:
            raise self._fail("SCAN", exc) from exc

    async def ids(self) -> list[str]:
        """The ids of every stored session (``SCAN``; order unspecified)."""
        start = len(self.prefix)
        return [k[start:] for k in await self._keys()]

    async def all(self) -> dict[str, Record]:
        keys = await self._keys()
        if not keys:
            return {}
        try:
            values = await self._mget(keys)
        except self._errors as exc:
            raise self._fail("MGET", exc) from exc
        return self._records(keys, values)

    async def length(self) -> int:
        return len(await self._keys())

    async def clear(self) -> None:
        if self.local_copy is not None:
            self.local_copy.forget_all()
        keys = await self._keys()
        if self.user_key is not None:  # no session left: no user index either
            keys += await self._keys(_glob_escape(self.user_prefix) + "*")
        try:
            for i in range(0, len(keys), _DELETE_BATCH):
                await self.client.delete(*keys[i : i + _DELETE_BATCH])
        except self._errors as exc:
            raise self._fail("DEL", exc) from exc


__all__ = ["TTL", "AsyncRedisStore", "LocalCache", "RedisStore", "Serializer", "TTLFunction"]
