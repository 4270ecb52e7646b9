# The session data's JSON for a flat dict, byte for byte what orjson writes
# (its twin is orjson itself: SessionCore.encode in both twins gives
# orjson.dumps(data); tests/test_kernel.py holds them equal on random data).
#
# Flat: str keys, values None, bool, an int orjson writes as a 64-bit signed
# integer, or a str. Anything else (a float, a nested value, a subclass, data
# longer than the buffer) is None here, and orjson writes it.

from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_Next
from cpython.exc cimport PyErr_Clear

cdef extern from "Python.h":
    # Without an exception spec: NULL (a lone surrogate) is a fallback, cleared.
    const char *PyUnicode_AsUTF8AndSize(object, Py_ssize_t *)
    # The same, raising: for text that is always a str.
    const char *_utf8 "PyUnicode_AsUTF8AndSize"(object, Py_ssize_t *) except NULL
    long long PyLong_AsLongLongAndOverflow(object, int *) except? -1

cdef enum:
    _FLAT_CAP = 1024

cdef struct _Flat:
    Py_ssize_t n
    char buf[_FLAT_CAP]

cdef const char *_HEX = b"0123456789abcdef"


cdef inline bint _flat_put(_Flat *out, const char *s, Py_ssize_t m) noexcept:
    if out.n + m > _FLAT_CAP:
        return False
    memcpy(out.buf + out.n, s, m)
    out.n += m
    return True


cdef bint _flat_str(_Flat *out, object s) noexcept:
    """A JSON string as orjson escapes it: quote, backslash and the control
    characters; everything else (non-ASCII included) as its UTF-8."""
    cdef Py_ssize_t m, i
    cdef const char *p = PyUnicode_AsUTF8AndSize(s, &m)
    cdef unsigned char c
    cdef char *w
    if p == NULL:
        PyErr_Clear()
        return False
    # Each byte takes at most 6 (\u00XX); beyond what is left: check per byte.
    if out.n + m + 2 > _FLAT_CAP:
        return False
    w = out.buf + out.n
    w[0] = b'"'
    w += 1
    for i in range(m):
        c = <unsigned char>p[i]
        if c >= 0x20 and c != b'"' and c != b'\\':
            w[0] = <char>c
            w += 1
            continue
        if (w - out.buf) + 6 + (m - i) + 1 > _FLAT_CAP:
            return False
        w[0] = b'\\'
        if c == b'"' or c == b'\\':
            w[1] = <char>c
        elif c == b'\n':
            w[1] = b'n'
        elif c == b'\t':
            w[1] = b't'
        elif c == b'\r':
            w[1] = b'r'
        elif c == 0x08:
            w[1] = b'b'
        elif c == 0x0c:
            w[1] = b'f'
        else:
            w[1] = b'u'
            w[2] = b'0'
            w[3] = b'0'
            w[4] = _HEX[c >> 4]
            w[5] = _HEX[c & 15]
            w += 6
            continue
        w += 2
    w[0] = b'"'
    out.n = (w - out.buf) + 1
    return True


cdef bint _flat_value(_Flat *out, object value) except -1:
    cdef int overflow = 0
    cdef long long n
    cdef unsigned long long u
    cdef char digits[24]
    cdef int k
    if value is None:
        return _flat_put(out, b"null", 4)
    if value is True:
        return _flat_put(out, b"true", 4)
    if value is False:
        return _flat_put(out, b"false", 5)
    if type(value) is int:
        n = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow:
            return False  # beyond 64 bits signed: orjson decides
        # The digits backwards from the end (snprintf costs more than the rest).
        u = <unsigned long long>n if n >= 0 else 0ULL - <unsigned long long>n
        k = 24
        while True:
            k -= 1
            digits[k] = <char>(48 + u % 10)
            u //= 10
            if u == 0:
                break
        if n < 0:
            k -= 1
            digits[k] = b'-'
        return _flat_put(out, digits + k, 24 - k)
    if type(value) is str:
        return _flat_str(out, value)
    return False


