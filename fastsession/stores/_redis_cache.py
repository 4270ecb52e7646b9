"""The Redis stores' local copy of recently read sessions.

A repeat read of a hot session is answered from process memory, kept true by
Redis's server-assisted client-side caching: a dedicated connection turns on
``CLIENT TRACKING ... BCAST PREFIX <prefix>`` redirected to itself and
subscribes to ``__redis__:invalidate``, so every change of a key under the
prefix — a write by any client (an Express app too), an ``EXPIRE``, a ``DEL``,
expiry or eviction, a flush — is announced to it. The broadcast mode needs no
tracking on the user's own connections, so it works with any client, RESP2 or
RESP3, sync or async.

Guarantees, in the order they are checked:

* before a local copy is served, every invalidation already received on the
  tracking connection is applied (a non-blocking read of its socket);
* each entry carries its key's expiry (``PTTL``, read in the same round trip
  as the ``GET``) and is dropped at that time even if no message came;
* a read that was in flight while its key was invalidated is not kept;
* a write, touch or destroy through the store drops its local copy;
* when the tracking connection breaks (or stops answering its health
  ``PING``), the whole copy is dropped and reads go to the server until
  tracking is on again; a server fault is still a ``StoreError``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("fastsession.stores.redis")

_CHANNEL = "__redis__:invalidate"
# The user's pool options that belong to its own connections, not ours.
_NOT_OURS = frozenset({
    "maint_notifications_pool_handler", "maint_notifications_config", "orig_host_address",
    "orig_socket_timeout", "orig_socket_connect_timeout", "protocol", "redis_connect_func",
    "retry", "retry_on_error", "himport_registry", "health_check_interval", "cache",
    "cache_config",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class LocalCache:
    """Options of the Redis stores' local copy (``local_cache=``).

    :param max_entries: sessions kept at most; the least recently read goes first.
    :param retry_interval: seconds between attempts to turn tracking back on
        after the tracking connection failed to connect.
    :param health_interval: seconds between ``PING``\\s on the tracking
        connection; one unanswered for that long counts as a broken connection.
    """

    max_entries: int = 1000
    retry_interval: float = 1.0
    health_interval: float = 5.0

    def __post_init__(self) -> None:
        n = self.max_entries
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"local_cache: max_entries must be a positive int, got {n!r}")
        for name in ("retry_interval", "health_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"local_cache: {name} must be positive seconds, got {value!r}")


LocalCacheOption = int | LocalCache | None
"""``local_cache=``: 0/None (off), a number of entries, or a :class:`LocalCache`."""


def make_local_copy(client: Any, prefix: str, option: LocalCacheOption) -> LocalCopy | None:
    """The store's local copy for ``local_cache=option``, or None when off."""
    if option is None or option is False:
        return None
    if isinstance(option, bool) or not isinstance(option, int | LocalCache):
        raise TypeError(f"local_cache: expected a number of entries or LocalCache, got {option!r}")
    if isinstance(option, int):
        if option < 0:
            raise ValueError(f"local_cache: expected 0 or more entries, got {option!r}")
        if option == 0:
            return None
        option = LocalCache(max_entries=option)
    pool = getattr(client, "connection_pool", None)
    if pool is None or not hasattr(pool, "connection_kwargs"):
        raise TypeError(
            "local_cache: needs a client of one Redis server (redis.Redis, "
            f"redis.asyncio.Redis or Valkey's), not {type(client).__name__}"
        )
    return LocalCopy(pool, prefix, option)


def _tracking_connection(pool: Any) -> Any:
    """A new RESP2 connection made like the pool's own, always of the sync kind:
    it is only read without blocking, so the async face uses it as well."""
    cls = pool.connection_class
    module = cls.__module__.replace(".asyncio.", ".")
    if module != cls.__module__:
        cls = getattr(importlib.import_module(module), cls.__name__)
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k not in _NOT_OURS}
    return cls(**kwargs, protocol=2)


def _text(key: bytes | str) -> str:
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key


