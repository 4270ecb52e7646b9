"""Session and AsyncSession: the session a request sees (express's session/session.js).

A ``dict`` of the data plus ``id``, ``cookie`` and the express methods. The key
``"cookie"`` is reserved: in the stored record it is the cookie. The data, id,
cookie and JSON are the model core's (`fastsession._model_py.SessionCore`);
the store methods here act through the request the session belongs to.
"""

from __future__ import annotations

from typing import Any

from ._speedups import SessionCore
from .errors import SessionError, SessionNotFoundError, check_record, store_error
from .session_cookie import Cookie


class _SessionBase(SessionCore):
    # _flashed: the flash messages read in this request (fastsession.flash)
    __slots__ = ("_flashed",)

    cookie: Cookie

    def __init__(
        self, sid: str, cookie: Cookie | None = None, data: dict[str, Any] | None = None
    ) -> None:
        """A session not bound to a request (for stores and tests)."""
        self.bind(sid, cookie if cookie is not None else Cookie(), data or {}, None)

    def _request(self) -> Any:
        request = self.state
        if request is None:
            raise SessionError("this session is not bound to a request")
        return request

    def _saving(self) -> tuple[Any, Any]:
        """The request, told that this data is what the store now holds, and
        what it held before (put back by `_gone`)."""
        request = self._request()
        previous = request.saved_data
        request.saved_data = self.encoded = self.encode()
        return request, previous

    def _gone(self, request: Any, previous: Any) -> None:
        # The store no longer holds a session this request loaded: nothing was
        # written, and the end of the request will find it gone too (no cookie).
        request.saved_data = previous
        raise SessionNotFoundError(f"failed to save session {self.id!r}: not in the store")

    def _reloaded(self, record: Any) -> None:
        if record is None:
            raise SessionNotFoundError(f"failed to load session {self.id!r}: not in the store")
        fields = check_record(record)
        del record["cookie"]
        self.bind(self.id, Cookie.from_record(fields), record, self.state)

    def _regenerated(self, request: Any) -> None:
        # The new session is made even when destroying the old one failed, as
        # in express; the error still reaches the caller.
        sid = request.new_id()
        request.loaded_id = None  # a session of this request's making: written with set
        self.bind(sid, request.engine.new_cookie(request), {}, request)
        if request.engine.lifecycle:
            request.stamp(self, True)  # absolute_timeout restarts at a new id (a login)
        request.conn[request.engine.id_key] = sid
        request.conn[request.engine.session_key] = self

    def _unset(self, request: Any) -> None:
        request.conn[request.engine.session_key] = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, data={dict.__repr__(self)})"

    def __reduce__(self) -> Any:
        raise TypeError("sessions are not pickled; store them with to_json()")


class Session(_SessionBase):
    """The session a WSGI app sees: ``environ["fastsession.session"]``."""

    __slots__ = ()

    def save(self) -> Session:
        """Write the session to the store now.

        A session loaded from the store in this request is written only while
        it is still stored (the store's ``replace``): when it is gone (destroyed
        meanwhile, as by a logout in another tab, or expired) nothing is written
        and `SessionNotFoundError` is raised, as express's ``reload`` reports
        "failed to load session"; the response then sets no cookie for it.
        """
        request, previous = self._saving()
        store = request.engine.store
        loaded = request.is_loaded(self)
        try:
            kept = store.replace(self.id, self) if loaded else store.set(self.id, self)
        except Exception as exc:
            raise store_error("replace" if loaded else "set", exc) from exc
        finally:
            self.encoded = None
        if kept is False:
            self._gone(request, previous)
        return self

    def reload(self) -> Session:
        """Replace the data with the stored copy; `SessionError` if it is gone."""
        request = self._request()
        try:
            record = request.engine.store.get(self.id)
        except FileNotFoundError:
            record = None
        except Exception as exc:
            raise store_error("get", exc) from exc
        self._reloaded(record)
        return self

    def regenerate(self) -> Session:
        """New id, empty data, fresh cookie; the old id is destroyed in the store."""
        request = self._request()
        old = request.conn.get(request.engine.id_key)
        try:
            if isinstance(old, str):
                request.engine.store.destroy(old)
        except Exception as exc:
            raise store_error("destroy", exc) from exc
        finally:
            self._regenerated(request)
        return self

    def destroy(self) -> None:
        """Remove the session from the store and from the request."""
        request = self._request()
        self._unset(request)
        try:
            request.engine.store.destroy(self.id)
        except Exception as exc:
            raise store_error("destroy", exc) from exc


class AsyncSession(_SessionBase):
    """The session an ASGI app sees: ``scope["session"]`` (``request.session``)."""

    __slots__ = ()

    async def save(self) -> AsyncSession:
        """Write the session to the store now; `SessionNotFoundError` when a
        session loaded in this request is gone from the store (see `Session.save`)."""
        request, previous = self._saving()
        engine = request.engine
        loaded = request.is_loaded(self)
        try:
            if loaded:
                kept = await engine.areplace(self.id, self)
            else:
                kept = await engine.aset(self.id, self)
        except Exception as exc:
            raise store_error("replace" if loaded else "set", exc) from exc
        finally:
            self.encoded = None
        if kept is False:
            self._gone(request, previous)
        return self

    async def reload(self) -> AsyncSession:
        """Replace the data with the stored copy; `SessionError` if it is gone."""
        request = self._request()
        try:
            record = await request.engine.aget(self.id)
        except FileNotFoundError:
            record = None
        except Exception as exc:
            raise store_error("get", exc) from exc
        self._reloaded(record)
        return self

    async def regenerate(self) -> AsyncSession:
        """New id, empty data, fresh cookie; the old id is destroyed in the store."""
        request = self._request()
        old = request.conn.get(request.engine.id_key)
        try:
            if isinstance(old, str):
                await request.engine.adestroy(old)
        except Exception as exc:
            raise store_error("destroy", exc) from exc
        finally:
            self._regenerated(request)
        return self

    async def destroy(self) -> None:
        """Remove the session from the store and from the request."""
        request = self._request()
        self._unset(request)
        try:
            await request.engine.adestroy(self.id)
        except Exception as exc:
            raise store_error("destroy", exc) from exc


__all__ = ["AsyncSession", "Session"]
