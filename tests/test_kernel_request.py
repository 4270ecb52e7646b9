"""The request kernel's twins, side by side: RequestCore and MemoryCore.

* express's decisions (should_save, should_touch, should_set_cookie,
  is_modified, is_saved) over random states: equal on both twins, and as
  express-session's section 5 says;
* random request histories committed to a MemoryCore: the same decisions,
  the same session and the same stored bytes;
* MemoryCore get/set/touch sequences store the same bytes;
* the compiled twin types its fields (a wrong type is a TypeError when set),
  the pure twin raises the same TypeError where the field is used.
"""

from __future__ import annotations

import abc
import subprocess
import sys
from typing import Any

import pytest
from conftest import FakeClock, Impl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_twins import (
    BOTH,
    DATA,
    NOW,
    SCALAR,
    TWINS,
    cookie_of,
    engine_of,
    from_record,
    memory_of,
    outcome,
    request_of,
    session_of,
    session_state,
    twins,
)
from store_contract import StandInSession

import fastsession._clock

STARTS = st.one_of(
    st.none(),  # a new session
    st.sampled_from(
        [
            b'{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"views":1}',
            b'{"cookie":{"originalMaxAge":60000,"expires":"2030-01-01T00:01:00.000Z","secure":true,'
            b'"httpOnly":true,"path":"/","sameSite":"strict"},"views":1,"user":{"n":[1,2]}}',
            b'{"cookie":{"originalMaxAge":5000,"expires":"2030-01-01T00:00:05.000Z"}}',
        ]
    ),
)
FLAGS = st.fixed_dictionaries(
    {
        "resave": st.booleans(),
        "rolling": st.booleans(),
        "save_uninitialized": st.booleans(),
        "unset_destroy": st.booleans(),
        "has_touch": st.booleans(),
    }
)

# -- express's decisions ------------------------------------------------------------------------

IDS = st.sampled_from([None, "sid", "other"])
JSON = st.sampled_from([None, b"{}", b'{"a":1}', b'{"a":2}'])


def _express(
    flags: dict[str, bool], cookie_id: Any, original_id: Any, original: Any, saved: Any,
    session_id: str, expires: Any, sid: str, data: bytes,
) -> dict[str, bool]:  # fmt: skip
    """express-session 1.19's predicates, as its index.js writes them."""
    modified = original_id != session_id or original != data
    is_saved = original_id == session_id and saved == data
    if not flags["save_uninitialized"] and saved is None and cookie_id != sid:
        save = modified
    else:
        save = not is_saved
    if cookie_id != sid:
        set_cookie = flags["save_uninitialized"] or modified
    else:
        set_cookie = flags["rolling"] or (expires is not None and modified)
    return {
        "is_modified": modified,
        "is_saved": is_saved,
        "should_save": save,
        "should_touch": flags["has_touch"] and cookie_id == sid,
        "should_set_cookie": set_cookie,
    }


@pytest.mark.hypothesis
@twins
@settings(max_examples=400, deadline=None)
@given(
    FLAGS, IDS, IDS, JSON, JSON, st.sampled_from(["sid", "other"]),
    st.sampled_from([None, 1_893_456_060_000]), st.sampled_from(["sid", "other"]),
    st.sampled_from([b"{}", b'{"a":1}']),
)  # fmt: skip
def test_twins_decide_as_express_does(
    flags: dict[str, bool], cookie_id: Any, original_id: Any, original: Any, saved: Any,
    session_id: str, expires: Any, sid: str, data: bytes,
) -> None:  # fmt: skip
    expected = _express(
        flags, cookie_id, original_id, original, saved, session_id, expires, sid, data
    )
    for impl in TWINS:
        state = request_of(impl, engine_of(impl, **flags))
        state.cookie_id, state.original_id = cookie_id, original_id
        state.original_data, state.saved_data = original, saved
        cookie = impl.CookieCore()
        cookie.expires_ms = expires
        session = session_of(impl, session_id, cookie, {})
        got = {
            "is_modified": state.is_modified(session, data),
            "is_saved": state.is_saved(session, data),
            "should_save": state.should_save(session, sid, data),
            "should_touch": state.should_touch(sid),
            "should_set_cookie": state.should_set_cookie(session, sid, data),
        }
        assert got == expected, impl
        assert all(type(v) is bool for v in got.values())


