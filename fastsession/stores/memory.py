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

from .._speedups import LRUCache, MemoryCore
from .._speedups import cookie_end as _cookie_end
from .._types import Record, StorableSession
from ..cookie import Cookie
from ..errors import CorruptSessionError
from ..record import dumps, loads
from ..session import AsyncSession, Session
from . import Store

RecordCallback = Callable[[str, Record], object]

_log = logging.getLogger("fastsession")
# Stores alive in this process; a fork marks them in the child, so the hot path
# pays one attribute check (`forked`) and no getpid().
_LIVE: weakref.WeakSet[MemoryStore] = weakref.WeakSet()


def _mark_forked() -> None:
    for store in list(_LIVE):
        store.forked = True


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_mark_forked)


class MemoryStore(Store):
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
    ``touch`` (read, replace the cookie, write back) can neither resurrect a
    session destroyed meanwhile nor undo a concurrent ``set``.
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
        # The data path (get, set, touch), in the request kernel: the
        # middlewares call it directly when these methods are not overridden.
        self._core = MemoryCore(
            self._lru,
            self._write,
            self._ttl,
            clock,
            _parse,
            _with_cookie_of,
            _cookie_end,
            (Session, AsyncSession),
            Cookie,
        )

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

    def get(self, sid: str) -> Record | None:
        if self.forked:
            self.warn_if_forked()
        return self._core.get(sid)

    def set(self, sid: str, session: StorableSession) -> None:
        if self.forked:
            self.warn_if_forked()
        self._core.set(sid, session)

    def touch(self, sid: str, session: StorableSession) -> None:
        if self.forked:
            self.warn_if_forked()
        # Our own sessions hand over the record's cookie part alone when their
        # data is known to serialize: the stored data is kept, so it need not be.
        self._core.touch(sid, session)

    def destroy(self, sid: str) -> None:
        if self.forked:
            self.warn_if_forked()
        with self._write:
            self._lru.delete(sid)

    def all(self) -> dict[str, Record]:
        if self.forked:
            self.warn_if_forked()
        return {sid: _parse(raw) for sid, raw in self._lru.items()}

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

def _parse(raw: bytes) -> Record:
    try:
        record = loads(raw)
    except ValueError as exc:
        raise CorruptSessionError(f"stored session is not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise CorruptSessionError(f"stored session is a {type(record).__name__}, not an object")
    if not isinstance(record.get("cookie"), dict):
        raise CorruptSessionError("stored session has no cookie object")
    return record


def _with_cookie_of(stored: bytes, fresh: bytes, session: StorableSession) -> bytes:
    """The stored record with the session's cookie (express MemoryStore ``touch``).

    Splices the cookie JSON into the stored bytes, which keeps the stored data
    byte for byte; a record in another shape is parsed and written again.
    """
    old_end = _cookie_end(stored)
    new_end = _cookie_end(fresh)
    if old_end != -1 and new_end != -1:
        return fresh[:new_end] + stored[old_end:]
    record = loads(stored)
    if not isinstance(record, dict):
        raise CorruptSessionError(f"stored session is a {type(record).__name__}, not an object")
    record["cookie"] = session.to_record()["cookie"]
    return dumps(record)


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