class LocalCopy:
    """Recently read raw values by key, with the tracking connection that keeps
    them true. Thread-safe; its socket is only ever read without waiting."""

    def __init__(self, pool: Any, prefix: str, config: LocalCache) -> None:
        self.pool = pool
        self.prefix = prefix
        self.config = config
        self._entries: OrderedDict[str, tuple[bytes | str, float | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._connect_lock = threading.Lock()
        self._conn: Any = None
        self._next_attempt = 0.0
        self._failing = False
        self._ping_sent = 0.0
        self._ping_due = 0.0
        # Bumped when everything is dropped: a read begun before is not kept.
        self._generation = 0
        # Bumped per invalidated key; _invalidated holds it for keys being read.
        self._epoch = 0
        self._reading: dict[str, int] = {}
        self._invalidated: dict[str, int] = {}
        self.hits = 0
        self.misses = 0
        self._pid = os.getpid()

    # -- the tracking connection -------------------------------------------

    @property
    def live(self) -> bool:
        """Whether tracking is on, so that reads may be kept."""
        return self._conn is not None

    def due(self) -> bool:
        """Whether tracking is off and an attempt to turn it on is due."""
        if self._pid != os.getpid():
            self._forked()
        return self._conn is None and time.monotonic() >= self._next_attempt

    def connect(self) -> None:
        """Turn tracking on (blocking). A failure leaves it off until
        ``retry_interval`` has passed; the reads themselves report faults."""
        if not self._connect_lock.acquire(blocking=False):
            return
        try:
            if self._conn is not None:
                return
            conn = _tracking_connection(self.pool)
            try:
                conn.connect()
                conn.send_command("CLIENT", "ID")
                cid = conn.read_response()
                args: list[Any] = ["CLIENT", "TRACKING", "ON", "REDIRECT", cid, "BCAST"]
                if self.prefix:
                    args += ["PREFIX", self.prefix]
                conn.send_command(*args)
                conn.read_response()
                conn.send_command("SUBSCRIBE", _CHANNEL)
                conn.read_response()
            except Exception as exc:
                conn.disconnect()
                self._next_attempt = time.monotonic() + self.config.retry_interval
                # Said once per run of failures: reads keep going to the server.
                level = logging.DEBUG if self._failing else logging.WARNING
                log.log(level, "local copy off: tracking not turned on: %r", exc)
                self._failing = True
                return
            self._failing = False
            with self._lock:
                self._drop_all()
                self._conn = conn
                now = time.monotonic()
                self._ping_sent = 0.0
                self._ping_due = now + self.config.health_interval
        finally:
            self._connect_lock.release()

    async def aconnect(self) -> None:
        await asyncio.to_thread(self.connect)

    def close(self) -> None:
        with self._lock:
            self._broken(None)

    def _broken(self, exc: BaseException | None) -> None:
        """Drop everything and stop keeping reads until tracking is on again."""
        if self._conn is not None:
            if exc is not None:
                log.warning("local copy dropped: tracking connection lost: %r", exc)
            try:
                self._conn.disconnect()
            except Exception:  # pragma: no cover - closing a broken socket
                pass
            self._conn = None
        self._next_attempt = time.monotonic()
        self._drop_all()

    def _forked(self) -> None:
        """In a child process: the parent's socket and copies are not ours."""
        with self._lock:
            self._pid = os.getpid()
            self._conn = None
            self._next_attempt = 0.0
            self._reading.clear()
            self._invalidated.clear()
            self._drop_all()

    def _drop_all(self) -> None:
        self._entries.clear()
        self._generation += 1

    def _drain(self) -> None:
        """Apply every invalidation already received (lock held)."""
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.can_read(timeout=0):
                self._apply(conn.read_response())
            now = time.monotonic()
            if self._ping_sent and now - self._ping_sent > self.config.health_interval:
                raise TimeoutError("no answer to PING on the tracking connection")
            if not self._ping_sent and now >= self._ping_due:
                conn.send_command("PING")
                self._ping_sent = now
        except Exception as exc:
            self._broken(exc)

    def _apply(self, message: Any) -> None:
        kind = _text(message[0]) if isinstance(message, list) and message else None
        if kind == "pong":
            self._ping_sent = 0.0
            self._ping_due = time.monotonic() + self.config.health_interval
            return
        if kind != "message" or _text(message[1]) != _CHANNEL:
            return
        keys = message[2]
        if keys is None:  # FLUSHALL / FLUSHDB
            self._drop_all()
            return
        for raw in keys:
            self._forget(_text(raw))

    def _forget(self, key: str) -> None:
        self._entries.pop(key, None)
        self._epoch += 1
        if key in self._reading:
            self._invalidated[key] = self._epoch

    # -- reads and writes ----------------------------------------------------

    def lookup(self, key: str) -> bytes | str | None:
        """The kept value of ``key`` if it is still true, else None."""
        with self._lock:
            self._drain()
            entry = self._entries.get(key)
            if entry is not None:
                value, deadline = entry
                if deadline is None or time.monotonic() < deadline:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return value
                del self._entries[key]
            self.misses += 1
            return None

    def begin(self, key: str) -> tuple[int, int, float] | None:
        """Before a server read meant to be kept: a token for :meth:`keep`,
        or None when tracking is off (the read is then not kept)."""
        with self._lock:
            if self._conn is None:
                return None
            self._reading[key] = self._reading.get(key, 0) + 1
            return (self._generation, self._epoch, time.monotonic())

    def keep(
        self, key: str, token: tuple[int, int, float], value: bytes | str | None, pttl: int | None
    ) -> None:
        """After the read begun with ``token``: keep ``value`` unless the key
        changed meanwhile, or it is gone or its TTL unknown."""
        generation, epoch, started = token
        with self._lock:
            self._drain()
            left = self._reading.get(key, 1) - 1
            changed = self._invalidated.get(key, -1) > epoch
            if left:
                self._reading[key] = left
            else:
                del self._reading[key]
                self._invalidated.pop(key, None)
            if changed or generation != self._generation or self._conn is None:
                return
            if not value or not isinstance(pttl, int) or pttl == -2 or pttl == 0:
                return
            # Counted from before the read was sent: never later than the server.
            deadline = None if pttl < 0 else started + pttl / 1000
            self._entries[key] = (value, deadline)
            self._entries.move_to_end(key)
            while len(self._entries) > self.config.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        """A write through the store: its key's copy (and reads in flight) are stale."""
        with self._lock:
            self._forget(key)

    def forget_all(self) -> None:
        with self._lock:
            self._drop_all()

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["LocalCache", "LocalCacheOption", "LocalCopy", "make_local_copy"]
