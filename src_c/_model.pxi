# Compiled twin of fastsession/_model_py.py (the spec; its docstring states the
# invariants): CookieCore and SessionCore as cdef classes, so the request kernel
# reads their fields in C. Public C API only; the fields are typed, so a value of
# the wrong type is a TypeError when set, never a crash.

cdef tuple _BEFORE_EXPIRES = ("partitioned", "priority")
cdef tuple _AFTER_EXPIRES = ("secure", "httpOnly", "domain", "path", "sameSite")
cdef Py_ssize_t _SHAPES_MAX = 1024
cdef dict _SHAPES = {}


cdef inline object _now_ms():
    return int(_clock_module.now() * 1000)


cdef class CookieShape:
    """CookieShape(before, after, key, plain)

    What a cookie's members give, prepared once per set of members."""

    cdef readonly bytes before
    cdef readonly bytes after
    cdef readonly tuple key
    cdef readonly bint plain

    def __init__(self, before, after, key, plain):
        self.before = before
        self.after = after
        self.key = key
        self.plain = plain


cpdef CookieShape shape_of(object fields):
    """The shape of a set of members (memoised: a pure function of them)."""
    cdef object memo_key = None
    cdef CookieShape shape = None
    cdef list parts
    try:
        # The pure twin's (*items, *types), built without generic unpacking.
        if type(fields) is dict:
            parts = list((<dict>fields).items())
            for value in (<dict>fields).values():
                parts.append(type(value))
            memo_key = tuple(parts)
        else:
            memo_key = (*fields.items(), *map(type, fields.values()))
        shape = _SHAPES.get(memo_key)
    except TypeError:  # an unhashable value read from a store
        memo_key = None
    if shape is None:
        before = b"".join([
            b',"' + k.encode() + b'":' + _dumps(fields[k]) for k in _BEFORE_EXPIRES if k in fields
        ])
        after = b"".join([
            b',"' + k.encode() + b'":' + _dumps(fields[k]) for k in _AFTER_EXPIRES if k in fields
        ])
        g = fields.get
        key = (g("domain"), g("path"), g("httpOnly"), g("secure"),
               g("partitioned"), g("priority"), g("sameSite"))
        plain = not (b"\\" in before or b"{" in before or b"[" in before
                     or b"\\" in after or b"{" in after or b"[" in after)
        shape = CookieShape(before + b',"expires":', after + b"}", key, plain)
        if memo_key is not None:
            if len(_SHAPES) >= _SHAPES_MAX:
                _SHAPES.clear()
            _SHAPES[memo_key] = shape
    return shape


cdef class CookieCore:
    """CookieCore()

    The session cookie's lifetime and stored members."""

    cdef public object expires_ms
    cdef public object original_ms
    cdef dict _fields
    cdef public CookieShape shape

    def __init__(self):
        self.expires_ms = None
        self.original_ms = None
        self._fields = {"httpOnly": True, "path": "/"}
        self.shape = None

    @property
    def fields(self):
        """The stored members other than the lifetime, under express's names."""
        return self._fields

    @fields.setter
    def fields(self, dict value not None):
        # A property, not a public dict field: that would take None.
        self._fields = value

    cpdef set_lifetime_ms(self, object ms):
        if ms is None:
            self.expires_ms = None
            self.original_ms = None
        else:
            now = _now_ms()
            expires = int(now + ms)
            self.expires_ms = expires
            self.original_ms = expires - now

    cpdef set_expires_ms(self, object ms):
        self.expires_ms = ms
        self.original_ms = None if ms is None else ms - _now_ms()

    cpdef reset_max_age(self):
        if self.original_ms is None:
            self.expires_ms = None
        else:
            self.set_lifetime_ms(self.original_ms)

    cpdef put(self, str field, object value):
        self._fields[field] = value
        self.shape = None

    cpdef CookieShape get_shape(self):
        if self.shape is None:
            self.shape = shape_of(self._fields)
        return self.shape

    cpdef bytes to_json(self):
        return _cookie_json(self, False)

    cpdef dict to_dict(self):
        cdef dict fields = self._fields
        cdef dict out = {"originalMaxAge": self.original_ms}
        for k in _BEFORE_EXPIRES:
            if k in fields:
                out[k] = fields[k]
        out["expires"] = None if self.expires_ms is None else _format_iso(self.expires_ms)
        for k in _AFTER_EXPIRES:
            if k in fields:
                out[k] = fields[k]
        return out


