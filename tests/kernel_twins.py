"""What the twin tests of the request kernel share: both twins, builders on
one twin, what to compare, and records (random ones and express-session's)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import FakeClock, Impl, impl_params, load_vector
from hypothesis import strategies as st

from fastsession import _cookies_py, _lru_py, _signing_py
from fastsession.record import dumps, format_iso, loads

SECRET = b"a-test-secret-that-is-long-enough-0123456789"
NOW = 1893456000.0

PY = Impl("kernel", "py")
C = Impl("kernel", "c")
TWINS = (PY, C)
BOTH = impl_params("kernel")  # for @pytest.mark.parametrize("impl", BOTH)
twins = pytest.mark.c_extension  # a test comparing the twins needs the compiled one


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return ("raised", (type(exc), str(exc)))


# -- building blocks on one twin ------------------------------------------------------------

_FIELDS = {
    "partitioned": "partitioned",
    "priority": "priority",
    "secure": "secure",
    "http_only": "httpOnly",
    "domain": "domain",
    "path": "path",
    "same_site": "sameSite",
}


def cookie_of(impl: Impl, options: dict[str, Any]) -> Any:
    """A new cookie from snake_case options, as the public Cookie makes one."""
    cookie = impl.CookieCore()
    for key, value in options.items():
        if key == "max_age":
            cookie.set_lifetime_ms(None if value is None else value * 1000)
        else:
            cookie.put(_FIELDS[key], value)
    return cookie


def session_of(impl: Impl, sid: str, cookie: Any, data: dict[str, Any]) -> Any:
    session = impl.SessionCore()
    session.bind(sid, cookie, data, None)
    return session


def from_record(impl: Impl, raw: bytes, max_age: Any = False, encoded: bool = False) -> Any:
    record = loads(raw)
    cookie = impl.cookie_from_fields(impl.CookieCore, record.pop("cookie"))
    if max_age is not False:
        cookie.set_lifetime_ms(None if max_age is None else max_age * 1000)
    session = session_of(impl, "sid", cookie, record)
    if encoded:
        session.encoded = session.encode()
    return session


_MEMORY_CLASSES: dict[str, type] = {}


def memory_of(impl: Impl, clock: FakeClock | None) -> Any:
    """A MemoryCore with a destroy (as MemoryStore adds one) over a pure LRU."""
    cls = _MEMORY_CLASSES.get(impl.tag)
    if cls is None:

        class Memory(impl.MemoryCore):  # type: ignore[name-defined,misc]
            def destroy(self, sid: str) -> None:
                with self.lock:
                    self.lru.delete(sid)

        cls = _MEMORY_CLASSES[impl.tag] = Memory
    return cls(_lru_py.LRUCache(1000, clock), threading.RLock(), 3600.0, clock)


def engine_of(impl: Impl, *, store: Any = None, **flags: bool) -> Any:
    counter = itertools.count(1)
    unsign = _signing_py.Signer((SECRET,)).unsign
    return impl.EngineCore(
        sids=impl.SidReader("connect.sid", _cookies_py.lookup, unsign),
        session_key="session",
        id_key="session_id",
        session_cls=impl.SessionCore,
        cookie_cls=impl.CookieCore,
        genid=lambda conn: f"new-{next(counter)}",
        new_cookie=lambda request: cookie_of(impl, dict(request.options)),
        set_cookie_line=lambda sid, cookie: f"{sid}|{cookie.expires_ms}|{cookie.get_shape().key}",
        secure_of=lambda conn: conn.get("scheme") == "https",
        resave=flags.get("resave", False),
        rolling=flags.get("rolling", False),
        save_uninitialized=flags.get("save_uninitialized", False),
        unset_destroy=flags.get("unset_destroy", False),
        store=store,
        has_touch=flags.get("has_touch", True),
        inline=True,
        aget=None,
        aset=None,
        areplace=None,
        atouch=None,
        adestroy=None,
    )


def request_of(impl: Impl, engine: Any, options: dict[str, Any] | None = None) -> Any:
    return impl.RequestCore(engine, {"scheme": "http"}, options or {}, None)


def cookie_state(cookie: Any) -> Any:
    return (
        cookie.expires_ms,
        cookie.original_ms,
        dict(cookie.fields) if type(cookie.fields) is dict else cookie.fields,
        outcome(cookie.to_dict),
        outcome(cookie.to_json),
    )


def session_state(state: Any) -> Any:
    """Everything observable about a request's session, for comparing twins."""
    session = state.conn.get("session")
    summary: Any = None
    if session is not None and hasattr(session, "cookie"):
        summary = (
            type(session).__name__,
            session.id,
            dict(session),
            cookie_state(session.cookie),
            session.encoded,
            session.state is state,
        )
    return (
        summary,
        state.conn.get("session_id"),
        state.cookie_id,
        state.original_id,
        state.loaded_id,
        state.original_data,
        state.saved_data,
        state.touched,
        state.destroyed,
        state.started,
        state.committed_id,
        state.committed_data,
        state.secure,
    )


def sign(sid: str) -> str:
    return "s:" + _signing_py.Signer((SECRET,)).sign(sid)


# Real records: what express-session stored in the vectors.
REAL_RECORDS = sorted(
    {c["stored"].encode() for c in load_vector("express_session_stored.json") if c["stored"]}
    | {
        raw.encode()
        for flow in load_vector("express_session_flows.json")
        for step in flow["steps"]
        for raw in (step["store_after"] or {}).values()
    }
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
