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
from kernel_twins import BOTH, TWINS, outcome, session_of, twins

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
