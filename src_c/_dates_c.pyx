# cython: language_level=3, freethreading_compatible=True, annotation_typing=False
# cython: embedsignature=True, embedsignature.format=python
#
# Compiled twin of fastsession/_dates_py.py (the specification): the cdef functions
# of _dates.pxi, which the other compiled kernels include, behind Python-facing
# wrappers that check arguments as the pure twin does. tests/test_dates.py holds
# the twins equal.

from cpython.number cimport PyNumber_Index

include "_dates.pxi"

__all__ = ["civil_from_days", "days_from_civil", "format_iso", "http_date", "parse_iso"]


cdef object _LONG_LONG_MIN = -(2**63)
cdef object _LONG_LONG_MAX = 2**63 - 1


cdef long long _index(object value, object low, object high) except? -1:
    # operator.index, then the pure twin's range check, with its message.
    value = PyNumber_Index(value)
    if value < low or value > high:
        raise OverflowError("date value out of range")
    return value


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of the proleptic Gregorian date y-m-d."""
    y, m, d = PyNumber_Index(y), PyNumber_Index(m), PyNumber_Index(d)
    if not 1 <= m <= 12:
        raise ValueError("month must be in 1..12")
    return _days_from_civil(_index(y, -_DATES_LIMIT, _DATES_LIMIT), m,
                            _index(d, -_DATES_LIMIT, _DATES_LIMIT))


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the date ``days`` after 1970-01-01."""
    cdef long long y, m, d
    _civil_from_days(_index(days, -_DATES_LIMIT, _DATES_LIMIT), &y, &m, &d)
    return (y, m, d)


def format_iso(ms: int) -> str:
    """Epoch milliseconds → ``2026-11-21T10:00:00.000Z`` (JS ``toISOString``)."""
    return _format_iso(_index(ms, _MIN_ISO_MS, _MAX_ISO_MS))


def parse_iso(text: str) -> int | None:
    """An ISO-8601 date (as stores keep ``expires``) → epoch milliseconds, or None."""
    return _parse_iso(text)


def http_date(second: int) -> str:
    """``Date.prototype.toUTCString`` of a whole second since the epoch (any year)."""
    return _http_date(_index(second, _LONG_LONG_MIN, _LONG_LONG_MAX))
