"""PostgresStore and AsyncPostgresStore against connect-pg-simple 10's behaviour, on a
real PostgreSQL: the rows they write, expiry to the second, touch, prune, the table
they create, options and errors. Every behaviour test runs on both stores."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from postgres_server import PostgresServer, postgres_db, postgres_server
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from store_contract import StandInSession, SyncAdapter, iso_ms

import fastsession._clock
from fastsession.errors import CorruptSessionError, StoreError
from fastsession.stores._postgres_sql import PruneSchedule
from fastsession.stores.postgres import AsyncPostgresStore, PostgresStore

pytestmark = pytest.mark.postgres
__all__ = ["postgres_db", "postgres_server"]  # the helper's fixtures, used here

NOW = 1_900_000_000.25  # a fixed clock for the tests that read it
Factory = Callable[..., Any]


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set the library clock (what the stores read as "now")."""

    def set_now(seconds: float) -> None:
        monkeypatch.setattr(fastsession._clock, "now", lambda: seconds)

    set_now(NOW)
    return set_now


@pytest.fixture(params=["sync", "async"])
def make_store(request: pytest.FixtureRequest, postgres_db: PostgresServer) -> Iterator[Factory]:
    """Build stores of one kind on the shared server, driven from sync code."""
    closers: list[Callable[[], None]] = []
    if request.param == "sync":

        def make_sync(**options: Any) -> PostgresStore:
            conn = psycopg.connect(postgres_db.conninfo, autocommit=True)
            closers.append(conn.close)
            return PostgresStore(conn, **options)

        yield make_sync
    else:
        runner = asyncio.Runner()

        def run(awaitable: Any) -> Any:
            async def wait() -> Any:
                return await awaitable

            return runner.run(wait())

        def make_async(**options: Any) -> SyncAdapter:
            conn = run(psycopg.AsyncConnection.connect(postgres_db.conninfo, autocommit=True))
            closers.append(lambda: run(conn.close()))
            return SyncAdapter(AsyncPostgresStore(conn, **options), run)

        yield make_async
        closers.append(runner.close)
    for close in closers:
        close()


def rows(server: PostgresServer, table: str = '"session"') -> dict[str, tuple[str, int]]:
    """sid -> (the sess column's text, expire as epoch seconds in the server's TimeZone)."""
    with server.admin() as admin:
        found = admin.execute(
            f"SELECT sid, sess::text, extract(epoch from expire::timestamptz)::bigint FROM {table}"
        ).fetchall()
    return {sid: (text, int(epoch)) for sid, text, epoch in found}


def session(sid: str, max_age: float | None, now: float = NOW, **data: Any) -> StandInSession:
    return StandInSession(sid, data, now=now, max_age=max_age)


# ------------------------------------------------------------ rows and expiry


def test_the_row_holds_express_json_and_the_expiry_rounded_up(
    make_store: Factory, postgres_db: PostgresServer, frozen: Any
) -> None:
    store = make_store()
    one = session("one", 60, views=1)  # expires at ...60.250: rounded up to ...61
    exact = session("exact", 59.75, views=2)  # expires at ...60.000 exactly
    store.set("one", one)
    store.set("exact", exact)
    found = rows(postgres_db)
    assert found["one"] == (one.to_json().decode(), math.ceil(NOW + 60))
    assert found["exact"] == (exact.to_json().decode(), 1_900_000_060)
    assert json.loads(found["one"][0])["cookie"]["expires"] == iso_ms(1_900_000_060_250)


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [(None, 86_400), (0, 86_400), (600, 600), (1.5, 1.5), (timedelta(hours=2), 7200)],
)
def test_a_browser_session_lives_for_the_ttl(
    make_store: Factory, postgres_db: PostgresServer, frozen: Any, ttl: Any, seconds: float
) -> None:
    make_store(ttl=ttl).set("b", session("b", None))
    assert rows(postgres_db)["b"][1] == math.ceil(NOW + seconds)


def test_get_sees_a_row_until_its_second_has_passed(
    make_store: Factory, frozen: Callable[[float], None]
) -> None:
    store = make_store()
    store.set("s", session("s", 9.75))  # expire = NOW + 9.75 = ...010, exactly
    for now, visible in [(NOW + 9.0, True), (NOW + 9.75, True), (NOW + 9.76, False)]:
        frozen(now)  # compared with ceil(now), as connect-pg-simple's currentTimestamp()
        assert (store.get("s") is not None) is visible, now
        assert store.length() == int(visible)
        assert ("s" in store.all()) is visible


