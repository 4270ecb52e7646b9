"""The request kernel's shortcuts, held equal to the long way round.

Each shortcut skips work on the common case and hands everything else to the
general path; Hypothesis holds the two equal on random input, on both twins.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Impl
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_twins import (
    BOTH,
    ISO,
    PY,
    RAW_MEMBERS,
    REAL_RECORDS,
    TWINS,
    engine_of,
    memory_of,
    outcome,
    records,
    session_of,
    twins,
)

from fastsession.record import encode_data


class _Str(str):
    pass


class _Int(int):
    pass


# -- the data's JSON of a flat dict (src_c/_flat_json.pxi; its twin is orjson) ---------------

_TEXT = st.one_of(
    st.text(max_size=12).filter(lambda k: k != "cookie"),  # reserved: tests/test_kernel.py
    st.sampled_from(
        ['q"', "back\\slash", "\x00\x01\x08\x09\x0a\x0b\x0c\x0d\x1f\x7f", "é𝄞", "\ud800"]
    ),
)
_INT_EDGES = [0, -1, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64 - 1, 2**64, 10**30]
FLAT_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(_INT_EDGES),
    _TEXT,
)
# What is not flat goes to orjson: floats, containers, subclasses, non-str keys.
OTHER_VALUE = st.one_of(
    st.floats(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(1.5),
)


@pytest.mark.hypothesis
@pytest.mark.parametrize("impl", BOTH)
@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(_TEXT, FLAT_VALUE, max_size=6),
    st.one_of(
        st.just({}),
        st.dictionaries(st.text(max_size=2), OTHER_VALUE, max_size=2),
        st.sampled_from([{"k": _Str("sub")}, {"k": _Int(7)}, {_Str("k"): 1}, {1: 1}]),
        st.just({"long": "x" * 2000}),
        st.just({"long": "\x01" * 300}),
    ),
)
def test_session_data_is_written_as_orjson_writes_it(
    impl: Impl, flat: dict[str, Any], other: dict[Any, Any]
) -> None:
    for data in (flat, {**flat, **other}):
        session = session_of(impl, "sid", impl.CookieCore(), {})
        dict.update(session, data)
        assert outcome(session.encode) == outcome(encode_data, data)


@pytest.mark.hypothesis
@twins
@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_TEXT, FLAT_VALUE, max_size=6))
def test_twins_write_flat_data_alike(data: dict[str, Any]) -> None:
    runs = []
    for impl in TWINS:
        session = session_of(impl, "sid", impl.CookieCore(), data)
        runs.append((outcome(session.encode), outcome(session.to_json)))
    assert runs[0] == runs[1]


# -- MemoryCore.get: a record read in the last record's cookie layout -------------------------

RECORDS = st.one_of(records(), st.sampled_from(REAL_RECORDS))


def typed(value: Any) -> Any:
    """``value`` with every scalar's type: True == 1 == 1.0, but not here."""
    if isinstance(value, dict):
        return [(k, typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value), value)


@st.composite
def in_layout(draw: st.DrawFn, layout: tuple[bytes, bytes, dict[str, Any]]) -> bytes:
    """A record with the layout's bytes around another expires value, and other data."""
    expires = draw(st.one_of(st.just(b"null"), ISO.map(lambda t: b'"' + t.encode() + b'"')))
    rest = draw(
        st.one_of(
            st.just(b"}"),
            st.just(b",}"),
            st.lists(RAW_MEMBERS, min_size=1, max_size=5).map(lambda m: b"," + b",".join(m) + b"}"),
            st.binary(max_size=6),
        )
    )
    return layout[0] + expires + layout[1] + rest


def _read(impl: Impl, raw: bytes, layout: Any) -> Any:
    got = outcome(impl.read_in_layout, raw, layout)
    return (got[0], typed(got[1])) if got[0] == "ok" else got


