"""SQLiteStore: the store contract on a file and in memory, then what is particular to it:
the table, expiry boundaries, touch, sweeping, locks, forks, a killed writer, and both
middlewares over it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock
from store_contract import StandInSession, StoreContract, to_js_json

import fastsession
from fastsession.errors import CorruptSessionError, StoreError
from fastsession.stores import Store
from fastsession.stores.sqlite import SQLiteStore
from fastsession.testing import FaultCause

SECRET = "a test secret of at least thirty-two bytes"
PKG_PARENT = str(Path(fastsession.__file__).resolve().parent.parent)


@contextmanager
def table_renamed(store: SQLiteStore) -> Iterator[FaultCause]:
    """The store's table gone (renamed by another connection) while the block runs."""
    side = sqlite3.connect(store.path, isolation_level=None)
    side.execute(f'ALTER TABLE "{store.table}" RENAME TO "{store.table}_away"')
    try:
        yield sqlite3.OperationalError
    finally:
        side.execute(f'ALTER TABLE "{store.table}_away" RENAME TO "{store.table}"')
        side.close()


class TestSQLiteStoreContract(StoreContract):
    TOUCH_TELLS_GONE = True

    @pytest.fixture
    def store(self, clock: FakeClock, tmp_path: Path) -> Iterator[SQLiteStore]:
        self.clock = clock
        store = SQLiteStore(tmp_path / "sessions.db", ttl=self.TTL, clock=clock, timeout=2)
        yield store
        store.close()

    def advance(self, store: Any, seconds: float) -> None:
        self.clock.advance(seconds)

    def now(self) -> float:
        return self.clock.now

    def store_fault(self, store: Any) -> Any:
        return table_renamed(store)


class TestSQLiteStoreContractLibraryClock(TestSQLiteStoreContract):
    """clock=None follows fastsession._clock.now at each call."""

    @pytest.fixture
    def store(
        self, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[SQLiteStore]:
        store = SQLiteStore(tmp_path / "sessions.db", ttl=self.TTL)
        monkeypatch.setattr(fastsession._clock, "now", clock)
        self.clock = clock
        yield store
        store.close()


class TestSQLiteStoreContractInMemory(StoreContract):
    TOUCH_TELLS_GONE = True

    @pytest.fixture
    def store(self, clock: FakeClock) -> Iterator[SQLiteStore]:
        self.clock = clock
        store = SQLiteStore(":memory:", ttl=self.TTL, clock=clock, table="mem")
        yield store
        store.close()

    def advance(self, store: Any, seconds: float) -> None:
        self.clock.advance(seconds)

    def now(self) -> float:
        return self.clock.now

    @contextmanager
    def store_fault(self, store: Any) -> Iterator[FaultCause]:
        # The database is the store's alone: its own connection renames the table.
        conn = store._connection()
        conn.execute('ALTER TABLE "mem" RENAME TO "mem_away"')
        try:
            yield sqlite3.OperationalError
        finally:
            conn.execute('ALTER TABLE "mem_away" RENAME TO "mem"')


# -- construction ---------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "s.db"


@pytest.fixture
def store(db: Path, clock: FakeClock) -> Iterator[SQLiteStore]:
    store = SQLiteStore(db, clock=clock)
    yield store
    store.close()


def rows(path: Path, table: str = "sessions") -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            f'SELECT sid, expired, sess, typeof(sess) FROM "{table}" ORDER BY sid'
        ).fetchall()