# -- random request histories, committed ----------------------------------------------------

Step = tuple[str, Any]
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.booleans()),
        st.tuples(st.just("set"), st.tuples(st.sampled_from(["a", "b", "views"]), SCALAR)),
        st.tuples(st.just("del"), st.sampled_from(["a", "views"])),
        st.tuples(st.just("nested"), st.integers(0, 3)),
        st.tuples(st.just("max_age"), st.one_of(st.none(), st.integers(-5, 10**6))),
        st.tuples(st.just("attr"), st.sampled_from(["secure", "path", "sameSite"])),
        st.tuples(st.just("replace"), st.sampled_from(["other-id", "sid"])),
        st.tuples(st.just("gone"), st.none()),  # another request destroyed it
        st.tuples(st.just("unset"), st.sampled_from([None, "not-a-session"])),
        st.tuples(st.just("reserved"), st.none()),
        st.tuples(st.just("unstorable"), st.none()),
        st.tuples(st.just("scheme"), st.sampled_from(["http", "https"])),
    ),
    max_size=10,
)


def _apply(impl: Impl, state: Any, step: Step, clock: FakeClock) -> Any:
    kind, arg = step
    conn = state.conn
    session = conn.get("session")
    clock.advance(1.5)
    if kind == "commit":
        return (outcome(state.commit, arg), state.engine.store.lru.items())
    if kind == "gone":
        state.engine.store.destroy(conn.get("session_id") or "sid")
        return state.engine.store.lru.items()
    if not isinstance(session, impl.SessionCore):
        return None
    if kind == "set":
        session[arg[0]] = arg[1]
    elif kind == "del":
        session.pop(arg, None)
    elif kind == "nested":
        session.setdefault("user", {"n": []})
        if isinstance(session["user"], dict):
            session["user"].setdefault("n", []).append(arg)
    elif kind == "max_age":
        session.cookie.set_lifetime_ms(None if arg is None else arg * 1000)
    elif kind == "attr":
        session.cookie.put(arg, {"secure": True, "path": "/app", "sameSite": "lax"}[arg])
    elif kind == "replace":
        session.bind(arg, cookie_of(impl, dict(state.options)), {"fresh": True}, state)
        conn["session_id"] = arg
    elif kind == "unset":
        conn["session"] = arg
    elif kind == "reserved":
        session["cookie"] = 1
    elif kind == "unstorable":
        session["bad"] = {1, 2}
    elif kind == "scheme":
        conn["scheme"] = arg
        state.secure = None
    return None


@pytest.mark.hypothesis
@twins
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FLAGS, STARTS, STEPS)
def test_twins_commit_the_same(
    flags: dict[str, bool], start: bytes | None, steps: list[Step]
) -> None:
    runs = []
    for impl in TWINS:
        clock = FakeClock(NOW)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastsession._clock, "now", clock)
            memory = memory_of(impl, clock)
            if start is not None:
                memory.lru.set("sid", start, NOW + 10**6)
            state = request_of(impl, engine_of(impl, store=memory, **flags), {"max_age": 60})
            loaded = outcome(state.begin, None if start is None else "sid")
            assert loaded[0] == "ok" and loaded[1] is state.conn["session"]
            log = [_apply(impl, state, s, clock) for s in [*steps, ("commit", False)]]
            log.append(_apply(impl, state, ("commit", True), clock))
            runs.append((log, session_state(state), memory.lru.items()))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("impl", BOTH)
def test_begin_builds_the_request_s_session(impl: Impl) -> None:
    engine = engine_of(impl)
    plain = type(request_of(impl, engine))

    class OwnInit(plain):  # type: ignore[valid-type,misc]
        def __init__(self, engine: Any, conn: Any, options: Any, respond: Any) -> None:
            super().__init__(engine, conn, {"max_age": 5}, respond)

    for cls, original in ((plain, None), (OwnInit, 5000)):
        conn: dict[str, Any] = {"scheme": "http"}
        state = cls(engine, conn, {}, "the send")
        session = state.begin(None)
        assert type(state) is cls and state.engine is engine and state.conn is conn
        assert state.respond == "the send" and state.cookie_id is None
        assert conn["session"] is session and conn["session_id"] == session.id == "new-1"
        assert session.cookie.original_ms == original and session.state is state
        assert state.original_id == "new-1" and state.original_data == b"{}"
        impl.release(conn, "session")
        assert session.state is None and conn["session"] is session
        engine = engine_of(impl)


