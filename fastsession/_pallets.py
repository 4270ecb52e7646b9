"""What fastsession.flask and fastsession.quart share (both are Pallets frameworks).

* The options: Flask's (and Quart's) config keys give the defaults
  (``SECRET_KEY`` + ``SECRET_KEY_FALLBACKS``, ``SESSION_COOKIE_*``,
  ``PERMANENT_SESSION_LIFETIME``, ``SESSION_REFRESH_EACH_REQUEST``); the
  options passed to ``FastSession`` win.
* `PalletsSession`: Flask's ``SessionMixin`` attributes over a fastsession
  session (``modified`` from the data's JSON, ``new``, ``accessed``), and the
  opt-in tagged values (fastsession.tagged) in the stored record.
* What Flask's own session interface does at the response that express-session
  does not: ``session.permanent`` decides the cookie's lifetime, a permanent
  session's cookie is sent again on every response (``SESSION_REFRESH_EACH_REQUEST``),
  and a session emptied (``clear()``) or destroyed leaves the store and the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from ._speedups import RequestCore, SessionCore
from .cookie_options import check_cookie_value, normalize_cookie_options
from .cookies import serialize
from .engine import cookie_options
from .errors import SerializationError
from .options import Options, build_options
from .record import encode_data
from .session_cookie import Cookie, same_site_token
from .tagged import Codec, resolve_serializer, tag_data, untag_data

__all__ = ["PalletsSession", "Settings", "clear_cookie_line", "extra_cookie_line", "settings_of"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RESERVED = 'the session key "cookie" is reserved for the cookie'


@dataclass(frozen=True, slots=True)
class Settings:
    """One app's session settings: the engine's options and Flask's extras."""

    options: Options
    lifetime: float | None
    """Seconds a permanent session's cookie lives; None when the ``cookie``
    option gives the lifetime (then ``permanent`` does not change it)."""
    refresh: bool
    """Send a permanent session's cookie on every response."""
    codec: Codec | None

    def cookie_for(self, conn: Any) -> Mapping[str, Any]:
        """The cookie options of a request (static, or the ``cookie`` callable's)."""
        return cookie_options(self.options, conn)


def settings_of(config: Mapping[str, Any], explicit: Mapping[str, Any]) -> Settings:
    """The settings from an app's config, ``explicit`` (FastSession's options) winning."""
    options = dict(explicit)
    codec = resolve_serializer(options.pop("serializer", None))
    rolling = options.pop("rolling", None)
    if rolling is not None and not isinstance(rolling, bool):
        raise TypeError(f"option 'rolling' must be a bool or None, not {type(rolling).__name__}")
    if options.get("secret") is None:
        options["secret"] = _config_secrets(config)
    if options.get("name") is None:
        options["name"] = config.get("SESSION_COOKIE_NAME") or "connect.sid"
    cookie = options.get("cookie")
    lifetime: float | None = None
    if not callable(cookie) or isinstance(cookie, Mapping):
        given = normalize_cookie_options(cookie)
        options["cookie"] = {**_config_cookie(config), **given}
        if "max_age" not in given and "expires" not in given:
            lifetime = _config_lifetime(config)
    # An explicit ``rolling`` is express's, for every session; otherwise Flask's
    # refresh applies to permanent sessions.
    refresh = (
        rolling is None
        and lifetime is not None
        and bool(config.get("SESSION_REFRESH_EACH_REQUEST", True))
    )
    return Settings(
        options=build_options(**options, rolling=bool(rolling)),
        lifetime=lifetime,
        refresh=refresh,
        codec=codec,
    )


def _config_secrets(config: Mapping[str, Any]) -> list[Any]:
    key = config.get("SECRET_KEY")
    if not key:
        raise ValueError(
            "option 'secret' is required: pass FastSession(secret=...) or set "
            "app.config['SECRET_KEY'] (SECRET_KEY_FALLBACKS keep old keys verifying)"
        )
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, (str, bytes)):
        raise TypeError("app.config['SECRET_KEY_FALLBACKS'] must be a list of keys")
    return [key, *fallbacks]


