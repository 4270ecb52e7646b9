"""The store contract (DESIGN.md, "The store protocol") as a reusable test class.

Use it by subclassing; pytest collects the subclass (name it ``Test...``)::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self) -> Iterator[MyStore]:
            yield MyStore(ttl=self.TTL)          # a fresh, empty store

        def advance(self, store: Any, seconds: float) -> None:
            ...                                   # let `seconds` pass for the store's expiry

For an ``AsyncStore``, subclass ``AsyncStoreContract`` and implement
``make_store()`` (and ``close_store()`` if needed) as coroutines instead of the
``store`` fixture; the same tests then run through ``SyncAdapter`` on one event
loop, and ``self.run(coro)`` runs more coroutines on that loop (in ``advance``).

The hooks, kept small on purpose:

* ``store``: fixture giving a fresh, empty store configured with ``ttl=self.TTL``.
* ``advance(store, seconds)``: make ``seconds`` of time pass as far as the
  store's expiry is concerned. A fake clock advances it; a Redis store can
  lower every key's TTL instead (``PTTL`` then ``PEXPIRE key pttl - ms``, which
  deletes a key whose TTL reaches zero), so no test sleeps.
* ``now()``: the time new sessions are created at (default: the library clock).

The expiry tests keep at least a second of margin on both sides of every
deadline, since stores such as Redis keep whole seconds; the exact boundary
(``expires == now`` is expired) belongs to each store's own tests.

``StandInSession`` is test data with the shape of ``fastsession._types.StorableSession``:
``to_json()`` gives express-session's record JSON for a cookie of the given max
age, or exactly the bytes it was given (to store a corrupt record).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

import fastsession._clock
from fastsession._types import Record
from fastsession.errors import CorruptSessionError
from fastsession.stores import AsyncStore, Store

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as JS ``Date.toISOString()``."""
    stamp = _EPOCH + timedelta(milliseconds=ms)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def to_js_json(value: Any) -> bytes:
    """``JSON.stringify`` for the plain data used here (no floats with integral values)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class StandInCookie:
    def __init__(self, expires_ms: int | None, original_max_age_ms: int | None) -> None:
        self.expires_ms = expires_ms
        self.original_max_age_ms = original_max_age_ms

    @property
    def expires(self) -> datetime | None:
        if self.expires_ms is None:
            return None
        return _EPOCH + timedelta(milliseconds=self.expires_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "originalMaxAge": self.original_max_age_ms,
            "expires": None if self.expires_ms is None else iso_ms(self.expires_ms),
            "httpOnly": True,
            "path": "/",
        }


class StandInSession:
    """A StorableSession: id, cookie.expires, to_record(), to_json()."""

    def __init__(
        self,
        sid: str,
        data: dict[str, Any] | None = None,
        *,
        now: float,
        max_age: float | None = 60,
        raw_json: bytes | None = None,
    ) -> None:
        self.id = sid
        self.data = dict(data or {})
        now_ms = int(now * 1000)
        max_age_ms = None if max_age is None else round(max_age * 1000)
        self.cookie = StandInCookie(None if max_age_ms is None else now_ms + max_age_ms, max_age_ms)
        self._raw_json = raw_json

    def to_record(self) -> Record:
        return {"cookie": self.cookie.to_dict(), **self.data}

    def to_json(self) -> bytes:
        if self._raw_json is not None:
            return self._raw_json
        return to_js_json(self.to_record())


RICH_DATA: dict[str, Any] = {
    "views": 3,
    "user": {"id": 7, "name": "Zoë ✓ 𝄞", "roles": ["a", "b"]},
    "ratio": 1.5,
    "none": None,
    "flag": False,
    "text": 'quote " backslash \\ slash / newline \n tab \t',
    "empty": {},
}


class StoreContract:
    """What every sync store does (and, through SyncAdapter, every async store)."""

    TTL: ClassVar[float] = 3600.0
    """The ``ttl`` the ``store`` fixture must configure (seconds)."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        raise NotImplementedError("subclasses provide a fresh, empty store")

    def advance(self, store: Any, seconds: float) -> None:
        raise NotImplementedError("subclasses make time pass for the store's expiry")

    def now(self) -> float:
        return fastsession._clock.now()

    def session(
        self, sid: str, data: dict[str, Any] | None = None, *, max_age: float | None = 60
    ) -> StandInSession:
        return StandInSession(sid, data, now=self.now(), max_age=max_age)

    # -- get / set / destroy ------------------------------------------------

    def test_store_class(self, store: Any) -> None:
        assert isinstance(store, Store)
        assert isinstance(store.blocking, bool)

    def test_get_missing_is_none(self, store: Any) -> None:
        assert store.get("nobody") is None

    def test_round_trip_of_the_exact_record(self, store: Any) -> None:
        session = self.session("sid-1", RICH_DATA)
        store.set("sid-1", session)
        record = store.get("sid-1")
        assert record == json.loads(session.to_json())
        assert list(record) == ["cookie", *RICH_DATA]
        assert list(record["cookie"]) == ["originalMaxAge", "expires", "httpOnly", "path"]
        assert to_js_json(record) == session.to_json()

    def test_expires_comes_back_as_an_iso_string(self, store: Any) -> None:
        session = self.session("sid-1", {"views": 1}, max_age=600)
        store.set("sid-1", session)
        record = store.get("sid-1")
        assert record["cookie"]["expires"] == iso_ms(session.cookie.expires_ms or 0)
        assert record["cookie"]["originalMaxAge"] == 600_000

    def test_browser_session_record(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"views": 1}, max_age=None))
        assert store.get("sid-1") == {
            "cookie": {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"},
            "views": 1,
        }

    def test_set_overwrites(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"views": 1, "gone": True}))
        store.set("sid-1", self.session("sid-1", {"views": 2}))
        record = store.get("sid-1")
        assert record["views"] == 2
        assert "gone" not in record

    def test_sessions_are_independent(self, store: Any) -> None:
        store.set("a", self.session("a", {"who": "a"}))
        store.set("b", self.session("b", {"who": "b"}))
        assert store.get("a")["who"] == "a"
        assert store.get("b")["who"] == "b"
        store.destroy("a")
        assert store.get("a") is None
        assert store.get("b")["who"] == "b"

    def test_unusual_session_ids(self, store: Any) -> None:
        for sid in ("with space", "slash/and:colon", "ünïcødé", "x" * 300, "*?[]"):
            store.set(sid, self.session(sid, {"sid": sid}))
        for sid in ("with space", "slash/and:colon", "ünïcødé", "x" * 300, "*?[]"):
            assert store.get(sid)["sid"] == sid
        assert store.get("*") is None

    def test_destroy(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"views": 1}))
        assert store.destroy("sid-1") is None
        assert store.get("sid-1") is None

    def test_destroy_missing_is_not_an_error(self, store: Any) -> None:
        store.destroy("nobody")
        store.destroy("nobody")
        assert store.get("nobody") is None

    def test_returned_record_is_a_copy(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"list": [1, 2], "views": 1}))
        record = store.get("sid-1")
        record["views"] = 99
        record["list"].append(3)
        record["cookie"]["path"] = "/elsewhere"
        del record["cookie"]["expires"]
        again = store.get("sid-1")
        assert again["views"] == 1
        assert again["list"] == [1, 2]
        assert again["cookie"]["path"] == "/"
        assert "expires" in again["cookie"]

    def test_the_session_is_copied_at_set(self, store: Any) -> None:
        session = self.session("sid-1", {"views": 1})
        store.set("sid-1", session)
        session.data["views"] = 2
        assert store.get("sid-1")["views"] == 1

    # -- expiry -------------------------------------------------------------

    def test_expiry_follows_the_cookie(self, store: Any) -> None:
        store.set("short", self.session("short", {"v": 1}, max_age=10))
        store.set("long", self.session("long", {"v": 2}, max_age=100))
        self.advance(store, 8)
        assert store.get("short") is not None
        self.advance(store, 4)
        assert store.get("short") is None
        assert store.get("long") is not None
        self.advance(store, 90)
        assert store.get("long") is None

    def test_browser_session_cookie_lives_for_the_store_ttl(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=None))
        self.advance(store, self.TTL - 5)
        assert store.get("sid-1") is not None
        self.advance(store, 10)
        assert store.get("sid-1") is None

    def test_already_expired_record_is_never_returned(self, store: Any) -> None:
        store.set("past", self.session("past", {"v": 1}, max_age=-5))
        assert store.get("past") is None
        assert "past" not in store.all()
        assert store.length() == 0

    def test_set_after_expiry_starts_again(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=5))
        self.advance(store, 10)
        assert store.get("sid-1") is None
        store.set("sid-1", self.session("sid-1", {"v": 2}, max_age=5))
        assert store.get("sid-1")["v"] == 2

    # -- touch --------------------------------------------------------------

    def test_touch_extends_the_lifetime(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=10))
        self.advance(store, 6)
        store.touch("sid-1", self.session("sid-1", {"v": 1}, max_age=10))
        self.advance(store, 6)  # 12 s after set, 6 s after touch
        assert store.get("sid-1") is not None
        self.advance(store, 6)
        assert store.get("sid-1") is None

    def test_touch_keeps_the_stored_data(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"views": 1}))
        store.touch("sid-1", self.session("sid-1", {"views": 99, "new": True}))
        record = store.get("sid-1")
        assert record["views"] == 1
        assert "new" not in record

    def test_touch_of_a_missing_session_creates_nothing(self, store: Any) -> None:
        store.touch("nobody", self.session("nobody", {"v": 1}))
        assert store.get("nobody") is None

    def test_touch_after_destroy_creates_nothing(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}))
        store.destroy("sid-1")
        store.touch("sid-1", self.session("sid-1", {"v": 1}))
        assert store.get("sid-1") is None

    def test_touch_of_an_expired_session_creates_nothing(self, store: Any) -> None:
        store.set("sid-1", self.session("sid-1", {"v": 1}, max_age=5))
        self.advance(store, 10)
        store.touch("sid-1", self.session("sid-1", {"v": 1}, max_age=60))
        assert store.get("sid-1") is None

    # -- all / length / clear -----------------------------------------------

    def test_all_length_and_clear(self, store: Any) -> None:
        assert store.all() == {}
        assert store.length() == 0
        sessions = {sid: self.session(sid, {"n": i}) for i, sid in enumerate(["a", "b", "c"])}
        for sid, session in sessions.items():
            store.set(sid, session)
        store.set("old", self.session("old", {"n": -1}, max_age=5))
        self.advance(store, 10)
        everything = store.all()
        assert everything == {sid: json.loads(s.to_json()) for sid, s in sessions.items()}
        assert store.length() == 3
        store.clear()
        assert store.all() == {}
        assert store.length() == 0
        assert store.get("a") is None

    # -- corrupt records ----------------------------------------------------

    @pytest.mark.parametrize(
        "raw",
        [b'{"views":1}', b'{"cookie":null,"views":1}', b'{"cookie":"x"}', b"[1,2]", b'"text"'],
        ids=["no-cookie", "null-cookie", "string-cookie", "array", "string"],
    )
    def test_a_record_without_a_cookie_object_is_corrupt(self, store: Any, raw: bytes) -> None:
        bad = StandInSession("bad", now=self.now(), max_age=60, raw_json=raw)
        store.set("bad", bad)
        with pytest.raises(CorruptSessionError):
            store.get("bad")

    def test_a_record_that_is_not_json_is_corrupt(self, store: Any) -> None:
        bad = StandInSession("bad", now=self.now(), max_age=60, raw_json=b"{not json")
        store.set("bad", bad)
        with pytest.raises(CorruptSessionError):
            store.get("bad")


