"""The sans-I/O core both middlewares share: cookie → id, new or loaded session,
and express-session's decisions (its section 5) about Set-Cookie and the store.

The middlewares do the I/O: they ask `RequestState.plan()` what to do and do it.
The per-request hot path (reading the id, inflating a stored session, the
decisions) is the request kernel's (`EngineCore`, `RequestCore`, see
fastsession/_request_py.py); this module adds the options, the Set-Cookie
line, new sessions and the session's own methods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from . import _speedups
from ._request_py import DESTROY, EMPTY_DATA, NOTHING, SET, TOUCH
from .cookie import Cookie, _shape_of, priority_token, same_site_token
from .errors import SessionError, SessionNotFoundError, StoreError
from .options import Options, cookie_path, is_async_store, normalize_cookie_options
from .record import split
from .session import AsyncSession, Session, _SessionBase
from .stores import has_touch
from .stores.memory import MemoryStore

__all__ = ["DESTROY", "NOTHING", "SET", "TOUCH", "Engine", "RequestState"]

logger = logging.getLogger("fastsession")

_TEMPLATE_CACHE_MAX = 256
_DEBUG = logging.DEBUG


def store_error(op: str, exc: BaseException) -> SessionError:
    """Any store failure as a SessionError naming the operation, cause chained."""
    if isinstance(exc, SessionError):
        return exc
    err = StoreError(f"session store {op}() failed: {exc!r}")
    err.__cause__ = exc
    return err


class Engine(_speedups.EngineCore):
    """One middleware's configuration, with everything per-request work reuses."""

    def __init__(self, opts: Options, *, asgi: bool) -> None:
        super().__init__()
        self.opts = opts
        self.name = opts.name
        self.signer = _speedups.Signer(opts.secrets)
        self.lookup = _speedups.lookup
        self.unsign = self.signer.unsign
        self.verified = {}
        self.headers = {}
        self.layouts = {}
        self.store = store = opts.store
        self.has_touch = has_touch(store)
        self.session_cls = AsyncSession if asgi else Session
        self.session_base = _SessionBase
        self.cookie_cls = Cookie
        self.shape_of = _shape_of
        if asgi:
            self.session_key, self.id_key = "session", "session_id"
        else:
            self.session_key, self.id_key = "fastsession.session", "fastsession.session_id"
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
        if not is_async_store(store):
            # Bound once (as the ASGI callers always were).
            self.store_get = store.get
            self.store_set = store.set
            self.store_touch = getattr(store, "touch", None)
            self.store_destroy = store.destroy
        else:
            self.store_get = self.store_set = self.store_touch = self.store_destroy = None
        self.memory = _memory_core(store)

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

    # -- store errors ---------------------------------------------------------------------

    def load_failed(self, exc: Exception) -> SessionError:
        logger.error("cannot load session: store get() failed: %r", exc)
        return store_error("get", exc)

    def store_failed(self, op: int, exc: Exception) -> SessionError:
        name = _STORE_OPS[op]
        logger.error("cannot store session: store %s() failed: %r", name, exc)
        return store_error(name, exc)


class RequestState(_speedups.RequestCore):
    """One request's session: the kernel's bookkeeping and decisions, plus new
    sessions and the session's methods. Subclassed per protocol: the subclass
    tells whether the request came over TLS.
    """

    __slots__ = ()

    engine: Engine

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
        engine = self.engine
        session = engine.session_cls(sid, self.new_cookie(), _state=self)
        self.conn[engine.id_key] = sid
        self.conn[engine.session_key] = session
        self.original_id = sid
        self.original_data = EMPTY_DATA
        return session

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
        old = self.conn.get(self.engine.id_key)
        try:
            if isinstance(old, str):
                self.engine.store.destroy(old)
        except Exception as exc:
            raise store_error("destroy", exc) from exc
        finally:
            self._regenerated(session)

    def destroy(self, session: _SessionBase) -> None:
        self.conn[self.engine.session_key] = None
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
        old = self.conn.get(self.engine.id_key)
        try:
            if isinstance(old, str):
                await self.engine.adestroy(old)
        except Exception as exc:
            raise store_error("destroy", exc) from exc
        finally:
            self._regenerated(session)

    async def adestroy(self, session: _SessionBase) -> None:
        self.conn[self.engine.session_key] = None
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
        self.conn[self.engine.id_key] = sid
        self.conn[self.engine.session_key] = session
        _debug("regenerated session: new id %s", sid)


_STORE_OPS = {SET: "set", TOUCH: "touch", DESTROY: "destroy"}


def _memory_core(store: Any) -> Any:
    """The data path of a MemoryStore whose methods are its own (else None):
    the kernel calls it without MemoryStore's Python methods in between."""
    if not isinstance(store, MemoryStore):
        return None
    for name in ("get", "set", "touch"):
        if name in vars(store) or getattr(type(store), name) is not getattr(MemoryStore, name):
            return None
    return store._core


def _missing(name: str) -> Callable[..., Any]:
    async def missing(*args: Any) -> Any:
        raise SessionError(f"the store has no {name}() method")

    return missing


def _debug(msg: str, *args: Any) -> None:
    if logger.isEnabledFor(_DEBUG):
        logger.debug(msg, *args)


def release(conn: Any, key: str) -> None:
    """Unbind the request's session from its request state once the request is over.

    scope → session → state → scope is a reference cycle that only the cyclic
    GC would free; cut it so the request's objects go at once. The session
    stays readable; its store methods then say it is no longer bound.
    """
    session = conn.get(key) if conn is not None else None
    if isinstance(session, _SessionBase):
        session._state = None
