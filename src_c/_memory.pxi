# Compiled twin of fastsession/_memory_py.py (the spec; its docstring states the
# invariants): MemoryStore's data path, records as JSON bytes in the LRU.

cdef bytes _HEAD = b'{"cookie":{'
cdef bytes _COOKIE_MEMBER = b'"cookie":'
cdef bytes _RECORD_START = b'{"cookie":'
cdef bytes _EXPIRES = b'"expires":'
cdef Py_ssize_t _HEAD_LEN = 11
cdef long long _MIN_MS = -62_135_596_800_000
cdef long long _MAX_MS = 253_402_300_799_999


cdef class MemoryCore:
    """MemoryCore(lru, lock, ttl, clock)

    Records as JSON bytes in an LRU with a deadline each (clock seconds)."""

    cdef object _lru
    # The LRU's methods, bound when it is set: called without a lookup by name.
    cdef object _lru_get, _lru_peek, _lru_set, _lru_swap
    cdef public object lock
    cdef public double ttl
    cdef public object clock
    cdef public tuple layout

    def __init__(self, lru, lock, ttl, clock):
        self.lru = lru
        self.lock = lock
        self.ttl = ttl
        self.clock = clock
        self.layout = None

    @property
    def lru(self):
        return self._lru

    @lru.setter
    def lru(self, lru):
        self._lru_get, self._lru_peek = lru.get, lru.peek
        self._lru_set, self._lru_swap = lru.set, lru.swap
        self._lru = lru

    def get(self, sid):
        raw = self._lru_get(sid)
        if raw is None:
            return None
        layout = self.layout
        if layout is not None:
            record = read_in_layout(raw, layout)
            if record is not None:
                return record
        record = parse_record(raw)
        self.layout = layout_of(raw, record)
        return record

    def set(self, sid, session):
        value = session.to_json()
        self._lru_set(sid, value, self.deadline(session))

    def replace(self, sid, session):
        value = session.to_json()
        deadline = self.deadline(session)
        while True:
            stored = self._lru_peek(sid)
            if stored is None:
                return False
            if self._lru_swap(sid, stored, value, deadline):
                return True

    def touch(self, sid, session):
        cdef Py_ssize_t fresh_end = -2  # not known: cookie_end finds it
        cookie = _cookie_of(session)
        if isinstance(cookie, CookieCore):
            # The cookie alone, as a record without data: the stored data is kept.
            fresh = _cookie_json(<CookieCore>cookie, True, &fresh_end)
        else:
            fresh = session.to_json()
        deadline = self.deadline(session)
        while True:
            stored = self._lru_peek(sid)
            if stored is None:
                return False
            if self._lru_swap(sid, stored, _with_cookie(stored, fresh, fresh_end), deadline):
                return True

    cpdef double deadline(self, object session) except? -1.0:
        cookie = _cookie_of(session)
        if isinstance(cookie, CookieCore):
            ms = (<CookieCore>cookie).expires_ms
            if ms is None:
                return (_clock_now() if self.clock is None else self.clock()) + self.ttl
        else:
            ms = getattr(cookie, "expires_ms", None)
        if ms is not None and _MIN_MS <= ms <= _MAX_MS:
            return ms / 1000
        expires = None if ms is None and isinstance(cookie, CookieCore) else cookie.expires
        if expires is None:
            return (_clock_module.now() if self.clock is None else self.clock()) + self.ttl
        return expires.timestamp()


cdef inline object _cookie_of(object session):
    if isinstance(session, SessionCore):
        return (<SessionCore>session).cookie
    return session.cookie


cdef object _clock_now():
    # fastsession._clock.now() as the pure twin calls it (looked up at each call,
    # so tests can freeze it), read from the module's namespace.
    cdef PyObject *now = PyDict_GetItemWithError(_clock_namespace, "now")
    if now == NULL:
        return _clock_module.now()  # raises the AttributeError
    return (<object>now)()


