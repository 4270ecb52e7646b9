# cython: language_level=3, freethreading_compatible=True, annotation_typing=False
# cython: cdivision=False
# cython: embedsignature=True, embedsignature.format=python
#
# Compiled twin of fastsession/_cookies_py.py (the specification): npm cookie 0.7.2
# parse and serialize. tests/test_cookies.py and tests/test_kernel_properties.py
# hold the twins equal, exception types included.
#
# Invariants:
# - parse and lookup run the pure twin's indexOf scan over the PEP 393 buffer of
#   the header (kind/data, no copies, no regex); only keys and values are built.
# - Everything serialize and CookieTemplate.render emit is ASCII (token name,
#   encodeURIComponent output, checked attributes), so a result is one 1-byte
#   string whose length is computed first and which is filled in place.
# - A CookieTemplate's texts are fixed in __cinit__; only its Expires cache
#   changes, under a critical section (a no-op unless the GIL is disabled).

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.number cimport PyNumber_Index
from libc.math cimport floor
from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memchr, memcpy


cdef extern from "Python.h":
    ctypedef unsigned char Py_UCS1
    PyObject *PyDict_SetDefault(object, object, object) except NULL
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    bint PyUnicode_IS_ASCII(object)
    Py_UCS4 PyUnicode_READ(int, const void *, Py_ssize_t) nogil
    object PyUnicode_New(Py_ssize_t, Py_UCS4)
    Py_UCS1 *PyUnicode_1BYTE_DATA(object)
    object PyUnicode_Substring(object, Py_ssize_t, Py_ssize_t)
    object PyUnicode_FromKindAndData(int, const void *, Py_ssize_t)
    int PyUnicode_4BYTE_KIND


__all__ = ["CookieTemplate", "encode", "lookup", "parse", "serialize"]

cdef uint8_t _URI_LEN[128]    # 1 if encodeURIComponent leaves it alone, else 3
cdef uint8_t _TOKEN[128]      # RFC 7230 token characters (cookie names)
cdef uint8_t _LABEL[128]      # letters, digits, "-" (domain labels)
cdef const char *_HEXDIGITS = b"0123456789ABCDEF"
cdef const char *_DAYS = b"ThuFriSatSunMonTueWed"  # 1970-01-01 was a Thursday
cdef const char *_MONTHS = b"JanFebMarAprMayJunJulAugSepOctNovDec"
cdef double _MAX_DATE = 8.64e12  # seconds either side of the epoch that a JS Date can hold

