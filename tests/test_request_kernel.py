"""The request kernel (fastsession/_request_py.py and its compiled twin).

* The express-session flow vectors replayed through a plain MemoryStore, whose
  data path the kernel calls directly (the records read in place), give the
  same responses and the same stored bytes as through a store with its own
  methods (the path tests/test_flows.py checks against express-session).
* Store faults on that direct path are errors, as on the other.
* Hypothesis: the two twins agree on every kernel operation, and
  ``inflate_raw(raw)`` gives what ``inflate(parse(raw))`` gives, or None.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import FakeClock, Impl
from harness import Client, RecordingStore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_contract import StandInSession
from test_flows import FLOWS, translate

import fastsession._clock
from fastsession import _cookies_py, _lru_py, _signing_py
from fastsession.cookie import Cookie, _shape_of
from fastsession.errors import CorruptSessionError, SessionError
from fastsession.record import dumps, format_iso, loads
from fastsession.session import AsyncSession, Session, _SessionBase
from fastsession.stores import memory as memory_module
from fastsession.stores.memory import MemoryStore, _cookie_end, _parse, _with_cookie_of

SECRET = b"a-test-secret-that-is-long-enough-0123456789"
NOW = 1893456000.0


# -- the flows through MemoryStore's direct path -----------------------------------------


class FaultyLRU(_lru_py.LRUCache):
    """The pure LRU whose get can be made to fail once (a store fault)."""

    fail_get: BaseException | None = None

    def get(self, key: str) -> bytes | None:
        if self.fail_get is not None:
            exc, self.fail_get = self.fail_get, None
            raise exc
        return super().get(key)


def _direct_store() -> MemoryStore:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory_module, "LRUCache", FaultyLRU)
        return MemoryStore()


def _replay(
    flow: dict[str, Any], kind: str, make_store: Callable[[], Any], clock: dict[str, int]
) -> Iterator[tuple[Any, ...]]:
    """Each step's response and the store's bytes after it."""
    counter = itertools.count(1)

    def genid(_: Any) -> str:
        return f"sid-{next(counter)}"

    shared = make_store()
    clients, stores = [], []
    for app in flow["apps"]:
        store = shared if flow["shared_store"] else make_store()
        options = translate(flow["name"], app["session_options"])
        with pytest.warns(UserWarning, match="shorter than 32 bytes"):
            clients.append(Client(kind, store=store, genid=genid, **options))
        stores.append(store)
    for step in flow["steps"]:
        clock["ms"] = step["now_ms"]
        client, store = clients[step["app"]], stores[step["app"]]
        if step["pre"] is not None:
            fault: BaseException = (
                RuntimeError("boom") if "boom" in step["pre"] else FileNotFoundError(2, "ENOENT")
            )
            if isinstance(store, RecordingStore):
                store.fail_get = fault
            else:
                store._lru.fail_get = fault
        client.action = step["action"]
        headers = dict(step["request"]["headers"])
        scheme = "http"
        if flow["apps"][step["app"]]["express_trust_proxy"]:
            if headers.get("X-Forwarded-Proto", "").split(",")[0].strip() == "https":
                scheme = "https"
        resp = client.request(step["request"]["path"], headers, scheme=scheme)
        error = None if resp.error is None else (type(resp.error), str(resp.error))
        yield resp.status, resp.set_cookie, resp.body, error, sorted(store._lru.items())


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("flow", FLOWS, ids=[f["name"] for f in FLOWS])
def test_flows_through_the_direct_path(
    flow: dict[str, Any], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"ms": flow["steps"][0]["now_ms"]}
    monkeypatch.setattr(fastsession._clock, "now", lambda: clock["ms"] / 1000)
    direct = list(_replay(flow, kind, _direct_store, clock))
    generic = list(_replay(flow, kind, RecordingStore, clock))
    assert direct == generic


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_direct_path_is_taken_only_for_memory_store_s_own_methods(kind: str) -> None:
    plain = Client(kind, secret=SECRET, store=MemoryStore())
    recording = Client(kind, secret=SECRET, store=RecordingStore())
    patched = MemoryStore()
    patched.get = patched.get  # type: ignore[method-assign]
    on_instance = Client(kind, secret=SECRET, store=patched)
    assert plain.app.engine.memory is plain.app.engine.store._core
    assert recording.app.engine.memory is None
    assert on_instance.app.engine.memory is None


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("fault", [RuntimeError("down"), CorruptSessionError("bad record")])
def test_a_fault_on_the_direct_path_is_an_error_not_a_new_session(
    kind: str, fault: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    store = _direct_store()
    client = Client(kind, secret=SECRET, store=store)
    client.action = "views"
    cookie = client.request().session_cookie()
    assert cookie is not None
    store._lru.fail_get = fault  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, logger="fastsession"):
        resp = client.request(headers={"Cookie": cookie})
    assert resp.status == 500 and isinstance(resp.error, SessionError)
    assert "store get() failed" in caplog.text
    assert len(store._lru) == 1  # nothing written


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"[1]", "not an object"),
        (b'{"views":1}', "no cookie object"),
        (b'{"cookie":{"originalMaxAge":null},"views":', "not JSON"),
    ],
)
def test_a_corrupt_record_on_the_direct_path_is_an_error(kind: str, raw: bytes, error: str) -> None:
    store = MemoryStore()
    client = Client(kind, secret=SECRET, store=store)
    client.action = "views"
    cookie = client.request().session_cookie()
    assert cookie is not None
    ((sid, _),) = store._lru.items()
    store._lru.set(sid, raw, NOW * 10)
    resp = client.request(headers={"Cookie": cookie})
    assert resp.status == 500 and isinstance(resp.error, CorruptSessionError)
    assert error in str(resp.error)


# -- the twins, side by side ----------------------------------------------------------------

PY = Impl("request", "py")
C = Impl("request", "c")
TWINS = (PY, C)


def _engine(impl: Impl, *, asgi: bool = True, memory: Any = None, **flags: bool) -> Any:
    class Engine(impl.EngineCore):  # type: ignore[name-defined,misc]
        def set_cookie_line(self, sid: str, cookie: Cookie) -> str:
            return f"{sid}|{cookie.expires_ms}|{cookie.attribute_key()}"

        def load_failed(self, exc: Exception) -> Exception:
            return SessionError(f"load: {exc!r}")

        def store_failed(self, op: int, exc: Exception) -> Exception:
            return SessionError(f"store {op}: {exc!r}")

    engine = Engine()
    engine.name = "connect.sid"
    engine.lookup = _cookies_py.lookup
    engine.unsign = _signing_py.Signer((SECRET,)).unsign
    engine.verified = {}
    engine.headers = {}
    engine.layouts = {}
    engine.session_key, engine.id_key = ("session", "session_id")
    engine.session_cls = AsyncSession if asgi else Session
    engine.session_base = _SessionBase
    engine.cookie_cls = Cookie
    engine.shape_of = _shape_of
    for flag in ("resave", "rolling", "save_uninitialized", "unset_destroy"):
        setattr(engine, flag, flags.get(flag, False))
    engine.has_touch = flags.get("has_touch", True)
    engine.store_get = engine.store_set = engine.store_touch = engine.store_destroy = None
    engine.memory = memory
    return engine


def _state(impl: Impl, engine: Any, options: dict[str, Any] | None = None) -> Any:
    class State(impl.RequestCore):  # type: ignore[name-defined,misc]
        def secure_scheme(self) -> bool:
            return bool(self.conn.get("scheme") == "https")

        def generate(self) -> Any:
            sid = "new-session"
            session = self.engine.session_cls(sid, Cookie(self.options), _state=self)
            self.conn[self.engine.id_key] = sid
            self.conn[self.engine.session_key] = session
            self.original_id = sid
            self.original_data = b"{}"
            return session

    return State(engine, {"scheme": "http"}, options or {})


def _session_state(state: Any) -> Any:
    """Everything observable about a request's session, for comparing twins."""
    session = state.conn.get("session")
    summary: Any = None
    if isinstance(session, _SessionBase):
        cookie = session.cookie
        summary = (
            type(session).__name__,
            session.id,
            dict(session),
            cookie._expires,
            cookie._original,
            cookie._fields,
            cookie.to_dict(),
            outcome(cookie.to_json),
            session._encoded,
        )
    return (
        summary,
        state.conn.get("session_id"),
        state.cookie_id,
        state.original_id,
        state.original_data,
        state.saved_data,
        state.touched,
        state.destroyed,
        state.started,
        state.committed_id,
        state.committed_data,
        state._secure,
    )


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return ("raised", (type(exc), str(exc)))


