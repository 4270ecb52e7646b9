"""The store contract (tests/store_contract.py) on PostgresStore and AsyncPostgresStore
over a real PostgreSQL, on connect-pg-simple's own table.sql: a psycopg connection
(autocommit or not), a psycopg_pool pool, and a conninfo string, sync and async.

The stores connect as a role that may only use the session table (docs/postgres.md's
grants); time passes for them by moving every row's ``expire`` back (no sleeping), and
revoking the role's grants is the backend fault every call must report as StoreError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import pytest
from postgres_server import PostgresServer, postgres_db, postgres_server
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from store_contract import AsyncStoreContract, FaultCause, StandInSession, StoreContract

from fastsession.errors import StoreError
from fastsession.stores.postgres import AsyncPostgresStore, PostgresStore

pytestmark = pytest.mark.postgres
__all__ = ["postgres_db", "postgres_server"]  # the helper's fixtures, used here


class PostgresContract(StoreContract):
    TOUCH_TELLS_GONE = True

    server: PostgresServer

    @pytest.fixture(autouse=True)
    def database(self, postgres_db: PostgresServer) -> PostgresServer:
        self.server = postgres_db
        return postgres_db

    def advance(self, store: Any, seconds: float) -> None:
        self.server.shift_expiry(seconds)

    def store_fault(self, store: Any) -> AbstractContextManager[FaultCause]:
        return self.server.grants_revoked()

    def test_a_record_that_is_not_json_is_corrupt(self, store: Any) -> None:
        # The `sess` column is json: PostgreSQL refuses the write, so no such record
        # can be stored to be read back. The refusal is a StoreError, and nothing is kept.
        bad = StandInSession("bad", now=self.now(), max_age=60, raw_json=b"{not json")
        with pytest.raises(StoreError, match="InvalidTextRepresentation") as info:
            store.set("bad", bad)
        assert isinstance(info.value.__cause__, psycopg.errors.InvalidTextRepresentation)
        assert store.get("bad") is None
        assert store.length() == 0


class TestConnection(PostgresContract):
    @pytest.fixture
    def store(self, database: PostgresServer) -> Iterator[PostgresStore]:
        with psycopg.connect(database.app_conninfo, autocommit=True) as conn:
            yield PostgresStore(conn, ttl=self.TTL)


class TestConnectionInTransactions(PostgresContract):
    """A connection left in psycopg's default mode: each call commits its own transaction."""

    @pytest.fixture
    def store(self, database: PostgresServer) -> Iterator[PostgresStore]:
        with psycopg.connect(database.app_conninfo) as conn:
            yield PostgresStore(conn, ttl=self.TTL)
            # Nothing left uncommitted between calls.
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


class TestPool(PostgresContract):
    @pytest.fixture
    def store(self, database: PostgresServer) -> Iterator[PostgresStore]:
        with ConnectionPool(database.app_conninfo, min_size=1, max_size=2, open=True) as pool:
            yield PostgresStore(pool, ttl=self.TTL)


class TestConninfo(PostgresContract):
    @pytest.fixture
    def store(self, database: PostgresServer) -> Iterator[PostgresStore]:
        store = PostgresStore(database.app_conninfo, ttl=self.TTL)
        yield store
        store.close()


class AsyncPostgresContract(AsyncStoreContract, PostgresContract):
    async def close_store(self, store: Any) -> None:
        await store.close()


class TestAsyncConnection(AsyncPostgresContract):
    async def make_store(self) -> AsyncPostgresStore:
        conn = await psycopg.AsyncConnection.connect(self.server.app_conninfo, autocommit=True)
        self.conn = conn
        return AsyncPostgresStore(conn, ttl=self.TTL)

    async def close_store(self, store: Any) -> None:
        await self.conn.close()


class TestAsyncConnectionInTransactions(TestAsyncConnection):
    async def make_store(self) -> AsyncPostgresStore:
        self.conn = await psycopg.AsyncConnection.connect(self.server.app_conninfo)
        return AsyncPostgresStore(self.conn, ttl=self.TTL)


class TestAsyncPool(AsyncPostgresContract):
    async def make_store(self) -> AsyncPostgresStore:
        pool = AsyncConnectionPool(self.server.app_conninfo, min_size=1, max_size=2, open=False)
        await pool.open()
        self.pool = pool
        return AsyncPostgresStore(pool, ttl=self.TTL)

    async def close_store(self, store: Any) -> None:
        await self.pool.close()


class TestAsyncConninfo(AsyncPostgresContract):
    async def make_store(self) -> AsyncPostgresStore:
        return AsyncPostgresStore(self.server.app_conninfo, ttl=self.TTL)
