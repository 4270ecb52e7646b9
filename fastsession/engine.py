"""The engine: one middleware's configuration, made into what each request reuses.

`make_engine` turns validated options into the request kernel's constants
(`EngineCore`): the session-id reader, the store and how to call it (inline,
awaited, or in a worker thread), the default `MemoryStore`, new cookies and
the Set-Cookie line.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from . import _speedups
from .cookie_options import check_session_cookie, normalize_cookie_options
from .errors import SessionError
from .options import Options
from .session import AsyncSession, Session
from .session_cookie import Cookie, priority_token, same_site_token
from .stores import AsyncStore, has_touch
from .stores.memory import MemoryStore

__all__ = ["cookie_options", "default_store", "is_async_store", "make_engine"]

logger = logging.getLogger("fastsession")

_TEMPLATES_MAX = 256


def is_async_store(store: Any) -> bool:
    return isinstance(store, AsyncStore) or inspect.iscoroutinefunction(getattr(store, "get", None))


def make_engine(
    opts: Options,
    *,
    asgi: bool,
    secure_of: Callable[[Any], bool],
    session_cls: type[Session] | type[AsyncSession] | None = None,
) -> _speedups.EngineCore:
    """The kernel's constants for one middleware (``asgi``: the ASGI one).

    ``secure_of(conn)`` says whether a request came over TLS; ``session_cls``
    is the session class the requests get (a framework's subclass of `Session`
    or `AsyncSession`; by default the one of the protocol).
    """
    if session_cls is None:
        session_cls = AsyncSession if asgi else Session
    elif not issubclass(session_cls, AsyncSession if asgi else Session):
        raise TypeError(f"session_cls must subclass {'AsyncSession' if asgi else 'Session'}")
    store = opts.store if opts.store is not None else default_store(opts)
    if not asgi and is_async_store(store):
        raise TypeError("option 'store': a WSGI app needs a sync Store, not an AsyncStore")
    if opts.user_key is not None:
        index_users(store, opts.user_key)  # before the store's methods are bound below
    if not callable(getattr(store, "replace", None)):
        raise TypeError(
            "option 'store': the store has no replace(sid, session) method; subclass "
            "fastsession.Store or AsyncStore (their replace is get then set) or write one"
        )
    signer = _speedups.Signer(opts.secrets)
    lines = _SetCookieLines(opts.name, signer.sign)
    aget, aset, areplace, atouch, adestroy = _async_calls(store)
    return _speedups.EngineCore(
        sids=_speedups.SidReader(opts.name, _speedups.lookup, signer.unsign),
        session_key="session" if asgi else "fastsession.session",
        id_key="session_id" if asgi else "fastsession.session_id",
        session_cls=session_cls,
        cookie_cls=Cookie,
        genid=opts.genid,
        new_cookie=new_cookie,
        set_cookie_line=lines.line,
        secure_of=_warn_when_refused(opts, secure_of, "session" if asgi else "fastsession.session"),
        resave=opts.resave,
        rolling=opts.rolling,
        save_uninitialized=opts.save_uninitialized,
        unset_destroy=opts.unset_destroy,
        store=store,
        has_touch=has_touch(store),
        # A sync store that never waits on I/O (MemoryStore) is called inline,
        # with no coroutine per call.
        inline=not asgi or (not is_async_store(store) and not getattr(store, "blocking", True)),
        aget=aget,
        aset=aset,
        areplace=areplace,
        atouch=atouch,
        adestroy=adestroy,
        touch_after_ms=_ms(opts.touch_after),
        absolute_ms=_ms(opts.absolute_timeout),
        cache_headers=opts.cache_headers,
    )


def _ms(seconds: float | None) -> int:
    """An optional duration as the kernel holds it: whole milliseconds, -1 for None."""
    return -1 if seconds is None else max(1, round(seconds * 1000))


# The default MemoryStore of each cookie (secrets and name), while a middleware
# uses it: Litestar builds a middleware per route, and a login must outlive the route.
_DEFAULT_STORES: weakref.WeakValueDictionary[tuple[Any, ...], MemoryStore] = (
    weakref.WeakValueDictionary()
)
_DEFAULT_STORES_LOCK = threading.Lock()


def default_store(opts: Options) -> MemoryStore:
    """The `MemoryStore` shared by the middlewares that read the same cookie:
    the same secrets sign and verify it and it has the same name, so a session
    id one of them issued must be found by the others."""
    key = (opts.secrets, opts.name)
    with _DEFAULT_STORES_LOCK:
        store = _DEFAULT_STORES.get(key)
        if store is None:
            store = _DEFAULT_STORES[key] = MemoryStore()
    return store


def index_users(store: Any, key: str) -> None:
    """Have ``store`` index its sessions by ``key`` (option ``user_key``)."""
    index = getattr(store, "index_users", None)
    if not callable(index):
        raise TypeError(
            f"option 'user_key': the store {type(store).__name__} keeps no per-user index "
            "(it has no index_users() method); the built-in stores do"
        )
    try:
        index(key)
    except ValueError as exc:
        raise ValueError(f"option 'user_key': {exc}") from exc


def _warn_when_refused(
    opts: Options, secure_of: Callable[[Any], bool], session_key: str
) -> Callable[[Any], bool]:
    """``secure_of``, warning once per middleware when a Secure cookie is not sent
    because the request came over plain http (the kernel asks only then, or to
    resolve ``secure="auto"`` for a new session, which is never refused)."""
    if opts.cookie is not None and opts.cookie.get("secure") is not True:
        return secure_of  # no Secure cookie is configured: nothing to refuse
    warned = False

    def checked(conn: Any) -> bool:
        nonlocal warned
        secure = secure_of(conn)
        if not secure and not warned:
            cookie = getattr(conn.get(session_key), "cookie", None)
            if cookie is not None and cookie.secure is True:
                warned = True
                logger.warning(
                    "no session cookie sent: the cookie is Secure (cookie secure=True) and "
                    "this request came over plain http, where browsers refuse Secure "
                    "cookies, so every request starts a new session. Serve over https; "
                    "behind a proxy that terminates TLS, pass the scheme on (uvicorn "
                    "--proxy-headers, or proxy=True for X-Forwarded-Proto); or use "
                    'secure="auto" to send the cookie without Secure over http. '
                    "(Said once per middleware.)"
                )
        return secure

    return checked


def cookie_options(opts: Options, conn: Any) -> Mapping[str, Any]:
    """The cookie options for a request: the static ones, or the factory's."""
    if opts.cookie is not None:
        return opts.cookie
    assert opts.cookie_factory is not None
    return check_session_cookie(normalize_cookie_options(opts.cookie_factory(conn)))