cpdef dict parse_record(object raw):
    """Stored bytes -> the record; anything but a record is CorruptSessionError."""
    try:
        record = _loads(raw)
    except ValueError as exc:
        raise CorruptSessionError(f"stored session is not JSON: {exc}") from exc
    if type(record) is not dict or type((<dict>record).get("cookie")) is not dict:
        check_record(record)  # raises, saying what is wrong
    return record


cpdef tuple layout_of(bytes raw, dict record):
    """The layout of a parsed record's cookie, or None when the bytes cannot tell."""
    if raw is None:
        raise TypeError("layout_of() needs bytes, not None")
    cdef Py_ssize_t end = cookie_end(raw)
    cdef Py_ssize_t found = raw.find(_EXPIRES, 0, end) if end != -1 else -1
    if found == -1:
        return None
    cdef Py_ssize_t at = found + 10
    cdef Py_ssize_t stop = _expires_stop(raw, at)
    if stop == -1 or _EXPIRES in raw[stop:end]:
        return None
    layout = (raw[:at], raw[stop:end], dict(record["cookie"]))
    # Kept only if it reads this very record as orjson did.
    return layout if read_in_layout(raw, layout) == record else None


cpdef dict read_in_layout(bytes raw, tuple layout):
    """The record raw holds if its cookie has the layout; None if not (or unsure)."""
    if raw is None or layout is None:
        raise TypeError("read_in_layout() needs bytes and a layout, not None")
    head, tail, fields = layout
    cdef bytes h = head
    cdef bytes t = tail
    cdef dict f = fields
    if h is None or t is None or f is None:
        raise TypeError("a layout is (bytes, bytes, dict)")
    cdef const char *p = raw
    cdef Py_ssize_t n = len(raw)
    cdef Py_ssize_t at = len(h)
    cdef Py_ssize_t nt = len(t)
    if n < at or memcmp(p, <const char *>h, at) != 0:
        return None
    cdef Py_ssize_t stop = _expires_stop(raw, at)
    if stop == -1 or n - stop < nt or memcmp(p + stop, <const char *>t, nt) != 0:
        return None
    if stop == at + 4:
        expires = None
    else:
        try:
            expires = raw[at + 1:stop - 1].decode()
        except UnicodeDecodeError:
            return None
    cdef Py_ssize_t rest = stop + nt
    cdef dict data
    if not (n - rest == 1 and p[rest] == b'}') and not (n - rest > 0 and p[rest] == b','):
        return None
    cdef dict cookie = f.copy()
    cookie["expires"] = expires
    cdef dict record = {"cookie": cookie}
    if p[rest] == b'}':
        return record
    # Compact flat data straight into the record (p[rest] stands for the '{').
    if _flat_loads(p + rest, n - rest, record):
        # Empty (a trailing comma) or a second cookie member: the whole record says.
        if len(record) == 1 or <object>PyDict_GetItemWithError(record, "cookie") is not cookie:
            return None
        return record
    body = PyBytes_FromStringAndSize(NULL, n - rest)
    (<char *>PyBytes_AS_STRING(body))[0] = b'{'
    memcpy(<char *>PyBytes_AS_STRING(body) + 1, p + rest + 1, n - rest - 1)
    try:
        parsed = _loads(body)
    except ValueError:
        return None
    if type(parsed) is not dict or not parsed or "cookie" in <dict>parsed:
        return None
    record = {"cookie": cookie}
    PyDict_Update(record, parsed)
    return record


cdef Py_ssize_t _expires_stop(bytes raw, Py_ssize_t at) except -2:
    """Where the expires value at ``at`` ends: null, or a string with no escape
    or control character; -1 otherwise."""
    cdef const char *p = raw
    cdef Py_ssize_t n = len(raw)
    cdef Py_ssize_t i
    cdef unsigned char c
    if n - at >= 4 and memcmp(p + at, b"null", 4) == 0:
        return at + 4
    if at >= n or p[at] != b'"':
        return -1
    for i in range(at + 1, n):
        c = <unsigned char>p[i]
        if c == b'"':
            return i + 1
        if c < 0x20 or c == b'\\':
            return -1
    return -1