@pytest.mark.hypothesis
@twins
@settings(max_examples=500, deadline=None)
@given(RECORDS, RECORDS, st.data())
def test_a_record_read_in_a_layout_is_what_orjson_reads(
    raw: bytes, other: bytes, draw: st.DataObject
) -> None:
    runs = []
    for impl in TWINS:
        parsed = outcome(impl.parse_record, other)
        layout = impl.layout_of(other, parsed[1]) if parsed[0] == "ok" else None
        runs.append(layout)
    assert runs[0] == runs[1]
    layout = runs[0]
    if layout is None:
        return
    assert typed(PY.read_in_layout(other, layout)) == typed(PY.parse_record(other))
    for doc in (raw, other, draw.draw(in_layout(layout)), draw.draw(in_layout(layout))):
        reads = [_read(impl, doc, layout) for impl in TWINS]
        assert reads[0] == reads[1]
        if reads[0] != ("ok", typed(None)):
            # A record read in the layout is what orjson reads, types and order.
            parsed = outcome(PY.parse_record, doc)
            assert parsed[0] == "ok" and reads[0] == ("ok", typed(parsed[1]))


@pytest.mark.parametrize("impl", BOTH)
def test_memory_core_reads_in_the_last_layout_and_keeps_it(impl: Impl) -> None:
    memory = memory_of(impl, None)
    head = b'{"cookie":{"originalMaxAge":1000,"expires":'
    tail = b',"httpOnly":true,"path":"/"}'
    memory.lru.set("a", head + b'"2030-01-01T00:00:00.000Z"' + tail + b',"n":1}', 2e9)
    memory.lru.set("b", head + b'"2031-01-01T00:00:00.000Z"' + tail + b"}", 2e9)
    assert memory.layout is None
    first = memory.get("a")
    layout = memory.layout
    assert layout[:2] == (head, tail)
    second = memory.get("b")
    assert memory.layout is layout  # read in it: not made again
    assert second == {
        "cookie": {
            "originalMaxAge": 1000,
            "expires": "2031-01-01T00:00:00.000Z",
            "httpOnly": True,
            "path": "/",
        }
    }
    assert first["n"] == 1 and first["cookie"] is not layout[2]


@pytest.mark.parametrize("impl", BOTH)
def test_memory_core_reads_integers_at_the_edge_of_64_bits(impl: Impl) -> None:
    # 18 digits are read in the layout; 19 and more go to orjson, and the reader
    # stops before a 19th digit could overflow (the sanitizer build checks that).
    memory = memory_of(impl, None)
    head = b'{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}'
    values = [
        999_999_999_999_999_999,
        -999_999_999_999_999_999,
        1_000_000_000_000_000_000,
        2**63 - 1,
        -(2**63),
        2**63,
        2**64 - 1,
    ]
    memory.lru.set("warm", head + b"}", 2e9)
    memory.get("warm")  # the layout is known: the next reads take the flat reader
    for value in values:
        memory.lru.set("n", head + b',"n":' + str(value).encode() + b"}", 2e9)
        got = memory.get("n")["n"]
        assert got == value and type(got) is int


# -- new_request: the middlewares' RequestCore, made without the type call ------------------

_REQUEST_FIELDS = (
    "engine", "conn", "options", "respond", "secure", "cookie_id", "original_id",
    "original_data", "saved_data", "touched", "destroyed", "started",
    "committed_id", "committed_data",
)  # fmt: skip


@pytest.mark.parametrize("impl", BOTH)
def test_new_request_is_the_request_core_the_type_makes(impl: Impl) -> None:
    engine = engine_of(impl)
    conn: dict[str, Any] = {"scheme": "https"}
    options = {"path": "/"}
    made = impl.new_request(engine, conn, options, print)
    assert type(made) is impl.RequestCore
    expected = impl.RequestCore(engine, conn, options, print)
    for name in _REQUEST_FIELDS:
        assert getattr(made, name) is getattr(expected, name), name
    assert made.conn is conn and made.is_secure() is True
    session = made.begin(None)
    assert conn["session"] is session and session.state is made
