"""The Redis stores' per-user index (``user_key``): a sorted set per user,
``user_prefix + str(user)``, of session ids scored by their expiry.

Only the new user's set is written on a write: an id left in another user's set
(the user changed, logged out, the session was destroyed or expired) is found
stale and removed when that set is read. One key per command, so a cluster
pipeline sends each to its own slot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import _clock
from .._types import Record, StorableSession
from ._users import check_keep, check_user, user_of, user_of_record

if TYPE_CHECKING:
    from ._redis_base import _RedisStoreBase
    from .redis import AsyncRedisStore, RedisStore

__all__ = ["adestroy_user", "asessions_of", "destroy_user", "index", "sessions_of", "text"]


def index(store: _RedisStoreBase, pipe: Any, sid: str, session: StorableSession, ttl: int) -> None:
    """The index upkeep of a write (``set``, ``replace``, ``touch``): queued on ``pipe``."""
    assert store.user_key is not None
    user = user_of(session, store.user_key)
    if user is None:
        return
    key = store._user_index(user)
    if store.disable_ttl:
        pipe.zadd(key, {sid: math.inf})
        return
    pipe.zadd(key, {sid: math.ceil(_clock.now()) + ttl})
    # The set lives as long as its longest-lived session: NX gives a new set
    # its TTL, GT only ever lengthens it.
    pipe.expire(key, ttl, nx=True)
    pipe.expire(key, ttl, gt=True)


def sessions_of(store: RedisStore, user: str | int) -> dict[str, Record]:
    store._indexing()
    name = check_user(user)
    key = store._user_index(name)
    try:
        sids = _members(store.client.zrange(key, 0, -1))
        if not sids:
            return {}
        values = store._mget([store._key(sid) for sid in sids])
        live, stale = _sort_out(store, name, sids, values)
        if stale:
            store.client.zrem(key, *stale)
    except store._errors as exc:
        raise store._fail("ZRANGE/MGET/ZREM", exc) from exc
    return live


async def asessions_of(store: AsyncRedisStore, user: str | int) -> dict[str, Record]:
    store._indexing()
    name = check_user(user)
    key = store._user_index(name)
    try:
        sids = _members(await store.client.zrange(key, 0, -1))
        if not sids:
            return {}
        values = await store._mget([store._key(sid) for sid in sids])
        live, stale = _sort_out(store, name, sids, values)
        if stale:
            await store.client.zrem(key, *stale)
    except store._errors as exc:
        raise store._fail("ZRANGE/MGET/ZREM", exc) from exc
    return live


def destroy_user(store: RedisStore, user: str | int, keep: str | None) -> int:
    keep = check_keep(keep)
    gone = [sid for sid in store.sessions_of(user) if sid != keep]
    if not gone:
        return 0
    pipe = _destroying(store, check_user(user), gone)
    try:
        results = pipe.execute()
    except store._errors as exc:
        raise store._fail("DEL", exc) from exc
    finally:
        store._forget(gone)
    return sum(int(n) for n in results[:-1])


async def adestroy_user(store: AsyncRedisStore, user: str | int, keep: str | None) -> int:
    keep = check_keep(keep)
    gone = [sid for sid in await store.sessions_of(user) if sid != keep]
    if not gone:
        return 0
    pipe = _destroying(store, check_user(user), gone)
    try:
        results = await pipe.execute()
    except store._errors as exc:
        raise store._fail("DEL", exc) from exc
    finally:
        store._forget(gone)
    return sum(int(n) for n in results[:-1])


def _destroying(store: _RedisStoreBase, user: str, gone: list[str]) -> Any:
    """A pipeline deleting ``gone`` and their index entries (one key per DEL: cluster-safe)."""
    pipe = store.client.pipeline(transaction=False)
    for sid in gone:
        pipe.delete(store._key(sid))
    pipe.zrem(store._user_index(user), *gone)
    return pipe


def text(key: bytes | str) -> str:
    """A key or member as redis-py returns it (bytes, or str when decoding) as str."""
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key


def _members(members: Iterable[bytes | str]) -> list[str]:
    return list(dict.fromkeys(text(m) for m in members))


def _sort_out(
    store: _RedisStoreBase, user: str, sids: list[str], values: Iterable[bytes | str | None]
) -> tuple[dict[str, Record], list[str]]:
    """The indexed ids' records split into the user's live sessions and the stale ids."""
    assert store.user_key is not None
    live: dict[str, Record] = {}
    stale: list[str] = []
    for sid, raw in zip(sids, values, strict=True):
        record = store._load(raw) if raw else None
        if record is not None and user_of_record(record, store.user_key) == user:
            live[sid] = record
        else:
            stale.append(sid)
    return live, stale
