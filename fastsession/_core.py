"""The sans-I/O core both middlewares share: cookie → id, new or loaded session,
and express-session's decisions (its section 5) about Set-Cookie and the store.

The middlewares do the I/O: they ask `RequestState.plan()` what to do and do it.
Per request there is one `RequestState` (the protocol's subclass), one session
and one cookie; everything else is prepared once in `Engine`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, MutableMapping
from typing import Any, ClassVar

from . import _speedups
from .cookie import Cookie, priority_token, same_site_token
from .errors import CorruptSessionError, SessionError, SessionNotFoundError, StoreError
from .options import Options, cookie_path, is_async_store, normalize_cookie_options
from .record import split
from .session import AsyncSession, Session, _SessionBase
from .stores import has_touch

logger = logging.getLogger("fastsession")

# What plan() asks the middleware to do with the store.
NOTHING, SET, TOUCH, DESTROY = 0, 1, 2, 3

# The serialized data of a new session. Change detection compares the data's
# JSON bytes (what express-session hashes), so equal bytes mean unmodified.
EMPTY_DATA = b"{}"
_TEMPLATE_CACHE_MAX = 256
_DEBUG = logging.DEBUG


def store_error(op: str, exc: BaseException) -> SessionError:
    """Any store failure as a SessionError naming the operation, cause chained."""
    if isinstance(exc, SessionError):
        return exc
    err = StoreError(f"session store {op}() failed: {exc!r}")
    err.__cause__ = exc
    return err


class Engine:
    """One middleware's configuration, with everything per-request work reuses."""

    def __init__(self, opts: Options, *, asgi: bool) -> None:
        self.opts = opts
        self.name = opts.name
        self.signer = _speedups.Signer(opts.secrets)
        self._unsign = self.signer.unsign
        self._lookup = _speedups.lookup
        self.store = store = opts.store
        self.has_touch = has_touch(store)
        self.session_cls: type[_SessionBase] = AsyncSession if asgi else Session
        self.genid = opts.genid
        self.rolling = opts.rolling
        self.resave = opts.resave
        self.save_uninitialized = opts.save_uninitialized
        self.unset_destroy = opts.unset_destroy
        self.proxy = opts.proxy
        self.static_options = opts.cookie
        self.static_path = cookie_path(opts.cookie) if opts.cookie is not None else None
        self._templates: dict[tuple[Any, ...], Any] = {}
        # A sync store whose calls do no I/O (MemoryStore) is called inline by
        # the ASGI middleware, without a coroutine per call.
        self.inline = asgi and not is_async_store(store) and not getattr(store, "blocking", True)
        if asgi:
            self._bind_async(store)

    # -- reading the id -----------------------------------------------------------

    def read_id(self, header: str | None) -> str | None:
        """The verified id in the first cookie with our name, or None (express getcookie)."""
        if not header:
            return None
        value = self._lookup(header, self.name)
        if value is None or not value.startswith("s:"):
            return None
        return self._unsign(value[2:]) or None

    def cookie_options(self, conn: Any) -> dict[str, Any]:
        if self.static_options is not None:
            return self.static_options
        factory = self.opts.cookie_factory
        assert factory is not None
        return normalize_cookie_options(factory(conn))

    # -- the Set-Cookie line ---------------------------------------------------------

    def set_cookie_line(self, sid: str, cookie: Cookie) -> str | None:
        key = cookie.attribute_key()
        template = self._templates.get(key)
        try:
            if template is None:
                domain, path, http_only, secure, partitioned, priority, same_site = key
                template = _speedups.CookieTemplate(
                    self.name,
                    domain or None,
                    path or None,
                    bool(http_only),
                    bool(secure),
                    bool(partitioned),
                    priority_token(priority),
                    same_site_token(same_site),
                )
                if len(self._templates) >= _TEMPLATE_CACHE_MAX:
                    self._templates.clear()
                self._templates[key] = template
            expires = cookie.expires_ms
            return template.render(
                "s:" + self.signer.sign(sid), None if expires is None else expires / 1000
            )
        except (TypeError, ValueError) as exc:
            # As express-session: a cookie that cannot be written is an error
            # reported after the fact; the response goes on without it.
            logger.error("cannot write the session cookie: %s", exc)
            return None

    # -- store calls from the event loop ----------------------------------------------

    def _bind_async(self, store: Any) -> None:
        """Async callers for the store: awaited, run inline, or in a worker thread."""

        def bind(name: str) -> Callable[..., Any]:
            method = getattr(store, name, None)
            if method is None:
                return _missing(name)
            if is_async_store(store):
                return method  # type: ignore[no-any-return]
            if getattr(store, "blocking", True):

                async def threaded(*args: Any) -> Any:
                    return await asyncio.to_thread(method, *args)

                return threaded

            async def inline(*args: Any) -> Any:
                return method(*args)

            return inline

        self.aget = bind("get")
        self.aset = bind("set")
        self.adestroy = bind("destroy")
        self.atouch = bind("touch")
        # The same methods, bound once as the async callers are, for `inline`.
        self.sget = getattr(store, "get", None)
        self.sset = getattr(store, "set", None)
        self.sdestroy = getattr(store, "destroy", None)
        self.stouch = getattr(store, "touch", None)