def _sign(sid: str) -> str:
    return "s:" + _signing_py.Signer((SECRET,)).sign(sid)


HEADER_PART = st.one_of(
    st.sampled_from(["a=1", "connect.sid=", "connect.sid=s:", "x", ";", " ", "connect.sid=s%3A"]),
    st.sampled_from(["abc", "s1", "é", "x.y"]).map(lambda sid: f"connect.sid={_sign(sid)}"),
    st.sampled_from(["abc", "s1"]).map(lambda sid: f"connect.sid={_sign(sid)[:-2]}xx"),
    st.text(max_size=12),
)


@pytest.mark.hypothesis
@pytest.mark.c_extension
@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(HEADER_PART, max_size=5).map("; ".join), max_size=4))
def test_twins_read_the_same_ids(headers: list[str]) -> None:
    engines = [_engine(impl) for impl in TWINS]
    for header in headers:
        assert outcome(engines[0].read_id, header) == outcome(engines[1].read_id, header)
        asgi = [(b"cookie", header.encode("utf-8", "surrogatepass")), (b"x", b"y")]
        assert outcome(engines[0].read_asgi_id, asgi) == outcome(engines[1].read_asgi_id, asgi)
    assert engines[0].verified == engines[1].verified
    assert engines[0].headers == engines[1].headers