class SyncAdapter:
    """Calls an async store's methods from sync code, on one event loop."""

    def __init__(self, store: AsyncStore, run: Callable[[Awaitable[Any]], Any]) -> None:
        self.store = store
        self._run = run

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            assert inspect.isawaitable(result), f"{name}() of an async store must be awaited"
            return self._run(result)

        return call


class AsyncStoreContract(StoreContract):
    """The same contract for an ``AsyncStore``: implement ``make_store`` (a coroutine)."""

    _runner: asyncio.Runner

    async def make_store(self) -> AsyncStore:
        raise NotImplementedError("subclasses build a fresh, empty store with ttl=self.TTL")

    async def close_store(self, store: AsyncStore) -> None:
        """Release what ``make_store`` opened (connections)."""

    def run(self, awaitable: Awaitable[Any]) -> Any:
        """Run a coroutine on the store's event loop (for ``advance``)."""
        return self._runner.run(_awaited(awaitable))

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        with asyncio.Runner() as runner:
            self._runner = runner
            raw = runner.run(self.make_store())
            try:
                yield SyncAdapter(raw, self.run)
            finally:
                runner.run(self.close_store(raw))

    def test_store_class(self, store: Any) -> None:
        assert isinstance(store.store, AsyncStore)
        for name in ("get", "set", "destroy", "touch", "all", "clear", "length"):
            assert inspect.iscoroutinefunction(getattr(store.store, name)), name


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