def _config_cookie(config: Mapping[str, Any]) -> dict[str, Any]:
    """The cookie options Flask's config sets. A value equal to express's
    default is left out, so the stored cookie keeps express's members."""
    path = config.get("SESSION_COOKIE_PATH") or config.get("APPLICATION_ROOT") or "/"
    same_site = config.get("SESSION_COOKIE_SAMESITE")
    given = {
        "path": ("SESSION_COOKIE_PATH", path, path != "/"),
        "domain": ("SESSION_COOKIE_DOMAIN", config.get("SESSION_COOKIE_DOMAIN"), None),
        "http_only": ("SESSION_COOKIE_HTTPONLY", config.get("SESSION_COOKIE_HTTPONLY", True), None),
        "secure": ("SESSION_COOKIE_SECURE", config.get("SESSION_COOKIE_SECURE"), None),
        "same_site": (
            "SESSION_COOKIE_SAMESITE",
            same_site.lower() if isinstance(same_site, str) else same_site,
            None,
        ),
        "partitioned": (
            "SESSION_COOKIE_PARTITIONED",
            config.get("SESSION_COOKIE_PARTITIONED"),
            None,
        ),
    }
    out: dict[str, Any] = {}
    for option, (key, value, wanted) in given.items():
        if wanted is None:
            # Flask writes HttpOnly unless told not to; the others are off unless set.
            wanted = value is not True if option == "http_only" else bool(value)
        if not wanted:
            continue
        try:
            out[option] = check_cookie_value(option, value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"app.config[{key!r}]: {exc}") from None
    return out


def _config_lifetime(config: Mapping[str, Any]) -> float:
    value = config.get("PERMANENT_SESSION_LIFETIME", timedelta(days=31))
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError(
            "app.config['PERMANENT_SESSION_LIFETIME'] must be a positive timedelta or "
            f"seconds, not {value!r}"
        )
    return float(seconds)