@pytest.mark.hypothesis
@pytest.mark.c_extension
@pytest.mark.parametrize("impl", TWINS, ids=str)
def test_forged_values_are_never_remembered(impl: Impl) -> None:
    engine = _engine(impl)
    good = _sign("abc")
    assert engine.read_id(f"connect.sid={good}") == "abc"
    assert engine.read_id(f"connect.sid={good[:-1]}x") is None
    assert engine.read_id("connect.sid=abc") is None
    assert engine.verified == {good: "abc"}
    assert (
        engine.read_asgi_id([(b"cookie", b"a=1"), (b"cookie", f"connect.sid={good}".encode())])
        == "abc"
    )


# Records: cookie members (some unusual), data, and ways to write them.
ISO = st.one_of(
    st.integers(-62_135_596_800_000, 253_402_300_799_999).map(format_iso),
    st.sampled_from(["2026-02-30T00:00:00.000Z", "2026-01-01T00:00:00Z", "junk", ""]),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, -0, 10**17, 10**18 - 1, 10**18, -(10**18) + 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["/", "lax", "a}b", 'q"', "back\\slash", "ctl\x01", "é𝄞"]),
)
MEMBER_VALUE = st.one_of(
    SCALAR,
    ISO,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
KEYS = st.sampled_from(
    [
        "originalMaxAge",
        "expires",
        "httpOnly",
        "path",
        "domain",
        "secure",
        "sameSite",
        "priority",
        "partitioned",
        "x",
        "é",
        'a"b',
        "",
    ]
)
DATA = st.dictionaries(
    st.one_of(st.sampled_from(["views", "user", "cookie"]), st.text(max_size=4)),
    st.one_of(
        SCALAR,
        st.lists(SCALAR, max_size=3),
        st.dictionaries(st.text(max_size=3), SCALAR, max_size=2),
    ),
    max_size=4,
)


# Data members written by hand: what a flat reader must take, or leave to orjson.
RAW_MEMBERS = st.sampled_from(
    [
        b'"a":1',
        b'"a":2',
        b'"a":-0',
        b'"a":-7',
        b'"b":"x"',
        b'"b":""',
        b'"c":null',
        b'"d":true',
        b'"e":false',
        b'"\xc3\xa9":"\xf0\x9d\x84\x9e"',
        b'"f":"x\\"y"',
        b'"g":"\\u00e9"',
        b'"h":1.5',
        b'"i":1e3',
        b'"j":[1]',
        b'"k":{"l":1}',
        b'"m":123456789012345678',
        b'"m":1234567890123456789',
        b'"n":-9223372036854775808',
        b'"o":"\x01"',
        b'"\xff":1',
        b'"p":"\xed\xa0\x80"',
        b'"q":"\x7f\xe2\x80\xa8"',
        b'"cookie":1',
        b'"r":01',
        b'"s" :1',
    ]
)


@st.composite
def records(draw: st.DrawFn) -> bytes:
    members = draw(st.lists(st.tuples(KEYS, MEMBER_VALUE), max_size=7))
    if draw(st.booleans()):
        # The usual shape first, as Cookie.to_json writes it.
        ms = draw(st.one_of(st.none(), st.integers(0, 10**13)))
        members = [
            ("originalMaxAge", ms),
            ("expires", None if ms is None else format_iso(ms)),
            ("httpOnly", True),
            ("path", "/"),
            *members[:2],
        ]
    data = draw(DATA)
    style = draw(st.sampled_from(["orjson", "json", "spaced"]))

    def enc(value: Any) -> str:
        if style == "orjson":
            try:
                return dumps(value).decode()
            except Exception:  # noqa: BLE001 - integers orjson cannot write
                return json.dumps(value)
        return json.dumps(value, ensure_ascii=draw(st.booleans()))

    sep = ", " if style == "spaced" else ","
    cookie = "{" + sep.join(f"{enc(k)}:{enc(v)}" for k, v in members) + "}"
    body = sep.join(f"{enc(k)}:{enc(v)}" for k, v in data.items()).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        body = b",".join(draw(st.lists(RAW_MEMBERS, min_size=1, max_size=5)))
    raw = (
        b'{"cookie":'
        + cookie.encode("utf-8", "surrogatepass")
        + (b"," + body if body else b"")
        + b"}"
    )
    cut = draw(st.sampled_from([None, None, None, "tail", "head", "comma"]))
    if cut == "tail":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif cut == "head":
        raw = raw[draw(st.integers(0, len(raw))) :]
    elif cut == "comma":
        raw = raw[:-1] + b",}"
    return raw


def _inflate_from_record(impl: Impl, raw: bytes) -> tuple[str, Any]:
    state = _state(impl, _engine(impl))
    try:
        record = _parse(raw)
    except CorruptSessionError as exc:
        return ("corrupt", str(exc))
    result = outcome(state.inflate, "sid", record)
    return (result[0], _session_state(state) if result[0] == "ok" else result[1])


@pytest.mark.hypothesis
@pytest.mark.c_extension
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.integers(1, 3))
def test_twins_inflate_raw_records_as_their_parse_does(raw: bytes, times: int) -> None:
    results = []
    for impl in TWINS:
        engine = _engine(impl)
        for _ in range(times):  # again: the layout is then remembered
            state = _state(impl, engine)
            result = outcome(state.inflate_raw, "sid", raw)
            assert result[0] == "ok", result
            if result[1] is not None:
                assert state.conn["session"] is result[1]
            results.append((result[1] is None, _session_state(state)))
    assert all(r == results[0] for r in results), raw
    not_read, got = results[0]
    expected = _inflate_from_record(PY, raw)
    assert expected == _inflate_from_record(C, raw)
    if not not_read:
        assert expected == ("ok", got), raw