cpdef bytes with_cookie(bytes stored, bytes fresh):
    """The stored record with the cookie of record ``fresh``, the data kept."""
    return _with_cookie(stored, fresh, -2)


cdef bytes _with_cookie(bytes stored, bytes fresh, Py_ssize_t fresh_end):
    # fresh_end: cookie_end(fresh), or -2 for not known yet.
    if stored is None:
        raise TypeError("cookie_end() needs bytes, not None")
    if fresh_end == -2:
        fresh_end = cookie_end(fresh)
    if (fresh_end != -1 and len(stored) >= fresh_end
            and memcmp(<const char *>stored, <const char *>fresh, fresh_end) == 0):
        # The same bytes up to the cookie's end: cookie_end(stored) would find
        # the same end, unless a second cookie member follows.
        if not _contains(<const char *>stored + fresh_end - 1, len(stored) - fresh_end + 1,
                         <const char *>_COOKIE_MEMBER, 9):
            return stored  # the same cookie: the stored bytes kept, not copied
    cdef Py_ssize_t end = cookie_end(stored)
    if end != -1 and fresh_end != -1:
        if end == fresh_end and memcmp(<const char *>stored, <const char *>fresh, end) == 0:
            return stored  # the same cookie: the stored bytes kept, not copied
        return fresh[:fresh_end] + stored[end:]
    record = parse_record(stored)
    record["cookie"] = _loads(fresh)["cookie"]
    return _dumps(record)


cdef bint _contains(const char *p, Py_ssize_t n, const char *needle,
                    Py_ssize_t m) noexcept nogil:
    """Whether needle[:m] occurs in p[:n] (memmem is not on every platform)."""
    cdef const char *end = p + n - m
    cdef const char *at
    while p <= end:
        at = <const char *>memchr(p, needle[0], end - p + 1)
        if at == NULL:
            return False
        if memcmp(at, needle, m) == 0:
            return True
        p = at + 1
    return False


# The bytes cookie_end stops at: everything else is skipped with one lookup.
cdef unsigned char _COOKIE_END_STOPS[256]
memset(_COOKIE_END_STOPS, 0, 256)
_COOKIE_END_STOPS[<unsigned char>b'\\'] = 1
_COOKIE_END_STOPS[<unsigned char>b'{'] = 1
_COOKIE_END_STOPS[<unsigned char>b'['] = 1
_COOKIE_END_STOPS[<unsigned char>b'"'] = 1
_COOKIE_END_STOPS[<unsigned char>b'}'] = 1


cpdef Py_ssize_t cookie_end(bytes doc) except -2:
    """Where the leading cookie object of record JSON ends, or -1 if unsure."""
    if doc is None:
        raise TypeError("cookie_end() needs bytes, not None")
    cdef const char *p = doc
    cdef Py_ssize_t n = len(doc)
    if n < _HEAD_LEN or memcmp(p, <const char *>_HEAD, _HEAD_LEN) != 0:
        return -1
    cdef Py_ssize_t i
    cdef bint inside = False  # an odd number of quotes so far
    cdef unsigned char c
    for i in range(_HEAD_LEN, n):
        c = <unsigned char>p[i]
        if not _COOKIE_END_STOPS[c]:
            continue
        if c == b'\\' or c == b'{' or c == b'[':
            return -1
        if c == b'"':
            inside = not inside
        elif not inside:  # a '}' after an even number of quotes
            # Unsure if a second "cookie" member follows: JSON reads the last one.
            if _contains(p + i, n - i, <const char *>_COOKIE_MEMBER, 9):
                return -1
            return i + 1
    return -1
