"""The request kernel's twins, side by side: fastsession._kernel_py and _kernel_c.

Hypothesis: on random and real input the twins give equal results, or raise
the same exception, for every kernel operation: SidReader, the model cores
(shape_of, CookieCore, cookie_from_fields, SessionCore), MemoryStore's data
path (parse_record, cookie_end, with_cookie, MemoryCore) and the request
kernel's decisions and commits (RequestCore). The middlewares over each twin:
tests/test_kernel_middleware.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FakeClock, Impl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_twins import (
    BOTH,
    DATA,
    KEYS,
    MEMBER_VALUE,
    NOW,
    PY,
    REAL_RECORDS,
    TWINS,
    C,
    cookie_of,
    cookie_state,
    engine_of,
    from_record,
    memory_of,
    outcome,
    records,
    request_of,
    session_of,
    session_state,
    sign,
    twins,
)

import fastsession._clock
from fastsession.record import dumps, join, loads


def test_the_real_records_are_many() -> None:
    assert len(REAL_RECORDS) > 20
    assert all(raw.startswith(b'{"cookie":{') for raw in REAL_RECORDS)


# -- SidReader --------------------------------------------------------------------------------

HEADER_PART = st.one_of(
    st.sampled_from(["a=1", "connect.sid=", "connect.sid=s:", "x", ";", " ", "connect.sid=s%3A"]),
    st.sampled_from(["abc", "s1", "é", "x.y"]).map(lambda sid: f"connect.sid={sign(sid)}"),
    st.sampled_from(["abc", "s1"]).map(lambda sid: f"connect.sid={sign(sid)[:-2]}xx"),
    st.text(max_size=12),
)
HEADERS = st.lists(HEADER_PART, max_size=5).map("; ".join)


@pytest.mark.hypothesis
@twins
@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(HEADERS, min_size=1, max_size=3), max_size=4))
def test_twins_read_the_same_ids(requests: list[list[str]]) -> None:
    readers = [engine_of(impl).sids for impl in TWINS]
    for headers in requests:
        header = "; ".join(headers)
        assert outcome(readers[0].read, header) == outcome(readers[1].read, header)
        asgi = [(b"cookie", h.encode("utf-8", "surrogatepass")) for h in headers]
        asgi.insert(len(headers) // 2, (b"x", b"y"))
        results = [outcome(r.read_asgi, asgi) for r in readers]
        assert results[0] == results[1]
        if results[0][0] == "ok" and results[0][1] is not None:
            # An id only for a value whose signature verified.
            assert sign(results[0][1]) in readers[0].verified
    assert readers[0].verified == readers[1].verified
    assert readers[0].headers == readers[1].headers
    for value, sid in readers[0].verified.items():
        assert value == sign(sid)


@pytest.mark.hypothesis
@pytest.mark.parametrize("impl", BOTH)
def test_forged_values_are_never_remembered(impl: Impl) -> None:
    reader = engine_of(impl).sids
    good = sign("abc")
    assert reader.read(f"connect.sid={good}") == "abc"
    assert reader.read(f"connect.sid={good[:-1]}x") is None
    assert reader.read("connect.sid=abc") is None
    assert reader.read(f"connect.sid={good[2:]}") is None  # no "s:" prefix
    assert reader.verified == {good: "abc"}
    assert reader.headers == {f"connect.sid={good}": "abc"}
    assert reader.read_asgi([(b"cookie", b"a=1"), (b"cookie", f"connect.sid={good}".encode())]) == (
        "abc"
    )
    assert reader.read_asgi([(b"cookie", f"connect.sid={good[:-1]}x".encode())]) is None
    assert reader.read_asgi([(b"cookie", b"")]) is None and reader.read_asgi(None) is None
    assert reader.verified == {good: "abc"}
    assert set(reader.headers.values()) == {"abc"}


# -- the model cores --------------------------------------------------------------------------

TIMES = st.one_of(
    st.none(),
    st.integers(-62_135_596_800_000, 253_402_300_799_999),
    st.sampled_from([0, -1, 951_782_400_000, 1_709_164_800_000]),
)


@pytest.mark.hypothesis
@twins
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEYS, MEMBER_VALUE), max_size=7), TIMES, TIMES, MEMBER_VALUE)
def test_twins_write_the_same_cookie(
    members: list[tuple[str, Any]], expires: int | None, original: int | None, extra: Any
) -> None:
    fields = dict(members)
    runs = []
    for impl in TWINS:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastsession._clock, "now", lambda: NOW)
            runs.append(_write_cookie(impl, fields, expires, original, extra))
    assert runs[0] == runs[1]


def _write_cookie(
    impl: Impl, fields: dict[str, Any], expires: int | None, original: int | None, extra: Any
) -> list[Any]:
    shape = outcome(impl.shape_of, fields)
    if shape[0] == "ok":
        s = shape[1]
        shape = ("ok", (s.before, s.after, s.key, s.plain))
    cookie = impl.cookie_from_fields(impl.CookieCore, dict(fields))
    log = [shape, cookie_state(cookie)]
    cookie.expires_ms, cookie.original_ms = expires, original
    log.append(cookie_state(cookie))
    log.append(outcome(cookie.put, "secure", extra))
    log.append(cookie_state(cookie))
    log.append(outcome(cookie.reset_max_age))
    log.append(cookie_state(cookie))
    return log


@pytest.mark.hypothesis
@twins
@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.integers(-(10**6), 10**9), st.floats(0, 10**6)), TIMES)
def test_twins_keep_the_same_lifetime(max_age: float | None, expires: int | None) -> None:
    runs = []
    for impl in TWINS:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastsession._clock, "now", lambda: NOW)
            cookie = impl.CookieCore()
            cookie.set_lifetime_ms(max_age)
            log = [cookie_state(cookie)]
            cookie.set_expires_ms(expires)
            log.append(cookie_state(cookie))
            cookie.reset_max_age()
            log.append(cookie_state(cookie))
            runs.append(log)
    assert runs[0] == runs[1]


@pytest.mark.hypothesis
@twins
@settings(max_examples=300, deadline=None)
@given(DATA, st.sampled_from(REAL_RECORDS), st.one_of(st.none(), st.binary(max_size=8)))
def test_twins_encode_the_same_session(data: dict[str, Any], real: bytes, encoded: Any) -> None:
    runs = []
    for impl in TWINS:
        cookie = impl.cookie_from_fields(impl.CookieCore, loads(real)["cookie"])
        session = session_of(impl, "sid", cookie, data)
        log = [outcome(session.encode), outcome(session.to_json), outcome(session.to_record)]
        session.encoded = encoded  # what the kernel hands a store
        log += [outcome(session.encode), outcome(session.to_json), session.touch() is session]
        runs.append((log, dict(session), session.id))
    assert runs[0] == runs[1]
    log = runs[0][0]
    if log[0][0] == "ok":
        assert log[1] == ("ok", join(from_record(PY, real).cookie.to_json(), log[0][1]))


# -- MemoryStore's data path: parse_record, cookie_end, with_cookie ---------------------------

RECORDS = st.one_of(records(), st.sampled_from(REAL_RECORDS))


def _inflated(impl: Impl, raw: bytes) -> Any:
    state = request_of(impl, engine_of(impl))
    parsed = outcome(impl.parse_record, raw)
    if parsed[0] != "ok":
        return parsed
    result = outcome(state.inflate, "sid", parsed[1])
    return (result[0], session_state(state) if result[0] == "ok" else result[1])


@pytest.mark.hypothesis
@twins
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS, RECORDS)
def test_twins_read_and_splice_records_alike(raw: bytes, other: bytes) -> None:
    runs = []
    for impl in TWINS:
        runs.append(
            (
                outcome(impl.parse_record, raw),
                impl.cookie_end(raw),
                outcome(impl.with_cookie, raw, other),
                outcome(impl.with_cookie, other, raw),
                _inflated(impl, raw),
            )
        )
    assert runs[0] == runs[1]
    parsed, end, spliced = runs[0][0], runs[0][1], runs[0][2]
    if end != -1:
        # The cookie ends where the parsed record says it does.
        assert parsed[0] == "raised" or loads(raw[10:end]) == parsed[1]["cookie"]
    if spliced[0] == "ok" and _canonical(raw) and _canonical(other):
        # with_cookie: the other record's cookie, this record's data (for
        # records as to_json writes them: one cookie member, valid JSON).
        record = loads(spliced[1])
        assert record["cookie"] == loads(other)["cookie"]
        assert {k: v for k, v in record.items() if k != "cookie"} == {
            k: v for k, v in parsed[1].items() if k != "cookie"
        }


def _canonical(raw: bytes) -> bool:
    try:
        return outcome(PY.parse_record, raw)[0] == "ok" and dumps(loads(raw)) == raw
    except Exception:  # noqa: BLE001 - whatever JSON cannot hold
        return False


@pytest.mark.parametrize("impl", BOTH)
@pytest.mark.parametrize("raw", REAL_RECORDS)
def test_real_records_read_in_and_written_back(impl: Impl, raw: bytes) -> None:
    state = request_of(impl, engine_of(impl))
    session = state.inflate("sid", impl.parse_record(raw))
    assert session.to_json() == raw
    assert state.original_data == state.saved_data == dumps(dict(session))
    assert impl.with_cookie(raw, raw) is raw
    end = impl.cookie_end(raw)
    assert end != -1 and loads(raw[10:end]) == loads(raw)["cookie"]


RECORD_SOUP = st.lists(
    st.sampled_from(
        [b'{"cookie":{', b'"', b"}", b"{", b"[", b"\\", b":", b",", b"a", b"1", b"x}y"]
    ),
    max_size=12,
).map(b"".join)


@pytest.mark.hypothesis
@twins
@settings(max_examples=500, deadline=None)
@given(
    st.one_of(RECORD_SOUP, RECORD_SOUP.map(lambda b: b'{"cookie":{' + b), st.binary(max_size=40))
)
def test_twins_find_the_same_cookie_end(doc: bytes) -> None:
    assert PY.cookie_end(doc) == C.cookie_end(doc)
    assert outcome(PY.parse_record, doc) == outcome(C.parse_record, doc)


@pytest.mark.parametrize("impl", BOTH)
def test_equal_members_of_other_types_keep_their_json(impl: Impl) -> None:
    # True == 1 == 1.0: the prepared cookie JSON must still tell them apart.
    engine = engine_of(impl)
    for value in (b"1", b"true", b"1.0", b"1", b"true"):
        raw = b'{"cookie":{"originalMaxAge":null,"expires":null,"secure":' + value + b"}}"
        session = request_of(impl, engine).inflate("sid", impl.parse_record(raw))
        assert session_of(impl, "sid", session.cookie, {}).to_json() == raw
        assert impl.shape_of({"secure": loads(value)}).after == b',"secure":' + value + b"}"


@pytest.mark.parametrize("impl", BOTH)
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
    memory = memory_of(impl, FakeClock(NOW))
    memory.lru.set("sid", raw, NOW + 10)
    state = request_of(impl, engine_of(impl, store=memory))
    session = state.begin("sid")
    expected = loads(b"{" + data + b"}")
    assert dict(session) == expected and list(session) == list(expected)
    assert state.original_data == state.saved_data == dumps(expected)
    # and written back as orjson writes it
    session["z"] = "new"
    state.commit(False)
    cookie = b'{"originalMaxAge":null,"expires":null}'
    assert memory.lru.peek("sid") == join(cookie, dumps({**expected, "z": "new"}))
    assert state.saved_data == dumps({**expected, "z": "new"}) and session.encoded is None


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
@twins
@settings(max_examples=200, deadline=None)
@given(COOKIE_OPTIONS, DATA.filter(lambda d: "cookie" not in d))
def test_records_we_write_are_read_back_alike(
    options: dict[str, Any], data: dict[str, Any]
) -> None:
    runs = []
    for impl in TWINS:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastsession._clock, "now", lambda: NOW)
            written = outcome(session_of(impl, "sid", cookie_of(impl, options), data).to_json)
            if written[0] == "raised":  # data JSON cannot hold (e.g. a huge integer)
                runs.append(written)
                continue
            raw = written[1]
            state = request_of(impl, engine_of(impl))
            session = state.inflate("sid", impl.parse_record(raw))
            assert session.to_json() == raw and dict(session) == data
            assert impl.cookie_end(raw) != -1 or not session.cookie.get_shape().plain
            runs.append(("ok", raw, session_state(state)))
    assert runs[0] == runs[1]