COOKIE_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "max_age": st.one_of(st.none(), st.integers(-10, 10**9), st.floats(0, 10**6)),
        "path": st.sampled_from(["/", "/app", "/a}b"]),
        "domain": st.sampled_from(["example.com", ".a.b"]),
        "secure": st.booleans(),
        "http_only": st.booleans(),
        "same_site": st.sampled_from([True, False, "lax", "Strict", "none"]),
        "partitioned": st.booleans(),
        "priority": st.sampled_from(["low", "High"]),
    },
)


@pytest.mark.hypothesis
@pytest.mark.c_extension
@settings(max_examples=200, deadline=None)
@given(COOKIE_OPTIONS, DATA.filter(lambda d: "cookie" not in d))
def test_records_we_write_are_read_in_place(options: dict[str, Any], data: dict[str, Any]) -> None:
    try:
        raw = Session("sid", Cookie(options), data).to_json()
    except Exception:  # noqa: BLE001 - data JSON cannot hold (e.g. a huge integer)
        return
    for impl in TWINS:
        state = _state(impl, _engine(impl))
        assert state.inflate_raw("sid", raw) is not None
        assert ("ok", _session_state(state)) == _inflate_from_record(impl, raw)


Step = tuple[str, Any]
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("plan"), st.booleans()),
        st.tuples(st.just("set"), st.tuples(st.sampled_from(["a", "b", "views"]), SCALAR)),
        st.tuples(st.just("del"), st.sampled_from(["a", "views"])),
        st.tuples(st.just("nested"), st.integers(0, 3)),
        st.tuples(st.just("max_age"), st.one_of(st.none(), st.integers(-5, 10**6))),
        st.tuples(st.just("attr"), st.sampled_from(["secure", "path", "same_site"])),
        st.tuples(st.just("replace"), st.sampled_from(["other-id", "sid"])),
        st.tuples(st.just("unset"), st.sampled_from([None, "not-a-session"])),
        st.tuples(st.just("reserved"), st.none()),
        st.tuples(st.just("unstorable"), st.none()),
        st.tuples(st.just("scheme"), st.sampled_from(["http", "https"])),
    ),
    max_size=10,
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


