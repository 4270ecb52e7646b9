"""Session and AsyncSession: the session a request sees (express's session/session.js).

A ``dict`` of the data plus ``id``, ``cookie`` and the express methods. The key
``"cookie"`` is reserved: in the stored record it is the cookie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cookie import Cookie
from .errors import SerializationError, SessionError
from .record import encode_data, join

_new_dict = dict.__new__
_update = dict.update

if TYPE_CHECKING:
    from ._core import RequestState


class _SessionBase(dict[str, Any]):
    __slots__ = ("_id", "cookie", "_state", "_encoded")

    cookie: Cookie

    def __init__(
        self,
        sid: str,
        cookie: Cookie | None = None,
        data: dict[str, Any] | None = None,
        *,
        _state: RequestState | None = None,
    ) -> None:
        dict.__init__(self, data or ())
        self._id = sid
        self.cookie = cookie if cookie is not None else Cookie()
        self._state = _state
        self._encoded: bytes | None = None

    @classmethod
    def _loaded(
        cls, sid: str, cookie: Cookie, data: dict[str, Any], state: RequestState
    ) -> _SessionBase:
        """A session for a request (``__init__`` without its defaults)."""
        self = _new_dict(cls)
        _update(self, data)
        self._id = sid
        self.cookie = cookie
        self._state = state
        self._encoded = None
        return self

    @property
    def id(self) -> str:
        """The session id (read-only; ``regenerate()`` gives a new one)."""
        return self._id

    def touch(self) -> _SessionBase:
        """Reset the cookie's max age: expires = now + original max age."""
        self.cookie.reset_max_age()
        return self

    def encode(self) -> bytes:
        """The data as JSON (without the cookie); a value JSON cannot hold names its key."""
        encoded = self._encoded
        if encoded is not None:
            return encoded
        if "cookie" in self:
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        return encode_data(self)

    def to_record(self) -> dict[str, Any]:
        """The stored record as a JSON-ready dict: ``{"cookie": {...}, ...data}``."""
        if "cookie" in self:
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        return {"cookie": self.cookie.to_dict(), **self}

    def to_json(self) -> bytes:
        """The stored record as express-session's JSON bytes."""
        return join(self.cookie.to_json(), self.encode())

    def _record_head(self) -> bytes | None:
        """``to_json()`` up to the end of the cookie object, when the data
        is known to serialize (the middleware has just encoded it); else None.

        MemoryStore uses it to touch a session without serializing its data.
        """
        if self._encoded is None:
            return None
        return self.cookie._record_head()

    def _bound(self) -> RequestState:
        if self._state is None:
            raise SessionError("this session is not bound to a request")
        return self._state

    def _replace(self, sid: str, cookie: Cookie, data: dict[str, Any]) -> None:
        dict.clear(self)
        dict.update(self, data)
        self._id = sid
        self.cookie = cookie

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._id!r}, data={dict.__repr__(self)})"

    def __reduce__(self) -> Any:
        raise TypeError("sessions are not pickled; store them with to_json()")


class Session(_SessionBase):
    """The session a WSGI app sees: ``environ["fastsession.session"]``."""

    __slots__ = ()

    def save(self) -> Session:
        """Write the session to the store now."""
        self._bound().save(self)
        return self

    def reload(self) -> Session:
        """Replace the data with the stored copy; `SessionError` if it is gone."""
        self._bound().reload(self)
        return self

    def regenerate(self) -> Session:
        """New id, empty data, fresh cookie; the old id is destroyed in the store."""
        self._bound().regenerate(self)
        return self

    def destroy(self) -> None:
        """Remove the session from the store and from the request."""
        self._bound().destroy(self)


class AsyncSession(_SessionBase):
    """The session an ASGI app sees: ``scope["session"]`` (``request.session``)."""

    __slots__ = ()

    async def save(self) -> AsyncSession:
        """Write the session to the store now."""
        await self._bound().asave(self)
        return self

    async def reload(self) -> AsyncSession:
        """Replace the data with the stored copy; `SessionError` if it is gone."""
        await self._bound().areload(self)
        return self

    async def regenerate(self) -> AsyncSession:
        """New id, empty data, fresh cookie; the old id is destroyed in the store."""
        await self._bound().aregenerate(self)
        return self

    async def destroy(self) -> None:
        """Remove the session from the store and from the request."""
        await self._bound().adestroy(self)


__all__ = ["AsyncSession", "Session"]
