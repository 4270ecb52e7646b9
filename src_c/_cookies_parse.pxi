# Compiled twin of fastsession/_cookies_py.py's parse side: _decode, _pairs, parse,
# lookup (npm cookie 0.7.2). Included by _cookies_c.pyx.
#
# The scan runs the pure twin's indexOf loop over the PEP 393 buffer of the header
# (kind/data, no copies, no regex); only keys and values are built.

# ---- scanning helpers --------------------------------------------------------

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