# -- MemoryCore -------------------------------------------------------------------------------

MEMORY_OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "touch", "get", "deadline", "advance"]),
        st.one_of(
            st.tuples(
                st.just("ours"),
                STARTS.filter(bool),
                st.booleans(),
                st.one_of(st.just(False), st.none(), st.integers(-100, 10**7)),
            ),
            st.tuples(
                st.just("stand-in"),
                st.one_of(st.none(), st.integers(1, 10**5)),
                st.sampled_from(
                    [None, b"[1]", b'{"v":1,"cookie":{"a":1}}', b'{"cookie":{"p":"x\\"}"},"v":2}']
                ),
            ),
        ),
    ),
    max_size=8,
)


@pytest.mark.hypothesis
@twins
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MEMORY_OPS, st.booleans())
def test_memory_core_twins_store_the_same(ops: list[tuple[str, Any]], own_clock: bool) -> None:
    runs = []
    for impl in TWINS:
        clock = FakeClock(NOW)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastsession._clock, "now", clock)
            memory = memory_of(impl, clock if own_clock else None)
            log = []
            for op, spec in ops:
                if op == "advance":
                    clock.advance(600)
                    continue
                if spec[0] == "ours":
                    session: Any = from_record(impl, spec[1], spec[3], spec[2])
                else:
                    session = StandInSession(
                        "sid", {"v": 1}, now=clock.now, max_age=spec[1], raw_json=spec[2]
                    )
                if op == "get":
                    log.append(outcome(memory.get, "sid"))
                elif op == "deadline":
                    log.append(outcome(memory.deadline, session))
                else:
                    log.append(outcome(getattr(memory, op), "sid", session))
            runs.append((log, memory.lru.items()))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("impl", BOTH)
def test_memory_core_touch_keeps_the_stored_bytes_for_an_unchanged_cookie(impl: Impl) -> None:
    clock = FakeClock(NOW)
    memory = memory_of(impl, clock)
    stored = b'{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"v":1.0}'
    memory.lru.set("sid", stored, NOW + 10)
    session = from_record(impl, stored.replace(b"1.0", b"2"), False, True)
    memory.touch("sid", session)
    assert memory.lru.peek("sid") is stored  # not even copied
    assert memory.deadline(session) == NOW + 3600
    session.cookie.put("path", "/app")
    memory.touch("sid", session)
    assert memory.lru.peek("sid") == stored.replace(b'"/"', b'"/app"')  # the data kept


@pytest.mark.hypothesis
@twins
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(0, 253_402_300_799_999),
        st.integers(-62_135_596_800_000, 0),
        st.sampled_from([0, -135, -1000, 951_782_400_000, 253_402_300_799_999]),
    ),
    st.one_of(st.none(), st.integers(-(10**6), 10**9)),
    DATA.filter(lambda d: "cookie" not in d),
)
def test_twins_write_and_read_the_same_expiry(
    expires_ms: int, original: int | None, data: dict[str, Any]
) -> None:
    written = []
    for impl in TWINS:
        cookie = impl.cookie_from_fields(
            impl.CookieCore, {"originalMaxAge": original, "httpOnly": True}
        )
        cookie.expires_ms = expires_ms
        session = session_of(impl, "sid", cookie, data)
        memory = memory_of(impl, FakeClock(-1e11))  # before every expiry here
        if outcome(session.encode)[0] == "raised":
            assert outcome(memory.set, "sid", session)[0] == "raised"
            return
        memory.set("sid", session)
        raw = memory.lru.peek("sid")
        written.append(raw)
        state = request_of(impl, engine_of(impl, store=memory))
        loaded = state.begin("sid")
        assert state.cookie_id == "sid" and dict(loaded) == data
        if expires_ms >= -30_610_224_000_000:  # record.format_iso writes years < 1000 unpadded
            assert loaded.cookie.expires_ms == expires_ms
            assert memory.deadline(loaded) == expires_ms / 1000
    assert written[0] == written[1] == session.to_json()


