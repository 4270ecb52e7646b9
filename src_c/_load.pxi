# Compiled twin of fastsession/_load_py.py (the spec; its docstring states the
# invariants): one request's session state, and its session loaded or made.
# RequestCore (_request.pxi) extends LoadCore.

EMPTY_DATA = b"{}"


cdef bytes _EMPTY_DATA = EMPTY_DATA

cdef inline bint _is_number(object value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# The scope or environ is a dict (ASGI and WSGI say so); any other mapping
# is served through its methods, as in the pure twin.
cdef inline object _conn_get(object conn, object key):
    if type(conn) is dict:
        return (<dict>conn).get(key)
    return conn.get(key)


cdef inline object _conn_get_or(object conn, object key, object default):
    if type(conn) is dict:
        return (<dict>conn).get(key, default)
    return conn.get(key, default)


cdef inline object _conn_item(object conn, object key):
    if type(conn) is dict:
        return (<dict>conn)[key]
    return conn[key]


cdef inline int _conn_put(object conn, object key, object value) except -1:
    if type(conn) is dict:
        (<dict>conn)[key] = value
    else:
        conn[key] = value
    return 0


cdef class LoadCore:
    """LoadCore(engine, conn, options, respond)

    One request's session state, and its session loaded or made."""

    cdef readonly EngineCore engine
    cdef readonly object conn
    cdef readonly object options
    cdef readonly object respond
    cdef public object secure
    cdef public object cookie_id
    cdef public object original_id
    cdef public object loaded_id
    cdef public bytes original_data
    cdef public bytes saved_data
    cdef public bint touched
    cdef public bint destroyed
    cdef public bint started
    cdef public object committed_id
    cdef public bytes committed_data
    cdef public object last_touch
    cdef public bint quiet
    cdef public bint renew

    def __init__(self, engine, conn, options, respond):
        if engine is None:
            raise TypeError("engine must be an EngineCore, not None")
        self.engine = engine
        self.conn = conn
        self.options = options
        self.respond = respond
        self.secure = None
        self.cookie_id = None
        self.original_id = None
        self.loaded_id = None
        self.original_data = None
        self.saved_data = None
        self.touched = False
        self.destroyed = False
        self.started = False
        self.committed_id = None
        self.committed_data = None
        self.last_touch = None
        self.quiet = False
        self.renew = False

    cpdef bint is_secure(self) except -1:
        if self.secure is None:
            self.secure = bool(self.engine.secure_of(self.conn))
        return self.secure

    # -- loading ----------------------------------------------------------------

    cpdef SessionCore begin(self, object sid):
        self.cookie_id = sid
        if sid is None:
            return self.generate()
        try:
            record = self.engine.store.get(sid)
        except FileNotFoundError:
            record = None
        except Exception as exc:
            raise load_failed(exc) from exc
        if record is None:
            return self.generate()
        if self.engine.lifecycle and self.outlived(record):
            debug("session %s outlived absolute_timeout: destroyed", sid)
            try:
                self.engine.store.destroy(sid)
            except Exception as exc:
                raise store_failed("destroy", exc) from exc
            return self.generate()
        return self.inflate(sid, record)

    async def abegin(self, sid):
        self.cookie_id = sid
        if sid is None:
            return self.generate()
        try:
            record = await self.engine.aget(sid)
        except FileNotFoundError:
            record = None
        except Exception as exc:
            raise load_failed(exc) from exc
        if record is None:
            return self.generate()
        if self.engine.lifecycle and self.outlived(record):
            debug("session %s outlived absolute_timeout: destroyed", sid)
            try:
                await self.engine.adestroy(sid)
            except Exception as exc:
                raise store_failed("destroy", exc) from exc
            return self.generate()
        return self.inflate(sid, record)

    cpdef SessionCore inflate(self, str sid, object record):
        if type(record) is dict and type((<dict>record).get("cookie")) is dict:
            fields = dict(<dict>record["cookie"])
        else:
            fields = dict(check_record(record))
        if type(record) is dict:
            PyDict_DelItem(record, "cookie")
        else:
            del record["cookie"]
        cdef CookieCore cookie = _cookie_from_fields(self.engine.cookie_cls, fields)
        cookie.shape = self.engine.shape_for(fields)
        session = self.attach(sid, cookie, record)
        self.loaded_id = sid
        data = session.encode()
        self.original_data = data
        if not self.engine.resave:
            self.saved_data = data
        if self.engine.lifecycle:
            self.loaded(session)
        return session

    cpdef SessionCore generate(self):
        cdef SessionCore session = self.attach(self.new_id(), self.engine.new_cookie(self), {})
        self.original_data = _EMPTY_DATA
        if self.engine.lifecycle and self.stamp(session, True):
            self.original_data = session.encode()
        return session

    cpdef str new_id(self):
        sid = self.engine.genid(self.conn)
        if not isinstance(sid, str) or not sid:
            raise SessionError(f"genid returned {sid!r}: a session id must be a non-empty str")
        return sid

    cpdef SessionCore attach(self, str sid, object cookie, object data):
        cdef EngineCore engine = self.engine
        cls = engine.session_cls
        cdef SessionCore session = _new(cls)
        session.bind(sid, cookie, data, self)  # a subclass may extend bind()
        _conn_put(self.conn, engine.id_key, sid)
        _conn_put(self.conn, engine.session_key, session)
        self.original_id = sid
        return session

    # -- lifetime options (engine.lifecycle) ---------------------------------------

    cpdef bint outlived(self, object record) except -1:
        cdef long long limit = self.engine.absolute_ms
        if limit < 0 or not isinstance(record, Mapping):
            return False
        created = record.get(_CREATED_KEY)
        return _is_number(created) and _now_ms() - created >= limit

    cpdef bint stamp(self, SessionCore session, bint fresh) except -1:
        if self.engine.absolute_ms < 0 or (
            not fresh and _is_number(session.get(_CREATED_KEY))
        ):
            return False
        session[_CREATED_KEY] = _now_ms()
        return True

    cpdef loaded(self, SessionCore session):
        cookie = session.cookie
        if self.engine.touch_after_ms >= 0:
            expires = cookie.expires_ms
            original = cookie.original_ms
            if expires is not None and original is not None:
                self.last_touch = expires - original
        self.stamp(session, False)
