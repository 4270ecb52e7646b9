"""Django: ``fastsession.django.SessionMiddleware`` in place of Django's own.

::

    MIDDLEWARE = [
        ...,
        "fastsession.django.SessionMiddleware",  # was django.contrib.sessions'
        ...,
    ]
    FASTSESSION = {"store": RedisStore(redis.Redis()), "name": "connect.sid"}

``request.session`` is a `DjangoSession` (fastsession.django_session): the API
of Django's ``SessionBase``, which ``django.contrib.auth``, ``messages`` and
``CSRF_USE_SESSIONS`` use unchanged, over a session of the same engine, cookie
and stores as the ASGI and WSGI middlewares (so an Express app sharing the
store and secret reads the same cookie).

The options are ``settings.FASTSESSION``, the other middlewares' keywords.
Where it does not give them, Django's settings do:

* ``secret``: ``[SECRET_KEY, *SECRET_KEY_FALLBACKS]`` (the first signs, all verify);
* ``name``: ``SESSION_COOKIE_NAME``;
* each ``cookie`` key not given: ``SESSION_COOKIE_AGE`` as ``max_age`` (none
  with ``SESSION_EXPIRE_AT_BROWSER_CLOSE``), ``SESSION_COOKIE_PATH``,
  ``_DOMAIN``, ``_SECURE``, ``_HTTPONLY``, ``_SAMESITE``;
* ``resave`` and ``rolling``: ``SESSION_SAVE_EVERY_REQUEST``;
* ``store``: one `MemoryStore` per process, shared by every middleware instance.

As Django's middleware does, it saves nothing on a 5xx response, deletes the
cookie when a request that sent one ends with an empty session, and adds
``Vary: Cookie`` when the session was read. The middleware is sync and async
capable: under ASGI, a store that blocks runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from http.cookies import Morsel
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

from ._speedups import RequestCore, release
from .cookie_options import normalize_cookie_options
from .django_session import DjangoSession
from .engine import cookie_options, make_engine
from .options import Options, build_options
from .secure import forwarded_https
from .stores.memory import MemoryStore

__all__ = ["DjangoSession", "SessionMiddleware", "default_store", "django_options", "get_session"]

_REQUEST = "django.request"
_DEFAULT_STORE: MemoryStore | None = None


def default_store() -> MemoryStore:
    """The process's `MemoryStore`, used when ``FASTSESSION`` names no store."""
    global _DEFAULT_STORE
    if _DEFAULT_STORE is None:
        _DEFAULT_STORE = MemoryStore()
    return _DEFAULT_STORE


def get_session(request: HttpRequest) -> DjangoSession:
    """``request.session``, typed as what it is (django-stubs types it ``SessionBase``)."""
    session = getattr(request, "session", None)
    if not isinstance(session, DjangoSession):
        raise LookupError(
            "request.session is not fastsession's: is fastsession.django.SessionMiddleware "
            "in settings.MIDDLEWARE (in place of Django's)?"
        )
    return session


def django_options() -> tuple[dict[str, Any], int]:
    """``settings.FASTSESSION`` with Django's defaults filled in, and the cookie
    age in seconds that ``get_session_cookie_age()`` reports."""
    given = getattr(settings, "FASTSESSION", None) or {}
    if not isinstance(given, Mapping):
        raise ImproperlyConfigured(
            f"settings.FASTSESSION must be a dict of fastsession's options, "
            f"not {type(given).__name__}"
        )
    config = dict(given)
    if "secret" not in config:
        if not settings.SECRET_KEY:
            raise ImproperlyConfigured(
                "fastsession needs settings.SECRET_KEY (or FASTSESSION's secret)"
            )
        config["secret"] = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    config.setdefault("name", settings.SESSION_COOKIE_NAME)
    if config.get("store") is None:
        config["store"] = default_store()
    if settings.SESSION_SAVE_EVERY_REQUEST:
        config.setdefault("resave", True)
        config.setdefault("rolling", True)

    defaults = _cookie_defaults()
    cookie = config.get("cookie")
    try:
        if callable(cookie) and not isinstance(cookie, Mapping):
            factory = cookie
            config["cookie"] = lambda conn: _merged(defaults, factory(conn[_REQUEST]))
            age = None
        else:
            config["cookie"] = merged = _merged(defaults, cookie)
            age = merged.get("max_age")
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"settings.FASTSESSION: {exc}") from exc
    if isinstance(age, timedelta):
        age = age.total_seconds()
    genid = config.get("genid")
    if genid is not None and callable(genid):
        # The app's genid is given the Django request.
        config["genid"] = lambda conn: genid(conn[_REQUEST])
    cookie_age = int(age) if isinstance(age, (int, float)) else int(settings.SESSION_COOKIE_AGE)
    return config, cookie_age


def _merged(defaults: Mapping[str, Any], given: Any) -> dict[str, Any]:
    """The app's cookie options over Django's. An attribute set to None is left
    out (no attribute), so the stored record has no null member."""
    merged = {**defaults, **normalize_cookie_options(given)}
    return {k: v for k, v in merged.items() if v is not None or k in ("max_age", "expires")}


