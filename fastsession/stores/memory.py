"""MemoryStore: the embedded default store, a bounded LRU with per-session expiry.

Records are kept as the exact JSON bytes of the session, so no two requests
ever share mutable data, and behave as express-session's MemoryStore: a record
whose cookie has expired is kept until it is read (``expires <= now`` is
expired), ``touch`` replaces the stored cookie and keeps the stored data.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from .._speedups import LRUCache, MemoryCore, parse_record
from .._types import Record
from ..record import loads
from . import Store

RecordCallback = Callable[[str, Record], object]

_log = logging.getLogger("fastsession")
# Stores alive in this process; a fork marks them in the child, so the hot path
# pays one attribute check (`forked`) and no getpid().
_LIVE: weakref.WeakSet[MemoryStore] = weakref.WeakSet()


def _mark_forked() -> None:
    for store in list(_LIVE):
        store._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_mark_forked)


class MemoryStore(MemoryCore, Store):
    """Sessions in this process: at most ``max_entries``, least recently used evicted.

    :param max_entries: the bound; beyond it the least recently used session
        is dropped (a ``get`` counts as use).
    :param ttl: seconds a session lives when its cookie has no expiry (a
        browser-session cookie); otherwise the cookie's ``expires`` decides.
    :param on_expire: ``(sid, record)``, called when an expired session is dropped.
    :param on_evict: ``(sid, record)``, called when a live session is dropped
        to stay within ``max_entries``.
    :param clock: seconds since the epoch; by default ``fastsession._clock.now``,
        looked up at each call.

    Expired sessions are reclaimed when read, a few at a time by later writes,
    and by ``length()``; none of it needs a background thread. Callbacks are
    not called for ``destroy`` or ``clear``; they run in the calling thread
    once the store is consistent, may use the store, and an exception they
    raise reaches the caller of the store method that dropped the session.

    Safe to share between threads: reads take no lock; writes take one so that
    ``touch`` (read, replace the cookie, write back) and ``replace`` (written
    only if still stored) can never resurrect a session destroyed meanwhile,
    and a touch never undoes a concurrent ``set``.
    """

    blocking: ClassVar[bool] = False

    forked: bool = False
    """True in a process forked after the store was made: its sessions are not shared."""

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        ttl: float | timedelta = 86_400,
        on_expire: RecordCallback | None = None,
        on_evict: RecordCallback | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._ttl = _positive_seconds("ttl", ttl)
        self._clock = clock
        self._pid = os.getpid()
        self._warned = False
        _LIVE.add(self)
        # None: the kernel follows fastsession._clock.now at each call (tests
        # freeze it), reading the wall clock in C while it is time.time.
        self._lru = LRUCache(
            max_entries,
            clock,
            on_expire=_reporting("on_expire", on_expire),
            on_evict=_reporting("on_evict", on_evict),
        )
        self._write = threading.RLock()
        # get, set, replace and touch are MemoryCore's (the request kernel's, compiled
        # with it): the middlewares call them with nothing in between.
        MemoryCore.__init__(self, self._lru, self._write, self._ttl, clock)

    def warn_if_forked(self) -> None:
        """Log a warning, once per process, when used after a fork (workers don't share it)."""
        if not self.forked or self._warned:
            return
        with self._write:
            if self._warned:
                return
            self._warned = True
        _log.warning(
            "MemoryStore made in process %d is used in process %d, a fork of it: each "
            "process keeps its own sessions, so a user who reaches another worker is "
            "logged out. Use a shared store: SQLiteStore on one machine, Redis or "
            "PostgreSQL across machines.",
            self._pid,
            os.getpid(),
        )

    def _after_fork(self) -> None:
        """In a forked child: get, set, replace and touch warn (once) before they act.

        MemoryCore's methods stay as they are until then; the instance's own
        attributes take their place, so a process that never forks pays nothing.
        """
        self.forked = True
        for name in ("get", "set", "replace", "touch"):
            method = getattr(MemoryCore, name)

            def warned(*args: Any, _method: Any = method) -> Any:
                self.warn_if_forked()
                return _method(self, *args)

            setattr(self, name, warned)

    def destroy(self, sid: str) -> None:
        if self.forked:
            self.warn_if_forked()
        with self._write:
            self._lru.delete(sid)

    def all(self) -> dict[str, Record]:
        if self.forked:
            self.warn_if_forked()
        return {sid: parse_record(raw) for sid, raw in self._lru.items()}

    def clear(self) -> None:
        if self.forked:
            self.warn_if_forked()
        with self._write:
            self._lru.clear()

    def length(self) -> int:
        if self.forked:
            self.warn_if_forked()
        self._lru.sweep(len(self._lru))
        return len(self._lru)

def _reporting(name: str, callback: RecordCallback | None) -> Callable[[str, bytes], None] | None:
    # The record is parsed only when someone listens.
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError(f"{name} must be callable or None")

    def report(sid: str, raw: bytes) -> None:
        callback(sid, loads(raw))

    return report


def _positive_seconds(name: str, value: Any) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or a timedelta")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive, finite number of seconds")
    return float(value)


__all__ = ["MemoryStore"]
