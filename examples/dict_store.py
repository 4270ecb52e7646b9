"""A small third-party store: sessions in a dict, checked by fastsession's contract suite.

Copy it as the start of your own store. Its test (tests/test_store_testing.py in the
fastsession repository) is all a store's own test suite needs::

    from fastsession.testing import StoreContract

    class TestDictStore(StoreContract):
        USER_INDEX = False  # no per-user index (index_users, sessions_of, destroy_user)

        @pytest.fixture
        def store(self):
            self.now_ = 2_000_000_000.0
            yield DictStore(ttl=self.TTL, clock=lambda: self.now_)

        def now(self):
            return self.now_

        def advance(self, store, seconds):
            self.now_ += seconds
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from fastsession import Store
from fastsession.errors import CorruptSessionError


class DictStore(Store):
    """Sessions in a dict of this process (no eviction: an example, not for production)."""

    blocking = False  # no I/O: the ASGI middleware may call it on the event loop

    def __init__(self, *, ttl: float = 86_400, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.clock = clock
        self._data: dict[str, tuple[float, bytes]] = {}  # sid -> (expiry, record JSON)
        self._lock = threading.Lock()

    def _expiry(self, session: Any) -> float:
        expires = session.cookie.expires  # an aware datetime, or None for a browser session
        return expires.timestamp() if expires is not None else self.clock() + self.ttl

    def _live(self, sid: str) -> bytes | None:
        item = self._data.get(sid)
        if item is not None and item[0] <= self.clock():
            del self._data[sid]  # expired: gone for good
            return None
        return None if item is None else item[1]

    def get(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            raw = self._live(sid)
        return None if raw is None else _parse(raw)

    def set(self, sid: str, session: Any) -> None:
        expiry = self._expiry(session)
        with self._lock:
            if expiry <= self.clock():
                self._data.pop(sid, None)  # saving an expired session deletes it
            else:
                self._data[sid] = (expiry, session.to_json())  # bytes: a copy, never shared

    def touch(self, sid: str, session: Any) -> None:
        with self._lock:
            raw = self._live(sid)
            if raw is not None:
                self._data[sid] = (self._expiry(session), raw)  # the lifetime, not the data

    def destroy(self, sid: str) -> None:
        with self._lock:
            self._data.pop(sid, None)

    def all(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            live = {sid: raw for sid in list(self._data) if (raw := self._live(sid)) is not None}
        return {sid: _parse(raw) for sid, raw in live.items()}

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def length(self) -> int:
        return len(self.all())


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise CorruptSessionError(f"stored session is not JSON: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("cookie"), dict):
        raise CorruptSessionError("stored session has no cookie object")
    return record