class RequestState:
    """One request's session bookkeeping (express's cookieId, originalId, hashes).

    Subclassed per protocol: the subclass names the connection's keys and
    tells whether the request came over TLS.
    """

    __slots__ = (
        "engine",
        "conn",
        "options",
        "_secure",
        "cookie_id",
        "original_id",
        "original_data",
        "saved_data",
        "touched",
        "destroyed",
        "started",
        "committed",
    )

    session_key: ClassVar[str]
    id_key: ClassVar[str]

    def __init__(self, engine: Engine, conn: MutableMapping[str, Any], options: dict[str, Any]) -> None:
        self.engine = engine
        self.conn = conn
        self.options = options
        self._secure: bool | None = None
        self.cookie_id: str | None = None
        self.original_id: str | None = None
        # The data's JSON as loaded, and as last saved (None: never saved).
        self.original_data: bytes | None = None
        self.saved_data: bytes | None = None
        self.touched = False
        self.destroyed = False
        self.started = False
        # (id, data) as of the commit at the response's start: the last
        # message only stores what changed after it.
        self.committed: tuple[str, bytes] | None = None

    def secure_scheme(self) -> bool:
        raise NotImplementedError

    def is_secure(self) -> bool:
        if self._secure is None:
            self._secure = self.secure_scheme()
        return self._secure

    # -- creating the session --------------------------------------------------------

    def _new_id(self) -> str:
        sid = self.engine.genid(self.conn)
        if not isinstance(sid, str) or not sid:
            raise SessionError(f"genid returned {sid!r}: a session id must be a non-empty str")
        return sid

    def new_cookie(self) -> Cookie:
        options = self.options
        cookie = Cookie(options)
        # "auto" is resolved for mapping and callable options alike (express
        # 1.19 leaves it unresolved for callables, which is a bug).
        if options.get("secure") == "auto":
            cookie.put("secure", self.is_secure())
        same_site = options.get("same_site")
        if isinstance(same_site, str) and same_site.lower() == "auto":
            cookie.put("sameSite", "none" if self.is_secure() else "lax")
        return cookie

    def generate(self) -> _SessionBase:
        """A brand-new session (express generate): new id, empty data, fresh cookie."""
        sid = self._new_id()
        session = self.engine.session_cls(sid, self.new_cookie(), _state=self)
        self.conn[self.id_key] = sid
        self.conn[self.session_key] = session
        self.original_id = sid
        self.original_data = EMPTY_DATA
        return session

    def inflate(self, sid: str, record: Any) -> _SessionBase:
        """The session loaded from the store (express inflate)."""
        # split(), inline: a record is an object whose "cookie" is an object.
        if type(record) is not dict and not isinstance(record, dict):
            raise CorruptSessionError(
                f"stored session is a {type(record).__name__}, not an object"
            )
        fields = record.pop("cookie", None)
        if type(fields) is not dict and not isinstance(fields, dict):
            raise CorruptSessionError("stored session has no cookie object")
        session = self.engine.session_cls._loaded(sid, Cookie._loaded(fields), record, self)
        conn = self.conn
        conn[self.id_key] = sid
        conn[self.session_key] = session
        self.original_id = sid
        self.original_data = data = session.encode()
        if not self.engine.resave:
            self.saved_data = data  # a freshly loaded session counts as saved
        return session

    # -- the decisions -----------------------------------------------------------------

    def plan(self, final: bool) -> tuple[str | None, int, Any]:
        """What to do now: (Set-Cookie line or None, store operation, its argument).

        At the start of the response (``final`` false) this is express's header
        hook followed by its end-of-response commit; at the last body message it
        saves only what changed since. For SET and TOUCH the session's encoded
        data is left in ``session._encoded`` for the store; the caller clears it.
        """
        engine = self.engine
        conn = self.conn
        session = conn.get(self.session_key)
        sid = conn.get(self.id_key)
        if session is None:
            if engine.unset_destroy and sid and not self.destroyed:
                self.destroyed = True
                _debug("destroying session %s (unset)", sid)
                return None, DESTROY, sid
            return None, NOTHING, None
        if not isinstance(sid, str) or not isinstance(session, _SessionBase):
            return None, NOTHING, None

        data = session.encode()
        current = session._id
        if final:
            committed = self.committed
            if committed is not None and committed[0] == current and committed[1] == data:
                return None, NOTHING, None
        self.committed = (current, data)
        same_id = self.original_id == current
        modified = not same_id or self.original_data != data
        is_new = self.cookie_id != sid
        line = None
        if not final:
            cookie = session.cookie
            if is_new:
                set_cookie = engine.save_uninitialized or modified
            else:
                set_cookie = engine.rolling or (cookie._expires is not None and modified)
            if set_cookie and cookie.secure and not self.is_secure():
                _debug("not secured: no Set-Cookie for %s", sid)
                set_cookie = False
            if not self.touched:
                cookie.reset_max_age()  # session.touch()
                self.touched = True
            if set_cookie:
                line = engine.set_cookie_line(sid, cookie)
                _debug("set-cookie for session %s", sid)

        saved = self.saved_data
        if not engine.save_uninitialized and saved is None and is_new:
            save = modified
        else:
            save = not (same_id and saved == data)
        if save:
            self.saved_data = data
            session._encoded = data
            _debug("saving session %s", current)
            return line, SET, session
        if not final and engine.has_touch and not is_new:
            session._encoded = data
            _debug("touching session %s", sid)
            return line, TOUCH, session
        if not final:
            _debug("session %s unchanged: nothing to store", sid)
        return line, NOTHING, None

    # -- the session's methods (sync: WSGI) ------------------------------------------

    def save(self, session: _SessionBase) -> None:
        data = session.encode()
        self.saved_data = data
        session._encoded = data
        try:
            self.engine.store.set(session.id, session)
        except Exception as exc:
            raise store_error("set", exc) from exc
        finally:
            session._encoded = None

    def reload(self, session: _SessionBase) -> None:
        try:
            record = self.engine.store.get(session.id)
        except FileNotFoundError:
            record = None
        except Exception as exc:
            raise store_error("get", exc) from exc
        self._reloaded(session, record)

    def regenerate(self, session: _SessionBase) -> None:
        old = self.conn.get(self.id_key)
        try:
            if isinstance(old, str):
                self.engine.store.destroy(old)
        except Exception as exc:
            raise store_error("destroy", exc) from exc
        finally:
            self._regenerated(session)

    def destroy(self, session: _SessionBase) -> None:
        self.conn[self.session_key] = None
        try:
            self.engine.store.destroy(session.id)
        except Exception as exc:
            raise store_error("destroy", exc) from exc

    # -- the session's methods (async: ASGI) -----------------------------------------

    async def asave(self, session: _SessionBase) -> None:
        data = session.encode()
        self.saved_data = data
        session._encoded = data
        try:
            await self.engine.aset(session.id, session)
        except Exception as exc:
            raise store_error("set", exc) from exc
        finally:
            session._encoded = None

    async def areload(self, session: _SessionBase) -> None:
        try:
            record = await self.engine.aget(session.id)
        except FileNotFoundError:
            record = None
        except Exception as exc:
            raise store_error("get", exc) from exc
        self._reloaded(session, record)

    async def aregenerate(self, session: _SessionBase) -> None:
        old = self.conn.get(self.id_key)
        try:
            if isinstance(old, str):
                await self.engine.adestroy(old)
        except Exception as exc:
            raise store_error("destroy", exc) from exc
        finally:
            self._regenerated(session)

    async def adestroy(self, session: _SessionBase) -> None:
        self.conn[self.session_key] = None
        try:
            await self.engine.adestroy(session.id)
        except Exception as exc:
            raise store_error("destroy", exc) from exc

    # -- shared halves ---------------------------------------------------------------

    def _reloaded(self, session: _SessionBase, record: Any) -> None:
        if record is None:
            raise SessionNotFoundError(f"failed to load session {session.id!r}: not in the store")
        cookie_fields, data = split(record)
        session._replace(session.id, Cookie.from_record(cookie_fields), data)

    def _regenerated(self, session: _SessionBase) -> None:
        # The new session is made even when destroying the old one failed, as
        # in express; the error still reaches the caller.
        sid = self._new_id()
        session._replace(sid, self.new_cookie(), {})
        self.conn[self.id_key] = sid
        self.conn[self.session_key] = session
        _debug("regenerated session: new id %s", sid)


_STORE_OPS = {SET: "set", TOUCH: "touch", DESTROY: "destroy"}


def store_failed(op: int, exc: Exception) -> SessionError:
    """Log a failed store write and turn it into the error the caller raises."""
    name = _STORE_OPS[op]
    logger.error("cannot store session: store %s() failed: %r", name, exc)
    return store_error(name, exc)


def load_failed(exc: Exception) -> SessionError:
    logger.error("cannot load session: store get() failed: %r", exc)
    return store_error("get", exc)


def _missing(name: str) -> Callable[..., Any]:
    async def missing(*args: Any) -> Any:
        raise SessionError(f"the store has no {name}() method")

    return missing


def _debug(msg: str, *args: Any) -> None:
    if logger.isEnabledFor(_DEBUG):
        logger.debug(msg, *args)
