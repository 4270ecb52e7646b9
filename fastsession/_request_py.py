"""Pure-Python request kernel, its second half: the spec of src_c/_request.pxi.

`RequestCore` extends `LoadCore` (``_load_py.py``: the state, and the session
loaded or made) with what happens at the response: decide what express-session
decides about Set-Cookie and the store (its section 5: ``shouldSetCookie``,
``shouldSave``, ``shouldTouch``, ``isModified``, ``isSaved``,
``shouldDestroy``), and do it at the response's start and before its last
message, through the one ``send`` (ASGI) or ``start_response`` (WSGI) wrapper
the app is given.

Invariants:

* ``committed_data`` is the data's JSON as of the last commit; equal bytes to
  ``original_data`` / ``saved_data`` mean unmodified / saved.
* A store's ``set`` or ``touch`` called from here sees the data's JSON in
  ``session.encoded`` for the length of the call, so it is not encoded again.
* A store failure is raised (logged, as a `StoreError` naming the operation),
  never taken for an absent session.
* A session loaded from the store in this request (``loaded_id``) is written
  with the store's ``replace``, one this request created with ``set``: a
  session another request destroyed meanwhile is never brought back. When
  ``replace`` or ``touch`` says it is gone, its changes are dropped, a warning
  is logged and no Set-Cookie is sent for it.
* With ``touch_after``, `touch_skipped` decides at the response's start
  whether an unchanged session's renewal is due.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ._engine_py import EngineCore
from ._headers_py import ASGI_WORDS, WSGI_WORDS, cache_safe, with_set_cookie
from ._load_py import LoadCore
from ._logs_py import debug, gone, store_failed
from ._model_py import SessionCore, _now_ms

__all__ = ["RequestCore", "new_request", "release"]

_START = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})


class RequestCore(LoadCore):
    """One request's session bookkeeping (express's cookieId, originalId, hashes):
    `LoadCore`'s state and loading, and the decisions and commit at the response.

    ``respond`` is the server's ``send`` (ASGI) or ``start_response`` (WSGI).
    """

    __slots__ = ()

    # -- express's decisions ----------------------------------------------------------

    def is_modified(self, session: SessionCore, data: bytes) -> bool:
        original = _data(self.original_data, "original_data")
        return self.original_id != session.id or original != data

    def is_saved(self, session: SessionCore, data: bytes) -> bool:
        return self.original_id == session.id and _data(self.saved_data, "saved_data") == data

    def should_save(self, session: SessionCore, sid: str, data: bytes) -> bool:
        if self.renew:
            return True
        if not self.engine.save_uninitialized and self.saved_data is None and self.cookie_id != sid:
            return self.is_modified(session, data)
        return not self.is_saved(session, data)

    def should_touch(self, sid: str) -> bool:
        """After `should_save` said no: a loaded session's expiry is extended
        (unless `touch_skipped` said it was renewed recently)."""
        return self.engine.has_touch and self.cookie_id == sid and not self.quiet

    def should_set_cookie(self, session: SessionCore, sid: str, data: bytes) -> bool:
        engine = self.engine
        if self.cookie_id != sid:
            return engine.save_uninitialized or self.is_modified(session, data)
        return engine.rolling or (
            session.cookie.expires_ms is not None and self.is_modified(session, data)
        )

    def should_destroy(self) -> Any:
        """The id to destroy when the app unset the session and ``unset="destroy"``."""
        engine = self.engine
        conn = self.conn
        sid = conn.get(engine.id_key)
        if not engine.unset_destroy or self.destroyed or conn.get(engine.session_key) is not None:
            return None
        return sid or None

    # -- lifetime option at the response (engine.lifecycle) -------------------------

    def touch_skipped(self, session: SessionCore, sid: str) -> bool:
        """With touch_after, at the response's start: this request changes
        nothing and the store was renewed less than touch_after ago, so neither
        the store nor the cookie is renewed."""
        last = self.last_touch
        if last is None or self.cookie_id != sid:
            return False
        data: bytes = self.committed_data  # type: ignore[assignment]
        if self.is_modified(session, data) or self.should_save(session, sid, data):
            return False
        cookie = session.cookie
        expires = cookie.expires_ms
        original = cookie.original_ms
        if expires is None or original is None or expires - original != last:
            return False  # the app changed the cookie's lifetime: renew it
        if _now_ms() - last < self.engine.touch_after_ms:
            return True
        # Due: renewed by a save, not a touch, so that the record itself holds
        # the renewal time (a store's touch may only reset a TTL: Redis, SQL).
        self.renew = True
        return False

    # -- what a commit does -------------------------------------------------------------

    def to_commit(self, final: bool) -> SessionCore | None:
        """The session to commit now, its data's JSON kept in ``committed_data``;
        None when there is none, or (at the last message) nothing changed since
        the commit at the response's start."""
        conn = self.conn
        session = conn.get(self.engine.session_key)
        if not isinstance(session, SessionCore) or not isinstance(
            conn.get(self.engine.id_key), str
        ):
            return None
        data = session.encode()
        committed = _data(self.committed_data, "committed_data")
        if final and committed == data and self.committed_id == session.id:
            return None
        self.committed_id = session.id
        self.committed_data = data
        return session

    def cookie_due(self, session: SessionCore) -> bool:
        """At the response's start (express's onHeaders and the touch at its
        end): whether a Set-Cookie line is due, once the store agrees."""
        sid: str = self.conn[self.engine.id_key]
        cookie = session.cookie
        set_cookie = self.should_set_cookie(session, sid, self.committed_data)  # type: ignore[arg-type]
        if set_cookie and cookie.fields.get("secure") and not self.is_secure():
            debug("not secured: no Set-Cookie for %s", sid)
            set_cookie = False
        if not self.touched:
            if self.engine.lifecycle and self.touch_skipped(session, sid):
                # The cookie keeps the expiry the store and the browser have.
                self.quiet = True
                set_cookie = False
            else:
                session.touch()
            self.touched = True
        return set_cookie

    def header(self, session: SessionCore) -> str | None:
        """The Set-Cookie line of a session whose cookie is due (`cookie_due`)."""
        sid: str = self.conn[self.engine.id_key]
        debug("set-cookie for session %s", sid)
        return self.engine.set_cookie_line(sid, session.cookie)

    def is_loaded(self, session: SessionCore) -> bool:
        """Whether the session was read from the store in this request (so it is
        written with ``replace``), not created by it (written with ``set``)."""
        return self.loaded_id is not None and self.loaded_id == session.id

    def commit(self, final: bool) -> str | None:
        """Commit with a sync store: save, touch or destroy as express would,
        then the Set-Cookie line (at the start) unless the store said the
        session is gone. Store failures are raised."""
        store = self.engine.store
        session = self.to_commit(final)
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
        due = not final and self.cookie_due(session)
        sid = self.conn[self.engine.id_key]
        data: bytes = self.committed_data  # type: ignore[assignment]
        kept: Any = True  # False: the store says the session is gone
        if self.should_save(session, sid, data):
            debug("saving session %s", session.id)
            session.encoded = data
            loaded = self.is_loaded(session)
            try:
                if loaded:
                    kept = store.replace(session.id, session)
                else:
                    store.set(session.id, session)
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

    async def acommit(self, final: bool) -> str | None:
        """`commit` with the store's calls awaited."""
        engine = self.engine
        session = self.to_commit(final)
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
        due = not final and self.cookie_due(session)
        sid = self.conn[engine.id_key]
        data: bytes = self.committed_data  # type: ignore[assignment]
        kept: Any = True
        if self.should_save(session, sid, data):
            debug("saving session %s", session.id)
            session.encoded = data
            loaded = self.is_loaded(session)
            try:
                if loaded:
                    kept = await engine.areplace(session.id, session)
                else:
                    await engine.aset(session.id, session)
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

    def asgi_send(self, message: MutableMapping[str, Any]) -> Any:
        """The ``send`` an ASGI app is given: commit at the response's start and
        before its last message, then the server's ``send``."""
        kind = message["type"]
        if kind in _START:
            self.started = True
            if not self.engine.inline:
                return self.send_after_commit(message, False)
            line = self.commit(False)
            if line is not None or self.engine.cache_headers:
                message = self.start_message(message, line)
        elif self.started and (
            (kind == "http.response.body" and not message.get("more_body", False))
            or kind == "websocket.close"
        ):
            if not self.engine.inline:
                return self.send_after_commit(message, True)
            self.commit(True)
        return self.respond(message)

    async def send_after_commit(self, message: MutableMapping[str, Any], final: bool) -> None:
        line = await self.acommit(final)
        if not final and (line is not None or self.engine.cache_headers):
            message = self.start_message(message, line)
        await self.respond(message)

    def start_message(self, message: MutableMapping[str, Any], line: str | None) -> Any:
        """The response's start message with the Set-Cookie ``line`` (if any)
        and, with ``cache_headers``, made safe for caches (`cache_safe`)."""
        headers = None
        if line is not None:
            message = with_set_cookie(message, line)  # a copy, its headers list its own
            headers = message["headers"]
        if self.engine.cache_headers and message["type"] != "websocket.accept":
            if headers is None:
                message = dict(message)
                message["headers"] = headers = list(message.get("headers", ()))
            cache_safe(headers, ASGI_WORDS)
        return message

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        """The ``start_response`` a WSGI app is given: commit, then the server's."""
        if not self.started:
            self.started = True
            line = self.commit(False)
            if line is not None:
                headers = [*headers, ("Set-Cookie", line)]
            if self.engine.cache_headers:
                headers = cache_safe(list(headers), WSGI_WORDS)
        return self.respond(status, headers, exc_info)


def new_request(
    engine: EngineCore, conn: MutableMapping[str, Any], options: Mapping[str, Any], respond: Any
) -> RequestCore:
    """``RequestCore(engine, conn, options, respond)``, as the middlewares make
    it: the compiled twin skips the type call and ``__init__``'s arguments."""
    return RequestCore(engine, conn, options, respond)


def release(conn: MutableMapping[str, Any] | None, key: str) -> None:
    """Unbind the request's session from its request once the request is over.

    conn → session → request → conn is a reference cycle only the cyclic GC
    would free; cut it so the request's objects go at once. The session stays
    readable; its store methods then say it is no longer bound.
    """
    session = conn.get(key) if conn is not None else None
    if isinstance(session, SessionCore):
        session.state = None


def _data(value: Any, name: str) -> bytes | None:
    # The compiled twin types the field (bytes or None): a wrong type is a
    # TypeError when set; here it is one where the field is used.
    if value is not None and type(value) is not bytes:
        raise TypeError(f"RequestCore.{name} must be bytes or None, not {type(value).__name__}")
    return value
