"""Pure-Python request kernel, its first half: the spec of src_c/_load.pxi.

One request's session state (express's cookieId, originalId, the data's JSON as
loaded) and how the session is found: the stored one for a verified id, else a
new one (express's ``inflate`` and ``generate``), put where the app finds it.
`RequestCore` (``_request_py.py``) extends it with express's decisions and the
commit; nothing here calls a method only RequestCore defines.

Invariants:

* ``original_data`` and ``saved_data`` are the data's JSON (the record without
  its cookie) as loaded and as last saved (None: never); equal bytes mean
  unmodified.
* A store failure is raised (logged, as a `StoreError` naming the operation),
  never taken for an absent session; an unknown id is never reused.
* ``loaded_id`` is the id of the session read from the store in this request:
  RequestCore writes that one with ``replace``, one it made with ``set``.
* The lifetime options cost one flag test (``engine.lifecycle``) when both are
  off; their steps at loading are `outlived`, `stamp` and `loaded`.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ._engine_py import CREATED_KEY, EngineCore
from ._logs_py import debug, load_failed, store_failed
from ._model_py import SessionCore, _now_ms, cookie_from_fields
from .errors import SessionError, check_record

__all__ = ["EMPTY_DATA", "LoadCore"]

EMPTY_DATA = b"{}"
"""The data's JSON of a new session."""


class LoadCore:
    """One request's session state, and its session loaded or made.

    ``respond`` is the server's ``send`` (ASGI) or ``start_response`` (WSGI).
    """

    __slots__ = (
        "engine", "conn", "options", "respond", "secure",
        "cookie_id", "original_id", "loaded_id", "original_data", "saved_data",
        "touched", "destroyed", "started", "committed_id", "committed_data",
        "last_touch", "quiet", "renew",
    )  # fmt: skip

    def __init__(
        self,
        engine: EngineCore,
        conn: MutableMapping[str, Any],
        options: Mapping[str, Any],
        respond: Any,
    ) -> None:
        self.engine = engine
        self.conn = conn
        self.options = options
        self.respond = respond
        self.secure: bool | None = None  # found out when first needed
        self.cookie_id: str | None = None
        self.original_id: str | None = None
        self.loaded_id: str | None = None  # the id of the session read from the store
        self.original_data: bytes | None = None
        self.saved_data: bytes | None = None
        self.touched = False
        self.destroyed = False
        self.started = False
        self.committed_id: str | None = None
        self.committed_data: bytes | None = None
        self.last_touch: int | None = None  # with touch_after: the loaded record's
        self.quiet = False  # with touch_after: this request renews nothing
        self.renew = False  # with touch_after: the renewal is due, made by a save

    def is_secure(self) -> bool:
        """Whether the request came over TLS (as the protocol's ``secure_of`` says)."""
        secure = self.secure
        if secure is None:
            secure = self.secure = bool(self.engine.secure_of(self.conn))
        return secure

    # -- loading ----------------------------------------------------------------------

    def begin(self, sid: str | None) -> SessionCore:
        """The request's session from a sync store: the stored one if ``sid``
        (the cookie's verified id) is stored, else a new one."""
        self.cookie_id = sid
        if sid is None:
            return self.generate()
        try:
            record = self.engine.store.get(sid)
        except FileNotFoundError:  # express's ENOENT: not stored
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

    async def abegin(self, sid: str | None) -> SessionCore:
        """`begin` with the store's ``get`` awaited."""
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

    def inflate(self, sid: str, record: Any) -> SessionCore:
        """The session of a stored record (express inflate); takes ``record`` over."""
        fields = dict(check_record(record))
        del record["cookie"]
        cookie = cookie_from_fields(self.engine.cookie_cls, fields)
        cookie.shape = self.engine.shape_for(fields)
        session = self.attach(sid, cookie, record)
        self.loaded_id = sid
        self.original_data = data = session.encode()
        if not self.engine.resave:
            self.saved_data = data  # a freshly loaded session counts as saved
        if self.engine.lifecycle:
            self.loaded(session)
        return session

    def generate(self) -> SessionCore:
        """A brand-new session (express generate): new id, empty data, fresh cookie."""
        session = self.attach(self.new_id(), self.engine.new_cookie(self), {})
        self.original_data = EMPTY_DATA
        if self.engine.lifecycle and self.stamp(session, True):
            # The creation time alone does not make the session modified (saved).
            self.original_data = session.encode()
        return session

    def new_id(self) -> str:
        sid = self.engine.genid(self.conn)
        if not isinstance(sid, str) or not sid:
            raise SessionError(f"genid returned {sid!r}: a session id must be a non-empty str")
        return sid

    def attach(self, sid: str, cookie: Any, data: Mapping[str, Any]) -> SessionCore:
        """A session of the engine's class for this request, put where the app finds it."""
        engine = self.engine
        cls = engine.session_cls
        session: SessionCore = cls.__new__(cls)
        session.bind(sid, cookie, data, self)
        self.conn[engine.id_key] = sid
        self.conn[engine.session_key] = session
        self.original_id = sid
        return session

    # -- lifetime options (engine.lifecycle) -----------------------------------------

    def outlived(self, record: Any) -> bool:
        """With absolute_timeout: the stored session was created that long ago."""
        limit = self.engine.absolute_ms
        if limit < 0 or not isinstance(record, Mapping):
            return False
        created: Any = record.get(CREATED_KEY)
        return _is_number(created) and _now_ms() - created >= limit

    def stamp(self, session: SessionCore, fresh: bool) -> bool:
        """With absolute_timeout: record the creation time, now, in a new
        (``fresh``) session, or in a loaded one that lacks it (made before the
        option, or by an Express app). True when stamped."""
        if self.engine.absolute_ms < 0 or (not fresh and _is_number(session.get(CREATED_KEY))):
            return False
        session[CREATED_KEY] = _now_ms()
        return True

    def loaded(self, session: SessionCore) -> None:
        """A stored session was loaded: note its last renewal (touch_after), and
        stamp it if it lacks its creation time (absolute_timeout)."""
        cookie = session.cookie
        if self.engine.touch_after_ms >= 0:
            expires = cookie.expires_ms
            original = cookie.original_ms
            # express renews as expires = now + originalMaxAge: the renewal was then.
            if expires is not None and original is not None:
                self.last_touch = expires - original
        self.stamp(session, False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
