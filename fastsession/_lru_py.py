"""Pure-Python LRU of bytes with a per-entry deadline: the spec of ``fastsession._lru_c``.

Invariants, shared with ``src_c/_lru_c.pyx`` (which includes ``_lru_clock.pxi``,
the clock, and ``_lru_reclaim.pxi``, ``_make_room`` / ``items`` / ``sweep`` /
``_notify``; tests/test_lru_properties.py holds the twins equal):

* Entries are kept in use order, least recently used first. ``get``, ``set``
  and a successful ``touch`` count as use; ``peek`` does not.
* An entry is expired once ``deadline <= clock()`` (expiry exactly at now counts,
  as in express-session's MemoryStore). An expired entry is never returned:
  whichever call finds it removes it and reports ``on_expire(key, value)``.
* A NaN deadline is a ValueError from ``set`` and ``touch``, which then change
  nothing. NaN compares false with every time, so it would read as alive to one
  test and expired to another; and neither "never expires" (a session kept
  forever) nor "already expired" (a write silently lost) is a safe reading of a
  computation gone wrong. ``inf`` (never) and ``-inf`` (at once) are ordinary.
* ``len()`` counts the entries held, including expired ones not yet found.
* Reclaiming without a background thread: each ``set`` and successful ``touch``
  looks at the least recently used end and removes up to ``RECLAIM_PER_WRITE``
  expired entries found there (``on_expire``), then, while over the bound,
  evicts from that end (``on_evict``; ``on_expire`` if the victim had expired).
  The entry just written is never removed by its own call. That end is the
  oldest activity; with one session lifetime per application it is also the
  earliest deadline, and since at most one entry expires per write, two per
  write keep up. ``sweep(limit)`` reclaims anywhere, oldest first.
* ``set`` of a held key replaces it silently; ``delete`` and ``clear`` report
  nothing.
* Callbacks run after the operation is complete and the container consistent,
  in removal order. If any raise, the others still run, then the first
  exception propagates to the caller.

``clock=None`` follows ``fastsession._clock.now``, looked up at each call (so
that tests can freeze it after the container was made).

Thread safety: one ``threading.Lock`` around each change; the clock and the
callbacks are called outside it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from . import _clock

RECLAIM_PER_WRITE = 2
"""Expired entries a write may reclaim from the least recently used end."""

_NAN_DEADLINE = "deadline must be a number, not NaN"

Callback = Callable[[str, bytes], None]
# (expired?, key, value) of a removed entry whose callback is set.
_Victim = tuple[bool, str, bytes]


class LRUCache:
    """Bounded LRU of ``bytes`` with a per-entry deadline in clock seconds."""

    __slots__ = ("_clock", "_data", "_lock", "_max", "_on_evict", "_on_expire")

    def __init__(
        self,
        max_entries: int,
        clock: Callable[[], float] | None = time.time,
        on_expire: Callback | None = None,
        on_evict: Callback | None = None,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int):
            raise TypeError("max_entries must be an int")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        if clock is not None and not callable(clock):
            raise TypeError("clock must be callable or None")
        self._clock = clock
        self._on_expire = on_expire
        self._on_evict = on_evict
        # key -> (value, deadline); OrderedDict keeps use order with O(1) moves.
        self._data: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        clock = self._clock
        now = _clock.now() if clock is None else clock()
        with self._lock:
            data = self._data
            entry = data.get(key)
            if entry is None:
                return None
            if entry[1] > now:
                data.move_to_end(key)
                return entry[0]
            del data[key]
        self._expired(key, entry[0])
        return None

    def peek(self, key: str) -> bytes | None:
        clock = self._clock
        now = _clock.now() if clock is None else clock()
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[1] > now:
                return entry[0]
            del self._data[key]
        self._expired(key, entry[0])
        return None

    def set(self, key: str, value: bytes, deadline: float) -> None:
        if not isinstance(key, str):
            raise TypeError("key must be a str")
        if not isinstance(value, bytes):
            raise TypeError("value must be bytes")
        deadline = float(deadline)
        if deadline != deadline:
            raise ValueError(_NAN_DEADLINE)
        clock = self._clock
        now = _clock.now() if clock is None else clock()
        with self._lock:
            self._data[key] = (value, deadline)
            self._data.move_to_end(key)
            victims = self._make_room(key, now)
        if victims:
            self._notify(victims)

    def touch(self, key: str, deadline: float) -> bool:
        return self._rewrite(key, None, None, deadline)

    def swap(self, key: str, expected: bytes, value: bytes, deadline: float) -> bool:
        """``set(key, value, deadline)`` if ``key`` still holds ``expected`` (equal
        bytes) and has not expired, else nothing: a read-modify-write without a
        lock around it, retried by the caller when False says something changed."""
        if not isinstance(value, bytes) or not isinstance(expected, bytes):
            raise TypeError("value and expected must be bytes")
        return self._rewrite(key, expected, value, deadline)

    def _rewrite(
        self, key: str, expected: bytes | None, value: bytes | None, deadline: float
    ) -> bool:
        """A live entry's new deadline, and its new value unless ``value`` is None,
        if it holds ``expected`` (any, when None); an expired one is reclaimed."""
        deadline = float(deadline)
        if deadline != deadline:
            raise ValueError(_NAN_DEADLINE)
        clock = self._clock
        now = _clock.now() if clock is None else clock()
        with self._lock:
            entry = self._data.get(key)
            if entry is None or (expected is not None and entry[0] != expected):
                return False
            alive = entry[1] > now
            if alive:
                self._data[key] = (entry[0] if value is None else value, deadline)
                self._data.move_to_end(key)
                victims = self._make_room(key, now)
            else:
                del self._data[key]
        if not alive:
            self._expired(key, entry[0])
            return False
        if victims:
            self._notify(victims)
        return True

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._data.pop(key, None) is not None

    def items(self) -> list[tuple[str, bytes]]:
        clock = self._clock
        now = _clock.now() if clock is None else clock()
        live: list[tuple[str, bytes]] = []
        expired: list[_Victim] = []
        with self._lock:
            data = self._data
            for key, (value, deadline) in data.items():
                if deadline > now:
                    live.append((key, value))
                else:
                    expired.append((True, key, value))
            for _, key, _ in expired:
                del data[key]
        if expired and self._on_expire is not None:
            self._notify(expired)
        return live

    def sweep(self, limit: int) -> int:
        clock = self._clock
        now = _clock.now() if clock is None else clock()
        found: list[_Victim] = []
        with self._lock:
            data = self._data
            if limit > 0:
                for key, (value, deadline) in data.items():
                    if deadline <= now:
                        found.append((True, key, value))
                        if len(found) >= limit:
                            break
            for _, key, _ in found:
                del data[key]
        if found and self._on_expire is not None:
            self._notify(found)
        return len(found)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        # Under the lock: a set holds one entry over the bound until it evicts.
        with self._lock:
            return len(self._data)

    def _make_room(self, written: str, now: float) -> list[_Victim] | None:
        # Called with the lock held, right after `written` became most recent.
        data = self._data
        victims: list[_Victim] | None = None
        reclaimed = 0
        while True:
            key = next(iter(data))
            if key == written:
                break
            value, deadline = data[key]
            if deadline <= now:
                if reclaimed >= RECLAIM_PER_WRITE and len(data) <= self._max:
                    break
                reclaimed += 1
                expired = True
            elif len(data) > self._max:
                expired = False
            else:
                break
            del data[key]
            if (self._on_expire if expired else self._on_evict) is not None:
                if victims is None:
                    victims = []
                victims.append((expired, key, value))
        return victims

    def _expired(self, key: str, value: bytes) -> None:
        if self._on_expire is not None:
            self._notify([(True, key, value)])

    def _notify(self, victims: list[_Victim]) -> None:
        first: Exception | None = None
        for expired, key, value in victims:
            callback = self._on_expire if expired else self._on_evict
            if callback is None:
                continue
            try:
                callback(key, value)
            except Exception as exc:
                if first is None:
                    first = exc
        if first is not None:
            raise first


__all__ = ["RECLAIM_PER_WRITE", "LRUCache"]