def _apply(state: Any, step: Step, clock: FakeClock) -> Any:
    kind, arg = step
    conn = state.conn
    session = conn.get("session")
    clock.advance(1.5)
    if kind == "plan":
        result = outcome(state.plan, arg)
        if result[0] == "ok":
            line, op, target = result[1]
            encoded = getattr(target, "_encoded", None)
            if isinstance(target, _SessionBase):
                target._encoded = None  # as the caller does after the store call
                target = ("session", target.id)
            return ("ok", (line, op, target, encoded))
        return result
    if not isinstance(session, _SessionBase):
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
        session.cookie.max_age = arg
    elif kind == "attr":
        value = {"secure": True, "path": "/app", "same_site": "lax"}[arg]
        setattr(session.cookie, arg, value)
    elif kind == "replace":
        session._replace(arg, Cookie(state.options), {"fresh": True})
        conn["session_id"] = arg
    elif kind == "unset":
        conn["session"] = arg
    elif kind == "reserved":
        session["cookie"] = 1
    elif kind == "unstorable":
        session["bad"] = {1, 2}
    elif kind == "scheme":
        conn["scheme"] = arg
        state._secure = None
    return None


@pytest.mark.hypothesis
@pytest.mark.c_extension
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FLAGS, STARTS, STEPS, st.booleans())
def test_twins_decide_the_same(
    flags: dict[str, bool], start: bytes | None, steps: list[Step], asgi: bool
) -> None:
    clock = FakeClock(NOW)
    runs = []
    for impl in TWINS:
        clock.now = NOW
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastsession._clock, "now", clock)
            state = _state(impl, _engine(impl, asgi=asgi, **flags), {"max_age": 60})
            if start is None:
                state.cookie_id = None
                state.generate()
            else:
                state.cookie_id = "sid"
                assert state.inflate_raw("sid", start) is not None
            log = [_apply(state, step, clock) for step in [*steps, ("plan", False), ("plan", True)]]
            runs.append((log, _session_state(state)))
    assert runs[0] == runs[1]


