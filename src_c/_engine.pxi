# Compiled twin of fastsession/_engine_py.py (the spec): one middleware's
# constants as the request kernel reads them, and the stored cookies' shape.

cdef object _MISSING = object()
CREATED_KEY = "_created"
cdef str _CREATED_KEY = CREATED_KEY


cdef bint _same_members(dict a, dict b) except -1:
    """The same members with values of the same types: the same shape."""
    if len(a) != len(b):
        return False
    for key, value in a.items():
        other = b.get(key, _MISSING)
        if type(other) is not type(value) or other != value:
            return False
    return True

cdef class EngineCore:
    """EngineCore(*, sids, session_key, id_key, session_cls, cookie_cls, genid, new_cookie, set_cookie_line, secure_of, resave, rolling, save_uninitialized, unset_destroy, store, has_touch, inline, aget, aset, areplace, atouch, adestroy, touch_after_ms=-1, absolute_ms=-1, cache_headers=False)

    One middleware's constants, as the request kernel reads them."""

    cdef readonly SidReader sids
    cdef readonly str session_key
    cdef readonly str id_key
    # Classes (a metaclass such as ABCMeta is fine), checked in __init__.
    cdef readonly object session_cls
    cdef readonly object cookie_cls
    cdef readonly object genid
    cdef readonly object new_cookie
    cdef readonly object set_cookie_line
    cdef readonly object secure_of
    cdef readonly bint resave
    cdef readonly bint rolling
    cdef readonly bint save_uninitialized
    cdef readonly bint unset_destroy
    cdef readonly object store
    cdef readonly bint has_touch
    cdef readonly bint inline
    cdef readonly object aget
    cdef readonly object aset
    cdef readonly object areplace
    cdef readonly object atouch
    cdef readonly object adestroy
    cdef readonly long long touch_after_ms
    cdef readonly long long absolute_ms
    cdef readonly bint cache_headers
    cdef readonly bint lifecycle
    cdef public tuple last_shape

    def __init__(self, *, sids, session_key, id_key, session_cls, cookie_cls, genid,
                 new_cookie, set_cookie_line, secure_of, resave, rolling,
                 save_uninitialized, unset_destroy, store, has_touch, inline,
                 aget, aset, areplace, atouch, adestroy, touch_after_ms=-1, absolute_ms=-1,
                 cache_headers=False):
        if sids is None or session_key is None or id_key is None:
            raise TypeError("sids, session_key and id_key are required")
        if not issubclass(session_cls, SessionCore):
            raise TypeError("session_cls must be a SessionCore subclass")
        if not issubclass(cookie_cls, CookieCore):
            raise TypeError("cookie_cls must be a CookieCore subclass")
        self.sids = sids
        self.session_key = session_key
        self.id_key = id_key
        self.session_cls = session_cls
        self.cookie_cls = cookie_cls
        self.genid = genid
        self.new_cookie = new_cookie
        self.set_cookie_line = set_cookie_line
        self.secure_of = secure_of
        self.resave = resave
        self.rolling = rolling
        self.save_uninitialized = save_uninitialized
        self.unset_destroy = unset_destroy
        self.store = store
        self.has_touch = has_touch
        self.inline = inline
        self.aget = aget
        self.aset = aset
        self.areplace = areplace
        self.atouch = atouch
        self.adestroy = adestroy
        self.touch_after_ms = int(touch_after_ms)
        self.absolute_ms = int(absolute_ms)
        self.lifecycle = self.touch_after_ms >= 0 or self.absolute_ms >= 0
        self.cache_headers = bool(cache_headers)
        self.last_shape = None

    cpdef CookieShape shape_for(self, dict fields):
        """``shape_of(fields)``, the last one reused while the members are the same."""
        last = self.last_shape
        if last is not None and _same_members(<dict>last[0], fields):
            return <CookieShape>last[1]
        shape = shape_of(fields)
        self.last_shape = (dict(fields), shape)
        return shape