class PalletsSession(SessionCore):
    """Flask's ``SessionMixin`` attributes over a fastsession session: the base
    of the Flask and Quart session classes (with `Session` or `AsyncSession`).

    The kernel takes a session class whose metaclass is ``type``, so the
    classes do not inherit ``SessionMixin`` (an ABC): they define what it
    defines and are registered as its virtual subclasses.
    """

    codec: ClassVar[Codec | None] = None
    """The tagged-value codec (``serializer="tagged"``), or None: plain JSON."""

    accessed: bool = False
    """Whether the request read the session (the response then varies by Cookie)."""

    _forced: bool = False

    @property
    def permanent(self) -> bool:
        """Flask's ``permanent``: the ``"_permanent"`` key; a permanent session's
        cookie lives ``PERMANENT_SESSION_LIFETIME``, another's until the browser closes."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    @property
    def modified(self) -> bool:
        """Whether this request changed the session: its data's JSON against the
        loaded one (so a change inside a nested value counts, with no need to
        say so), or a new id. Setting it True sends the cookie again, as in Flask."""
        if self._forced:
            return True
        request = self.state
        if request is None:
            return False
        return bool(request.original_id != self.id or request.original_data != self.encode())

    @modified.setter
    def modified(self, value: bool) -> None:
        self._forced = bool(value)

    @property
    def new(self) -> bool:
        """Whether the session was made in this request (not read from the cookie)."""
        request = self.state
        return request is not None and request.cookie_id != self.id

    # Flask's request context sets ``accessed`` when it hands the session out;
    # these set it too, for Quart, whose context does not.
    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return dict.__contains__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return dict.get(self, key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return dict.setdefault(self, key, default)

    # -- the stored form: tagged values when a codec is set ---------------------

    def bind(self, sid: str, cookie: Any, data: Mapping[str, Any], state: Any) -> None:
        codec = self.codec
        if codec is not None and data:
            data = untag_data(codec, data)
        super().bind(sid, cookie, data, state)

    def encode(self) -> bytes:
        codec = self.codec
        if codec is None or self.encoded is not None:
            return super().encode()
        if dict.__contains__(self, "cookie"):
            raise SerializationError(_RESERVED)
        return encode_data(tag_data(codec, self))

    def to_record(self) -> dict[str, Any]:
        codec = self.codec
        if codec is None:
            return super().to_record()
        if dict.__contains__(self, "cookie"):
            raise SerializationError(_RESERVED)
        return {"cookie": self.cookie.to_dict(), **tag_data(codec, self)}


def with_codec(cls: type[PalletsSession], codec: Codec | None) -> Any:
    """``cls``, or its subclass that stores values through ``codec``."""
    if codec is None:
        return cls
    return type(cls.__name__, (cls,), {"codec": codec, "__module__": cls.__module__})


# -- at the response -------------------------------------------------------------------


def apply_permanence(session: PalletsSession, settings: Settings) -> bool:
    """``session.permanent`` as the cookie's lifetime (``PERMANENT_SESSION_LIFETIME``,
    or a browser-session cookie); True when that changed the cookie."""
    lifetime = settings.lifetime
    if lifetime is None:
        return False
    cookie: Cookie = session.cookie
    if dict.get(session, "_permanent", False):
        original = cookie.original_ms
        # A record another app wrote may be a few ms short (express reads the clock twice).
        if original is None or abs(original - lifetime * 1000) > 1000:
            cookie.max_age = lifetime
            return True
        return False
    if cookie.expires_ms is not None or cookie.original_ms is not None:
        cookie.max_age = None
        return True
    return False


def ending(session: PalletsSession, request: RequestCore) -> str | None:
    """How the browser's session ends in this request: "emptied" (Flask's
    logout, ``session.clear()``: still to be destroyed in the store), or
    "destroyed" (``destroy()`` was called); None when it goes on."""
    engine = request.engine
    if request.cookie_id is None:
        return None
    current = request.conn.get(engine.session_key)
    if current is None:
        return "destroyed"
    if (
        current is session
        and request.cookie_id == session.id
        and not dict.__len__(session)
        and request.original_data != b"{}"
    ):
        return "emptied"
    return None


def extra_cookie_line(
    session: PalletsSession, request: RequestCore, settings: Settings, changed: bool
) -> str | None:
    """The Set-Cookie line Flask sends where express's rules send none, for a
    session the browser already has: its lifetime changed, ``modified`` was
    set, or it is permanent and refreshed on each request."""
    engine = request.engine
    if request.conn.get(engine.session_key) is not session or request.cookie_id != session.id:
        return None
    permanent = settings.lifetime is not None and dict.get(session, "_permanent", False)
    if not (changed or session._forced or (permanent and settings.refresh)):
        return None
    cookie: Cookie = session.cookie
    if cookie.secure and not request.is_secure():
        return None  # as the kernel: a browser drops a secure cookie sent over http
    return engine.set_cookie_line(session.id, cookie)


def clear_cookie_line(name: str, cookie: Cookie) -> str:
    """A Set-Cookie line that deletes the session cookie (express's ``clearCookie``)."""
    return serialize(
        name,
        "",
        expires=_EPOCH,
        domain=cookie.domain,
        path=cookie.path,
        http_only=bool(cookie.http_only),
        secure=cookie.secure is True,
        same_site=same_site_token(cookie.same_site),
        partitioned=bool(cookie.partitioned),
    )


def path_of(conn: Any, asgi: bool) -> str:
    if asgi:
        return str(conn.get("path") or "/")
    return str(conn.get("SCRIPT_NAME", "") + conn.get("PATH_INFO", "")) or "/"


def open_core(engine: Any, settings: Settings, conn: Any, asgi: bool) -> RequestCore | None:
    """The request's kernel, or None when the path is outside the cookie's."""
    options = settings.cookie_for(conn)
    if not path_of(conn, asgi).startswith(options.get("path") or "/"):
        return None
    return RequestCore(engine, conn, options, None)