cdef bytes _cookie_json(CookieCore cookie, bint as_record, Py_ssize_t *end=NULL):
    """CookieCore.to_json's bytes (``as_record``: inside ``{"cookie":...}``, as
    MemoryCore.touch hands them over), written into one bytes object.

    ``end``, if given, is set to cookie_end() of the record when that is sure
    without the scan, else -2: a plain shape (no backslash, brace or bracket,
    so no quote inside a string either) around digits, null and an ISO date
    ends at the record's last byte but one."""
    cdef CookieShape shape = cookie.get_shape()
    cdef Py_ssize_t head = 10 if as_record else 0
    cdef Py_ssize_t n_original = 4, n_expires = 4, n
    cdef const char *original = b"null"
    cdef const char *expires = b"null"
    cdef char *w
    cdef object original_text = None, expires_text = None
    if shape.before is None or shape.after is None:
        raise TypeError("a CookieShape's before and after must be bytes")
    if cookie.original_ms is not None:
        original_text = str(cookie.original_ms)
        original = _utf8(original_text, &n_original)
    if cookie.expires_ms is not None:
        expires_text = _format_iso(cookie.expires_ms)
        expires = _utf8(expires_text, &n_expires)
    n = (head + 18 + n_original + len(shape.before) + n_expires
         + (2 if expires_text is not None else 0) + len(shape.after) + as_record)
    out = PyBytes_FromStringAndSize(NULL, n)
    w = PyBytes_AS_STRING(out)
    if as_record:
        memcpy(w, b'{"cookie":', 10)
        w += 10
    memcpy(w, b'{"originalMaxAge":', 18)
    w += 18
    memcpy(w, original, n_original)
    w += n_original
    memcpy(w, <const char *>shape.before, len(shape.before))
    w += len(shape.before)
    if expires_text is not None:
        w[0] = b'"'
        w += 1
    memcpy(w, expires, n_expires)
    w += n_expires
    if expires_text is not None:
        w[0] = b'"'
        w += 1
    memcpy(w, <const char *>shape.after, len(shape.after))
    w += len(shape.after)
    if as_record:
        w[0] = b'}'
    if end != NULL:
        end[0] = -2
        if as_record and shape.plain and (
            cookie.original_ms is None or type(cookie.original_ms) is int
        ):
            end[0] = n - 1
    return out


def cookie_from_fields(cls, dict fields not None):
    """The cookie of a stored record's cookie object; takes ``fields`` over."""
    return _cookie_from_fields(cls, fields)


cdef CookieCore _cookie_from_fields(object cls, dict fields):
    if not isinstance(cls, type) or not issubclass(cls, CookieCore):
        raise TypeError(f"{cls!r} is not a CookieCore subclass")
    cdef CookieCore cookie = _new(cls)
    expires = fields.pop("expires", None)
    cookie.expires_ms = _parse_iso(expires) if isinstance(expires, str) else None
    original = fields.pop("originalMaxAge", None)
    if isinstance(original, (int, float)) and not isinstance(original, bool):
        cookie.original_ms = int(original)
    else:
        cookie.original_ms = None
    cookie._fields = fields
    cookie.shape = None
    return cookie


cdef class SessionCore(dict):
    """The session's data, with its id, cookie and stored JSON."""

    cdef public str _id
    cdef public object cookie
    cdef public object state
    cdef public bytes encoded

    @property
    def id(self):
        """The session id (read-only; ``regenerate()`` gives a new one)."""
        return self._id

    cpdef bind(self, str sid, object cookie, object data, object state):
        if PyDict_Size(self):
            PyDict_Clear(self)
        if type(data) is dict:
            PyDict_Update(self, data)  # without dict.update's lookup by name
        else:
            dict.update(self, data)
        self._id = sid
        self.cookie = cookie
        self.state = state
        self.encoded = None

    cpdef touch(self):
        self.cookie.reset_max_age()
        return self

    cpdef bytes encode(self):
        if self.encoded is not None:
            return self.encoded
        if PyDict_Contains(self, "cookie"):
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        flat = _flat_json(self)
        if flat is not None:
            return flat
        try:
            return _orjson_dumps(self, None, _ORJSON_OPTS)
        except Exception:
            return _encode_data(self)  # raises, naming the key

    cpdef bytes to_json(self):
        cookie = self.cookie
        if isinstance(cookie, CookieCore):
            return _join((<CookieCore>cookie).to_json(), self.encode())
        return _join(cookie.to_json(), self.encode())

    cpdef dict to_record(self):
        if "cookie" in self:
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        return {"cookie": self.cookie.to_dict(), **self}
