"""Test doubles for the Redis store tests: a StorableSession made from a
record's JSON, and a sync driver for the async store."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from fastsession._types import Record
from fastsession.stores.redis import AsyncRedisStore


class StandInCookie:
    def __init__(self, expires: datetime | None) -> None:
        self.expires = expires


class StandInSession:
    """A StorableSession made from a stored record's JSON text, kept byte for byte."""

    def __init__(self, sid: str, text: str) -> None:
        self.id = sid
        self._text = text
        cookie = json.loads(text).get("cookie") or {}
        iso = cookie.get("expires")
        self.cookie = StandInCookie(datetime.fromisoformat(iso) if iso else None)

    def to_record(self) -> Record:
        return json.loads(self._text)  # type: ignore[no-any-return]

    def to_json(self) -> bytes:
        return self._text.encode()


def session_with(sid: str, expires: datetime | None, **data: Any) -> StandInSession:
    iso = None if expires is None else expires.isoformat(timespec="milliseconds")
    cookie = {"originalMaxAge": None if expires is None else 60000, "expires": iso}
    cookie |= {"httpOnly": True, "path": "/"}
    text = json.dumps({"cookie": cookie, **data}, separators=(",", ":"))
    return StandInSession(sid, text.replace("+00:00", "Z"))


class SyncFacade:
    """Drives an AsyncRedisStore from sync test code on one event loop of its own
    (redis.asyncio connections belong to the loop that opened them)."""

    def __init__(self, store: AsyncRedisStore) -> None:
        self.store = store
        self.loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.store, name)
        if not inspect.ismethod(method):
            return method  # type: ignore[no-any-return]  # an attribute, e.g. the ttl callable

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if isinstance(result, Coroutine):
                return self.loop.run_until_complete(result)
            return result

        return call

    def close(self) -> None:
        self.loop.run_until_complete(self.store.client.aclose())
        self.loop.close()
