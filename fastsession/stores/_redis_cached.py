"""The Redis stores' read path through their local copy, and the hooks that
drop a copy when the store writes its key (see ``_redis_cache``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .._types import Record
from ._redis_cache import LocalCopy

if TYPE_CHECKING:
    from ._redis_base import _RedisStoreBase
    from .redis import AsyncRedisStore, RedisStore


def get(store: RedisStore, sid: str) -> Record | None:
    """``RedisStore.get`` with the local copy."""
    local = _local(store)
    key = store._key(sid)
    if local.due():
        local.connect()
    value = local.lookup(key)
    if value is not None:
        return store._load(value)
    token = local.begin(key)
    value, pttl = None, None
    try:
        if token is None:
            value = store.client.get(key)
        else:
            pipe = store.client.pipeline(transaction=False)
            value, pttl = pipe.get(key).pttl(key).execute()
    except store._errors as exc:
        raise store._fail("GET", exc) from exc
    finally:
        if token is not None:
            local.keep(key, token, value, pttl)
    return store._load(value) if value else None


async def aget(store: AsyncRedisStore, sid: str) -> Record | None:
    """``AsyncRedisStore.get`` with the local copy."""
    local = _local(store)
    key = store._key(sid)
    if local.due():
        await local.aconnect()
    value = local.lookup(key)
    if value is not None:
        return store._load(value)
    token = local.begin(key)
    value, pttl = None, None
    try:
        if token is None:
            value = await store.client.get(key)
        else:
            pipe = store.client.pipeline(transaction=False)
            value, pttl = await pipe.get(key).pttl(key).execute()
    except store._errors as exc:
        raise store._fail("GET", exc) from exc
    finally:
        if token is not None:
            local.keep(key, token, value, pttl)
    return store._load(value) if value else None


_S = TypeVar("_S", bound="_RedisStoreBase")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def forgets(
    method: Callable[Concatenate[_S, str, _P], _R],
) -> Callable[Concatenate[_S, str, _P], _R]:
    """A store method that writes ``sid``: its local copy is dropped once the
    write is done (or failed: it may have happened), so that no read begun
    before it is kept and every read after it goes to the server."""

    @functools.wraps(method)
    def write(self: _S, sid: str, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, sid, *args, **kwargs)
        finally:
            if self.local_copy is not None:
                self.local_copy.forget(self._key(sid))

    return write


def aforgets(
    method: Callable[Concatenate[_S, str, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_S, str, _P], Coroutine[Any, Any, _R]]:
    """:func:`forgets` for the async face."""

    @functools.wraps(method)
    async def write(self: _S, sid: str, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(self, sid, *args, **kwargs)
        finally:
            if self.local_copy is not None:
                self.local_copy.forget(self._key(sid))

    return write


def _local(store: _RedisStoreBase) -> LocalCopy:
    local = store.local_copy
    assert local is not None
    return local


__all__ = ["aforgets", "aget", "forgets", "get"]
