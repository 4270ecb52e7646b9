"""RedisStore and AsyncRedisStore: connect-redis 9 compatible session stores.

Keys are ``prefix + sid``, values express-session's JSON, and key TTLs follow
the cookie's expiry in whole seconds rounded up, so an Express app using
connect-redis and a fastsession app share sessions through the same Redis.
``replace`` is ``SET ... XX`` (written only while the key exists), with the
same TTL rule as ``set``: a TTL of zero or less deletes the key.

This module holds the two faces, command by command; what they share (options,
key naming, the TTL rule, the record codec) is `_redis_base._RedisStoreBase`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from .._types import Record, StorableSession
from . import AsyncStore, Store, _redis_base, _redis_cached, _redis_users
from ._redis_base import Serializer, _glob_escape, _RedisStoreBase
from ._redis_cache import LocalCache
from ._redis_cached import aforgets, forgets

TTLFunction = _redis_base.TTLFunction
"""``ttl=`` as a function of the session: its lifetime in seconds."""
TTL = _redis_base.TTL
"""``ttl=``: seconds (or a `timedelta`, or a `TTLFunction`) for sessions without expiry."""

_DELETE_BATCH = 1000

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
