"""PostgresStore and AsyncPostgresStore: connect-pg-simple 10 compatible stores.

Sessions live in connect-pg-simple's table (``sid``, ``sess json``, ``expire``),
written and read with its statements, so an Express app using connect-pg-simple
and a fastsession app share sessions through the same PostgreSQL. Both stores
run on psycopg 3: a connection, a ``psycopg_pool`` pool, or a conninfo string
(the store then opens a pool of its own). AsyncPostgresStore is defined in
``_postgres_async`` and importable from here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg.rows import tuple_row

from .._types import Record, StorableSession
from . import Store
from ._postgres_async import AsyncPostgresStore
from ._postgres_sql import (
    ONE_DAY,
    OWNED_POOL,
    PostgresStoreBase,
    PruneInterval,
    Seconds,
    checked_conninfo,
    expire_for,
    json_text,
    load_record,
    log_no_user_index,
    log_prune_failure,
    now_seconds,
    store_error,
)
from ._users import check_keep, check_user

try:
    from psycopg_pool import ConnectionPool
except ImportError:  # pragma: no cover - psycopg without psycopg-pool: no pools
    ConnectionPool = None  # type: ignore[assignment,misc]

T = TypeVar("T")
Conn = psycopg.Connection[Any]
Query = str | bytes


def _query(
    conn: Conn, sql: Query, params: tuple[Any, ...] | None = None
) -> psycopg.Cursor[tuple[Any, ...]]:
    """Run a statement on a cursor of plain tuples, whatever row factory the
    application gave its connections (``dict_row`` is common)."""
    cursor = conn.cursor(row_factory=tuple_row)
    cursor.execute(sql, params)
    return cursor


class PostgresStore(PostgresStoreBase, Store):
    """Sessions in PostgreSQL through psycopg 3, synchronously.

    The ASGI middleware runs its calls in a worker thread (``blocking``). Every
    psycopg error is raised as :class:`~fastsession.errors.StoreError` with
    psycopg's exception as its cause.

    :param conn: a ``psycopg.Connection`` (calls take turns on it), a
        ``psycopg_pool.ConnectionPool`` (opened by you), or a conninfo string
        (``"postgresql://user@host/db"``: the store opens a pool and ``close()``
        closes it).
    :param schema_name: the table's schema; ``None`` follows the ``search_path``.
    :param table_name: the table (``"session"``, as connect-pg-simple).
    :param ttl: seconds for sessions whose cookie has no expiry (one day).
    :param disable_touch: make ``touch`` do nothing.
    :param prune_session_interval: seconds between deletions of expired rows
        (15 minutes, randomized 50-150 %), or ``False`` for none.
    :param create_table_if_missing: create connect-pg-simple's table and index
        on first use when the table does not exist.
    :param user_key: index the sessions by this data key's value (a user id),
        for `sessions_of` and `destroy_user` (see docs/user-index.md).
    """

    blocking: ClassVar[bool] = True

    def __init__(
        self,
        conn: Conn | ConnectionPool[Any] | str,
        *,
        schema_name: str | None = None,
        table_name: str | None = "session",
        ttl: Seconds | None = ONE_DAY,
        disable_touch: bool = False,
        prune_session_interval: PruneInterval = 15 * 60,
        create_table_if_missing: bool = False,
        user_key: str | None = None,
    ) -> None:
        super().__init__(
            schema_name=schema_name,
            table_name=table_name,
            ttl=ttl,
            disable_touch=disable_touch,
            prune_session_interval=prune_session_interval,
            create_table_if_missing=create_table_if_missing,
            user_key=user_key,
        )
        self._conn: Conn | None = None
        self._pool: ConnectionPool[Any] | None = None
        if isinstance(conn, str):
            if ConnectionPool is None:  # pragma: no cover
                raise TypeError("conn: a conninfo string needs psycopg-pool installed")
            self._pool = ConnectionPool(
                checked_conninfo(conn),
                kwargs={"autocommit": True},
                open=True,
                name="fastsession",
                **OWNED_POOL,
            )
            self._owns_pool = True
        elif ConnectionPool is not None and isinstance(conn, ConnectionPool):
            self._pool = conn
        elif isinstance(conn, psycopg.Connection):
            self._conn = conn
        else:
            raise TypeError(
                "conn: expected a psycopg.Connection, a psycopg_pool.ConnectionPool or a "
                f"conninfo string, got {type(conn).__name__}"
            )
        self._lock = threading.Lock()
        self._table_lock = threading.Lock()

    # -- connections -------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[Conn]:
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
            return
        assert self._conn is not None
        with self._lock:
            conn = self._conn
            if conn.autocommit:
                yield conn
            else:
                with conn.transaction():
                    yield conn

    def _attempt(self, operation: str, work: Callable[[Conn], T]) -> T:
        """Run ``work`` on a connection; psycopg's errors become StoreError.

        A pooled connection that the server dropped (a restart) is found only by
        using it: the pool is then checked, its dead connections replaced, and
        the work runs once more. Every statement here is idempotent.
        """
        try:
            for last in (False, True):
                conn: Conn | None = None
                try:
                    with self._connection() as conn:
                        return work(conn)
                except psycopg.Error:
                    if last or self._pool is None or conn is None or not conn.closed:
                        raise
                    self._pool.check()
        except psycopg.Error as exc:
            raise store_error(operation, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, operation: str, work: Callable[[Conn], T]) -> T:
        if not self._table_ready:
            self._ensure_table()
        result = self._attempt(operation, work)
        if self._prune.claim():
            try:
                self.prune()
            except Exception as exc:
                log_prune_failure(exc)
        return result

    def _ensure_table(self) -> None:
        options = self.options

        def create(conn: Conn) -> None:
            with conn.transaction():
                _query(conn, "SELECT pg_advisory_xact_lock(%s)", (options.create_lock_key,))
                row = _query(conn, "SELECT to_regclass(%s)", (options.quoted_table,)).fetchone()
                if row is not None and row[0] is None and options.create_table_if_missing:
                    for statement in options.ddl:
                        _query(conn, statement)
                if self.user_index_ddl is not None:
                    found = _query(conn, "SELECT to_regclass(%s)", (self.user_index_name,))
                    if (found.fetchone() or (None,))[0] is None:
                        try:
                            with conn.transaction():  # a savepoint
                                _query(conn, self.user_index_ddl)
                        except psycopg.errors.InsufficientPrivilege as exc:
                            log_no_user_index(self.user_index_ddl, exc)

        with self._table_lock:
            if not self._table_ready:
                self._attempt("CREATE TABLE", create)
                self._table_ready = True

    # -- the store protocol ------------------------------------------------

    def get(self, sid: str) -> Record | None:
        sql = self.options.sql_get

        def work(conn: Conn) -> Any:
            return _query(conn, sql, (sid, now_seconds())).fetchone()

        row = self._run("SELECT", work)
        return None if row is None else load_record(row[0])

    def set(self, sid: str, session: StorableSession) -> None:
        params = (json_text(session), expire_for(session, self.options.ttl), sid)
        sql = self.options.sql_set
        self._run("INSERT", lambda conn: _query(conn, sql, params))

    def replace(self, sid: str, session: StorableSession) -> bool:
        """`set` only if the row is stored and not expired: False (nothing written) if gone."""
        params = (json_text(session), expire_for(session, self.options.ttl), sid, now_seconds())
        sql = self.options.sql_replace
        return self._run("UPDATE", lambda conn: _query(conn, sql, params).rowcount > 0)

    def touch(self, sid: str, session: StorableSession) -> bool | None:
        """Move the expiry; False when the session is gone, None when touch is disabled."""
        if self.options.disable_touch:
            return None
        params = (expire_for(session, self.options.ttl), sid, now_seconds())
        sql = self.options.sql_touch
        return self._run("UPDATE", lambda conn: _query(conn, sql, params).rowcount > 0)

    def destroy(self, sid: str) -> None:
        sql = self.options.sql_destroy
        self._run("DELETE", lambda conn: _query(conn, sql, (sid,)))

    def all(self) -> dict[str, Record]:
        sql = self.options.sql_all
        rows = self._run("SELECT", lambda conn: _query(conn, sql, (now_seconds(),)).fetchall())
        return {sid: load_record(text) for sid, text in rows}

    def length(self) -> int:
        sql = self.options.sql_length
        row = self._run("SELECT", lambda conn: _query(conn, sql, (now_seconds(),)).fetchone())
        return 0 if row is None else int(row[0])

    def clear(self) -> None:
        sql = self.options.sql_clear
        self._run("DELETE", lambda conn: _query(conn, sql, ()))

    def sessions_of(self, user: str | int) -> dict[str, Record]:
        """The live sessions of ``user`` (keyed by ``str()``): ``{sid: record}``."""
        self._indexing()
        sql, params = self.sql_of_user, (check_user(user), now_seconds())
        rows = self._run("SELECT", lambda conn: _query(conn, sql, params).fetchall())
        return {sid: load_record(text) for sid, text in rows}

    def destroy_user(self, user: str | int, *, keep: str | None = None) -> int:
        """Destroy every session of ``user`` but ``keep``; how many live ones were destroyed."""
        self._indexing()
        sql = self.sql_destroy_user
        params = (check_keep(keep), check_user(user), now_seconds())
        return self._run("DELETE", lambda conn: int(_query(conn, sql, params).rowcount))

    def prune(self) -> int:
        """Delete the expired rows now (connect-pg-simple's ``pruneSessions``);
        returns how many. Failures are raised as StoreError."""
        sql = self.options.sql_prune
        return self._attempt("DELETE", lambda conn: _query(conn, sql, (now_seconds(),)).rowcount)

    def close(self) -> None:
        """Close the pool the store opened for a conninfo string (nothing else)."""
        if self._owns_pool and self._pool is not None:
            self._pool.close()


__all__ = ["AsyncPostgresStore", "PostgresStore"]