# -- MemoryCore -------------------------------------------------------------------------------


def _memory(impl: Impl, clock: FakeClock | None) -> Any:
    import threading

    return impl.MemoryCore(
        _lru_py.LRUCache(1000, clock),
        threading.RLock(),
        3600.0,
        clock,
        _parse,
        _with_cookie_of,
        _cookie_end,
        (Session, AsyncSession),
        Cookie,
    )


def _ours(raw: bytes, encoded: bool, max_age: Any) -> Any:
    record = loads(raw)
    cookie = Cookie.from_record(record.pop("cookie"))
    if max_age is not False:
        cookie.max_age = max_age
    session = Session("sid", cookie, record)
    if encoded:
        session._encoded = session.encode()
    return session


MEMORY_OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "touch", "get", "get_raw", "deadline", "advance"]),
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
@pytest.mark.c_extension
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MEMORY_OPS, st.booleans())
def test_memory_core_twins_store_the_same(ops: list[tuple[str, Any]], own_clock: bool) -> None:
    runs = []
    for impl in TWINS:
        clock = FakeClock(NOW)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastsession._clock, "now", clock)
            memory = _memory(impl, clock if own_clock else None)
            log = []
            for op, spec in ops:
                if op == "advance":
                    clock.advance(600)
                    continue
                if spec[0] == "ours":
                    session: Any = _ours(spec[1], spec[2], spec[3])
                else:
                    session = StandInSession(
                        "sid", {"v": 1}, now=clock.now, max_age=spec[1], raw_json=spec[2]
                    )
                if op in ("get", "get_raw"):
                    log.append(outcome(getattr(memory, op), "sid"))
                elif op == "deadline":
                    log.append(outcome(memory.deadline, session))
                else:
                    log.append(outcome(getattr(memory, op), "sid", session))
            runs.append((log, memory.lru.items()))
    assert runs[0] == runs[1]


@pytest.mark.hypothesis
@pytest.mark.c_extension
@pytest.mark.parametrize("impl", TWINS, ids=str)
def test_memory_core_touch_keeps_the_stored_bytes_for_an_unchanged_cookie(impl: Impl) -> None:
    clock = FakeClock(NOW)
    memory = _memory(impl, clock)
    stored = b'{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"v":1.0}'
    memory.lru.set("sid", stored, NOW + 10)
    session = _ours(stored.replace(b"1.0", b"2"), True, False)
    memory.touch("sid", session)
    assert memory.lru.peek("sid") is stored  # not even copied
    assert memory.deadline(session) == NOW + 3600


@pytest.mark.c_extension
@pytest.mark.parametrize("impl", TWINS, ids=str)
def test_begin_builds_the_state_as_its_class_does(impl: Impl) -> None:
    engine = _engine(impl)
    plain = type(_state(impl, engine))

    class OwnInit(plain):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.options = {"max_age": 5}

    for cls, original in ((plain, None), (OwnInit, 5000)):
        scope: dict[str, Any] = {"headers": [(b"cookie", b"a=1")], "scheme": "http"}
        state = engine.asgi_begin(cls, scope, {}, "the send")
        assert type(state) is cls and state.engine is engine and state.conn is scope
        assert state.respond == "the send" and state.cookie_id is None
        assert scope["session"].cookie._original == original
        environ: dict[str, Any] = {"HTTP_COOKIE": "a=1"}
        state = engine.wsgi_begin(cls, environ, {}, "the start_response")
        assert type(state) is cls and state.conn is environ
        assert state.respond == "the start_response"
        assert environ["session"].cookie._original == original


