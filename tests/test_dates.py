"""The date kernel (both twins): civil dates, toISOString, parse_iso, the Expires date.

The pure twin is held to datetime-based references (and to fastsession.record, whose
format_iso / parse_iso it replaces); the compiled twin is held to the pure one.
"""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from conftest import Impl
from hypothesis import given
from hypothesis import strategies as st

from fastsession import record

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
LIMIT = 2**47
YEAR_1000_MS = (date(1000, 1, 1).toordinal() - EPOCH_ORDINAL) * 86_400_000


# ---- references, from datetime ------------------------------------------------------


def ref_format_iso(ms: int) -> str:
    """JS toISOString through datetime (OverflowError outside years 1-9999)."""
    dt = EPOCH + timedelta(milliseconds=ms)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
        f"{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def ref_http_date(second: int) -> str:
    return format_datetime(EPOCH + timedelta(seconds=second), usegmt=True)


def ref_days(y: int, m: int, d: int) -> int:
    return date(y, m, d).toordinal() - EPOCH_ORDINAL


def ref_civil(days: int) -> tuple[int, int, int]:
    day = date.fromordinal(days + EPOCH_ORDINAL)
    return day.year, day.month, day.day


def is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def month_days(y: int, m: int) -> int:
    return (31, 29 if is_leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[m - 1]


# ---- both twins, deterministic (these run in the wheel tests too) ----------------------


@pytest.fixture(params=[pytest.param("c", marks=pytest.mark.c_extension), "py"])
def dates(request: pytest.FixtureRequest) -> Impl:
    return Impl("dates", request.param)


def test_civil_days_over_the_datetime_range(dates: Impl) -> None:
    # Every day of 1900-2200, then every 97th day over years 1-9999.
    first, last = ref_days(1, 1, 1), ref_days(9999, 12, 31)
    days = list(range(ref_days(1900, 1, 1), ref_days(2200, 12, 31) + 1))
    days += list(range(first, last + 1, 97)) + [first, last]
    for n in days:
        ymd = ref_civil(n)
        assert dates.civil_from_days(n) == ymd
        assert dates.days_from_civil(*ymd) == n


def test_civil_days_beyond_datetime(dates: Impl) -> None:
    # Proleptic Gregorian both ways of year 0: 400 years are 146097 days, whatever the era.
    assert dates.days_from_civil(0, 3, 1) == -719468
    assert dates.civil_from_days(-719469) == (0, 2, 29)  # year 0 is a leap year
    assert dates.civil_from_days(-719468 - 366) == (-1, 3, 1)
    for y in (-(10**9), -401, -400, -1, 0, 10000, 275760, 10**9):
        for m, d in ((1, 1), (2, 28), (3, 1), (12, 31)):
            n = dates.days_from_civil(y, m, d)
            assert dates.days_from_civil(y + 400, m, d) == n + 146097
            assert dates.civil_from_days(n) == (y, m, d)
    # Day numbers past a month's end count on (Hinnant's algorithm is linear in d).
    assert dates.days_from_civil(2026, 2, 30) == dates.days_from_civil(2026, 3, 2)
    assert dates.days_from_civil(2026, 1, 0) == dates.days_from_civil(2025, 12, 31)


def test_civil_days_bad_arguments(dates: Impl) -> None:
    for m in (0, 13, -1):
        with pytest.raises(ValueError, match="month"):
            dates.days_from_civil(2026, m, 1)
    for args in ((LIMIT + 1, 1, 1), (-LIMIT - 1, 1, 1), (2026, 1, LIMIT + 1), (2**70, 1, 1)):
        with pytest.raises(OverflowError):
            dates.days_from_civil(*args)
    for n in (LIMIT + 1, -LIMIT - 1, 2**64):
        with pytest.raises(OverflowError):
            dates.civil_from_days(n)
    for n in (LIMIT, -LIMIT):  # the limits themselves are in range
        assert dates.days_from_civil(*dates.civil_from_days(n)) == n
    for bad in (1.0, "1", None):
        with pytest.raises(TypeError):
            dates.civil_from_days(bad)
        with pytest.raises(TypeError):
            dates.days_from_civil(2026, bad, 1)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-1000, "1969-12-31T23:59:59.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (1795255200000, "2026-11-21T10:00:00.000Z"),
        (951782400000, "2000-02-29T00:00:00.000Z"),
        (MIN_MS, "0001-01-01T00:00:00.000Z"),
        (-59011459200000, "0100-01-01T00:00:00.000Z"),
        (MAX_MS, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_format_iso_known_values(dates: Impl, ms: int, text: str) -> None:
    # JS: new Date(ms).toISOString(); four-digit years, zero-padded.
    assert dates.format_iso(ms) == text
    assert dates.parse_iso(text) == ms


def test_format_iso_outside_years_1_to_9999(dates: Impl) -> None:
    for ms in (MIN_MS - 1, MAX_MS + 1, 2**63, -(2**63) - 1, 10**30):
        with pytest.raises(OverflowError):
            dates.format_iso(ms)
        with pytest.raises(OverflowError):
            record.format_iso(ms)  # the same exception type as the one it replaces
    for bad in (1.5, 1.0, "0", None):
        with pytest.raises(TypeError):
            dates.format_iso(bad)
    assert dates.format_iso(True) == "1970-01-01T00:00:00.001Z"  # an int, as in record


PARSE_CASES = [
    "2026-11-21T10:00:00.000Z",
    "2026-11-21T10:00:00.000+01:00",
    "2026-11-21T10:00:00Z",
    "2026-11-21T10:00:00",
    "2026-11-21 10:00:00.000Z",
    "2026-11-21T10:00:00,123Z",
    "2026-11-21",
    "2026-11-21T10:00:00.000z",
    "2026-11-21T24:00:00.000Z",
    "2026-11-21T10:60:00.000Z",
    "2026-11-21T10:00:60.000Z",
    "2026-02-29T10:00:00.000Z",
    "2024-02-29T10:00:00.000Z",
    "2100-02-29T10:00:00.000Z",
    "2000-02-29T10:00:00.000Z",
    "2026-04-31T10:00:00.000Z",
    "2026-13-01T10:00:00.000Z",
    "2026-00-01T10:00:00.000Z",
    "2026-01-00T10:00:00.000Z",
    "0000-01-01T00:00:00.000Z",
    "0001-01-01T00:00:00.000Z",
    "9999-12-31T23:59:59.999Z",
    "+2026-11-21T10:00:00.000Z",
    "2026-11-21T10:00:00.00Z",
    "2026-11-21T10:00:00.0000Z",
    "2026-11-2１T10:00:00.000Z",  # a fullwidth digit
    "２026-11-21T10:00:00.000Z",
    "2026-11-21T1٠:00:00.000Z",  # an Arabic-Indic digit
    "2026-1 -21T10:00:00.000Z",
    "2026-+1-21T10:00:00.000Z",
    "2_26-11-21T10:00:00.000Z",
    "2026-11-21T10:00:00.-01Z",
    "2026-11-21T10:00:00.000Z ",
    " 2026-11-21T10:00:00.000Z",
    "",
    "Z",
    "not a date",
]


@pytest.mark.parametrize("text", PARSE_CASES)
def test_parse_iso_as_record(dates: Impl, text: str) -> None:
    assert dates.parse_iso(text) == record.parse_iso(text)


def test_parse_iso_non_strings(dates: Impl) -> None:
    class Text(str):
        pass

    for value in (None, 5, b"2026-11-21T10:00:00.000Z", 1.5, ["x"]):
        assert dates.parse_iso(value) is None
        assert record.parse_iso(value) is None
    # A str subclass takes the general path, with the same result.
    assert dates.parse_iso(Text("2026-11-21T10:00:00.000Z")) == 1795255200000


@pytest.mark.parametrize(
    ("second", "text"),
    [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
        (1893456060, "Tue, 01 Jan 2030 00:01:00 GMT"),
        (-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT"),
        (-62198841600, "Thu, 31 Dec -0002 00:00:00 GMT"),
        (8_640_000_000_000, "Sat, 13 Sep 275760 00:00:00 GMT"),
        (-8_640_000_000_000, "Tue, 20 Apr -271821 00:00:00 GMT"),
        (2**63 - 1, "Sun, 04 Dec 292277026596 15:30:07 GMT"),
        (-(2**63), "Sun, 27 Jan -292277022657 08:29:52 GMT"),
    ],
)
def test_http_date_known_values(dates: Impl, second: int, text: str) -> None:
    # The JS values are Date.prototype.toUTCString's; the last two are past any JS Date.
    assert dates.http_date(second) == text


def test_http_date_range_and_types(dates: Impl) -> None:
    for second in (2**63, -(2**63) - 1):
        with pytest.raises(OverflowError):
            dates.http_date(second)
    for bad in (0.0, None, "0"):
        with pytest.raises(TypeError):
            dates.http_date(bad)
    for second in range(-(10**10), 2 * 10**11, 9_876_543_211):
        assert dates.http_date(second) == ref_http_date(second)


def test_the_cookie_kernels_use_these_dates(dates: Impl) -> None:
    cookies = importlib.import_module(f"fastsession._cookies_{dates.tag}")
    for second in (0, -1, 1893456060, -62198841600, 8_640_000_000_000):
        line = cookies.serialize(
            "n", "v", None, None, None, second, False, False, False, None, None
        )
        assert line == "n=v; Expires=" + dates.http_date(second)


# ---- Hypothesis: the pure twin against datetime, and record ---------------------------

MS = st.integers(MIN_MS, MAX_MS)
YEAR_MONTH = st.tuples(st.integers(1, 9999), st.integers(1, 12))
ISO_TEXT = st.one_of(
    MS.map(ref_format_iso),
    st.builds(
        lambda ms, i, c: (t := ref_format_iso(ms))[:i] + c + t[i + 1 :],
        MS,
        st.integers(0, 23),
        st.sampled_from("0123456789:-.TZ ٠２+_"),
    ),
    st.builds(
        lambda ms, tz: ref_format_iso(ms)[:-1] + tz,
        MS,
        st.sampled_from(["", "+00:00", "-05:30", "+14:00", "+0100"]),
    ),
    st.text(alphabet="0123456789-:.TZ+ ", max_size=30),
    st.text(max_size=30),
)

hyp = pytest.mark.hypothesis


@hyp
@given(ms=MS)
def test_format_iso_is_datetime_iso(ms: int) -> None:
    from fastsession import _dates_py

    text = _dates_py.format_iso(ms)
    assert text == ref_format_iso(ms)
    assert _dates_py.parse_iso(text) == ms
    # record.format_iso is the same where it is right: it pads years below 1000
    # only where the platform's strftime does (glibc does not), and its one-entry
    # cache starts at second -1 with an empty text.
    if ms >= YEAR_1000_MS and ms // 1000 != -1:
        assert text == record.format_iso(ms)


@hyp
@given(text=ISO_TEXT)
def test_parse_iso_is_record_parse_iso(text: str) -> None:
    from fastsession import _dates_py

    assert _dates_py.parse_iso(text) == record.parse_iso(text)


@hyp
@given(ym=YEAR_MONTH, day=st.integers(1, 31))
def test_days_from_civil_is_datetime(ym: tuple[int, int], day: int) -> None:
    from fastsession import _dates_py

    y, m = ym
    d = min(day, month_days(y, m))
    assert _dates_py.days_from_civil(y, m, d) == ref_days(y, m, d)
    assert _dates_py.civil_from_days(ref_days(y, m, d)) == (y, m, d)


@hyp
@given(days=st.integers(-LIMIT, LIMIT - 1))
def test_civil_round_trip_any_era(days: int) -> None:
    from fastsession import _dates_py

    y, m, d = _dates_py.civil_from_days(days)
    assert 1 <= m <= 12 and 1 <= d <= month_days(y, m)
    assert _dates_py.days_from_civil(y, m, d) == days
    # The next day is the next date.
    assert _dates_py.civil_from_days(days + 1) == (
        (y, m, d + 1) if d < month_days(y, m) else (y, m + 1, 1) if m < 12 else (y + 1, 1, 1)
    )


@hyp
@given(second=st.integers(ref_days(1, 1, 1) * 86400, (ref_days(9999, 12, 31) + 1) * 86400 - 1))
def test_http_date_is_email_utils(second: int) -> None:
    from fastsession import _dates_py

    assert _dates_py.http_date(second) == ref_http_date(second)


# ---- Hypothesis: the compiled twin against the pure one -----------------------------


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return ("raised", (type(exc), str(exc)))


def agree(name: str, *args: Any) -> None:
    py = importlib.import_module("fastsession._dates_py")
    c = importlib.import_module("fastsession._dates_c")
    assert outcome(getattr(c, name), *args) == outcome(getattr(py, name), *args), args


ANY_INT = st.one_of(
    st.integers(),
    st.integers(-(2**64), 2**64),
    st.integers(-LIMIT - 2, LIMIT + 2),
    st.sampled_from([MIN_MS, MAX_MS, MIN_MS - 1, MAX_MS + 1, 2**63 - 1, -(2**63), 2**63]),
    st.booleans(),
)
ODD = st.one_of(st.none(), st.floats(), st.text(max_size=3), st.binary(max_size=3))


@hyp
@pytest.mark.c_extension
@given(value=st.one_of(ANY_INT, MS, ODD))
def test_compiled_one_argument_functions(value: Any) -> None:
    for name in ("civil_from_days", "format_iso", "http_date", "parse_iso"):
        agree(name, value)


@hyp
@pytest.mark.c_extension
@given(
    y=st.one_of(ANY_INT, st.integers(-(10**6), 10**6)),
    m=st.one_of(st.integers(-2, 14), ANY_INT, ODD),
    d=st.one_of(st.integers(-400, 400), ANY_INT),
)
def test_compiled_days_from_civil(y: Any, m: Any, d: Any) -> None:
    agree("days_from_civil", y, m, d)


@hyp
@pytest.mark.c_extension
@given(text=ISO_TEXT)
def test_compiled_parse_iso(text: str) -> None:
    agree("parse_iso", text)