def test_an_expired_session_is_written_but_never_read(
    make_store: Factory, postgres_db: PostgresServer, frozen: Any
) -> None:
    store = make_store(prune_session_interval=False)
    store.set("gone", session("gone", -5, views=1))
    # connect-pg-simple upserts whatever it is given; the row is invisible at once.
    assert rows(postgres_db)["gone"][1] == math.ceil(NOW - 5)
    assert store.get("gone") is None and store.all() == {} and store.length() == 0
    assert store.prune() == 1
    assert rows(postgres_db) == {}


def test_rows_written_by_connect_pg_simple_are_read(
    make_store: Factory, postgres_db: PostgresServer, frozen: Any
) -> None:
    text = '{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"n":1}'
    with postgres_db.admin() as admin:
        # connect-pg-simple's own INSERT, with pg's parameters as it sends them.
        admin.execute(
            'INSERT INTO "session" (sess, expire, sid) SELECT %s::json, to_timestamp(%s), %s '
            "ON CONFLICT (sid) DO UPDATE SET sess=%s::json, expire=to_timestamp(%s) RETURNING sid",
            (text, math.ceil(NOW + 100), "node", text, math.ceil(NOW + 100)),
        )
    store = make_store()
    assert store.get("node") == json.loads(text)
    assert list(store.get("node")) == ["cookie", "n"]
    assert store.all() == {"node": json.loads(text)}


# ------------------------------------------------------------ touch


def test_touch_moves_only_the_expiry(
    make_store: Factory, postgres_db: PostgresServer, frozen: Callable[[float], None]
) -> None:
    store = make_store()
    first = session("t", 60, views=1)
    store.set("t", first)
    frozen(NOW + 30)
    store.touch("t", session("t", 60, now=NOW + 30, views=99))
    text, expire = rows(postgres_db)["t"]
    assert expire == math.ceil(NOW + 90)
    # The stored cookie keeps its old `expires`, as connect-pg-simple leaves it.
    assert text == first.to_json().decode()
    assert json.loads(text)["cookie"]["expires"] == iso_ms(round((NOW + 60) * 1000))


def test_touch_brings_no_expired_row_back(
    make_store: Factory, postgres_db: PostgresServer, frozen: Callable[[float], None]
) -> None:
    store = make_store(prune_session_interval=False)
    store.set("t", session("t", 10))
    frozen(NOW + 20)
    store.touch("t", session("t", 60, now=NOW + 20))
    assert rows(postgres_db)["t"][1] == math.ceil(NOW + 10)
    assert store.get("t") is None
    store.touch("nobody", session("nobody", 60))
    assert "nobody" not in rows(postgres_db)


def test_disable_touch(make_store: Factory, postgres_db: PostgresServer, frozen: Any) -> None:
    store = make_store(disable_touch=True)
    store.set("t", session("t", 60))
    store.touch("t", session("t", 600))
    assert rows(postgres_db)["t"][1] == math.ceil(NOW + 60)


# ------------------------------------------------------------ corrupt records


@pytest.mark.parametrize("text", ['{"views":1}', '{"cookie":[]}', "[1]", "null"])
def test_a_row_without_a_cookie_object_is_an_error(
    make_store: Factory, postgres_db: PostgresServer, text: str
) -> None:
    with postgres_db.admin() as admin:
        admin.execute(
            "INSERT INTO session VALUES ('bad', %s::json, now()::timestamp + interval '1 hour')",
            (text,),
        )
    store = make_store()
    with pytest.raises(CorruptSessionError):
        store.get("bad")
    with pytest.raises(CorruptSessionError):
        store.all()
    assert store.length() == 1


# ------------------------------------------------------------ pruning


def test_prune_deletes_only_expired_rows(
    make_store: Factory, postgres_db: PostgresServer, frozen: Callable[[float], None]
) -> None:
    store = make_store(prune_session_interval=False)
    store.set("old", session("old", 5))
    store.set("new", session("new", 500))
    assert store.prune() == 0
    frozen(NOW + 10)
    assert store.prune() == 1
    assert set(rows(postgres_db)) == {"new"}


