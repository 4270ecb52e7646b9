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
from ._users import UserKey, check_keep, check_user, user_of

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


class MemoryStore(MemoryCore, UserKey, Store):
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
    :param user_key: index the sessions by this data key's value (a user id),
        for `sessions_of` and `destroy_user`; None: no index (see docs/user-index.md).

    Expired sessions are reclaimed when read, a few at a time by later writes,
    and by ``length()``; none of it needs a background thread. Callbacks are
    not called for ``destroy`` or ``clear``; they run in the calling thread
    once the store is consistent, may use the store, and an exception they
    raise reaches the caller of the store method that dropped the session.

    Safe to share between threads: each read and write is one atomic operation
    of the LRU; ``touch`` (read, replace the cookie, write back) and ``replace``
    (written only if still stored) are a compare-and-swap retried until it
    lands, so neither can resurrect a session destroyed meanwhile, and a touch
    never undoes a concurrent ``set``.
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
        user_key: str | None = None,
    ) -> None:
        self._ttl = _positive_seconds("ttl", ttl)
        self._clock = clock
        self._pid = os.getpid()
        self._warned = False
        _LIVE.add(self)
        # None: the kernel follows fastsession._clock.now at each call (tests
        # freeze it), reading the wall clock in C while it is time.time.
        self._max_entries = max_entries
        self._on_expire = _reporting("on_expire", on_expire)
        self._on_evict = _reporting("on_evict", on_evict)
        self._lru = LRUCache(max_entries, clock, on_expire=self._on_expire, on_evict=self._on_evict)
        self._write = threading.RLock()
        # get, set, replace and touch are MemoryCore's (the request kernel's, compiled
        # with it): the middlewares call them with nothing in between.
        MemoryCore.__init__(self, self._lru, self._write, self._ttl, clock)
        # The user index (user -> sids, sid -> user), kept under `_write`.
        self._users: dict[str, set[str]] = {}
        self._user_of: dict[str, str] = {}
        if user_key is not None:
            self.index_users(user_key)

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
            method = getattr(self, name)  # the indexing set/replace, when there are

            def warned(*args: Any, _method: Any = method) -> Any:
                self.warn_if_forked()
                return _method(*args)

            setattr(self, name, warned)

    def destroy(self, sid: str) -> None:
        if self.forked:
            self.warn_if_forked()
        with self._write:
            self._lru.delete(sid)
            if self.user_key is not None:
                self._unindex(sid)

    def all(self) -> dict[str, Record]:
        if self.forked:
            self.warn_if_forked()
        return {sid: parse_record(raw) for sid, raw in self._lru.items()}

    def clear(self) -> None:
        if self.forked:
            self.warn_if_forked()
        with self._write:
            self._lru.clear()
            self._users.clear()
            self._user_of.clear()

    def length(self) -> int:
        if self.forked:
            self.warn_if_forked()
        self._lru.sweep(len(self._lru))
        return len(self._lru)

    # -- the user index ------------------------------------------------------------
    # Kept here, not in the kernel: without a user_key, `set` is MemoryCore's own
    # and no callback is installed, so the request path does no extra work.

    def index_users(self, key: str) -> None:
        """Index the sessions by the data key ``key`` (the middleware's ``user_key``).

        Done before the store holds sessions (the index starts empty); a
        ValueError if it already indexes another key.
        """
        if not self._claim_user_key(key):
            return
        with self._write:
            if len(self._lru):
                self.user_key = None
                raise ValueError(
                    "MemoryStore.index_users(): the store already holds sessions; "
                    "pass user_key= when making it"
                )
            # The LRU reports what it drops to the index, then to the user's callbacks.
            self._lru = LRUCache(
                self._max_entries,
                self.clock,
                on_expire=self._dropped_by(self._on_expire),
                on_evict=self._dropped_by(self._on_evict),
            )
            MemoryCore.__init__(self, self._lru, self._write, self._ttl, self.clock)
        self.set = self._indexed_set  # type: ignore[method-assign]
        self.replace = self._indexed_replace  # type: ignore[method-assign]

    def _indexed_set(self, sid: str, session: Any) -> None:
        # The class's set (MemoryCore's, or a subclass's that calls it), then the index.
        with self._write:
            type(self).set(self, sid, session)
            self._index(sid, session)

    def _indexed_replace(self, sid: str, session: Any) -> bool:
        with self._write:
            if not type(self).replace(self, sid, session):
                return False  # gone: nothing written, nothing to index
            self._index(sid, session)
            return True

    def _index(self, sid: str, session: Any) -> None:
        """The index upkeep of a write of ``session`` under ``sid`` (``_write`` held):
        ``sid`` under its user, or under none when the data has no user."""
        assert self.user_key is not None
        user = user_of(session, self.user_key)
        old = self._user_of.get(sid)
        if old == user:
            return
        if old is not None:
            self._unindex(sid)
        if user is not None:
            self._user_of[sid] = user
            self._users.setdefault(user, set()).add(sid)

    def _unindex(self, sid: str) -> None:
        user = self._user_of.pop(sid, None)
        if user is not None:
            sids = self._users[user]
            sids.discard(sid)
            if not sids:
                del self._users[user]

    def _dropped_by(
        self, callback: Callable[[str, bytes], None] | None
    ) -> Callable[[str, bytes], None]:
        def dropped(sid: str, raw: bytes) -> None:
            with self._write:
                # The LRU calls back after the fact: a set may have stored it again since.
                if self._lru.peek(sid) is None:
                    self._unindex(sid)
            if callback is not None:
                callback(sid, raw)

        return dropped

    def sessions_of(self, user: str | int) -> dict[str, Record]:
        """The live sessions of ``user`` (keyed by ``str()``): ``{sid: record}``."""
        self._indexing()
        key = check_user(user)
        with self._write:
            sids = list(self._users.get(key, ()))
        found = {}
        for sid in sids:
            raw = self._lru.peek(sid)  # not counted as use; an expired one is dropped
            if raw is not None:
                found[sid] = parse_record(raw)
        return found

    def destroy_user(self, user: str | int, *, keep: str | None = None) -> int:
        """Destroy every session of ``user`` but ``keep``; how many live ones were destroyed."""
        self._indexing()
        key = check_user(user)
        keep = check_keep(keep)
        destroyed = 0
        with self._write:
            for sid in list(self._users.get(key, ())):
                if sid == keep:
                    continue
                if self._lru.peek(sid) is not None:
                    destroyed += 1
                self._lru.delete(sid)
                self._unindex(sid)
        return destroyed


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