def test_public_name_and_class() -> None:
    assert issubclass(SQLiteStore, Store)
    assert SQLiteStore.blocking is True  # the ASGI middleware calls it off the event loop


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"table": "x; DROP TABLE y"}, ValueError, "table"),
        ({"table": '"quoted"'}, ValueError, "table"),
        ({"table": "1abc"}, ValueError, "table"),
        ({"table": ""}, ValueError, "table"),
        ({"table": "a" * 64}, ValueError, "table"),
        ({"table": 5}, ValueError, "table"),
        ({"ttl": 0}, ValueError, "ttl"),
        ({"ttl": -1}, ValueError, "ttl"),
        ({"ttl": float("nan")}, ValueError, "ttl"),
        ({"ttl": "60"}, TypeError, "ttl"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"sweep_every": 0}, ValueError, "sweep_every"),
        ({"sweep_batch": True}, ValueError, "sweep_batch"),
        ({"clock": 3}, TypeError, "clock"),
    ],
)
def test_bad_options_name_the_option(
    db: Path, kwargs: dict[str, Any], error: type, name: str
) -> None:
    with pytest.raises(error, match=name):
        SQLiteStore(db, **kwargs)
    assert not db.exists()  # refused before anything was opened


def test_path_must_be_a_path(db: Path) -> None:
    with pytest.raises(TypeError, match="path"):
        SQLiteStore(3)  # type: ignore[arg-type]


def test_a_file_that_is_not_a_database_fails_at_construction(db: Path) -> None:
    db.write_bytes(b"this is not an SQLite database, it is a text file" * 100)
    with pytest.raises(StoreError) as info:
        SQLiteStore(db)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_creates_table_index_and_wal(db: Path, store: SQLiteStore) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"sessions", "sessions_expired"} <= names


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a" / "b" / "s.db")
    assert (tmp_path / "a" / "b" / "s.db").is_file()
    store.close()


def test_tables_are_independent(db: Path, clock: FakeClock) -> None:
    one, two = SQLiteStore(db, clock=clock), SQLiteStore(db, table="other_1", clock=clock)
    one.set("s", StandInSession("s", {"who": 1}, now=clock.now))
    two.set("s", StandInSession("s", {"who": 2}, now=clock.now))
    assert one.get("s")["who"] == 1 and two.get("s")["who"] == 2
    one.clear()
    assert one.get("s") is None and two.get("s")["who"] == 2
    assert [r[0] for r in rows(db, "other_1")] == ["s"]


def test_a_connect_sqlite3_table_is_used_as_it_is(db: Path, clock: FakeClock) -> None:
    # connect-sqlite3 creates its table untyped; the store reads and writes it unchanged.
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE sessions (sid PRIMARY KEY, expired, sess)")
        record = '{"cookie":{"originalMaxAge":60000,"expires":null},"from":"express"}'
        conn.execute(
            "INSERT INTO sessions VALUES (?, ?, ?)", ("x", int(clock.now * 1000) + 60_000, record)
        )
    store = SQLiteStore(db, clock=clock)
    assert store.get("x")["from"] == "express"
    store.set("y", StandInSession("y", {"from": "python"}, now=clock.now))
    assert store.length() == 2


# -- what is stored -------------------------------------------------------------------


def test_the_row_holds_the_exact_json_and_the_cookie_expiry(
    db: Path, store: SQLiteStore, clock: FakeClock
) -> None:
    session = StandInSession("s", {"name": "Zoë 𝄞", "n": 1}, now=clock.now, max_age=90)
    store.set("s", session)
    [(sid, expired, sess, kind)] = rows(db)
    assert (sid, kind) == ("s", "text")
    assert sess.encode() == session.to_json()
    assert expired == session.cookie.expires_ms == int(clock.now * 1000) + 90_000


def test_browser_session_rows_expire_after_ttl(db: Path, clock: FakeClock) -> None:
    store = SQLiteStore(db, ttl=120, clock=clock)
    store.set("s", StandInSession("s", {}, now=clock.now, max_age=None))
    assert rows(db)[0][1] == int(clock.now * 1000) + 120_000


def test_expires_at_now_is_expired(store: SQLiteStore, clock: FakeClock) -> None:
    store.set("s", StandInSession("s", {}, now=clock.now, max_age=10))
    clock.advance(9.999)
    assert store.get("s") is not None
    clock.advance(0.001)
    assert store.get("s") is None
    assert store.length() == 0 and store.all() == {}


