"""StoreContract: the tests every sync session store passes (see fastsession.testing)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import pytest

import fastsession._clock
from fastsession.errors import CorruptSessionError, StoreError
from fastsession.stores import Store

from ._data import (
    EXACT_DATA,
    FAULT_TESTS,
    RICH_DATA,
    UNICODE_DATA,
    UNICODE_IDS,
    FaultCause,
    Op,
    StandInSession,
    iso_ms,
    to_js_json,
)
from ._index_contract import INDEX_TESTS, UserIndexCases
from ._lifetime_contract import LifetimeCases


class StoreContract(LifetimeCases, UserIndexCases):
    """What every sync store does (and, through SyncAdapter, every async store)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The fault tests exist for a subclass only when it can make its store fail,
        # the user index tests when its store keeps one (USER_INDEX).
        super().__init_subclass__(**kwargs)
        can_fail = cls.store_fault is not StoreContract.store_fault
        for name in FAULT_TESTS:
            if name not in cls.__dict__:
                setattr(cls, name, getattr(StoreContract, name) if can_fail else None)
        for name in INDEX_TESTS:
            if name not in cls.__dict__:
                setattr(cls, name, getattr(UserIndexCases, name) if cls.USER_INDEX else None)

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

    def store_fault(self, store: Any) -> AbstractContextManager[FaultCause]:
        """Optional hook: a context manager inside which every call on ``store`` fails.

        It yields the exception type (or types) expected as each ``StoreError``'s
        cause; on exit the store works again, with nothing lost. Not overriding it
        leaves the fault tests out for this store (see the module docstring).
        """
        raise NotImplementedError("subclasses that can make their store fail override this")

    def run_concurrently(self, store: Any, writers: list[list[Op]]) -> list[list[Any]]:
        """Run each writer's calls in order, the writers at once (threads); their results."""
        start = threading.Barrier(len(writers))
        results: list[list[Any]] = [[] for _ in writers]
        errors: list[BaseException] = []

        def work(ops: list[Op], out: list[Any]) -> None:
            try:
                start.wait(timeout=30)
                for name, *args in ops:
                    out.append(getattr(store, name)(*args))
            except BaseException as exc:  # reported in the test's thread
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(ops, out), daemon=True)
            for ops, out in zip(writers, results, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a writer did not finish in 120 s"
        if errors:
            raise errors[0]
        return results

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

    # -- express's JSON, byte for byte, and unicode ----------------------------------

    def test_exact_bytes_of_express_json(self, store: Any) -> None:
        session = self.session("exact", EXACT_DATA, max_age=3600.5)
        store.set("exact", session)
        assert to_js_json(store.get("exact")) == session.to_json()
        assert to_js_json(store.all()["exact"]) == session.to_json()

    def test_unicode_ids_and_data(self, store: Any) -> None:
        sessions = {sid: self.session(sid, {**UNICODE_DATA, "sid": sid}) for sid in UNICODE_IDS}
        for sid, session in sessions.items():
            store.set(sid, session)
        for sid, session in sessions.items():
            record = store.get(sid)
            assert record["sid"] == sid
            assert to_js_json(record) == session.to_json()
        assert store.get("e\u0301")["sid"] != store.get("é")["sid"]
        assert {sid: to_js_json(r) for sid, r in store.all().items()} == {
            sid: s.to_json() for sid, s in sessions.items()
        }
        store.destroy("🔑🍪")
        assert store.get("🔑🍪") is None
        assert store.length() == len(UNICODE_IDS) - 1

    # -- concurrent writers ------------------------------------------------------------

    def test_concurrent_writers_lose_nothing(self, store: Any) -> None:
        writers: list[list[Op]] = []
        expected: dict[str, bytes] = {}
        shared = {w: self.session("shared", {"writer": w, "pad": "x" * 200}) for w in range(8)}
        for w in range(8):
            ops: list[Op] = []
            for i in range(20):
                sid = f"w{w}-{i}"
                first, second = self.session(sid, {"v": 1}), self.session(sid, {"v": 2, "w": w})
                ops += [("set", sid, first), ("get", sid), ("set", sid, second)]
                ops += [("touch", sid, second), ("get", sid), ("set", "shared", shared[w])]
                expected[sid] = second.to_json()
            ops.append(("destroy", f"w{w}-0"))
            del expected[f"w{w}-0"]
            writers.append(ops)
        results = self.run_concurrently(store, writers)
        for w, out in enumerate(results):
            reads = [r for (name, *_), r in zip(writers[w], out, strict=True) if name == "get"]
            assert [r["v"] for r in reads] == [1, 2] * 20, f"writer {w} read another's data"
        everything = {sid: to_js_json(r) for sid, r in store.all().items()}
        assert everything.pop("shared") in {s.to_json() for s in shared.values()}
        assert everything == expected
        assert store.length() == len(expected) + 1

    # -- faults ------------------------------------------------------------------------

    def test_faults_are_store_errors_with_their_cause(self, store: Any) -> None:
        kept = self.session("kept", {"v": 1})
        store.set("kept", kept)
        calls: dict[str, Callable[[], Any]] = {
            "get": lambda: store.get("kept"),
            "set": lambda: store.set("kept", self.session("kept", {"v": 2})),
            "replace": lambda: store.replace("kept", self.session("kept", {"v": 5})),
            "touch": lambda: store.touch("kept", self.session("kept", {"v": 3})),
            "destroy": lambda: store.destroy("kept"),
            "all": store.all,
            "length": store.length,
            "clear": store.clear,
        }
        with self.store_fault(store) as cause:
            for name, call in calls.items():
                with pytest.raises(StoreError) as info:
                    call()
                assert isinstance(info.value.__cause__, cause), (name, info.value.__cause__)
        # Nothing was lost, nothing half-written, and the store works again.
        assert to_js_json(store.get("kept")) == kept.to_json()
        store.set("after", self.session("after", {"v": 4}))
        assert store.get("after")["v"] == 4
        assert store.length() == 2

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
