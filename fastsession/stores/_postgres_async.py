"""AsyncPostgresStore: PostgresStore's asyncio face (psycopg's AsyncConnection,
psycopg_pool's AsyncConnectionPool), importable from ``fastsession.stores.postgres``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import tuple_row

from .._types import Record, StorableSession
from . import AsyncStore
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
    from psycopg_pool import AsyncConnectionPool
except ImportError:  # pragma: no cover - psycopg without psycopg-pool: no pools
    AsyncConnectionPool = None  # type: ignore[assignment,misc]

T = TypeVar("T")
AsyncConn = psycopg.AsyncConnection[Any]
Query = str | bytes


async def _query(
    conn: AsyncConn, sql: Query, params: tuple[Any, ...] | None = None
) -> psycopg.AsyncCursor[tuple[Any, ...]]:
    """Run a statement on a cursor of plain tuples (see postgres._query)."""
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(sql, params)
    return cursor


class AsyncPostgresStore(PostgresStoreBase, AsyncStore):
    """Sessions in PostgreSQL through psycopg 3's asyncio API.

    Same options and behaviour as :class:`PostgresStore`, with coroutine
    methods; ``conn`` is a ``psycopg.AsyncConnection``, a
    ``psycopg_pool.AsyncConnectionPool`` (opened by you) or a conninfo string
    (the store opens its pool on first use; ``await store.close()`` closes it).
    """

    def __init__(
        self,
        conn: AsyncConn | AsyncConnectionPool[Any] | str,
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
        self._conn: AsyncConn | None = None
        self._pool: AsyncConnectionPool[Any] | None = None
        self._pool_opened = True
        if isinstance(conn, str):
            if AsyncConnectionPool is None:  # pragma: no cover
                raise TypeError("conn: a conninfo string needs psycopg-pool installed")
            # Opened on first use: opening needs the event loop the store runs on.
            self._pool = AsyncConnectionPool(
                checked_conninfo(conn),
                kwargs={"autocommit": True},
                open=False,
                name="fastsession",
                **OWNED_POOL,
            )
            self._owns_pool = True
            self._pool_opened = False
        elif AsyncConnectionPool is not None and isinstance(conn, AsyncConnectionPool):
            self._pool = conn
        elif isinstance(conn, psycopg.AsyncConnection):
            self._conn = conn
        else:
            raise TypeError(
                "conn: expected a psycopg.AsyncConnection, a psycopg_pool.AsyncConnectionPool"
                f" or a conninfo string, got {type(conn).__name__}"
            )
        self._lock = asyncio.Lock()
        self._table_lock = asyncio.Lock()

    # -- connections -------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConn]:
        if self._pool is not None:
            if not self._pool_opened:
                await self._open_pool()
            async with self._pool.connection() as conn:
                yield conn
            return
        assert self._conn is not None
        async with self._lock:
            conn = self._conn
            if conn.autocommit:
                yield conn
            else:
                async with conn.transaction():
                    yield conn

    async def _open_pool(self) -> None:
        assert self._pool is not None
        async with self._lock:
            if not self._pool_opened:
                await self._pool.open()
                self._pool_opened = True

    async def _attempt(self, operation: str, work: Callable[[AsyncConn], Awaitable[T]]) -> T:
        """Run ``work`` on a connection; see :meth:`PostgresStore._attempt`."""
        try:
            for last in (False, True):
                conn: AsyncConn | None = None
                try:
                    async with self._connection() as conn:
                        return await work(conn)
                except psycopg.Error:
                    if last or self._pool is None or conn is None or not conn.closed:
                        raise
                    await self._pool.check()
        except psycopg.Error as exc:
            raise store_error(operation, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run(self, operation: str, work: Callable[[AsyncConn], Awaitable[T]]) -> T:
        if not self._table_ready:
            await self._ensure_table()
        result = await self._attempt(operation, work)
        if self._prune.claim():
            try:
                await self.prune()
            except Exception as exc:
                log_prune_failure(exc)
        return result

    async def _ensure_table(self) -> None:
        options = self.options

        async def create(conn: AsyncConn) -> None:
            async with conn.transaction():
                await _query(conn, "SELECT pg_advisory_xact_lock(%s)", (options.create_lock_key,))
                cursor = await _query(conn, "SELECT to_regclass(%s)", (options.quoted_table,))
                row = await cursor.fetchone()
                if row is not None and row[0] is None and options.create_table_if_missing:
                    for statement in options.ddl:
                        await _query(conn, statement)
                if self.user_index_ddl is not None:
                    cursor = await _query(conn, "SELECT to_regclass(%s)", (self.user_index_name,))
                    found = await cursor.fetchone()
                    if found is not None and found[0] is None:
                        try:
                            async with conn.transaction():  # a savepoint
                                await _query(conn, self.user_index_ddl)
                        except psycopg.errors.InsufficientPrivilege as exc:
                            log_no_user_index(self.user_index_ddl, exc)

        async with self._table_lock:
            if not self._table_ready:
                await self._attempt("CREATE TABLE", create)
                self._table_ready = True

    async def _fetchone(self, operation: str, sql: str, params: tuple[Any, ...]) -> Any:
        async def work(conn: AsyncConn) -> Any:
            cursor = await _query(conn, sql, params)
            return await cursor.fetchone()

        return await self._run(operation, work)

    async def _execute(self, operation: str, sql: str, params: tuple[Any, ...]) -> None:
        async def work(conn: AsyncConn) -> None:
            await _query(conn, sql, params)

        await self._run(operation, work)

    async def _updated(self, sql: str, params: tuple[Any, ...]) -> bool:
        """Run an UPDATE: whether it changed a row."""

        async def work(conn: AsyncConn) -> bool:
            cursor = await _query(conn, sql, params)
            return cursor.rowcount > 0

        return await self._run("UPDATE", work)

    # -- the store protocol ------------------------------------------------

    async def get(self, sid: str) -> Record | None:
        row = await self._fetchone("SELECT", self.options.sql_get, (sid, now_seconds()))
        return None if row is None else load_record(row[0])

    async def set(self, sid: str, session: StorableSession) -> None:
        params = (json_text(session), expire_for(session, self.options.ttl), sid)
        await self._execute("INSERT", self.options.sql_set, params)

    async def replace(self, sid: str, session: StorableSession) -> bool:
        """`set` only if the row is stored and not expired: False (nothing written) if gone."""
        params = (json_text(session), expire_for(session, self.options.ttl), sid, now_seconds())
        return await self._updated(self.options.sql_replace, params)

    async def touch(self, sid: str, session: StorableSession) -> bool | None:
        """Move the expiry; False when the session is gone, None when touch is disabled."""
        if self.options.disable_touch:
            return None
        params = (expire_for(session, self.options.ttl), sid, now_seconds())
        return await self._updated(self.options.sql_touch, params)

    async def destroy(self, sid: str) -> None:
        await self._execute("DELETE", self.options.sql_destroy, (sid,))

    async def all(self) -> dict[str, Record]:
        sql = self.options.sql_all

        async def work(conn: AsyncConn) -> list[Any]:
            cursor = await _query(conn, sql, (now_seconds(),))
            return await cursor.fetchall()

        rows = await self._run("SELECT", work)
        return {sid: load_record(text) for sid, text in rows}

    async def length(self) -> int:
        row = await self._fetchone("SELECT", self.options.sql_length, (now_seconds(),))
        return 0 if row is None else int(row[0])

    async def clear(self) -> None:
        await self._execute("DELETE", self.options.sql_clear, ())

    async def sessions_of(self, user: str | int) -> dict[str, Record]:
        """The live sessions of ``user``; see `PostgresStore.sessions_of`."""
        self._indexing()
        sql, params = self.sql_of_user, (check_user(user), now_seconds())

        async def work(conn: AsyncConn) -> list[Any]:
            cursor = await _query(conn, sql, params)
            return await cursor.fetchall()

        rows = await self._run("SELECT", work)
        return {sid: load_record(text) for sid, text in rows}

    async def destroy_user(self, user: str | int, *, keep: str | None = None) -> int:
        """Destroy every session of ``user`` but ``keep``; how many live ones were destroyed."""
        self._indexing()
        sql = self.sql_destroy_user
        params = (check_keep(keep), check_user(user), now_seconds())

        async def work(conn: AsyncConn) -> int:
            cursor = await _query(conn, sql, params)
            return int(cursor.rowcount)

        return await self._run("DELETE", work)

    async def prune(self) -> int:
        """Delete the expired rows now; returns how many (see PostgresStore.prune)."""
        sql = self.options.sql_prune

        async def work(conn: AsyncConn) -> int:
            cursor = await _query(conn, sql, (now_seconds(),))
            return cursor.rowcount

        return await self._attempt("DELETE", work)

    async def close(self) -> None:
        """Close the pool the store opened for a conninfo string (nothing else)."""
        if self._owns_pool and self._pool is not None and self._pool_opened:
            await self._pool.close()


__all__ = ["AsyncPostgresStore"]