def test_the_datetime_expiry_is_used_without_expires_ms(
    store: SQLiteStore, clock: FakeClock
) -> None:
    session = StandInSession("s", {}, now=clock.now, max_age=10)
    expires = session.cookie.expires

    class OnlyDatetime:  # a StorableSession whose cookie has no expires_ms
        id = "s"
        cookie = type("C", (), {"expires": expires})()
        to_record = session.to_record
        to_json = session.to_json

    store.set("s", OnlyDatetime())
    clock.advance(9.5)
    assert store.get("s") is not None
    clock.advance(0.5)
    assert store.get("s") is None


def test_an_already_expired_save_deletes_the_session(
    db: Path, store: SQLiteStore, clock: FakeClock
) -> None:
    store.set("s", StandInSession("s", {"v": 1}, now=clock.now, max_age=60))
    store.set("s", StandInSession("s", {"v": 2}, now=clock.now, max_age=-1))
    assert store.get("s") is None
    assert rows(db) == []


def test_touch_moves_the_expiry_and_keeps_the_row_text(
    db: Path, store: SQLiteStore, clock: FakeClock
) -> None:
    first = StandInSession("s", {"v": 1}, now=clock.now, max_age=60)
    store.set("s", first)
    clock.advance(30)
    later = StandInSession("s", {"v": 99}, now=clock.now, max_age=60)
    store.touch("s", later)
    [(_, expired, sess, _)] = rows(db)
    assert sess.encode() == first.to_json()  # not rewritten, as connect-sqlite3 does
    assert expired == later.cookie.expires_ms
    clock.advance(45)
    assert store.get("s") == json.loads(first.to_json())


def test_touch_with_an_expired_cookie_deletes(
    db: Path, store: SQLiteStore, clock: FakeClock
) -> None:
    store.set("s", StandInSession("s", {}, now=clock.now, max_age=60))
    store.touch("s", StandInSession("s", {}, now=clock.now, max_age=0))
    assert rows(db) == []


def test_a_corrupt_row_is_an_error(db: Path, store: SQLiteStore, clock: FakeClock) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO sessions VALUES ('bad', ?, '{\"views\":1}')",
            (int(clock.now * 1000) + 1e6,),
        )
    with pytest.raises(CorruptSessionError):
        store.get("bad")


# -- expired rows go as it goes -------------------------------------------------------


def test_expired_rows_are_swept_by_later_writes(db: Path, clock: FakeClock) -> None:
    store = SQLiteStore(db, clock=clock, sweep_every=10, sweep_batch=25)
    for i in range(40):
        store.set(f"old-{i}", StandInSession(f"old-{i}", {}, now=clock.now, max_age=5))
    clock.advance(10)
    assert len(rows(db)) == 40  # expired, still on disk, never returned
    assert store.length() == 0 and store.all() == {} and store.get("old-1") is None
    for i in range(20):  # two sweeps of up to 25 rows each
        store.set(f"new-{i}", StandInSession(f"new-{i}", {}, now=clock.now, max_age=60))
    assert sorted(r[0] for r in rows(db)) == sorted(f"new-{i}" for i in range(20))
    assert store.sweep() == 0


def test_sweep_removes_only_expired_rows(db: Path, store: SQLiteStore, clock: FakeClock) -> None:
    store.set("short", StandInSession("short", {}, now=clock.now, max_age=5))
    store.set("long", StandInSession("long", {}, now=clock.now, max_age=50))
    clock.advance(10)
    assert store.sweep() == 1
    assert [r[0] for r in rows(db)] == ["long"]


# -- locks, threads, forks, kills -----------------------------------------------------


def test_a_held_write_lock_is_a_store_error_after_the_busy_timeout(
    db: Path, clock: FakeClock
) -> None:
    store = SQLiteStore(db, clock=clock, timeout=0.3)
    store.set("s", StandInSession("s", {"v": 1}, now=clock.now))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(StoreError, match="locked") as info:
        store.set("s", StandInSession("s", {"v": 2}, now=clock.now))
    assert time.monotonic() - started >= 0.25  # it waited for the lock first
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert store.get("s")["v"] == 1  # readers are not blocked in WAL mode
    holder.execute("ROLLBACK")
    holder.close()
    store.set("s", StandInSession("s", {"v": 3}, now=clock.now))
    assert store.get("s")["v"] == 3


