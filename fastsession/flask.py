"""fastsession for Flask: ``flask.session`` is a fastsession session.

``FastSession(app, **options)`` or ``FastSession(**options).init_app(app)``
installs a Flask ``SessionInterface``: the session's data is in the store (the
default `MemoryStore`, or Redis, SQLite, PostgreSQL...), the browser holds only
the signed id, as with express-session. ``flash()``, ``session.permanent``,
``app.test_client().session_transaction()`` and Flask's config keys work as
with Flask's own session; ``session.regenerate()``, ``save()``, ``reload()``
and ``destroy()`` are express-session's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

import flask
from flask import Flask
from flask.sessions import SessionInterface, SessionMixin
from flask.wrappers import Request, Response

from ._pallets import (
    PalletsSession,
    Settings,
    apply_permanence,
    clear_cookie_line,
    ending,
    extra_cookie_line,
    open_core,
    settings_of,
    with_codec,
)
from ._speedups import EngineCore
from .engine import make_engine
from .secure import wsgi_secure_of
from .session import Session
from .tagged import Codec

__all__ = ["FastSession", "FastSessionInterface", "FlaskSession", "get_session"]


if TYPE_CHECKING:  # a SessionMixin to type checkers; at run time a virtual subclass
    # ``new`` is read-only here: the kernel knows whether the session is new.
    class _Base(PalletsSession, Session, SessionMixin): ...  # type: ignore[override]

else:

    class _Base(PalletsSession, Session):
        pass


class FlaskSession(_Base):
    """``flask.session``: a `Session` (a dict with express's methods, sync) and
    Flask's ``SessionMixin`` (``permanent``, ``new``, ``modified``, ``accessed``)."""


SessionMixin.register(FlaskSession)


def get_session() -> FlaskSession:
    """``flask.session``, typed as what it is, for ``session.regenerate()`` and the
    other express methods (``flask.session`` is typed as Flask's ``SessionMixin``).

    A ``RuntimeError`` outside a request, or when the app's sessions are not
    fastsession's (``FastSession(app)`` not called).
    """
    proxy: Any = flask.session
    session = proxy._get_current_object()  # the object behind the context-local proxy
    if not isinstance(session, FlaskSession):
        raise RuntimeError(
            f"the session is a {type(session).__name__}, not fastsession's: "
            "install FastSession(app) first (or the path is outside the cookie's)"
        )
    return session


class FastSessionInterface(SessionInterface):
    """Flask's session interface over one fastsession engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session_class: type[FlaskSession] = with_codec(FlaskSession, settings.codec)
        self.engine: EngineCore = make_engine(
            settings.options,
            asgi=False,
            secure_of=wsgi_secure_of(settings.options.proxy),
            session_cls=self.session_class,
        )

    @property
    def store(self) -> Any:
        """The store sessions are kept in."""
        return self.engine.store

    def open_session(self, app: Flask, request: Request) -> FlaskSession | None:
        environ = request.environ
        core = open_core(self.engine, self.settings, environ, asgi=False)
        if core is None:
            return None  # outside the cookie's path: no session, as in express
        session = cast(FlaskSession, core.begin(self.engine.sids.read(environ.get("HTTP_COOKIE"))))
        session.accessed = False  # loading read it; the app has not yet
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FlaskSession) or session.state is None:
            return
        request = session.state
        try:
            vary = session.accessed
            changed = apply_permanence(session, self.settings)
            end = ending(session, request)
            if end is not None:
                if end == "emptied":
                    session.destroy()
                response.headers.add(
                    "Set-Cookie", clear_cookie_line(self.engine.sids.name, session.cookie)
                )
                response.vary.add("Cookie")
                return
            line = request.commit(False)
            if line is None:
                line = extra_cookie_line(session, request, self.settings, changed)
            if line is not None:
                response.headers.add("Set-Cookie", line)
                vary = True
            if vary:
                response.vary.add("Cookie")
        finally:
            # The request is over: cut session → request → environ → session.
            session.state = None
            session._forced = False


class FastSession:
    """Server-side sessions for a Flask app: ``FastSession(app, **options)``.

    The options are the middlewares' (``store``, ``cookie``, ``resave``...),
    each defaulting to the app's config where Flask has a key for it:
    ``secret`` from ``SECRET_KEY`` (with ``SECRET_KEY_FALLBACKS`` still
    verifying), ``name`` from ``SESSION_COOKIE_NAME``, the cookie's attributes
    from ``SESSION_COOKIE_*``. ``session.permanent`` gives the cookie
    ``PERMANENT_SESSION_LIFETIME`` (refreshed on each response under
    ``SESSION_REFRESH_EACH_REQUEST``) unless ``cookie`` sets a lifetime;
    ``rolling`` given explicitly is express's, for every session.
    ``serializer="tagged"`` stores datetime, UUID, bytes, tuple and Markup
    values as Flask's own session does (tagged JSON inside the record).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        secret: str | bytes | list[str | bytes] | tuple[str | bytes, ...] | None = None,
        store: Any = None,
        name: str | None = None,
        cookie: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None = None,
        genid: Callable[[Any], str] | None = None,
        proxy: bool | None = None,
        resave: bool = False,
        rolling: bool | None = None,
        save_uninitialized: bool = False,
        unset: Literal["keep", "destroy"] = "keep",
        user_key: str | None = None,
        serializer: Literal["json", "tagged"] | Codec | None = None,
    ) -> None:
        self.options: dict[str, Any] = {
            "secret": secret,
            "store": store,
            "name": name,
            "cookie": cookie,
            "genid": genid,
            "proxy": proxy,
            "resave": resave,
            "rolling": rolling,
            "save_uninitialized": save_uninitialized,
            "unset": unset,
            "user_key": user_key,
            "serializer": serializer,
        }
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> FastSessionInterface:
        """Install the session interface on ``app``, its config read now."""
        interface = FastSessionInterface(settings_of(app.config, self.options))
        app.session_interface = interface
        app.extensions["fastsession"] = interface
        return interface