cdef int _i
for _i in range(128):
    _URI_LEN[_i] = 1 if chr(_i) in (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()") else 3
    _TOKEN[_i] = chr(_i) in (
        "!#$%&'*+-.^_`|~ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    _LABEL[_i] = chr(_i) in (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


# ---- scanning helpers --------------------------------------------------------

cdef inline uint32_t _at(int kind, const void *data, Py_ssize_t i) noexcept nogil:
    return <uint32_t>PyUnicode_READ(kind, data, i)


cdef inline Py_ssize_t _find(int kind, const void *data, uint32_t ch,
                             Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    cdef const char *hit
    if start >= end:
        return -1
    if kind == 1:
        hit = <const char *>memchr(<const char *>data + start, <int>ch, <size_t>(end - start))
        return -1 if hit == NULL else hit - <const char *>data
    while start < end:
        if _at(kind, data, start) == ch:
            return start
        start += 1
    return -1


cdef inline Py_ssize_t _rfind(int kind, const void *data, uint32_t ch,
                              Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    while end > start:
        end -= 1
        if _at(kind, data, end) == ch:
            return end
    return -1


cdef inline bint _is_ws(uint32_t c) noexcept nogil:
    return c == 0x20 or c == 0x09


cdef inline int _hex(uint32_t c) noexcept nogil:
    if 0x30 <= c <= 0x39:
        return <int>(c - 0x30)
    if 0x41 <= c <= 0x46:
        return <int>(c - 0x37)
    if 0x61 <= c <= 0x66:
        return <int>(c - 0x57)
    return -1


cdef inline int _escaped(int kind, const void *data, Py_ssize_t i, Py_ssize_t end) noexcept nogil:
    # The byte of a "%XX" at i, or -1.
    cdef int hi, lo
    if i + 3 > end or _at(kind, data, i) != 0x25:
        return -1
    hi = _hex(_at(kind, data, i + 1))
    lo = _hex(_at(kind, data, i + 2))
    if hi < 0 or lo < 0:
        return -1
    return hi * 16 + lo


cdef Py_ssize_t _uri_decode_into(int kind, const void *data, Py_ssize_t i, Py_ssize_t end,
                                 Py_UCS4 *out) noexcept nogil:
    # decodeURIComponent of data[i:end] into out; -1 where JS throws URIError.
    # The UTF-8 rules are those of Unicode Table 3-7 (no overlongs, no surrogates).
    cdef Py_ssize_t o = 0
    cdef int b, need, lo, hi
    cdef uint32_t c, cp
    while i < end:
        c = _at(kind, data, i)
        if c != 0x25:
            out[o] = c
            o += 1
            i += 1
            continue
        b = _escaped(kind, data, i, end)
        if b < 0:
            return -1
        i += 3
        lo, hi = 0x80, 0xBF
        if b < 0x80:
            out[o] = b
            o += 1
            continue
        elif 0xC2 <= b <= 0xDF:
            need, cp = 1, b & 0x1F
        elif 0xE0 <= b <= 0xEF:
            need, cp = 2, b & 0x0F
            if b == 0xE0:
                lo = 0xA0
            elif b == 0xED:
                hi = 0x9F
        elif 0xF0 <= b <= 0xF4:
            need, cp = 3, b & 0x07
            if b == 0xF0:
                lo = 0x90
            elif b == 0xF4:
                hi = 0x8F
        else:
            return -1
        while need > 0:
            b = _escaped(kind, data, i, end)
            if b < lo or b > hi:
                return -1
            lo, hi = 0x80, 0xBF
            i += 3
            cp = (cp << 6) | (b & 0x3F)
            need -= 1
        out[o] = cp
        o += 1
    return o


cdef Py_ssize_t _ascii_decode_into(const uint8_t *s, Py_ssize_t i, Py_ssize_t end,
                                   uint8_t *out) noexcept nogil:
    # decodeURIComponent of ASCII text, runs copied whole: -1 where JS throws URIError,
    # -2 at an escape of a byte >= 0x80 (UTF-8, left to _uri_decode_into).
    cdef Py_ssize_t o = 0, run
    cdef const uint8_t *pct
    cdef int hi, lo
    while i < end:
        pct = <const uint8_t *>memchr(s + i, 0x25, <size_t>(end - i))
        run = (end if pct == NULL else pct - s) - i
        memcpy(out + o, s + i, <size_t>run)
        o += run
        i += run
        if i == end:
            break
        if i + 3 > end:
            return -1
        hi = _hex(s[i + 1])
        lo = _hex(s[i + 2])
        if hi < 0 or lo < 0:
            return -1
        if hi >= 8:
            return -2
        out[o] = <uint8_t>(hi * 16 + lo)
        o += 1
        i += 3
    return o


cdef object _decoded(str header, int kind, const void *data, Py_ssize_t start, Py_ssize_t end):
    # The default decoder: decodeURIComponent only when there is a "%"; raw on failure.
    cdef Py_UCS4 stack[256]
    cdef Py_UCS4 *out = stack
    cdef uint8_t *out8 = <uint8_t *>stack
    cdef Py_ssize_t n
    if _find(kind, data, 0x25, start, end) < 0:
        return PyUnicode_Substring(header, start, end)
    if end - start > 256:
        out = <Py_UCS4 *>PyMem_Malloc((end - start) * sizeof(Py_UCS4))
        if out == NULL:
            raise MemoryError()
        out8 = <uint8_t *>out
    try:
        n = -2
        if PyUnicode_IS_ASCII(header):
            n = _ascii_decode_into(<const uint8_t *>data, start, end, out8)
            if n >= 0:
                result = PyUnicode_New(n, 127)
                memcpy(PyUnicode_1BYTE_DATA(result), out8, <size_t>n)
                return result
        if n == -2:
            n = _uri_decode_into(kind, data, start, end, out)
        if n < 0:
            return PyUnicode_Substring(header, start, end)
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, n)
    finally:
        if out != stack:
            PyMem_Free(out)


cdef inline bint _same(int kind, const void *data, Py_ssize_t start, Py_ssize_t end, str name):
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(name)
    cdef int nkind
    cdef const void *ndata
    cdef Py_ssize_t i
    if end - start != n:
        return False
    nkind = PyUnicode_KIND(name)
    ndata = PyUnicode_DATA(name)
    for i in range(n):
        if _at(kind, data, start + i) != _at(nkind, ndata, i):
            return False
    return True


cdef object _pairs(str header, str name):
    # The indexOf scan of cookie 0.7.2. With name None, every pair into a dict
    # (first wins); otherwise the value of the first pair called name, or None.
    cdef Py_ssize_t size = PyUnicode_GET_LENGTH(header)
    cdef int kind = PyUnicode_KIND(header)
    cdef const void *data = PyUnicode_DATA(header)
    cdef Py_ssize_t pos = 0, eq, end, ks, ke, vs, ve
    cdef dict found = {} if name is None else None
    cdef object key = None
    if size < 2:
        return found
    while pos < size:
        eq = _find(kind, data, 0x3D, pos, size)
        if eq < 0:
            break
        end = _find(kind, data, 0x3B, pos, size)
        if end < 0:
            end = size
        elif eq > end:
            # A segment without "=": restart after the last ";" before this "=".
            pos = _rfind(kind, data, 0x3B, pos, eq) + 1
            continue
        ks = pos
        while ks < eq and _is_ws(_at(kind, data, ks)):
            ks += 1
        ke = eq
        while ke > ks and _is_ws(_at(kind, data, ke - 1)):
            ke -= 1
        pos = end + 1
        # JS assigns into a plain object, where "__proto__" is the prototype setter.
        if _same(kind, data, ks, ke, "__proto__"):
            continue
        if found is None:
            if not _same(kind, data, ks, ke, name):
                continue
        else:
            key = PyUnicode_Substring(header, ks, ke)
        vs = eq + 1
        while vs < end and _is_ws(_at(kind, data, vs)):
            vs += 1
        ve = end
        while ve > vs and _is_ws(_at(kind, data, ve - 1)):
            ve -= 1
        if ve > vs and _at(kind, data, vs) == 0x22 and _at(kind, data, ve - 1) == 0x22:
            if ve - vs == 1:
                vs = ve
            else:
                vs += 1
                ve -= 1
        if found is None:
            return _decoded(header, kind, data, vs, ve)
        # First wins: setdefault keeps an earlier value (one hash lookup, not two).
        PyDict_SetDefault(found, key, _decoded(header, kind, data, vs, ve))
    return found


def parse(header: str) -> dict[str, str]:
    """Every cookie in a Cookie header, as cookie 0.7.2 ``parse`` gives them."""
    if not isinstance(header, str):
        raise TypeError("argument str must be a string")
    return _pairs(<str>header, None)


def lookup(header: str, name: str) -> str | None:
    """``parse(header).get(name)``, stopping at the first cookie called ``name``."""
    if not isinstance(header, str):
        raise TypeError("argument str must be a string")
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    return _pairs(<str>header, <str>name)


# ---- serialize ---------------------------------------------------------------

cdef Py_ssize_t _encoded_length(object value) except -1:
    # Length of encodeURIComponent(value); ValueError (JS URIError) on a surrogate.
    cdef str text
    cdef Py_ssize_t n, i, size = 0
    cdef int kind
    cdef const void *data
    cdef uint32_t c
    if not isinstance(value, str):
        raise TypeError("value must be a string")
    text = <str>value
    n = PyUnicode_GET_LENGTH(text)
    kind = PyUnicode_KIND(text)
    data = PyUnicode_DATA(text)
    if PyUnicode_IS_ASCII(text):
        for i in range(n):
            size += _URI_LEN[(<const uint8_t *>data)[i]]
        return size
    for i in range(n):
        c = _at(kind, data, i)
        if c < 0x80:
            size += _URI_LEN[c]
        elif c < 0x800:
            size += 6
        elif 0xD800 <= c <= 0xDFFF:
            raise ValueError("URI malformed")
        elif c < 0x10000:
            size += 9
        else:
            size += 12
    return size


cdef inline Py_UCS1 *_put_escape(Py_UCS1 *p, uint32_t byte) noexcept nogil:
    p[0] = 0x25
    p[1] = <Py_UCS1>_HEXDIGITS[byte >> 4]
    p[2] = <Py_UCS1>_HEXDIGITS[byte & 15]
    return p + 3


cdef Py_UCS1 *_encode_into(str text, Py_UCS1 *p) noexcept:
    # Writes encodeURIComponent(text); _encoded_length has vetted it.
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i
    cdef int kind = PyUnicode_KIND(text)
    cdef const void *data = PyUnicode_DATA(text)
    cdef uint32_t c
    if PyUnicode_IS_ASCII(text):
        for i in range(n):
            c = (<const uint8_t *>data)[i]
            if _URI_LEN[c] == 1:
                p[0] = <Py_UCS1>c
                p += 1
            else:
                p = _put_escape(p, c)
        return p
    for i in range(n):
        c = _at(kind, data, i)
        if c < 0x80:
            if _URI_LEN[c] == 1:
                p[0] = <Py_UCS1>c
                p += 1
            else:
                p = _put_escape(p, c)
        elif c < 0x800:
            p = _put_escape(p, 0xC0 | (c >> 6))
            p = _put_escape(p, 0x80 | (c & 0x3F))
        elif c < 0x10000:
            p = _put_escape(p, 0xE0 | (c >> 12))
            p = _put_escape(p, 0x80 | ((c >> 6) & 0x3F))
            p = _put_escape(p, 0x80 | (c & 0x3F))
        else:
            p = _put_escape(p, 0xF0 | (c >> 18))
            p = _put_escape(p, 0x80 | ((c >> 12) & 0x3F))
            p = _put_escape(p, 0x80 | ((c >> 6) & 0x3F))
            p = _put_escape(p, 0x80 | (c & 0x3F))
    return p


def encode(value: str) -> str:
    """JS ``encodeURIComponent``: ValueError (JS URIError) on a surrogate."""
    cdef Py_ssize_t size = _encoded_length(value)
    if size == PyUnicode_GET_LENGTH(value):
        return value
    result = PyUnicode_New(size, 127)
    _encode_into(<str>value, PyUnicode_1BYTE_DATA(result))
    return result


cdef bytes _name_head(object name):
    # "name=" for a valid cookie name (one or more token characters).
    cdef Py_ssize_t n, i
    cdef uint32_t c
    if not isinstance(name, str):
        raise TypeError("argument name is invalid")
    n = PyUnicode_GET_LENGTH(name)
    if n == 0:
        raise ValueError("argument name is invalid")
    for i in range(n):
        c = _at(PyUnicode_KIND(name), PyUnicode_DATA(name), i)
        if c >= 0x80 or not _TOKEN[c]:
            raise ValueError("argument name is invalid")
    return (<str>name).encode("ascii") + b"="


cdef str _opt_str(object value, str option):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"option {option} is invalid")
    return <str>value


cdef bytes _domain_attr(object domain):
    cdef str text = _opt_str(domain, "domain")
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, label = 0
    cdef uint32_t c, prev = 0
    if n == 0:
        return b""
    i = 1 if _at(PyUnicode_KIND(text), PyUnicode_DATA(text), 0) == 0x2E else 0
    while i < n:
        c = _at(PyUnicode_KIND(text), PyUnicode_DATA(text), i)
        if c == 0x2E:
            if label == 0 or prev == 0x2D:
                raise ValueError("option domain is invalid")
            label = 0
        elif c < 0x80 and _LABEL[c]:
            label += 1
            if (label == 1 and c == 0x2D) or label > 63:
                raise ValueError("option domain is invalid")
        else:
            raise ValueError("option domain is invalid")
        prev = c
        i += 1
    if label == 0 or prev == 0x2D:
        raise ValueError("option domain is invalid")
    return b"; Domain=" + text.encode("ascii")


cdef bytes _path_attr(object path):
    cdef str text = _opt_str(path, "path")
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i
    cdef uint32_t c
    if n == 0:
        return b""
    for i in range(n):
        c = _at(PyUnicode_KIND(text), PyUnicode_DATA(text), i)
        if c < 0x20 or c > 0x7E or c == 0x3B or c == 0x3C:
            raise ValueError("option path is invalid")
    return b"; Path=" + text.encode("ascii")


cdef bytes _flags(object http_only, object secure, object partitioned):
    return ((b"; HttpOnly" if http_only else b"")
            + (b"; Secure" if secure else b"")
            + (b"; Partitioned" if partitioned else b""))


cdef bytes _priority_attr(object priority):
    cdef str text = _opt_str(priority, "priority")
    if not text:
        return b""
    if text == "low":
        return b"; Priority=Low"
    if text == "medium":
        return b"; Priority=Medium"
    if text == "high":
        return b"; Priority=High"
    raise ValueError("option priority is invalid")


cdef bytes _same_site_attr(object same_site):
    cdef str text = _opt_str(same_site, "sameSite")
    if not text:
        return b""
    if text == "strict":
        return b"; SameSite=Strict"
    if text == "lax":
        return b"; SameSite=Lax"
    if text == "none":
        return b"; SameSite=None"
    raise ValueError("option sameSite is invalid")


cdef int64_t _expires_second(object expires) except? -1:
    cdef double seconds
    if not isinstance(expires, (int, float)):
        raise TypeError("option expires is invalid")
    seconds = float(expires)
    if not (-_MAX_DATE <= seconds <= _MAX_DATE):  # NaN fails too
        raise ValueError("option expires is invalid")
    return <int64_t>floor(seconds)


cdef inline char *_put2(char *p, int64_t v) noexcept nogil:
    p[0] = <char>(48 + v // 10)
    p[1] = <char>(48 + v % 10)
    return p + 2


cdef Py_ssize_t _format_expires(int64_t second, char *out) noexcept nogil:
    # "; Expires=" + Date.prototype.toUTCString() of a whole second; at most 42 bytes.
    # Cython keeps Python's floor semantics for // and % on C integers (cdivision off).
    cdef int64_t days = second // 86400
    cdef int64_t rem = second - days * 86400
    cdef int64_t z = days + 719468  # days to civil date (H. Hinnant), any year
    cdef int64_t era = z // 146097
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    cdef int64_t day = doy - (153 * mp + 2) // 5 + 1
    cdef int64_t month = mp + 3 if mp < 10 else mp - 9
    cdef int64_t year = yoe + era * 400 + (1 if month <= 2 else 0)
    cdef int64_t weekday = days % 7
    cdef char digits[12]
    cdef int nd = 0
    cdef char *p = out
    memcpy(p, b"; Expires=", 10)
    p += 10
    memcpy(p, _DAYS + 3 * weekday, 3)
    p[3] = 0x2C
    p[4] = 0x20
    p = _put2(p + 5, day)
    p[0] = 0x20
    memcpy(p + 1, _MONTHS + 3 * (month - 1), 3)
    p[4] = 0x20
    p += 5
    if year < 0:
        p[0] = 0x2D
        p += 1
        year = -year
    while year > 0 or nd < 4:
        digits[nd] = <char>(48 + year % 10)
        year //= 10
        nd += 1
    while nd > 0:
        nd -= 1
        p[0] = digits[nd]
        p += 1
    p[0] = 0x20
    p = _put2(p + 1, rem // 3600)
    p[0] = 0x3A
    p = _put2(p + 1, rem // 60 % 60)
    p[0] = 0x3A
    p = _put2(p + 1, rem % 60)
    memcpy(p, b" GMT", 4)
    return p + 4 - out


cdef str _assemble(bytes head, object value, Py_ssize_t encoded, bytes age, bytes middle,
                   const char *date, Py_ssize_t date_len, bytes tail):
    cdef Py_ssize_t total = (len(head) + encoded + len(age) + len(middle) + date_len
                             + len(tail))
    cdef object result = PyUnicode_New(total, 127)
    cdef Py_UCS1 *p = PyUnicode_1BYTE_DATA(result)
    memcpy(p, <const char *>head, len(head))
    p = _encode_into(<str>value, p + len(head))
    memcpy(p, <const char *>age, len(age))
    p += len(age)
    memcpy(p, <const char *>middle, len(middle))
    p += len(middle)
    memcpy(p, date, date_len)
    p += date_len
    memcpy(p, <const char *>tail, len(tail))
    return <str>result


def serialize(name: str, value: str, max_age: int | None, domain: str | None,
              path: str | None, expires: float | None, http_only: bool, secure: bool,
              partitioned: bool, priority: str | None, same_site: str | None) -> str:
    """cookie 0.7.2 ``serialize`` with the default encoder, checks in its order."""
    cdef char date[48]
    cdef Py_ssize_t date_len = 0
    cdef bytes head = _name_head(name)
    # encodeURIComponent only emits cookie-octets, so 0.7.2's value check cannot fail.
    cdef Py_ssize_t encoded = _encoded_length(value)
    cdef bytes age = b""
    cdef bytes middle
    if max_age is not None:
        age = b"; Max-Age=" + str(PyNumber_Index(max_age)).encode("ascii")
    middle = _domain_attr(domain) + _path_attr(path)
    if expires is not None:
        date_len = _format_expires(_expires_second(expires), date)
    tail = (_flags(http_only, secure, partitioned) + _priority_attr(priority)
            + _same_site_attr(same_site))
    return _assemble(head, value, encoded, age, middle, date, date_len, tail)


@cython.final
cdef class CookieTemplate:
    # The first docstring line is the __text_signature__ that inspect reads.
    """CookieTemplate(name, domain, path, http_only, secure, partitioned, priority, same_site)
--

A Set-Cookie line whose name and attributes are checked and joined once."""

    cdef bytes _head
    cdef bytes _middle
    cdef bytes _tail
    # The last Expires text and its second (the cache is empty while _date_len is 0).
    cdef int64_t _second
    cdef Py_ssize_t _date_len
    cdef char _date[48]

    def __cinit__(self, name, domain, path, http_only, secure, partitioned, priority,
                  same_site):
        self._head = _name_head(name)
        self._middle = _domain_attr(domain) + _path_attr(path)
        self._tail = (_flags(http_only, secure, partitioned) + _priority_attr(priority)
                      + _same_site_attr(same_site))
        self._date_len = 0

    cdef Py_ssize_t _date_text(self, int64_t second, char *out) noexcept:
        cdef Py_ssize_t n
        with cython.critical_section(self):
            if self._date_len == 0 or self._second != second:
                self._date_len = _format_expires(second, self._date)
                self._second = second
            n = self._date_len
            memcpy(out, self._date, n)
        return n

    def render(self, value: str, expires: float | None) -> str:
        """``serialize(name, value, None, domain, path, expires, ...)``."""
        cdef char date[48]
        cdef Py_ssize_t date_len = 0
        cdef Py_ssize_t encoded = _encoded_length(value)
        if expires is not None:
            date_len = self._date_text(_expires_second(expires), date)
        return _assemble(self._head, value, encoded, b"", self._middle, date, date_len,
                         self._tail)
