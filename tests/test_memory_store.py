"""MemoryStore: the store contract, then what is particular to it."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import FakeClock, Impl
from store_contract import (
    AsyncStoreContract,
    StandInSession,
    StoreContract,
    iso_ms,
    to_js_json,
)

import fastsession
import fastsession._clock
from fastsession._speedups import cookie_end as _cookie_end
from fastsession._types import Record, StorableSession
from fastsession.errors import CorruptSessionError
from fastsession.stores import AsyncStore, Store
from fastsession.stores import memory as memory_module
from fastsession.stores.memory import MemoryStore


@pytest.fixture(autouse=True)
def kernel(lru_impl: Impl, monkeypatch: pytest.MonkeyPatch) -> Impl:
    """Every test runs on both LRU twins (the store binds the selected one)."""
    monkeypatch.setattr(memory_module, "LRUCache", lru_impl.LRUCache)
    return lru_impl


class TestContractWithInjectedClock(StoreContract):
    TOUCH_TELLS_GONE = True

    @pytest.fixture
    def store(self, clock: FakeClock) -> Iterator[MemoryStore]:
        self.clock = clock
        yield MemoryStore(ttl=self.TTL, clock=clock)

    def advance(self, store: Any, seconds: float) -> None:
        self.clock.advance(seconds)

    def now(self) -> float:
        return self.clock.now


class TestContractWithLibraryClock(StoreContract):
    """clock=None follows fastsession._clock.now, even when frozen after construction."""

    TOUCH_TELLS_GONE = True

    @pytest.fixture
    def store(self, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryStore]:
        store = MemoryStore(ttl=self.TTL)
        monkeypatch.setattr(fastsession._clock, "now", clock)
        self.clock = clock
        yield store

    def advance(self, store: Any, seconds: float) -> None:
        self.clock.advance(seconds)


# -- MemoryStore specifics ----------------------------------------------------------


class Calls:
    def __init__(self) -> None:
        self.expired: list[tuple[str, Any]] = []
        self.evicted: list[tuple[str, Any]] = []

    def on_expire(self, sid: str, record: Any) -> None:
        self.expired.append((sid, record))

    def on_evict(self, sid: str, record: Any) -> None:
        self.evicted.append((sid, record))


@pytest.fixture
def calls() -> Calls:
    return Calls()


def new(
    clock: FakeClock, sid: str, data: dict[str, Any] | None = None, **kw: Any
) -> StandInSession:
    return StandInSession(sid, data, now=clock.now, **kw)


def make(clock: FakeClock, calls: Calls | None = None, **kw: Any) -> MemoryStore:
    if calls is not None:
        kw |= {"on_expire": calls.on_expire, "on_evict": calls.on_evict}
    return MemoryStore(clock=clock, **kw)


def test_public_name_and_class() -> None:
    assert fastsession.MemoryStore is MemoryStore
    assert issubclass(MemoryStore, Store)
    # Calls are quick and do no I/O: the ASGI middleware makes them inline.
    assert MemoryStore.blocking is False


def test_stand_in_session_writes_express_json() -> None:
    # The contract's stand-in writes express-session's stored format.
    session = StandInSession("s", {"views": 1}, now=1893456000.0, max_age=60)
    assert session.to_json() == (
        b'{"cookie":{"originalMaxAge":60000,"expires":"2030-01-01T00:01:00.000Z",'
        b'"httpOnly":true,"path":"/"},"views":1}'
    )
    assert session.cookie.expires == datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
    browser = StandInSession("s", {"views": 1}, now=1893456000.0, max_age=None)
    assert browser.to_json() == (
        b'{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"views":1}'
    )
    assert browser.cookie.expires is None


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"max_entries": 0}, ValueError, "max_entries"),
        ({"max_entries": "10"}, TypeError, "max_entries"),
        ({"ttl": 0}, ValueError, "ttl"),
        ({"ttl": -1}, ValueError, "ttl"),
        ({"ttl": float("inf")}, ValueError, "ttl"),
        ({"ttl": float("nan")}, ValueError, "ttl"),
        ({"ttl": "60"}, TypeError, "ttl"),
        ({"ttl": True}, TypeError, "ttl"),
        ({"on_expire": 1}, TypeError, "on_expire"),
        ({"on_evict": "x"}, TypeError, "on_evict"),
        ({"clock": 5}, TypeError, "clock"),
    ],
)
def test_bad_options_name_the_option(kwargs: dict[str, Any], error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        MemoryStore(**kwargs)


def test_bound_evicts_the_least_recently_used(clock: FakeClock, calls: Calls) -> None:
    store = make(clock, calls, max_entries=3)
    for sid in "abc":
        store.set(sid, new(clock, sid, {"who": sid}))
    assert store.get("a") is not None  # a get counts as use
    store.set("d", new(clock, "d", {"who": "d"}))
    assert sorted(store.all()) == ["a", "c", "d"]
    assert [sid for sid, _ in calls.evicted] == ["b"]
    assert calls.evicted[0][1] == json.loads(new(clock, "b", {"who": "b"}).to_json())
    assert calls.expired == []


def test_touch_counts_as_use(clock: FakeClock, calls: Calls) -> None:
    store = make(clock, calls, max_entries=3)
    for sid in "abc":
        store.set(sid, new(clock, sid))
    store.touch("a", new(clock, "a"))
    store.set("d", new(clock, "d"))
    assert [sid for sid, _ in calls.evicted] == ["b"]


def test_on_expire_gets_the_record(clock: FakeClock, calls: Calls) -> None:
    store = make(clock, calls)
    session = new(clock, "sid-1", {"views": 4}, max_age=5)
    store.set("sid-1", session)
    clock.advance(6)
    assert store.get("sid-1") is None
    assert calls.expired == [("sid-1", json.loads(session.to_json()))]
    assert calls.evicted == []


def test_no_callbacks_for_destroy_and_clear(clock: FakeClock, calls: Calls) -> None:
    store = make(clock, calls, max_entries=2)
    store.set("a", new(clock, "a"))
    store.set("b", new(clock, "b"))
    store.destroy("a")
    store.clear()
    assert calls.expired == calls.evicted == []


def test_expired_exactly_at_now(clock: FakeClock, calls: Calls) -> None:
    # express's MemoryStore: expires <= now is expired (tests/data flow
    # "expired session in MemoryStore -> new session": maxAge 1000, read 1000 ms later).
    store = make(clock, calls)
    store.set("sid-1", new(clock, "sid-1", {"views": 1}, max_age=1))
    clock.advance(0.999)
    assert store.get("sid-1") is not None
    clock.now = 1893456001.0
    assert store.get("sid-1") is None
    assert store.all() == {}
    assert [sid for sid, _ in calls.expired] == ["sid-1"]


def test_record_expired_on_arrival_is_kept_until_read(clock: FakeClock, calls: Calls) -> None:
    # As express's MemoryStore with maxAge 0: the record is stored, and the
    # next read finds it expired.
    store = make(clock, calls)
    store.set("sid-1", new(clock, "sid-1", {"views": 1}, max_age=0))
    assert calls.expired == []
    assert store.get("sid-1") is None
    assert [sid for sid, _ in calls.expired] == ["sid-1"]


def test_browser_session_default_ttl_is_a_day(clock: FakeClock) -> None:
    store = make(clock)
    store.set("sid-1", new(clock, "sid-1", max_age=None))
    clock.advance(86_400 - 1)
    assert store.get("sid-1") is not None
    clock.advance(1)
    assert store.get("sid-1") is None


def test_ttl_as_timedelta_and_cookie_expiry_beyond_it(clock: FakeClock) -> None:
    store = make(clock, ttl=timedelta(minutes=1))
    store.set("browser", new(clock, "browser", max_age=None))
    store.set("cookie", new(clock, "cookie", max_age=600))
    clock.advance(61)
    assert store.get("browser") is None
    assert store.get("cookie") is not None  # a cookie expiry wins over ttl


def test_touch_replaces_the_cookie_and_keeps_the_data(clock: FakeClock) -> None:
    store = make(clock)
    store.set("sid-1", new(clock, "sid-1", {"views": 1, "text": 'a"}b'}, max_age=60))
    clock.advance(30)
    toucher = new(clock, "sid-1", {"views": 2}, max_age=120)
    store.touch("sid-1", toucher)
    record = store.get("sid-1")
    assert record == {"cookie": toucher.cookie.to_dict(), "views": 1, "text": 'a"}b'}
    assert record["cookie"]["expires"] == iso_ms(int((clock.now + 120) * 1000))
    assert record["cookie"]["originalMaxAge"] == 120_000
    clock.advance(100)  # past the first expiry, within the touched one
    assert store.get("sid-1") is not None


def test_touch_of_a_browser_session_renews_the_ttl(clock: FakeClock) -> None:
    store = make(clock, ttl=100)
    store.set("sid-1", new(clock, "sid-1", {"v": 1}, max_age=None))
    clock.advance(60)
    store.touch("sid-1", new(clock, "sid-1", max_age=None))
    clock.advance(60)
    assert store.get("sid-1") == {
        "cookie": {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"},
        "v": 1,
    }


@pytest.mark.parametrize(
    "stored",
    [
        # cookie not first: parsed, cookie replaced in place, written again
        {"views": 1, "cookie": {"originalMaxAge": 1, "expires": None, "path": "/"}},
        # a backslash in the cookie: not spliced
        {"cookie": {"originalMaxAge": None, "expires": None, "path": '/a\\"}'}, "views": 1},
        # a nested object in the cookie
        {"cookie": {"originalMaxAge": None, "extra": {"x": "}"}}, "views": 1},
    ],
    ids=["cookie-last", "escaped-cookie", "nested-cookie"],
)
def test_touch_of_a_record_in_another_shape(clock: FakeClock, stored: dict[str, Any]) -> None:
    store = make(clock)
    raw = to_js_json(stored)
    store.set("sid-1", StandInSession("sid-1", now=clock.now, max_age=60, raw_json=raw))
    toucher = new(clock, "sid-1", {"views": 5}, max_age=60)
    store.touch("sid-1", toucher)
    record = store.get("sid-1")
    assert record is not None
    assert list(record) == list(stored)
    assert record == {**stored, "cookie": toucher.cookie.to_dict()}


def test_touch_keeps_the_data_bytes(clock: FakeClock) -> None:
    # Splicing keeps the stored data exactly as written, number formats included.
    store = make(clock)
    tail = b',"big":1e+21,"f":1.0,"u":"\\u00e9\\ud800"}'
    stored = to_js_json({"cookie": new(clock, "s").cookie.to_dict()})[:-1] + tail
    store.set("s", StandInSession("s", now=clock.now, max_age=60, raw_json=stored))
    toucher = new(clock, "s", max_age=90)
    store.touch("s", toucher)
    raw = store._lru.get("s")
    assert raw == to_js_json({"cookie": toucher.cookie.to_dict()})[:-1] + tail


def test_touch_of_a_corrupt_record_raises(clock: FakeClock) -> None:
    store = make(clock)
    store.set("bad", StandInSession("bad", now=clock.now, max_age=60, raw_json=b"[1]"))
    with pytest.raises(CorruptSessionError):
        store.touch("bad", new(clock, "bad"))


@pytest.mark.parametrize(
    ("doc", "end"),
    [
        (b'{"cookie":{"a":1},"v":1}', 17),
        (b'{"cookie":{"p":"x}y","q":null}}', 30),
        (b'{"cookie":{}}', 12),
        (b'{"cookie":{"p":"x\\"}"}}', -1),
        (b'{"cookie":{"n":{"a":1}}}', -1),
        (b'{"cookie":{"n":[1]}}', -1),
        (b'{"v":1,"cookie":{}}', -1),
        (b'{"cookie":{"p":"unterminated', -1),
    ],
)
def test_cookie_end(doc: bytes, end: int) -> None:
    assert _cookie_end(doc) == end
    if end != -1:
        assert json.loads(doc[len(b'{"cookie":') : end]) is not None


def test_length_reclaims_expired_sessions(clock: FakeClock, calls: Calls) -> None:
    store = make(clock, calls)
    for i in range(5):
        store.set(f"s{i}", new(clock, f"s{i}", max_age=5 if i % 2 else 50))
    clock.advance(10)
    assert store.length() == 3
    assert sorted(sid for sid, _ in calls.expired) == ["s1", "s3"]
    assert len(store._lru) == 3


def test_writes_reclaim_expired_sessions_without_reads(clock: FakeClock) -> None:
    store = make(clock)
    for i in range(100):
        store.set(f"old{i}", new(clock, f"old{i}", max_age=5))
    clock.advance(10)
    for i in range(30):
        store.set(f"new{i}", new(clock, f"new{i}", max_age=5))
    assert len(store._lru) == 30 + 100 - 2 * 30  # each write reclaimed two


def test_callback_error_reaches_the_caller_and_the_store_stays_whole(clock: FakeClock) -> None:
    def boom(sid: str, record: Any) -> None:
        raise RuntimeError(sid)

    store = make(clock, on_expire=boom, max_entries=2)
    store.set("a", new(clock, "a", max_age=5))
    clock.advance(10)
    with pytest.raises(RuntimeError, match="^a$"):
        store.get("a")
    store.set("b", new(clock, "b"))
    assert list(store.all()) == ["b"]


def test_callback_may_use_the_store(clock: FakeClock) -> None:
    seen: list[tuple[str, int, bool]] = []

    def on_evict(sid: str, record: Any) -> None:
        seen.append((sid, store.length(), store.get("b") is not None))
        store.destroy("a")

    store = make(clock, on_evict=on_evict, max_entries=2)
    store.set("other", new(clock, "other"))
    store.set("a", new(clock, "a", {"v": 1}))
    store.set("b", new(clock, "b"))  # evicts "other"
    assert seen == [("other", 2, True)]
    assert list(store.all()) == ["b"]


def test_returned_records_are_fresh_objects(clock: FakeClock) -> None:
    store = make(clock)
    store.set("s", new(clock, "s", {"nested": {"a": [1]}}))
    first, second = store.get("s"), store.get("s")
    assert first is not None and second is not None
    assert first == second and first is not second
    assert first["nested"] is not second["nested"]
    all_records = store.all()
    all_records["s"]["nested"]["a"].append(2)
    assert store.get("s") == first


@pytest.fixture
def fast_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def test_threads_touch_never_resurrects_or_undoes(fast_switching: None) -> None:
    # One thread touches sessions while others write and destroy them: a touch
    # must neither bring a destroyed session back nor write back older data.
    store = MemoryStore(max_entries=1000)
    now = fastsession._clock.now
    sids = [f"sid-{i}" for i in range(4)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def toucher() -> None:
        try:
            while not stop.is_set():
                for sid in sids:
                    store.touch(sid, StandInSession(sid, {"v": -1}, now=now(), max_age=60))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def writer(sid: str) -> None:
        try:
            for i in range(1500):
                store.set(sid, StandInSession(sid, {"v": i}, now=now(), max_age=60))
                record = store.get(sid)
                assert record is not None and record["v"] == i, (sid, i, record)
                store.destroy(sid)
                assert store.get(sid) is None, (sid, i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    touchers = [threading.Thread(target=toucher) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(sid,)) for sid in sids]
    for t in touchers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in touchers:
        t.join()
    assert errors == []
    assert store.length() == 0


def test_threads_share_a_bounded_store(fast_switching: None) -> None:
    evicted: list[str] = []
    store = MemoryStore(max_entries=20, on_evict=lambda sid, record: evicted.append(sid))
    now = fastsession._clock.now
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for _ in range(1500):
                sid = f"s{rnd.randrange(40)}"
                op = rnd.random()
                if op < 0.4:
                    store.set(sid, StandInSession(sid, {"sid": sid}, now=now(), max_age=60))
                elif op < 0.7:
                    record = store.get(sid)
                    assert record is None or record["sid"] == sid
                elif op < 0.85:
                    store.touch(sid, StandInSession(sid, {"sid": "x"}, now=now(), max_age=90))
                elif op < 0.95:
                    store.destroy(sid)
                else:
                    assert all(r["sid"] == s for s, r in store.all().items())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.length() <= 20
    assert evicted
    assert all(record["sid"] == sid for sid, record in store.all().items())


class _AsyncFace(AsyncStore):
    """An AsyncStore over a MemoryStore: runs the async half of the contract suite."""

    def __init__(self, store: MemoryStore) -> None:
        self.inner = store

    async def get(self, sid: str) -> Record | None:
        await asyncio.sleep(0)
        return self.inner.get(sid)

    async def set(self, sid: str, session: StorableSession) -> None:
        self.inner.set(sid, session)

    async def replace(self, sid: str, session: StorableSession) -> bool:
        return self.inner.replace(sid, session)

    async def touch(self, sid: str, session: StorableSession) -> bool:
        return self.inner.touch(sid, session)

    async def destroy(self, sid: str) -> None:
        self.inner.destroy(sid)

    async def all(self) -> dict[str, Record]:
        return self.inner.all()

    async def clear(self) -> None:
        self.inner.clear()

    async def length(self) -> int:
        return self.inner.length()

    def index_users(self, key: str) -> None:
        self.inner.index_users(key)

    async def sessions_of(self, user: str | int) -> dict[str, Record]:
        return self.inner.sessions_of(user)

    async def destroy_user(self, user: str | int, *, keep: str | None = None) -> int:
        return self.inner.destroy_user(user, keep=keep)


class TestAsyncContract(AsyncStoreContract):
    TOUCH_TELLS_GONE = True

    clock: FakeClock

    async def make_store(self) -> AsyncStore:
        self.clock = FakeClock()
        return _AsyncFace(MemoryStore(ttl=self.TTL, clock=self.clock))

    def advance(self, store: Any, seconds: float) -> None:
        self.run(asyncio.sleep(0))
        self.clock.advance(seconds)

    def now(self) -> float:
        return self.clock.now


# -- the user index: eviction, expiry and the callbacks ---------------------------------


def _user(sid: str, user: Any, clock: FakeClock, max_age: float = 60) -> StandInSession:
    return StandInSession(sid, {"uid": user}, now=clock.now, max_age=max_age)


def test_user_index_follows_eviction_and_keeps_the_callbacks(clock: FakeClock) -> None:
    evicted: list[str] = []
    expired: list[str] = []
    store = MemoryStore(
        max_entries=2,
        clock=clock,
        user_key="uid",
        on_evict=lambda sid, record: evicted.append(sid),
        on_expire=lambda sid, record: expired.append(sid),
    )
    store.set("a", _user("a", 1, clock))
    store.set("b", _user("b", 1, clock, max_age=5))
    store.set("c", _user("c", 2, clock))  # evicts a, the least recently used
    assert evicted == ["a"]
    assert list(store.sessions_of(1)) == ["b"] and list(store.sessions_of(2)) == ["c"]
    clock.advance(10)
    assert store.get("b") is None and expired == ["b"]
    assert store.sessions_of(1) == {} and store._users == {"2": {"c"}}
    store.set("a", _user("a", 2, clock))  # evicts nothing expired; the bound holds
    assert sorted(store.sessions_of(2)) == ["a", "c"]
    store.clear()
    assert store.sessions_of(2) == {} and store._users == {} and store._user_of == {}


def test_an_expired_session_set_again_stays_indexed(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock, user_key="uid")
    store.set("a", _user("a", 1, clock, max_age=5))
    clock.advance(10)
    store.set("a", _user("a", 1, clock))  # the expired entry is replaced, not reported
    assert list(store.sessions_of(1)) == ["a"]
    # An entry the LRU reports as dropped while a newer one is stored keeps its index.
    store._dropped_by(None)("a", b"{}")
    assert list(store.sessions_of(1)) == ["a"]


def test_user_index_under_concurrent_writers(clock: FakeClock) -> None:
    store = MemoryStore(max_entries=50, clock=clock, user_key="uid")

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2000):
            sid = f"s{rng.randrange(80)}"
            if rng.random() < 0.8:
                store.set(sid, _user(sid, rng.randrange(5), clock))
            else:
                store.destroy(sid)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The index is exactly what the store holds: each live session under its user.
    held = {sid: str(record["uid"]) for sid, record in store.all().items()}
    assert {sid: user for sid, user in store._user_of.items()} == held
    for user in map(str, range(5)):
        assert set(store.sessions_of(user)) == {s for s, u in held.items() if u == user}
