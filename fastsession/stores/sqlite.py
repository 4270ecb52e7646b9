"""SQLiteStore: sessions in one SQLite file, shared by every process and thread on a machine.

The table is connect-sqlite3's (``sid`` primary key, ``expired`` in epoch
milliseconds, ``sess`` the record's JSON text), so an Express app using
connect-sqlite3 can share the file. Standard library ``sqlite3`` only.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from .. import _clock
from .._types import Record, StorableSession
from ..errors import CorruptSessionError, StoreError
from ..record import loads
from . import Store
from ._users import UserKey, check_keep, check_user

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# Connections a forked child inherited: never used, never closed there (closing
# could checkpoint or unlink the parent's WAL), only kept from the collector.
_INHERITED: list[sqlite3.Connection] = []


class _Connection(sqlite3.Connection):
    """A connection that knows the process that opened it (and can be weakly referenced)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pid = os.getpid()


class SQLiteStore(UserKey, Store):
    """Sessions in an SQLite database file (WAL mode), for several workers on one machine.

    :param path: the database file (created if missing), or ``":memory:"`` for
        a private database of this store alone (tests; one connection, one call
        at a time, not usable after a fork).
    :param table: table name, a plain identifier; the table and its index on
        ``expired`` are created if missing.
    :param ttl: seconds a session lives when its cookie has no expiry (a
        browser-session cookie); otherwise the cookie's ``expires`` decides.
    :param timeout: seconds a call waits for another writer's lock before
        failing with :class:`~fastsession.errors.StoreError` (busy timeout).
    :param sweep_every: after this many writes in a process, up to
        ``sweep_batch`` expired rows are deleted (no background thread).
    :param clock: seconds since the epoch; by default ``fastsession._clock.now``.
    :param user_key: index the sessions by this data key's value (a user id),
        for `sessions_of` and `destroy_user`: an index on the JSON expression,
        kept by SQLite itself (see docs/user-index.md).

    Each thread of each process has its own connection (a forked child opens
    new ones). Every write is one statement, so a process killed mid-write
    leaves the previous or the new record, never a torn one. Expired rows are
    never returned. ``touch`` moves the expiry alone, as connect-sqlite3,
    connect-redis and connect-pg-simple do: the stored record is not rewritten.
    Every ``sqlite3`` error is raised as :class:`~fastsession.errors.StoreError`
    with the original as its cause.
    """

    blocking: ClassVar[bool] = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "sessions",
        ttl: float | timedelta = 86_400,
        timeout: float = 5.0,
        sweep_every: int = 64,
        sweep_batch: int = 256,
        clock: Callable[[], float] | None = None,
        user_key: str | None = None,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path: expected a str or path, got {type(path).__name__}")
        if not isinstance(table, str) or not _IDENTIFIER.fullmatch(table):
            raise ValueError(f"table: expected an identifier (letters, digits, _), got {table!r}")
        self.path = os.fspath(path)
        self.table = table
        self.ttl = _seconds("ttl", ttl, positive=True)
        self.timeout = _seconds("timeout", timeout, positive=False)
        self.sweep_every = _count("sweep_every", sweep_every)
        self.sweep_batch = _count("sweep_batch", sweep_batch)
        if clock is not None and not callable(clock):
            raise TypeError("clock: expected a callable returning seconds, or None")
        self._clock = clock
        self._memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._ready = False  # the schema and WAL mode are set by the first connection
        # ":memory:" is one private database: one connection, one thread at a time.
        self._shared: _Connection | None = None
        self._guard: AbstractContextManager[Any] = (
            threading.Lock() if self._memory else nullcontext()
        )
        self._writes = 0
        self._sql_of_user = self._sql_destroy_user = ""  # made by index_users
        t = f'"{table}"'
        self._sql_get = f"SELECT sess FROM {t} WHERE sid = ? AND expired > ?"
        self._sql_set = f"INSERT OR REPLACE INTO {t} (sid, expired, sess) VALUES (?, ?, ?)"
        self._sql_replace = f"UPDATE {t} SET expired = ?, sess = ? WHERE sid = ? AND expired > ?"
        self._sql_touch = f"UPDATE {t} SET expired = ? WHERE sid = ? AND expired > ?"
        self._sql_destroy = f"DELETE FROM {t} WHERE sid = ?"
        self._sql_destroy_live = f"DELETE FROM {t} WHERE sid = ? AND expired > ?"
        self._sql_all = f"SELECT sid, sess FROM {t} WHERE expired > ?"
        self._sql_length = f"SELECT COUNT(*) FROM {t} WHERE expired > ?"
        self._sql_clear = f"DELETE FROM {t}"
        self._sql_sweep = (
            f"DELETE FROM {t} WHERE sid IN (SELECT sid FROM {t} WHERE expired <= ? LIMIT ?)"
        )
        self._schema = (
            f"CREATE TABLE IF NOT EXISTS {t} "
            "(sid TEXT PRIMARY KEY NOT NULL, expired INTEGER NOT NULL, sess TEXT NOT NULL);"
            f'CREATE INDEX IF NOT EXISTS "{table}_expired" ON {t} (expired);'
        )
        if not self._memory and not self.path.startswith("file:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._failing("open"):
            self._connection()  # a bad path or a foreign file fails here, not at a request
        if user_key is not None:
            self.index_users(user_key)

    # -- connections ------------------------------------------------------------------

    def _connection(self) -> _Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.pid == os.getpid():
            return conn
        if self._memory:
            conn = self._shared
            if conn is not None and conn.pid != os.getpid():
                raise sqlite3.OperationalError("an in-memory database stays in its process")
            conn = self._shared = self._shared or self._connect()
            return conn
        if conn is not None:
            _INHERITED.append(conn)  # opened before a fork: the child must not touch it
        conn = self._connect()
        self._local.conn = conn
        return conn

    def _connect(self) -> _Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.timeout,  # the busy timeout
            isolation_level=None,  # autocommit: each statement is its own transaction
            check_same_thread=False,  # close() may run in another thread
            uri=self.path.startswith("file:"),
            factory=_Connection,
        )
        try:
            # WAL with NORMAL is durable against a killed process (not a power cut).
            conn.execute("PRAGMA synchronous = NORMAL")
            # Reads from the mapped file, not a pread() per page: a third of the time per get.
            conn.execute("PRAGMA mmap_size = 268435456")
            if not self._ready:
                if not self._memory:
                    conn.execute("PRAGMA journal_mode = WAL")  # kept in the file
                conn.executescript(self._schema)
                self._ready = True
        except BaseException:
            conn.close()
            raise
        self._connections.add(conn)
        return conn

    def close(self) -> None:
        """Close this process's connections (the store opens new ones if used again).

        Threads close theirs when they end; call this at shutdown for the rest.
        """
        pid = os.getpid()
        for conn in list(self._connections):
            if conn.pid == pid:
                conn.close()
                self._connections.discard(conn)
        self._local = threading.local()
        self._shared = None

    @contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        try:
            with self._guard:
                yield
        except sqlite3.Error as exc:
            raise StoreError(
                f"SQLite {what} failed ({self.path}): {type(exc).__name__}: {exc}"
            ) from exc

    # -- time -------------------------------------------------------------------------

    def _now_ms(self) -> int:
        now = self._clock() if self._clock is not None else _clock.now()
        return math.floor(now * 1000)

    def _expiry_ms(self, session: StorableSession, now_ms: int) -> int:
        """The row's ``expired``: the cookie's expiry, or ``ttl`` from now."""
        cookie = session.cookie
        expires_ms = getattr(cookie, "expires_ms", None)
        if expires_ms is None:
            expires = cookie.expires
            if expires is None:
                return now_ms + math.ceil(self.ttl * 1000)
            expires_ms = (expires - _EPOCH) // _MS
        return int(expires_ms)

    # -- the store protocol -------------------------------------------------------------

    def get(self, sid: str) -> Record | None:
        with self._failing("get"):
            row = self._connection().execute(self._sql_get, (sid, self._now_ms())).fetchone()
        return None if row is None else _parse(row[0])

    def set(self, sid: str, session: StorableSession) -> None:
        now_ms = self._now_ms()
        expired = self._expiry_ms(session, now_ms)
        if expired <= now_ms:
            # Already expired: as connect-redis, the save deletes it.
            self.destroy(sid)
            return
        text = session.to_json().decode("utf-8")
        with self._failing("set"):
            conn = self._connection()
            conn.execute(self._sql_set, (sid, expired, text))
            self._after_write(conn, now_ms)

    def replace(self, sid: str, session: StorableSession) -> bool:
        """`set` only if ``sid`` is stored and not expired: False (nothing written) if gone."""
        now_ms = self._now_ms()
        expired = self._expiry_ms(session, now_ms)
        if expired <= now_ms:
            return self._destroy_live("replace", sid, now_ms)
        text = session.to_json().decode("utf-8")
        with self._failing("replace"):
            conn = self._connection()
            written = conn.execute(self._sql_replace, (expired, text, sid, now_ms)).rowcount > 0
            if written:
                self._after_write(conn, now_ms)
        return written

    def touch(self, sid: str, session: StorableSession) -> bool:
        """Move the expiry; False when the session is gone."""
        now_ms = self._now_ms()
        expired = self._expiry_ms(session, now_ms)
        if expired <= now_ms:
            return self._destroy_live("touch", sid, now_ms)
        with self._failing("touch"):
            cursor = self._connection().execute(self._sql_touch, (expired, sid, now_ms))
        return cursor.rowcount > 0

    def _destroy_live(self, what: str, sid: str, now_ms: int) -> bool:
        # A write of an already expired cookie deletes (as set does); True if it was live.
        with self._failing(what):
            cursor = self._connection().execute(self._sql_destroy_live, (sid, now_ms))
        return cursor.rowcount > 0

    def destroy(self, sid: str) -> None:
        with self._failing("destroy"):
            self._connection().execute(self._sql_destroy, (sid,))

    def all(self) -> dict[str, Record]:
        with self._failing("all"):
            rows = self._connection().execute(self._sql_all, (self._now_ms(),)).fetchall()
        return {sid: _parse(text) for sid, text in rows}

    def length(self) -> int:
        with self._failing("length"):
            row = self._connection().execute(self._sql_length, (self._now_ms(),)).fetchone()
        return int(row[0])

    def clear(self) -> None:
        with self._failing("clear"):
            self._connection().execute(self._sql_clear)

    def sweep(self, limit: int | None = None) -> int:
        """Delete up to ``limit`` expired rows (default ``sweep_batch``); the number deleted."""
        with self._failing("sweep"):
            cursor = self._connection().execute(
                self._sql_sweep, (self._now_ms(), limit or self.sweep_batch)
            )
        return int(cursor.rowcount)

    # -- the user index ---------------------------------------------------------------
    # An index on the record's JSON: every write keeps it, in the same statement, so
    # set, touch, destroy and expiry need nothing more (a future write path too).

    def index_users(self, key: str) -> None:
        """Index the sessions by the data key ``key`` (the middleware's ``user_key``):
        an index on that JSON member, created if missing."""
        if not self._claim_user_key(key):
            return
        t = f'"{self.table}"'
        member = f"'$.\"{key}\"'"
        # Text for a string, digits for an integer; NULL for anything else or bad JSON
        # (CASE, unlike AND, never evaluates json_type on text that is not JSON).
        user = (
            f"(CASE WHEN json_valid(sess) THEN CASE WHEN json_type(sess, {member}) "
            f"IN ('text', 'integer') THEN CAST(json_extract(sess, {member}) AS TEXT) END END)"
        )
        self._sql_of_user = f"SELECT sid, sess FROM {t} WHERE {user} = ? AND expired > ?"
        self._sql_destroy_user = (
            f"DELETE FROM {t} WHERE {user} = ? AND sid IS NOT ? AND expired > ?"
        )
        ddl = f'CREATE INDEX IF NOT EXISTS "{self.table}_user_{key}" ON {t} ({user})'
        try:
            with self._failing("index_users"):
                self._connection().execute(ddl)
        except BaseException:
            self.user_key = None
            raise

    def sessions_of(self, user: str | int) -> dict[str, Record]:
        """The live sessions of ``user`` (keyed by ``str()``): ``{sid: record}``."""
        self._indexing()
        params = (check_user(user), self._now_ms())
        with self._failing("sessions_of"):
            rows = self._connection().execute(self._sql_of_user, params).fetchall()
        return {sid: _parse(text) for sid, text in rows}

    def destroy_user(self, user: str | int, *, keep: str | None = None) -> int:
        """Destroy every session of ``user`` but ``keep``; how many live ones were destroyed.

        One statement: a session written meanwhile is either destroyed or kept whole.
        """
        self._indexing()
        params = (check_user(user), check_keep(keep), self._now_ms())
        with self._failing("destroy_user"):
            cursor = self._connection().execute(self._sql_destroy_user, params)
        return int(cursor.rowcount)

    def _after_write(self, conn: sqlite3.Connection, now_ms: int) -> None:
        # Amortised expiry: a bounded delete every `sweep_every` writes of this process.
        # The counter is racy across threads on purpose: a missed or doubled sweep is harmless.
        self._writes += 1
        if self._writes % self.sweep_every == 0:
            conn.execute(self._sql_sweep, (now_ms, self.sweep_batch))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, table={self.table!r})"


def _parse(text: str) -> Record:
    try:
        record = loads(text)
    except ValueError as exc:
        raise CorruptSessionError(f"stored session is not JSON: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("cookie"), dict):
        raise CorruptSessionError("stored session has no cookie object")
    return record


def _seconds(name: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name}: expected seconds (a number or a timedelta)")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name}: expected a {kind}, finite number of seconds, got {value!r}")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return value


__all__ = ["SQLiteStore"]