def test_a_writer_waits_for_a_short_lock(db: Path, clock: FakeClock) -> None:
    store = SQLiteStore(db, clock=clock, timeout=10)
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    store.set("s", StandInSession("s", {"v": 1}, now=clock.now))
    release.join()
    holder.close()
    assert store.get("s")["v"] == 1


def test_each_thread_has_its_own_connection(store: SQLiteStore) -> None:
    seen: list[Any] = []
    threads = [threading.Thread(target=lambda: seen.append(store._connection())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in [*seen, store._connection()]}) == 4


FORK_SCRIPT = """
import json, os, sys
from fastsession.stores.sqlite import SQLiteStore
from fastsession.testing import StandInSession
store = SQLiteStore(sys.argv[1])
store.set("parent", StandInSession("parent", {"pid": os.getpid()}, now=2e9))
parent_conn = store._connection()
children = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        conn = store._connection()
        ok = conn is not parent_conn and conn.pid == os.getpid()
        store.set(f"child-{n}", StandInSession(f"child-{n}", {"pid": os.getpid()}, now=2e9))
        seen = store.get("parent")["pid"]
        os._exit(0 if ok and seen == os.getppid() else 1)
    children.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
found = {sid: r["pid"] for sid, r in store.all().items()}
print(json.dumps({"codes": codes, "children": children, "found": found}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork")
def test_a_forked_child_opens_its_own_connection(db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": PKG_PARENT}
    proc = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT, str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["codes"] == [0, 0, 0]
    assert {out["found"][f"child-{n}"] for n in range(3)} == set(out["children"])
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from fastsession.stores.sqlite import SQLiteStore
    from fastsession.testing import StandInSession
    store = SQLiteStore(sys.argv[1])
    big = "x" * 200_000  # many pages per write, so the kill lands inside one
    for n in range(100_000):
        sid = f"s{n % 50}"
        store.set(sid, StandInSession(sid, {"n": n, "big": big}, now=2e9, max_age=3600))
        print(sid, n, flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this platform")
def test_a_writer_killed_mid_write_leaves_every_acknowledged_write(db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": PKG_PARENT}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    acknowledged: dict[str, int] = {}
    for line in proc.stdout:
        sid, n = line.split()
        acknowledged[sid] = int(n)
        if int(n) >= 120:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    acknowledged.update(dict(line.split() for line in proc.stdout.read().splitlines() if line))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = SQLiteStore(db, clock=lambda: 2e9)
    found = {sid: r["n"] for sid, r in store.all().items()}
    assert all(len(r["big"]) == 200_000 for r in store.all().values())
    for sid, n in acknowledged.items():
        # The last acknowledged write, or the one after it that committed before the kill.
        assert found[sid] in (int(n), int(n) + 50), (sid, n, found[sid])


# -- through the middlewares ----------------------------------------------------------


def counter_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session = environ["fastsession.session"]
    session["n"] = session.get("n", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(session["n"]).encode()]


async def counter_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    session = scope["session"]
    session["n"] = session.get("n", 0) + 1
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(session["n"]).encode()})


def test_both_middlewares_share_sessions_through_one_file(db: Path) -> None:
    wsgi = fastsession.WSGISessionMiddleware(counter_wsgi, secret=SECRET, store=SQLiteStore(db))
    asgi = fastsession.SessionMiddleware(counter_asgi, secret=SECRET, store=SQLiteStore(db))
    with httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://t") as w:
        assert [w.get("/").text for _ in range(3)] == ["1", "2", "3"]
        cookie = w.cookies["connect.sid"]

    async def from_asgi() -> list[str]:
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as a:
            a.cookies.set("connect.sid", cookie)
            return [(await a.get("/")).text for _ in range(2)]

    assert asyncio.run(from_asgi()) == ["4", "5"]
    assert json.loads(rows(db)[0][2])["n"] == 5
    assert to_js_json(SQLiteStore(db).get(rows(db)[0][0])) == rows(db)[0][2].encode()