def _cookie_defaults() -> dict[str, Any]:
    """Django's SESSION_COOKIE_* settings as cookie options; those equal to
    fastsession's defaults are left out, so the stored record is express's."""
    out: dict[str, Any] = {}
    if settings.SESSION_COOKIE_PATH not in ("/", "", None):
        out["path"] = settings.SESSION_COOKIE_PATH
    if settings.SESSION_COOKIE_DOMAIN:
        out["domain"] = settings.SESSION_COOKIE_DOMAIN
    if settings.SESSION_COOKIE_SECURE:
        out["secure"] = True
    if not settings.SESSION_COOKIE_HTTPONLY:
        out["http_only"] = False
    if settings.SESSION_COOKIE_SAMESITE:
        out["same_site"] = settings.SESSION_COOKIE_SAMESITE
    out["max_age"] = (
        None if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else settings.SESSION_COOKIE_AGE
    )
    return out


def _secure_of(proxy: bool | None) -> Callable[[Any], bool]:
    """Whether a request came over TLS: Django's ``is_secure()`` (which applies
    SECURE_PROXY_SSL_HEADER); with ``proxy=True`` X-Forwarded-Proto, as express;
    with ``proxy=False`` the server's own scheme."""
    if proxy is True:
        return lambda conn: forwarded_https(conn[_REQUEST].META.get("HTTP_X_FORWARDED_PROTO", ""))
    if proxy is False:
        return lambda conn: bool(conn[_REQUEST]._get_scheme() == "https")
    return lambda conn: bool(conn[_REQUEST].is_secure())


class _SetCookie(Morsel[str]):
    """The engine's Set-Cookie line, as Django's response cookies hold one
    (its handlers and test client write ``output()`` and read ``coded_value``)."""

    def __init__(self, line: str) -> None:
        super().__init__()
        pair = line.split(";", 1)[0]
        name, _, value = pair.partition("=")
        self.set(name, value, value)
        self._line = line

    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802 (Morsel's name)
        return self._line


class SessionMiddleware:
    """Django middleware: ``request.session`` is a `DjangoSession`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        config, self.cookie_age = django_options()
        try:
            self.options: Options = build_options(**config)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"settings.FASTSESSION: {exc}") from exc
        self.engine = make_engine(
            self.options, asgi=self.is_async, secure_of=_secure_of(self.options.proxy)
        )

    def _begin(self, request: HttpRequest) -> tuple[RequestCore, dict[str, Any]]:
        conn: dict[str, Any] = {_REQUEST: request}
        options = cookie_options(self.options, conn)
        return RequestCore(self.engine, conn, options, None), conn

    def _attach(self, request: HttpRequest, core: RequestCore) -> DjangoSession:
        session = core.conn[self.engine.session_key]
        request.session = django_session = DjangoSession(session, core, self.cookie_age)  # type: ignore[assignment]
        return django_session

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        core, conn = self._begin(request)
        try:
            core.begin(self.engine.sids.read(request.META.get("HTTP_COOKIE")))
            session = self._attach(request, core)
            response = self.get_response(request)
            line = core.commit(False) if response.status_code < 500 else None
            self._respond(request, response, core, session, line)
        finally:
            self._release(conn)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        engine = self.engine
        core, conn = self._begin(request)
        sid = engine.sids.read(request.META.get("HTTP_COOKIE"))
        try:
            if engine.inline:
                core.begin(sid)
            else:
                await core.abegin(sid)
            session = self._attach(request, core)
            response = await self.get_response(request)
            line = None
            if response.status_code < 500:
                line = core.commit(False) if engine.inline else await core.acommit(False)
            self._respond(request, response, core, session, line)
        finally:
            self._release(conn)
        return response

    def _respond(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        core: RequestCore,
        session: DjangoSession,
        line: str | None,
    ) -> None:
        """The Set-Cookie line, a cookie deletion, and Vary: Cookie, as Django's."""
        if response.status_code >= 500:
            if session.accessed:
                patch_vary_headers(response, ("Cookie",))
            return
        name = self.options.name
        cookie = session.fastsession.cookie
        if line is None and session.expiry_set and not session.is_empty():
            # set_expiry() changed only the cookie: express would not resend it.
            if not cookie.secure or core.is_secure():
                line = self.engine.set_cookie_line(session.fastsession.id, cookie)
        if line is not None:
            response.cookies[name] = _SetCookie(line)
        elif name in request.COOKIES and session.is_empty():
            options = core.options
            response.delete_cookie(
                name,
                path=options.get("path") or "/",
                domain=options.get("domain"),
                samesite=_samesite(options.get("same_site")),
            )
        if session.accessed or line is not None or name in response.cookies:
            patch_vary_headers(response, ("Cookie",))

    def _release(self, conn: dict[str, Any]) -> None:
        release(conn, self.engine.session_key)
        # conn -> request -> session -> core -> conn: cut the cycle.
        conn.pop(_REQUEST, None)


def _samesite(value: Any) -> Any:
    if value is True:
        return "Strict"
    if not value or str(value).lower() == "auto":
        return None
    return str(value).capitalize()