def test_expired_rows_are_pruned_by_a_call_once_the_interval_has_passed(
    make_store: Factory, postgres_db: PostgresServer
) -> None:
    store = make_store(prune_session_interval=0.2)
    store.set("old", session("old", -5, now=time.time()))
    store.set("new", session("new", 60, now=time.time()))
    assert set(rows(postgres_db)) == {"old", "new"}  # well within 0.1 s: not yet due
    time.sleep(0.35)  # past 150 % of the interval
    assert store.get("new") is not None  # this call prunes, after its own statement
    assert set(rows(postgres_db)) == {"new"}


def test_no_prune_when_disabled(make_store: Factory, postgres_db: PostgresServer) -> None:
    store = make_store(prune_session_interval=False)
    store.set("old", session("old", -5, now=time.time()))
    time.sleep(0.05)
    for _ in range(3):
        store.get("new")
    assert set(rows(postgres_db)) == {"old"}


def test_a_failed_prune_is_logged_and_the_call_still_answers(
    postgres_db: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    options = "-c statement_timeout=200"
    with psycopg.connect(postgres_db.conninfo, autocommit=True, options=options) as conn:
        store = PostgresStore(conn, prune_session_interval=0.1)
        store.set("old", session("old", -5, now=time.time()))
        store.set("live", session("live", 60, now=time.time(), views=1))
        with postgres_db.admin() as locker, locker.transaction():
            locker.execute("SELECT * FROM session WHERE sid = 'old' FOR UPDATE")
            time.sleep(0.2)
            with caplog.at_level(logging.WARNING, logger="fastsession"):
                record = store.get("live")  # the prune behind it times out
        assert record is not None and record["views"] == 1
        messages = [r.getMessage() for r in caplog.records if r.name == "fastsession"]
        assert any("prune" in m and "QueryCanceled" in m for m in messages), messages
        assert "old" in rows(postgres_db)


def test_one_prune_per_interval_across_threads() -> None:
    schedule = PruneSchedule(0.05)
    time.sleep(0.08)  # past 150 %: due
    claims: list[bool] = []
    threads = [threading.Thread(target=lambda: claims.append(schedule.claim())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert claims.count(True) == 1
    assert not PruneSchedule(None).claim()


# ------------------------------------------------------------ tables and names


def test_the_table_created_is_connect_pg_simple_s(
    make_store: Factory, postgres_db: PostgresServer
) -> None:
    postgres_db.create_session_table(schema="made_by_table_sql")
    with postgres_db.admin() as admin:
        admin.execute("DROP SCHEMA IF EXISTS ours CASCADE")
        admin.execute("CREATE SCHEMA ours")
    store = make_store(schema_name="ours", create_table_if_missing=True)
    assert store.get("nobody") is None  # the first call creates the table
    store.set("s", session("s", 60, now=time.time()))
    expected = postgres_db.describe_table('"made_by_table_sql"."session"', "made_by_table_sql")
    assert postgres_db.describe_table('"ours"."session"', "ours") == expected
    assert expected[2][0][0] == "IDX_session_expire" and expected[1][0][0] == "session_pkey"
    assert set(rows(postgres_db, '"ours"."session"')) == {"s"}


def test_odd_names_are_quoted_and_tables_share_a_schema(
    make_store: Factory, postgres_db: PostgresServer
) -> None:
    schema, tables = 'odd "schema"', ['we"ird%s name', "second"]
    with postgres_db.admin() as admin:
        admin.execute('DROP SCHEMA IF EXISTS "odd ""schema""" CASCADE')
    with postgres_db.admin() as admin:
        admin.execute('CREATE SCHEMA "odd ""schema"""')
    stores = [
        make_store(schema_name=schema, table_name=t, create_table_if_missing=True) for t in tables
    ]
    assert stores[0].quoted_table == '"odd ""schema"""."we""ird%s name"'
    for store, table in zip(stores, tables, strict=True):
        store.set("s", session("s", 60, now=time.time(), table=table))
        assert store.get("s")["table"] == table
        assert store.length() == 1
        store.clear()
        assert store.all() == {}


def test_concurrent_creators_make_one_table(postgres_db: PostgresServer) -> None:
    with postgres_db.admin() as admin:
        admin.execute('DROP TABLE IF EXISTS "racing"')
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        store = PostgresStore(postgres_db.url, table_name="racing", create_table_if_missing=True)
        try:
            barrier.wait()
            store.set("s", session("s", 60, now=time.time()))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(rows(postgres_db, '"racing"')) == {"s"}


def test_a_missing_table_is_an_error(make_store: Factory, postgres_db: PostgresServer) -> None:
    store = make_store(table_name="absent")
    with pytest.raises(StoreError, match="UndefinedTable") as info:
        store.get("s")
    assert isinstance(info.value.__cause__, psycopg.errors.UndefinedTable)


# ------------------------------------------------------------ connections and errors


def test_a_closed_connection_is_a_store_error(postgres_db: PostgresServer) -> None:
    conn = psycopg.connect(postgres_db.conninfo, autocommit=True)
    store = PostgresStore(conn)
    conn.close()
    calls: list[Callable[[], object]] = [
        lambda: store.get("s"),
        lambda: store.set("s", session("s", 60)),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="PostgreSQL (SELECT|INSERT) failed") as info:
            call()
        assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_a_closed_pool_is_a_store_error(postgres_db: PostgresServer) -> None:
    pool = ConnectionPool(postgres_db.conninfo, min_size=1, open=True)
    store = PostgresStore(pool)
    pool.close()
    with pytest.raises(StoreError, match="PoolClosed"):
        store.get("s")


def test_one_connection_shared_by_threads(postgres_db: PostgresServer) -> None:
    with psycopg.connect(postgres_db.conninfo) as conn:  # not autocommit: transactions
        store = PostgresStore(conn)
        seen: list[int] = []

        def work(n: int) -> None:
            for i in range(25):
                store.set(f"{n}-{i}", session(f"{n}-{i}", 60, now=time.time(), n=n))
                record = store.get(f"{n}-{i}")
                seen.append(-1 if record is None else record["n"] - n)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == [0] * 150  # each thread read back what it wrote
        assert store.length() == 150
    assert len(rows(postgres_db)) == 150


def test_connections_with_the_application_s_row_factory(postgres_db: PostgresServer) -> None:
    """Apps often give their pools ``row_factory=dict_row``; the store reads tuples anyway."""
    with ConnectionPool(
        postgres_db.conninfo, min_size=1, kwargs={"row_factory": dict_row}, open=True
    ) as pool:
        store = PostgresStore(pool, create_table_if_missing=True)
        saved = session("s", 60, now=time.time(), views=1)
        store.set("s", saved)
        assert store.get("s") == saved.to_record()
        assert list(store.all()) == ["s"] and store.length() == 1

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(
            postgres_db.conninfo, autocommit=True, row_factory=dict_row
        ) as conn:
            store = AsyncPostgresStore(conn)
            record = await store.get("s")
            assert record is not None and record["views"] == 1
            assert await store.length() == 1 and await store.prune() == 0

    asyncio.run(run())


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"conn": 42}, TypeError, r"conn: expected a psycopg\.(Async)?Connection"),
        ({"conn": "host=a bad=b"}, ValueError, "conn: not a valid PostgreSQL conninfo"),
        ({"table_name": ""}, ValueError, "table_name"),
        ({"table_name": 5}, TypeError, "table_name"),
        ({"schema_name": "a\x00b"}, ValueError, "schema_name"),
        ({"ttl": -1}, ValueError, "ttl"),
        ({"ttl": "1"}, TypeError, "ttl"),
        ({"ttl": True}, TypeError, "ttl"),
        ({"prune_session_interval": True}, TypeError, "prune_session_interval"),
        ({"prune_session_interval": -1}, ValueError, "prune_session_interval"),
        ({"prune_session_interval": float("inf")}, ValueError, "prune_session_interval"),
    ],
)
def test_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    conn = options.pop("conn", "postgresql://127.0.0.1:1/none")
    for cls in (PostgresStore, AsyncPostgresStore):
        with pytest.raises(error, match=message):
            cls(conn, **options)


def test_the_async_store_refuses_sync_connections(postgres_db: PostgresServer) -> None:
    with psycopg.connect(postgres_db.conninfo) as conn:
        with pytest.raises(TypeError, match="psycopg.AsyncConnection"):
            AsyncPostgresStore(conn)  # type: ignore[arg-type]


def test_options_defaults() -> None:
    store = PostgresStore("postgresql://127.0.0.1:1/none", prune_session_interval=None)
    try:
        assert store.options.ttl == 86_400 and store.options.prune_interval == 900
        assert store.quoted_table == '"session"' and not store.options.disable_touch
        assert repr(store) == 'PostgresStore(table="session")'
    finally:
        store.close()
