# Compiled twin of fastsession/_request_py.py (the spec; its docstring states the
# invariants): one request's session, express's decisions, the commit, and the
# send / start_response wrappers. Same steps, same names, typed.

cdef frozenset _START = frozenset(
    {"http.response.start", "websocket.accept", "websocket.http.response.start"}
)
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


cdef class RequestCore:
    """RequestCore(engine, conn, options, respond)

    One request's session bookkeeping (express's cookieId, originalId, hashes)."""

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

    # -- express's decisions ------------------------------------------------------

    cpdef bint is_modified(self, SessionCore session, bytes data) except -1:
        return self.original_id != session._id or self.original_data != data

    cpdef bint is_saved(self, SessionCore session, bytes data) except -1:
        return self.original_id == session._id and self.saved_data == data

    cpdef bint should_save(self, SessionCore session, object sid, bytes data) except -1:
        if self.renew:
            return True
        if (
            not self.engine.save_uninitialized
            and self.saved_data is None
            and self.cookie_id != sid
        ):
            return self.is_modified(session, data)
        return not self.is_saved(session, data)

    cpdef bint should_touch(self, object sid) except -1:
        return self.engine.has_touch and self.cookie_id == sid and not self.quiet

    cpdef bint should_set_cookie(self, SessionCore session, object sid, bytes data) except -1:
        cdef EngineCore engine = self.engine
        if self.cookie_id != sid:
            return engine.save_uninitialized or self.is_modified(session, data)
        return engine.rolling or (
            session.cookie.expires_ms is not None and self.is_modified(session, data)
        )

    cpdef object should_destroy(self):
        cdef EngineCore engine = self.engine
        conn = self.conn
        sid = _conn_get(conn, engine.id_key)
        if not engine.unset_destroy or self.destroyed or _conn_get(conn, engine.session_key) is not None:
            return None
        return sid or None

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

    cpdef bint touch_skipped(self, SessionCore session, object sid) except -1:
        last = self.last_touch
        if last is None or self.cookie_id != sid:
            return False
        cdef bytes data = self.committed_data
        if self.is_modified(session, data) or self.should_save(session, sid, data):
            return False
        cookie = session.cookie
        expires = cookie.expires_ms
        original = cookie.original_ms
        if expires is None or original is None or expires - original != last:
            return False
        if _now_ms() - last < self.engine.touch_after_ms:
            return True
        self.renew = True
        return False

    # -- what a commit does ---------------------------------------------------------

    cpdef SessionCore to_commit(self, bint final):
        conn = self.conn
        session = _conn_get(conn, self.engine.session_key)
        if not isinstance(session, SessionCore) or not isinstance(
            _conn_get(conn, self.engine.id_key), str
        ):
            return None
        cdef SessionCore s = session
        data = s.encode()
        if final and self.committed_data == data and self.committed_id == s._id:
            return None
        self.committed_id = s._id
        self.committed_data = data
        return s

    cpdef bint cookie_due(self, SessionCore session) except -1:
        sid = _conn_item(self.conn, self.engine.id_key)
        cookie = session.cookie
        cdef bint set_cookie = self.should_set_cookie(session, sid, self.committed_data)
        if set_cookie and cookie.fields.get("secure") and not self.is_secure():
            debug("not secured: no Set-Cookie for %s", sid)
            set_cookie = False
        if not self.touched:
            if self.engine.lifecycle and self.touch_skipped(session, sid):
                self.quiet = True
                set_cookie = False
            else:
                session.touch()
            self.touched = True
        return set_cookie

    cpdef object header(self, SessionCore session):
        sid = _conn_item(self.conn, self.engine.id_key)
        debug("set-cookie for session %s", sid)
        return self.engine.set_cookie_line(sid, session.cookie)

    cpdef bint is_loaded(self, SessionCore session) except -1:
        return self.loaded_id is not None and self.loaded_id == session._id

    cpdef object commit(self, bint final):
        store = self.engine.store
        cdef SessionCore session = self.to_commit(final)
        if session is None:
            sid = self.should_destroy()
            if sid is not None:
                self.destroyed = True
                debug("destroying session %s (unset)", sid)
                try:
                    store.destroy(sid)
                except Exception as exc:
                    raise store_failed("destroy", exc) from exc
            return None
        cdef bint due = not final and self.cookie_due(session)
        sid = _conn_item(self.conn, self.engine.id_key)
        cdef bytes data = self.committed_data
        cdef bint loaded
        kept = True  # False: the store says the session is gone
        if self.should_save(session, sid, data):
            debug("saving session %s", session._id)
            session.encoded = data
            loaded = self.is_loaded(session)
            try:
                if loaded:
                    kept = store.replace(session._id, session)
                else:
                    store.set(session._id, session)
            except Exception as exc:
                raise store_failed("replace" if loaded else "set", exc) from exc
            finally:
                session.encoded = None
            if kept is not False:
                self.saved_data = data
        elif not final and self.should_touch(sid):
            debug("touching session %s", sid)
            session.encoded = data
            try:
                kept = store.touch(sid, session)
            except Exception as exc:
                raise store_failed("touch", exc) from exc
            finally:
                session.encoded = None
        if kept is False:
            gone(sid)
            return None
        return self.header(session) if due else None

    async def acommit(self, bint final):
        cdef EngineCore engine = self.engine
        cdef SessionCore session = self.to_commit(final)
        if session is None:
            sid = self.should_destroy()
            if sid is not None:
                self.destroyed = True
                debug("destroying session %s (unset)", sid)
                try:
                    await engine.adestroy(sid)
                except Exception as exc:
                    raise store_failed("destroy", exc) from exc
            return None
        cdef bint due = not final and self.cookie_due(session)
        sid = _conn_item(self.conn, engine.id_key)
        cdef bytes data = self.committed_data
        cdef bint loaded
        kept = True
        if self.should_save(session, sid, data):
            debug("saving session %s", session._id)
            session.encoded = data
            loaded = self.is_loaded(session)
            try:
                if loaded:
                    kept = await engine.areplace(session._id, session)
                else:
                    await engine.aset(session._id, session)
            except Exception as exc:
                raise store_failed("replace" if loaded else "set", exc) from exc
            finally:
                session.encoded = None
            if kept is not False:
                self.saved_data = data
        elif not final and self.should_touch(sid):
            debug("touching session %s", sid)
            session.encoded = data
            try:
                kept = await engine.atouch(sid, session)
            except Exception as exc:
                raise store_failed("touch", exc) from exc
            finally:
                session.encoded = None
        if kept is False:
            gone(sid)
            return None
        return self.header(session) if due else None

    # -- the wrappers the app is given ------------------------------------------------

    def asgi_send(self, message):
        # A message is a dict (ASGI says so); any other mapping through its methods.
        kind = _conn_item(message, "type")
        if kind in _START:
            self.started = True
            if not self.engine.inline:
                return self.send_after_commit(message, False)
            line = self.commit(False)
            if line is not None or self.engine.cache_headers:
                message = self.start_message(message, line)
        elif self.started and (
            (kind == "http.response.body" and not _conn_get_or(message, "more_body", False))
            or kind == "websocket.close"
        ):
            if not self.engine.inline:
                return self.send_after_commit(message, True)
            self.commit(True)
        return self.respond(message)

    async def send_after_commit(self, message, bint final):
        line = await self.acommit(final)
        if not final and (line is not None or self.engine.cache_headers):
            message = self.start_message(message, line)
        await self.respond(message)

    cpdef object start_message(self, object message, object line):
        cdef list headers = None
        if line is not None:
            message = with_set_cookie(message, line)  # a copy, its headers list its own
            headers = message["headers"]
        if self.engine.cache_headers and _conn_item(message, "type") != "websocket.accept":
            if headers is None:
                message = _copy(message)
                message["headers"] = headers = list(message.get("headers", ()))
            cache_safe(headers, _ASGI_WORDS)
        return message

    def start_response(self, status, headers, exc_info=None):
        if not self.started:
            self.started = True
            line = self.commit(False)
            if line is not None:
                headers = [*headers, ("Set-Cookie", line)]
            if self.engine.cache_headers:
                headers = cache_safe(list(headers), _WSGI_WORDS)
        return self.respond(status, headers, exc_info)


def new_request(EngineCore engine not None, conn, options, respond):
    """RequestCore(engine, conn, options, respond), without the type call."""
    cdef RequestCore request = _new(RequestCore)
    # tp_new left the other fields None and False, as __init__ sets them.
    request.engine = engine
    request.conn = conn
    request.options = options
    request.respond = respond
    return request


cpdef release(object conn, str key):
    """Unbind the request's session from its request once the request is over."""
    session = _conn_get(conn, key) if conn is not None else None
    if isinstance(session, SessionCore):
        (<SessionCore>session).state = None
