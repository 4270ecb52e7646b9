"""Pure-Python date kernel: civil dates, JS ``toISOString`` and the cookie's HTTP date.

This module is the specification of its compiled twin, src_c/_dates.pxi (the cdef
functions the compiled kernels include) exposed as fastsession._dates_c. The civil
date arithmetic is H. Hinnant's ``days_from_civil`` / ``civil_from_days``
(proleptic Gregorian, any year; http://howardhinnant.github.io/date_algorithms.html).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from operator import index

__all__ = ["civil_from_days", "days_from_civil", "format_iso", "http_date", "parse_iso"]

_DAYS = ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")  # 1970-01-01 was a Thursday
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_MS = 86_400_000
# 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years datetime holds.
_MIN_ISO_MS = -62_135_596_800_000
_MAX_ISO_MS = 253_402_300_799_999
# Far beyond any date (2**47 days is 385 billion years), and safe from 64-bit overflow.
_LIMIT = 2**47
_LONG_LONG = 2**63
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_iso_cache: tuple[int, str] = (0, "1970-01-01T00:00:00.")


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of the proleptic Gregorian date y-m-d.

    ``m`` is 1-12; ``d`` counts on linearly past the month's end (Feb 30 is Mar 2),
    as in Hinnant's algorithm. OverflowError for ``|y|`` or ``|d|`` over 2**47.
    """
    y, m, d = index(y), index(m), index(d)
    if not 1 <= m <= 12:
        raise ValueError("month must be in 1..12")
    if not (-_LIMIT <= y <= _LIMIT and -_LIMIT <= d <= _LIMIT):
        raise OverflowError("date value out of range")
    return _days(y, m, d)


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the date ``days`` after 1970-01-01.

    OverflowError for ``|days|`` over 2**47.
    """
    days = index(days)
    if not -_LIMIT <= days <= _LIMIT:
        raise OverflowError("date value out of range")
    return _civil(days)


def _days(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400  # floor division: right for negative years too
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil(days: int) -> tuple[int, int, int]:
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def format_iso(ms: int) -> str:
    """Epoch milliseconds → ``2026-11-21T10:00:00.000Z`` (JS ``toISOString``).

    OverflowError outside years 1-9999 (what datetime holds), as record.format_iso.
    """
    global _iso_cache
    ms = index(ms)
    if not _MIN_ISO_MS <= ms <= _MAX_ISO_MS:
        raise OverflowError("date value out of range")
    second, frac = divmod(ms, 1000)
    # The text up to the second, of the last second formatted: records written in
    # the same second share it. One tuple, swapped whole, so threads never mix two.
    cached, text = _iso_cache
    if cached != second:
        days, rem = divmod(second, 86400)
        y, m, d = _civil(days)
        text = f"{y:04d}-{m:02d}-{d:02d}T{rem // 3600:02d}:{rem // 60 % 60:02d}:{rem % 60:02d}."
        _iso_cache = (second, text)
    return f"{text}{frac:03d}Z"


def parse_iso(text: str) -> int | None:
    """An ISO-8601 date (as stores keep ``expires``) → epoch milliseconds, or None.

    ``datetime.fromisoformat`` decides; a date-time without an offset is taken as
    UTC. The compiled twin reads the exact ``YYYY-MM-DDTHH:MM:SS.mmmZ`` form itself
    and gives everything else to this function; here fromisoformat (C) is already
    the fastest reading of that form (a hand-written one costs several times more).
    """
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if dt.tzinfo is None:
        # JS reads a date-time without an offset as local time; stores always
        # write UTC with "Z", so a bare one is taken as UTC rather than guessed.
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MS


def http_date(second: int) -> str:
    """``Date.prototype.toUTCString`` of a whole second since the epoch (any year):
    the IMF-fixdate of the Expires attribute, ``Thu, 01 Jan 1970 00:00:00 GMT``."""
    second = index(second)
    if not -_LONG_LONG <= second < _LONG_LONG:  # the compiled twin takes a C long long
        raise OverflowError("date value out of range")
    days, rem = divmod(second, 86400)
    year, month, day = _civil(days)
    sign = "-" if year < 0 else ""
    return (
        f"{_DAYS[days % 7]}, {day:02d} {_MONTHS[month - 1]} {sign}{abs(year):04d} "
        f"{rem // 3600:02d}:{rem // 60 % 60:02d}:{rem % 60:02d} GMT"
    )