cdef bytes _flat_json(dict data):
    """orjson's bytes for flat ``data``, or None (not flat, or too long)."""
    cdef _Flat out
    cdef Py_ssize_t pos = 0
    cdef PyObject *key
    cdef PyObject *value
    out.n = 1
    out.buf[0] = b'{'
    while PyDict_Next(data, &pos, &key, &value):
        if type(<object>key) is not str:
            return None
        if out.n > 1 and not _flat_put(&out, b",", 1):
            return None
        if not _flat_str(&out, <object>key) or not _flat_put(&out, b":", 1):
            return None
        if not _flat_value(&out, <object>value):
            return None
    if not _flat_put(&out, b"}", 1):
        return None
    return PyBytes_FromStringAndSize(out.buf, out.n)


# The reverse: a flat JSON object as orjson reads it, for the data members of
# a stored record (MemoryCore's read_in_layout; its twin is orjson.loads).
# Only compact JSON: no whitespace, no escapes, ints of at most 18 digits;
# anything else is None here, and orjson reads it.

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char *, Py_ssize_t, const char *)


cdef inline Py_ssize_t _flat_string_end(const char *p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """Past the closing quote of a string starting at p[i] == '"'; -1 if it
    has an escape or a control character (or does not end)."""
    cdef unsigned char c
    i += 1
    while i < n:
        c = <unsigned char>p[i]
        if c == b'"':
            return i + 1
        if c < 0x20 or c == b'\\':
            return -1
        i += 1
    return -1


cdef object _flat_text(const char *p, Py_ssize_t start, Py_ssize_t stop):
    """The str between quotes; None if not UTF-8 (orjson then says why)."""
    try:
        return PyUnicode_DecodeUTF8(p + start + 1, stop - start - 2, NULL)
    except UnicodeDecodeError:
        return None


cdef bint _flat_loads(const char *p, Py_ssize_t n, dict out) except -1:
    """Compact flat JSON object p[:n]'s members put into ``out``; False (``out``
    then half filled) when orjson must read it. p[0] stands for the opening
    brace (the caller has checked it)."""
    cdef Py_ssize_t i = 1, stop, digits
    cdef long long number
    cdef bint negative
    cdef object key, value
    if n < 2:
        return False
    if p[1] == b'}':
        return n == 2
    while True:
        if i >= n or p[i] != b'"':
            return False
        stop = _flat_string_end(p, i, n)
        if stop == -1 or stop >= n or p[stop] != b':':
            return False
        key = _flat_text(p, i, stop)
        if key is None:
            return False
        i = stop + 1
        if i >= n:
            return False
        if p[i] == b'"':
            stop = _flat_string_end(p, i, n)
            if stop == -1:
                return False
            value = _flat_text(p, i, stop)
            if value is None:
                return False
            i = stop
        elif n - i >= 4 and memcmp(p + i, b"null", 4) == 0:
            value = None
            i += 4
        elif n - i >= 4 and memcmp(p + i, b"true", 4) == 0:
            value = True
            i += 4
        elif n - i >= 5 and memcmp(p + i, b"false", 5) == 0:
            value = False
            i += 5
        else:
            negative = p[i] == b'-'
            if negative:
                i += 1
            number = 0
            digits = 0
            while i < n and 48 <= p[i] <= 57:  # '0' to '9'
                if digits == 18:
                    return False  # 19 digits may not fit a long long: orjson's
                number = number * 10 + (p[i] - 48)
                digits += 1
                i += 1
            # No digits, a leading zero, or a fraction or exponent: orjson's.
            if digits == 0 or (digits > 1 and p[i - digits] == b'0'):
                return False
            if i < n and (p[i] == b'.' or p[i] == b'e' or p[i] == b'E'):
                return False
            value = -number if negative else number
        out[key] = value
        if i >= n:
            return False
        if p[i] == b'}':
            return i + 1 == n
        if p[i] != b',':
            return False
        i += 1
