# Compiled twin of fastsession/_request_py.py (the spec; its docstring states the
# invariants): express's decisions, the commit, and the send / start_response
# wrappers, on LoadCore's state (_load.pxi). Same steps, same names, typed.

cdef frozenset _START = frozenset(
    {"http.response.start", "websocket.accept", "websocket.http.response.start"}
)


cdef class RequestCore(LoadCore):
    """RequestCore(engine, conn, options, respond)

    One request's session bookkeeping (express's cookieId, originalId, hashes):
    LoadCore's state and loading, and the decisions and commit at the response."""

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

    # -- lifetime option at the response (engine.lifecycle) ---------------------

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
