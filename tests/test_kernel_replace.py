"""The request kernel's twins on a session another request destroyed meanwhile.

A session loaded in the request is written with the store's ``replace``, one
the request created with ``set``; when ``replace`` or ``touch`` says the
session is gone, nothing is written, a warning names the sid, and the commit
gives no Set-Cookie line. Both twins, sync ``commit`` and async ``acommit``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from conftest import FakeClock, Impl
from kernel_twins import BOTH, NOW, engine_of, memory_of, request_of

import fastsession._clock

RECORD = (
    b'{"cookie":{"originalMaxAge":60000,"expires":"2030-01-01T00:01:00.000Z",'
    b'"httpOnly":true,"path":"/"},"user":"ann"}'
)


class Calls:
    """A MemoryCore of one twin, noting the store calls the kernel makes."""

    def __init__(self, memory: Any) -> None:
        self.memory = memory
        self.lru = memory.lru
        self.calls: list[str] = []

    def get(self, sid: str) -> Any:
        self.calls.append("get")
        return self.memory.get(sid)

    def set(self, sid: str, session: Any) -> None:
        self.calls.append("set")
        self.memory.set(sid, session)

    def replace(self, sid: str, session: Any) -> bool:
        self.calls.append("replace")
        return bool(self.memory.replace(sid, session))

    def touch(self, sid: str, session: Any) -> bool:
        self.calls.append("touch")
        return bool(self.memory.touch(sid, session))

    def destroy(self, sid: str) -> None:
        self.calls.append("destroy")
        self.memory.destroy(sid)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(NOW)
    monkeypatch.setattr(fastsession._clock, "now", clock)
    return clock


def loaded(impl: Impl, clock: FakeClock, **flags: bool) -> tuple[Any, Any, Calls]:
    """A request that loaded session "sid" from a store that holds it."""
    store = Calls(memory_of(impl, clock))
    store.lru.set("sid", RECORD, NOW + 10**6)
    state = request_of(impl, engine_of(impl, store=store, **flags), {"max_age": 60})
    session = state.begin("sid")
    assert state.loaded_id == "sid" and session["user"] == "ann"
    store.calls.clear()
    return state, session, store


def gone_warnings(caplog: pytest.LogCaptureFixture, sid: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "fastsession" and r.levelno == logging.WARNING and sid in r.getMessage()
    ]


@pytest.mark.parametrize("impl", BOTH)
def test_a_loaded_session_is_written_with_replace(impl: Impl, clock: FakeClock) -> None:
    state, session, store = loaded(impl, clock)
    session["cart"] = [1]
    line = state.commit(False)
    assert store.calls == ["replace"]
    assert line is not None and line.startswith("sid|")  # modified, persistent cookie
    assert store.memory.get("sid")["cart"] == [1]
    assert state.saved_data == b'{"user":"ann","cart":[1]}'


@pytest.mark.parametrize("impl", BOTH)
def test_a_destroyed_session_is_not_written_back(
    impl: Impl, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    state, session, store = loaded(impl, clock)
    session["cart"] = [1]
    store.memory.destroy("sid")  # a logout in another tab
    saved_before = state.saved_data
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        assert state.commit(False) is None  # no Set-Cookie
    assert store.calls == ["replace"]
    assert store.lru.items() == []
    assert state.saved_data == saved_before  # nothing counts as saved
    assert state.touched  # the cookie was touched before the store call, as in express
    assert len(gone_warnings(caplog, "sid")) == 1


@pytest.mark.parametrize("impl", BOTH)
def test_an_expired_session_is_not_written_back(impl: Impl, clock: FakeClock) -> None:
    store = Calls(memory_of(impl, clock))
    store.lru.set("sid", RECORD, NOW + 5)
    state = request_of(impl, engine_of(impl, store=store), {"max_age": 60})
    session = state.begin("sid")
    clock.advance(10)  # expires while the request runs
    session["cart"] = [1]
    assert state.commit(False) is None
    assert store.memory.get("sid") is None


@pytest.mark.parametrize("impl", BOTH)
def test_a_touch_of_a_destroyed_session_sets_no_cookie(
    impl: Impl, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    state, session, store = loaded(impl, clock, rolling=True)
    assert state.commit(False) is not None  # rolling: a cookie while the session is there
    state, session, store = loaded(impl, clock, rolling=True)
    store.memory.destroy("sid")
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        assert state.commit(False) is None
    assert store.calls == ["touch"]
    assert store.lru.items() == []
    assert len(gone_warnings(caplog, "sid")) == 1


@pytest.mark.parametrize("impl", BOTH)
def test_a_new_session_is_created_with_set(impl: Impl, clock: FakeClock) -> None:
    store = Calls(memory_of(impl, clock))
    state = request_of(impl, engine_of(impl, store=store), {"max_age": 60})
    session = state.begin("unknown")  # not stored: a new session
    assert state.loaded_id is None and session.id == "new-1"
    session["user"] = "ann"
    line = state.commit(False)
    assert store.calls == ["get", "set"]
    assert line is not None and line.startswith("new-1|")
    assert store.memory.get("new-1")["user"] == "ann"


@pytest.mark.parametrize("impl", BOTH)
def test_the_new_id_of_a_regenerate_is_created_with_set(impl: Impl, clock: FakeClock) -> None:
    state, session, store = loaded(impl, clock)
    store.memory.destroy("sid")  # what regenerate does to the old id
    session.bind("new-9", session.cookie, {"user": "bob"}, state)
    state.conn["session_id"] = "new-9"
    assert not state.is_loaded(session)
    line = state.commit(False)
    assert store.calls == ["set"]
    assert line is not None and line.startswith("new-9|")
    assert store.memory.get("new-9")["user"] == "bob"
    assert store.memory.get("sid") is None


@pytest.mark.parametrize("impl", BOTH)
def test_the_final_commit_of_a_gone_session_writes_nothing(
    impl: Impl, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    state, session, store = loaded(impl, clock)
    session["cart"] = [1]
    assert state.commit(False) is not None  # written at the response's start
    store.memory.destroy("sid")
    session["cart"] = [1, 2]  # changed while the body was sent
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        assert state.commit(True) is None
    assert store.calls == ["replace", "replace"]
    assert store.lru.items() == []
    assert len(gone_warnings(caplog, "sid")) == 1


def async_engine(impl: Impl, store: Calls, **flags: bool) -> Any:
    """An engine whose store calls are awaited (``inline`` off), as for an async store."""
    plain = engine_of(impl, store=store, **flags)

    def awaited(name: str) -> Any:
        async def call(*args: Any) -> Any:
            await asyncio.sleep(0)
            return getattr(store, name)(*args)

        return call

    names = (
        "sids", "session_key", "id_key", "session_cls", "cookie_cls", "genid", "new_cookie",
        "set_cookie_line", "secure_of", "resave", "rolling", "save_uninitialized",
        "unset_destroy", "store", "has_touch",
    )  # fmt: skip
    return impl.EngineCore(
        **{name: getattr(plain, name) for name in names},
        inline=False,
        aget=awaited("get"),
        aset=awaited("set"),
        areplace=awaited("replace"),
        atouch=awaited("touch"),
        adestroy=awaited("destroy"),
    )


@pytest.mark.parametrize("impl", BOTH)
@pytest.mark.parametrize("rolling", [False, True], ids=["replace", "touch"])
def test_acommit_decides_as_commit(
    impl: Impl, clock: FakeClock, rolling: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async def run(destroyed: bool) -> tuple[Any, list[str], list[Any]]:
        store = Calls(memory_of(impl, clock))
        store.lru.set("sid", RECORD, NOW + 10**6)
        engine = async_engine(impl, store, rolling=rolling)
        state = request_of(impl, engine, {"max_age": 60})
        session = await state.abegin("sid")
        if not rolling:
            session["cart"] = [1]
        if destroyed:
            store.memory.destroy("sid")
        line = await state.acommit(False)
        return line, store.calls, store.lru.items()

    line, calls, items = asyncio.run(run(False))
    op = "touch" if rolling else "replace"
    assert line is not None and calls == ["get", op] and len(items) == 1
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        line, calls, items = asyncio.run(run(True))
    assert line is None and calls == ["get", op] and items == []
    assert len(gone_warnings(caplog, "sid")) == 1
