"""fastsession for Quart: ``quart.session`` is a fastsession session.

``FastSession(app, **options)`` or ``FastSession(**options).init_app(app)``
installs a Quart ``SessionInterface``, as `fastsession.flask` does for Flask,
with an `AsyncSession`: ``await session.regenerate()``, ``save()``,
``reload()``, ``destroy()``, and async stores (``AsyncRedisStore``,
``AsyncPostgresStore``) awaited on the app's event loop; a sync store that
waits on I/O runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

import quart
from quart import Quart
from quart.sessions import SessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket, Response
from werkzeug.wrappers import Response as WerkzeugResponse

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
from .secure import asgi_secure_of
from .session import AsyncSession
from .tagged import Codec

__all__ = ["FastSession", "FastSessionInterface", "QuartSession", "get_session"]

if TYPE_CHECKING:  # a SessionMixin to type checkers; at run time a virtual subclass
    # ``new`` is read-only here: the kernel knows whether the session is new.
    class _Base(PalletsSession, AsyncSession, SessionMixin): ...  # type: ignore[override]

else:

    class _Base(PalletsSession, AsyncSession):
        pass


class QuartSession(_Base):
    """``quart.session``: an `AsyncSession` (a dict with express's methods, as
    coroutines) and Flask's ``SessionMixin`` (``permanent``, ``new``,
    ``modified``, ``accessed``)."""


SessionMixin.register(QuartSession)


def get_session() -> QuartSession:
    """``quart.session``, typed as what it is, for ``session.regenerate()`` and the
    other express methods (``quart.session`` is typed as Flask's ``SessionMixin``).

    A ``RuntimeError`` outside a request, or when the app's sessions are not
    fastsession's (``FastSession(app)`` not called).
    """
    proxy: Any = quart.session
    session = proxy._get_current_object()  # the object behind the context-local proxy
    if not isinstance(session, QuartSession):
        raise RuntimeError(
            f"the session is a {type(session).__name__}, not fastsession's: "
            "install FastSession(app) first (or the path is outside the cookie's)"
        )
    return session


class FastSessionInterface(SessionInterface):
    """Quart's session interface over one fastsession engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session_class: type[QuartSession] = with_codec(QuartSession, settings.codec)
        self.engine: EngineCore = make_engine(
            settings.options,
            asgi=True,
            secure_of=asgi_secure_of(settings.options.proxy),
            session_cls=self.session_class,
        )

    @property
    def store(self) -> Any:
        """The store sessions are kept in."""
        return self.engine.store

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> QuartSession | None:
        scope = request.scope
        engine = self.engine
        core = open_core(engine, self.settings, scope, asgi=True)
        if core is None:
            return None  # outside the cookie's path: no session, as in express
        sid = engine.sids.read_asgi(scope.get("headers"))
        session = cast(QuartSession, core.begin(sid) if engine.inline else await core.abegin(sid))
        session.accessed = False  # loading read it; the app has not yet
        return session

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | WerkzeugResponse | None
    ) -> None:
        """Commit the session; ``response`` is None after a websocket, whose
        changes are stored with no cookie to send."""
        if not isinstance(session, QuartSession) or session.state is None:
            return
        request = session.state
        engine = self.engine
        try:
            vary = session.accessed
            changed = apply_permanence(session, self.settings)
            end = ending(session, request)
            if end is not None:
                if end == "emptied":
                    await session.destroy()
                if response is not None:
                    clear = clear_cookie_line(engine.sids.name, session.cookie)
                    response.headers.add("Set-Cookie", clear)
                    response.vary.add("Cookie")
                return
            line = request.commit(False) if engine.inline else await request.acommit(False)
            if line is None:
                line = extra_cookie_line(session, request, self.settings, changed)
            if response is None:
                return
            if line is not None:
                response.headers.add("Set-Cookie", line)
                vary = True
            if vary:
                response.vary.add("Cookie")
        finally:
            # The request is over: cut session → request → scope → session.
            session.state = None
            session._forced = False


class FastSession:
    """Server-side sessions for a Quart app: ``FastSession(app, **options)``.

    The options and the config keys they default to are those of
    `fastsession.flask.FastSession`; stores may be sync or async.
    """

    def __init__(
        self,
        app: Quart | None = None,
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

    def init_app(self, app: Quart) -> FastSessionInterface:
        """Install the session interface on ``app``, its config read now."""
        interface = FastSessionInterface(settings_of(app.config, self.options))
        # Quart types the attribute as its own cookie interface, not the base class.
        app.session_interface = interface  # type: ignore[assignment]
        app.extensions["fastsession"] = interface
        return interface