@pytest.mark.c_extension
@pytest.mark.parametrize("impl", TWINS, ids=str)
def test_equal_members_of_other_types_keep_their_json(impl: Impl) -> None:
    # True == 1 == 1.0: the prepared cookie JSON must still tell them apart.
    engine = _engine(impl)
    for value in (b"1", b"true", b"1.0", b"1", b"true"):
        raw = b'{"cookie":{"originalMaxAge":null,"expires":null,"secure":' + value + b"}}"
        state = _state(impl, engine)
        session = state.inflate_raw("sid", raw) or state.inflate("sid", _parse(raw))
        assert Session("sid", session.cookie, {}).to_json() == raw


@pytest.mark.c_extension
@pytest.mark.parametrize("impl", TWINS, ids=str)
@pytest.mark.parametrize(
    "data",
    [
        b'"a":-0',
        b'"a":1,"a":2',
        b'"a":1,"b":"x","c":null,"d":true,"e":false',
        b'"\xc3\xa9":"\x7f\xe2\x80\xa8"',
        b'"n":-9223372036854775808,"m":123456789012345678',
        b'"h":1.5,"j":[1],"k":{"l":-0}',
        b'"f":"x\\"y","g":"\\u00e9"',
    ],
)
def test_loaded_data_is_what_orjson_reads_and_writes(impl: Impl, data: bytes) -> None:
    raw = b'{"cookie":{"originalMaxAge":null,"expires":null},' + data + b"}"
    state = _state(impl, _engine(impl))
    session = state.inflate_raw("sid", raw)
    assert session is not None
    expected = loads(b"{" + data + b"}")
    assert dict(session) == expected and list(session) == list(expected)
    assert state.original_data == state.saved_data == dumps(expected)
    # and written back as orjson writes it
    session["z"] = "new"
    assert state.plan(False)[2]._encoded == dumps({**expected, "z": "new"})


RECORD_SOUP = st.lists(
    st.sampled_from(
        [b'{"cookie":{', b'"', b"}", b"{", b"[", b"\\", b":", b",", b"a", b"1", b"x}y"]
    ),
    max_size=12,
).map(b"".join)


@pytest.mark.hypothesis
@pytest.mark.c_extension
@settings(max_examples=500, deadline=None)
@given(
    st.one_of(RECORD_SOUP, RECORD_SOUP.map(lambda b: b'{"cookie":{' + b), st.binary(max_size=40))
)
def test_twins_find_the_same_cookie_end(doc: bytes) -> None:
    assert PY.cookie_end(doc) == C.cookie_end(doc)


@pytest.mark.hypothesis
@pytest.mark.c_extension
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(0, 253_402_300_799_999),
        st.integers(-62_135_596_800_000, 0),
        st.sampled_from([0, 951_782_400_000, 253_402_300_799_999, 1_709_164_800_000]),
    ),
    st.one_of(st.none(), st.integers(-(10**6), 10**9)),
)
def test_twins_write_and_read_the_same_expiry(expires_ms: int, original: int | None) -> None:
    written = []
    for impl in TWINS:
        cookie = Cookie.from_record({"originalMaxAge": original, "httpOnly": True})
        cookie._expires = expires_ms
        session = Session("sid", cookie, {"v": 1})
        memory = _memory(impl, FakeClock(-1e11))  # before every expiry here
        memory.set("sid", session)
        raw = memory.lru.peek("sid")
        written.append(raw)
        state = _state(impl, _engine(impl))
        loaded = state.inflate_raw("sid", raw)
        assert loaded is not None
        if expires_ms >= -30_610_224_000_000:  # record.format_iso writes years < 1000 unpadded
            assert loaded.cookie._expires == expires_ms
    assert written[0] == written[1] == session.to_json()