def new_cookie(request: Any) -> Cookie:
    """A new session's cookie, from the request's cookie options."""
    options = request.options
    cookie = Cookie(options)
    # "auto" is resolved for mapping and callable options alike (express
    # 1.19 leaves it unresolved for callables, which is a bug).
    if options.get("secure") == "auto":
        cookie.put("secure", request.is_secure())
    same_site = options.get("same_site")
    if isinstance(same_site, str) and same_site.lower() == "auto":
        cookie.put("sameSite", "none" if request.is_secure() else "lax")
    return cookie


class _SetCookieLines:
    """Set-Cookie lines, a template prepared once per set of cookie attributes."""

    __slots__ = ("name", "sign", "templates")

    def __init__(self, name: str, sign: Callable[[str], str]) -> None:
        self.name = name
        self.sign = sign
        self.templates: dict[tuple[Any, ...], Any] = {}

    def line(self, sid: str, cookie: Cookie) -> str | None:
        key = cookie.attribute_key()
        template = self.templates.get(key)
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
                if len(self.templates) >= _TEMPLATES_MAX:
                    self.templates.clear()
                self.templates[key] = template
            expires = cookie.expires_ms
            return template.render(
                "s:" + self.sign(sid), None if expires is None else expires / 1000
            )
        except (TypeError, ValueError) as exc:
            # As express-session: a cookie that cannot be written is an error
            # reported after the fact; the response goes on without it.
            logger.error("cannot write the session cookie: %s", exc)
            return None


def _async_calls(store: Any) -> tuple[Callable[..., Any], ...]:
    """The store's get, set, replace, touch and destroy as coroutine functions: awaited
    (an async store), run inline (a sync store that never waits on I/O), or run
    in a worker thread so the event loop never blocks."""

    def bind(name: str) -> Callable[..., Any]:
        method = getattr(store, name, None)
        if method is None:

            async def missing(*args: Any) -> Any:
                raise SessionError(f"the store has no {name}() method")

            return missing
        if is_async_store(store):
            return method  # type: ignore[no-any-return]
        if getattr(store, "blocking", True):

            async def threaded(*args: Any) -> Any:
                return await asyncio.to_thread(method, *args)

            return threaded

        async def inline(*args: Any) -> Any:
            return method(*args)

        return inline

    return bind("get"), bind("set"), bind("replace"), bind("touch"), bind("destroy")
