# Compiled twin of fastsession/_dates_py.py (the specification): days_from_civil,
# civil_from_days, format_iso, parse_iso, http_date. Included by every .pyx that
# needs dates (one C unit each, no cross-module calls); fastsession._dates_c exposes
# them to Python, and tests/test_dates.py holds the two twins equal.
#
# Invariants:
# - The civil arithmetic is H. Hinnant's (proleptic Gregorian, any year), in
#   64-bit integers with floor division written out, so the results do not depend
#   on the including module's cdivision directive. Exact for |year|, |day| and
#   |days| up to 2**47; callers stay far inside that (the Python-facing wrappers
#   in _dates_c.pyx check it).
# - The *_into functions write ASCII into a caller's buffer and never fail:
#   _iso_into 24 bytes (or -1 outside years 1-9999), _http_date_into at most
#   _HTTP_DATE_MAX bytes for any long long.
# - _parse_iso reads only the exact "YYYY-MM-DDTHH:MM:SS.mmmZ" form itself; any
#   other text goes to the pure twin (datetime.fromisoformat), so both twins
#   agree on every input by construction there.
# - The functions that build Python objects are `cdef inline` only so that a
#   module including this file without calling one gets no unused-function warning.

cimport cython
from libc.string cimport memcpy

from ._dates_py import parse_iso as _parse_iso_py

cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t, Py_UCS4)
    void *PyUnicode_DATA(object)
    bint PyUnicode_IS_ASCII(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    object PyLong_FromLongLong(long long)

cdef const char *_DATES_WEEKDAYS = b"ThuFriSatSunMonTueWed"  # 1970-01-01 was a Thursday
cdef const char *_DATES_MONTHS = b"JanFebMarAprMayJunJulAugSepOctNovDec"
cdef enum:
    _HTTP_DATE_MAX = 40  # "Www, DD Mon -YYYYYYYYYYYY HH:MM:SS GMT" for any long long
cdef long long _DATES_LIMIT = 1 << 47
cdef long long _DAY_MS = 86_400_000
cdef long long _MIN_ISO_MS = -62_135_596_800_000   # 0001-01-01T00:00:00.000Z
cdef long long _MAX_ISO_MS = 253_402_300_799_999   # 9999-12-31T23:59:59.999Z


@cython.cdivision(True)
cdef inline long long _floor_div(long long a, long long b) noexcept nogil:
    # Python's a // b for b > 0.
    cdef long long q = a / b
    if a % b < 0:
        q -= 1
    return q


@cython.cdivision(True)
cdef inline long long _days_from_civil(long long y, long long m, long long d) noexcept nogil:
    """Days since 1970-01-01 of y-m-d (m 1-12; d counts on past the month's end)."""
    y -= m <= 2
    cdef long long era = _floor_div(y, 400)
    cdef long long yoe = y - era * 400
    cdef long long doy = (153 * (m - 3 if m > 2 else m + 9) + 2) / 5 + d - 1
    cdef long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468


@cython.cdivision(True)
cdef inline void _civil_from_days(long long days, long long *y, long long *m,
                                  long long *d) noexcept nogil:
    """The date ``days`` after 1970-01-01."""
    cdef long long z = days + 719468
    cdef long long era = _floor_div(z, 146097)
    cdef long long doe = z - era * 146097
    cdef long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    cdef long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    cdef long long mp = (5 * doy + 2) / 153
    d[0] = doy - (153 * mp + 2) / 5 + 1
    m[0] = mp + 3 if mp < 10 else mp - 9
    y[0] = yoe + era * 400 + (1 if m[0] <= 2 else 0)


@cython.cdivision(True)
cdef inline char *_put_digits(char *w, long long value, int count) noexcept nogil:
    # ``count`` decimal digits of 0 <= value < 10**count; returns the end.
    cdef int i
    for i in range(count - 1, -1, -1):
        w[i] = <char>(48 + value % 10)
        value //= 10
    return w + count


@cython.cdivision(True)
cdef Py_ssize_t _iso_into(long long ms, char *out) noexcept nogil:
    """JS toISOString of ``ms`` into out (24 bytes); -1 outside years 1-9999."""
    cdef long long days, rem, y, m, d
    if ms < _MIN_ISO_MS or ms > _MAX_ISO_MS:
        return -1
    days = _floor_div(ms, _DAY_MS)
    rem = ms - days * _DAY_MS
    _civil_from_days(days, &y, &m, &d)
    _put_digits(out, y, 4)
    out[4] = out[7] = b"-"
    _put_digits(out + 5, m, 2)
    _put_digits(out + 8, d, 2)
    out[10] = b"T"
    _put_digits(out + 11, rem / 3_600_000, 2)
    out[13] = out[16] = b":"
    _put_digits(out + 14, rem / 60_000 % 60, 2)
    _put_digits(out + 17, rem / 1000 % 60, 2)
    out[19] = b"."
    _put_digits(out + 20, rem % 1000, 3)
    out[23] = b"Z"
    return 24


cdef inline str _format_iso(long long ms):
    """Epoch milliseconds → ``2026-11-21T10:00:00.000Z``; OverflowError outside 1-9999."""
    cdef char buf[24]
    if _iso_into(ms, buf) < 0:
        raise OverflowError("date value out of range")
    result = PyUnicode_New(24, 127)
    memcpy(PyUnicode_DATA(result), buf, 24)
    return <str>result


cdef inline int _iso_number(const unsigned char *p, int count) noexcept nogil:
    # The number in ``count`` ASCII digits at p, or -1.
    cdef int value = 0, i
    for i in range(count):
        if p[i] < 48 or p[i] > 57:
            return -1
        value = value * 10 + (p[i] - 48)
    return value


@cython.cdivision(True)
cdef long long _iso_fast(const unsigned char *p) noexcept nogil:
    # Epoch ms of the exact 24-byte form at p, or _DATES_LIMIT when it is not one
    # (no valid date in years 1-9999 reaches that value).
    cdef int y, mo, d, h, mi, s, ms, dim
    if not (p[4] == b"-" and p[7] == b"-" and p[10] == b"T" and p[13] == b":"
            and p[16] == b":" and p[19] == b"." and p[23] == b"Z"):
        return _DATES_LIMIT
    y, mo, d = _iso_number(p, 4), _iso_number(p + 5, 2), _iso_number(p + 8, 2)
    h, mi, s = _iso_number(p + 11, 2), _iso_number(p + 14, 2), _iso_number(p + 17, 2)
    ms = _iso_number(p + 20, 3)
    if y < 1 or mo < 1 or mo > 12 or h < 0 or h > 23 or mi < 0 or mi > 59 or s < 0 or s > 59:
        return _DATES_LIMIT
    if mo == 2:
        dim = 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    else:
        dim = 30 if mo in (4, 6, 9, 11) else 31
    if d < 1 or d > dim or ms < 0:
        return _DATES_LIMIT
    return (_days_from_civil(y, mo, d) * _DAY_MS
            + (h * 3600 + mi * 60 + s) * <long long>1000 + ms)


cdef inline object _parse_iso(object text):
    """An ISO-8601 date → epoch milliseconds (a Python int), or None."""
    cdef long long ms
    if (type(text) is str and PyUnicode_GET_LENGTH(text) == 24
            and PyUnicode_IS_ASCII(text)):
        ms = _iso_fast(<const unsigned char *>PyUnicode_DATA(text))
        if ms != _DATES_LIMIT:
            return PyLong_FromLongLong(ms)
    return _parse_iso_py(text)


@cython.cdivision(True)
cdef Py_ssize_t _http_date_into(long long second, char *out) noexcept nogil:
    """Date.prototype.toUTCString of a whole second into out (<= _HTTP_DATE_MAX bytes)."""
    cdef long long days = _floor_div(second, 86400)
    # second % 86400, not second - days * 86400: that product overflows near LLONG_MIN.
    cdef long long rem = second % 86400
    cdef long long y, m, d, weekday = days % 7
    cdef unsigned long long year
    cdef char digits[20]
    cdef int nd = 0
    cdef char *p = out
    if weekday < 0:
        weekday += 7
    if rem < 0:
        rem += 86400
    _civil_from_days(days, &y, &m, &d)
    memcpy(p, _DATES_WEEKDAYS + 3 * weekday, 3)
    p[3] = b","
    p[4] = b" "
    p = _put_digits(p + 5, d, 2)
    p[0] = b" "
    memcpy(p + 1, _DATES_MONTHS + 3 * (m - 1), 3)
    p[4] = b" "
    p += 5
    if y < 0:
        p[0] = b"-"
        p += 1
    year = <unsigned long long>(-y if y < 0 else y)
    while year > 0 or nd < 4:
        digits[nd] = <char>(48 + year % 10)
        year //= 10
        nd += 1
    while nd > 0:
        nd -= 1
        p[0] = digits[nd]
        p += 1
    p[0] = b" "
    p = _put_digits(p + 1, rem / 3600, 2)
    p[0] = b":"
    p = _put_digits(p + 1, rem / 60 % 60, 2)
    p[0] = b":"
    p = _put_digits(p + 1, rem % 60, 2)
    memcpy(p, b" GMT", 4)
    return p + 4 - out


cdef inline str _http_date(long long second):
    """``Thu, 01 Jan 1970 00:00:00 GMT`` (the IMF-fixdate of an Expires attribute)."""
    cdef char buf[_HTTP_DATE_MAX]
    cdef Py_ssize_t n = _http_date_into(second, buf)
    result = PyUnicode_New(n, 127)
    memcpy(PyUnicode_DATA(result), buf, n)
    return <str>result
