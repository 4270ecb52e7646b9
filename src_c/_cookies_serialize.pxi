# Compiled twin of fastsession/_cookies_py.py's serialize side: encode, _check_name,
# the attribute checks, _expires_second, serialize and CookieTemplate (npm cookie
# 0.7.2). Included by _cookies_c.pyx; the Expires date comes from _dates.pxi.
#
# Everything serialize and CookieTemplate.render emit is ASCII (token name,
# encodeURIComponent output, checked attributes), so a result is one 1-byte string
# whose length is computed first and which is filled in place.

cdef uint8_t _URI_LEN[128]    # 1 if encodeURIComponent leaves it alone, else 3
cdef uint8_t _TOKEN[128]      # RFC 7230 token characters (cookie names)
cdef uint8_t _LABEL[128]      # letters, digits, "-" (domain labels)
cdef const char *_HEXDIGITS = b"0123456789ABCDEF"
cdef double _MAX_DATE = 8.64e12  # seconds either side of the epoch that a JS Date can hold

cdef int _i
for _i in range(128):
    _URI_LEN[_i] = 1 if chr(_i) in (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()") else 3
    _TOKEN[_i] = chr(_i) in (
        "!#$%&'*+-.^_`|~ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    _LABEL[_i] = chr(_i) in (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")



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


cdef enum:
    _EXPIRES_MAX = 10 + _HTTP_DATE_MAX  # "; Expires=" and the date


cdef inline Py_ssize_t _format_expires(int64_t second, char *out) noexcept nogil:
    # "; Expires=" + Date.prototype.toUTCString() of a whole second (_dates.pxi).
    memcpy(out, b"; Expires=", 10)
    return 10 + _http_date_into(second, out + 10)


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
    cdef char date[_EXPIRES_MAX]
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
    cdef char _date[_EXPIRES_MAX]

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
        cdef char date[_EXPIRES_MAX]
        cdef Py_ssize_t date_len = 0
        cdef Py_ssize_t encoded = _encoded_length(value)
        if expires is not None:
            date_len = self._date_text(_expires_second(expires), date)
        return _assemble(self._head, value, encoded, b"", self._middle, date, date_len,
                         self._tail)