def test_the_second_before_the_epoch_is_written_in_full() -> None:
    # format_iso keeps the last second written; its first entry must be a real one.
    code = "from fastsession.record import format_iso; print(format_iso(-135))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1969-12-31T23:59:59.865Z"


# -- typed fields -----------------------------------------------------------------------------


def _misuses(impl: Impl) -> list[tuple[str, Any, Any, Any]]:
    """(field, owner, wrong value, the kernel call that uses the field)."""
    clock = FakeClock(NOW)
    memory = memory_of(impl, clock)
    session = session_of(impl, "sid", impl.CookieCore(), {"v": 1})
    cookie = impl.CookieCore()
    state = request_of(impl, engine_of(impl, store=memory))
    loaded = state.begin(None)
    return [
        ("encoded", session, "str", session.to_json),
        ("encoded", session, bytearray(b"{}"), session.encode),
        ("_id", session, 1, lambda: session.id),
        ("fields", cookie, [], cookie.to_json),
        ("fields", cookie, None, cookie.to_dict),
        ("fields", cookie, (("path", "/"),), lambda: cookie.put("path", "/")),
        ("shape", cookie, "shape", cookie.to_json),
        ("saved_data", state, 1, lambda: state.should_save(loaded, "new-1", b"{}")),
        ("original_data", state, "{}", lambda: state.is_modified(loaded, b"{}")),
        ("committed_data", state, [], lambda: state.commit(True)),
        ("ttl", memory, "3600", lambda: memory.set("sid", session)),
    ]


MISUSES = 11


@pytest.mark.parametrize("impl", BOTH)
@pytest.mark.parametrize("case", range(MISUSES))
def test_a_field_of_the_wrong_type_is_a_type_error(impl: Impl, case: int) -> None:
    field, owner, value, use = _misuses(impl)[case]
    if impl.tag == "c":
        with pytest.raises(TypeError):
            setattr(owner, field, value)
        use()  # the field unchanged: still usable
    else:
        setattr(owner, field, value)
        with pytest.raises(TypeError):
            use()


def test_every_misuse_is_tried() -> None:
    assert len(_misuses(TWINS[0])) == MISUSES


def _refused(impl: Impl, field: str, value: Any) -> bool:
    """Whether the twin refuses ``value`` in ``field``: when set, or when used."""
    _, owner, _, use = {m[0]: m for m in _misuses(impl)}[field]
    try:
        setattr(owner, field, value)
        use()
    except TypeError:
        return True
    return False


@pytest.mark.hypothesis
@twins
@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["encoded", "saved_data", "original_data", "committed_data"]), SCALAR)
def test_twins_refuse_the_same_values(field: str, value: Any) -> None:
    refused = [_refused(impl, field, value) for impl in TWINS]
    assert refused == [value is not None] * 2, (field, value)


@pytest.mark.parametrize("impl", BOTH)
def test_session_and_cookie_classes_with_a_metaclass_are_accepted(impl: Impl) -> None:
    # Framework mixins are often ABCs: a class whose metaclass is ABCMeta is a class.
    class Meta(abc.ABCMeta):
        pass

    class MySession(impl.SessionCore, metaclass=Meta):  # type: ignore[misc]
        __slots__ = ()

    class MyCookie(impl.CookieCore, metaclass=Meta):  # type: ignore[misc]
        __slots__ = ()

    engine = engine_of(impl)
    engine = impl.EngineCore(
        **{name: getattr(engine, name) for name in _ENGINE_ARGS},
        session_cls=MySession,
        cookie_cls=MyCookie,
    )
    request = request_of(impl, engine)
    session = request.inflate("sid", {"cookie": {"originalMaxAge": None}, "n": 1})
    assert type(session) is MySession and type(session.cookie) is MyCookie
    assert dict(session) == {"n": 1}
    with pytest.raises(TypeError):
        impl.cookie_from_fields(object(), {})


_ENGINE_ARGS = (
    "sids", "session_key", "id_key", "genid", "new_cookie", "set_cookie_line", "secure_of",
    "resave", "rolling", "save_uninitialized", "unset_destroy", "store", "has_touch",
    "inline", "aget", "aset", "areplace", "atouch", "adestroy",
)  # fmt: skip
