"""Option validation: every bad option is an error naming it, at construction.

The cookie options are kept as given (only the keys the user set, in their
order), because express-session stores exactly those and applies them in order.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import secrets as _secrets
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from .cookie_options import (
    CookieOptions,
    check_cookie_value,
    check_session_cookie,
    did_you_mean,
    normalize_cookie_options,
)
from .params import DEFAULT, STARLETTE_MAX_AGE
from .signing import normalize_secrets
from .stores._users import check_user_key

Genid = Callable[[Any], str]
CookieFactory = Callable[[Any], Mapping[str, Any]]

# RFC 7230 token: what a cookie name may be.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def default_genid(_: Any = None) -> str:
    """24 random bytes from ``secrets``, base64url: 32 characters, as uid-safe."""
    return _secrets.token_urlsafe(24)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"option {name!r} must be a bool, not {type(value).__name__}")
    return value


def _seconds(name: str, value: Any) -> float | None:
    """None, or a positive finite number of seconds (a `timedelta` too)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"option {name!r} must be seconds (a number or a timedelta) or None, "
            f"not {type(value).__name__}"
        )
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"option {name!r} must be a positive number of seconds, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Options:
    """Everything the middlewares were configured with, validated."""

    secrets: tuple[bytes, ...]
    store: Any
    name: str
    cookie: dict[str, Any] | None  # None when cookie_factory is set
    cookie_factory: CookieFactory | None
    genid: Genid
    proxy: bool | None
    resave: bool
    rolling: bool
    save_uninitialized: bool
    unset_destroy: bool
    user_key: str | None = None  # the data key the store indexes sessions by
    touch_after: float | None = None  # seconds
    absolute_timeout: float | None = None  # seconds
    cache_headers: bool = True


# Starlette's SessionMiddleware keywords that set a cookie attribute, and which.
_STARLETTE_COOKIE = {
    "max_age": "max_age",
    "path": "path",
    "same_site": "same_site",
    "https_only": "secure",
    "domain": "domain",
}


def build_options(
    *,
    secret: Any = None,
    store: Any = None,
    name: str | None = None,
    cookie: Any = None,
    genid: Genid | None = None,
    proxy: bool | None = None,
    resave: bool = False,
    rolling: bool = False,
    save_uninitialized: bool = False,
    unset: str = "keep",
    touch_after: Any = None,
    absolute_timeout: Any = None,
    cache_headers: bool = True,
    secret_key: Any = None,
    session_cookie: str | None = None,
    max_age: Any = DEFAULT,
    path: str | None = None,
    same_site: Any = None,
    https_only: bool | None = None,
    domain: str | None = None,
    user_key: str | None = None,
) -> Options:
    """Validate every option; an error names the option it is about.

    Starlette's keywords (``secret_key``, ``session_cookie``, ``max_age``,
    ``path``, ``same_site``, ``https_only``, ``domain``) are accepted as well:
    with ``secret_key`` the unset ones take Starlette's defaults (cookie
    ``"session"``, 14 days, SameSite=Lax), so Starlette's SessionMiddleware can
    be replaced by changing the import. Each may also be given beside
    fastsession's own options, but never together with the option that sets
    the same thing.
    """
    starlette = secret_key is not None
    if starlette:
        if secret is not None:
            raise TypeError(
                "options 'secret' and 'secret_key' (Starlette's name) both set the secret; give one"
            )
        secret = _starlette_secret(secret_key)
    if session_cookie is not None:
        if name is not None:
            raise TypeError(
                "options 'name' and 'session_cookie' (Starlette's name) both set the "
                "cookie name; give one"
            )
        name = session_cookie
    if name is None:
        name = "session" if starlette else "connect.sid"

    if secret is None:
        raise TypeError(
            "option 'secret' is required: a non-empty str or bytes, or a list "
            "(or Starlette's 'secret_key')"
        )
    if isinstance(secret, (str, bytes)) and not secret:
        raise ValueError("option 'secret' is required: a non-empty str or bytes, or a list")
    try:
        keys = normalize_secrets(secret)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"option 'secret': {exc}") from None
    if any(not k for k in keys):
        raise ValueError("option 'secret' must not contain an empty secret")
    if len(keys[0]) < 32:
        warnings.warn(
            "option 'secret': the signing secret is shorter than 32 bytes; "
            "use a long random value (e.g. secrets.token_urlsafe(32))",
            UserWarning,
            stacklevel=5,
        )

    # None: the engine uses the default MemoryStore.
    if store is not None:
        if isinstance(store, type):
            raise TypeError(
                f"option 'store' must be a store, not the class {store.__name__}: "
                f"write store={store.__name__}(...)"
            )
        for method in ("get", "set", "destroy"):
            if not callable(getattr(store, method, None)):
                raise TypeError(f"option 'store' has no {method}() method: {store!r}")

    if not isinstance(name, str) or not _TOKEN.match(name):
        raise ValueError(f"option 'name' must be a cookie name (an RFC 7230 token), not {name!r}")

    given = {
        key: value
        for key, value in (
            ("max_age", max_age),
            ("path", path),
            ("same_site", same_site),
            ("https_only", https_only),
            ("domain", domain),
        )
        if value is not DEFAULT and value is not None
    }
    if max_age is None:  # Starlette's None: a browser-session cookie
        given["max_age"] = None

    cookie_factory: CookieFactory | None = None
    cookie_opts: dict[str, Any] | None = None
    if callable(cookie) and not isinstance(cookie, Mapping):
        if given:
            raise TypeError(
                f"option {next(iter(given))!r} cannot be combined with a callable 'cookie': "
                "return it from the callable instead"
            )
        cookie_factory = cookie
    else:
        cookie_opts = normalize_cookie_options(cookie)
        cookie_opts.update(_starlette_cookie(given, cookie_opts, starlette))
        check_session_cookie(cookie_opts)

    if genid is None:
        genid = default_genid
    elif not callable(genid):
        raise TypeError("option 'genid' must be a callable returning a str")

    if proxy is not None and not isinstance(proxy, bool):
        raise TypeError(f"option 'proxy' must be None, True or False, not {proxy!r}")
    if unset not in ("keep", "destroy"):
        raise ValueError(f'option \'unset\' must be "keep" or "destroy", not {unset!r}')

    return Options(
        secrets=keys,
        store=store,
        name=name,
        cookie=cookie_opts,
        cookie_factory=cookie_factory,
        genid=genid,
        proxy=proxy,
        resave=_bool("resave", resave),
        rolling=_bool("rolling", rolling),
        save_uninitialized=_bool("save_uninitialized", save_uninitialized),
        unset_destroy=unset == "destroy",
        user_key=_user_key(user_key),
        touch_after=_seconds("touch_after", touch_after),
        absolute_timeout=_seconds("absolute_timeout", absolute_timeout),
        cache_headers=_bool("cache_headers", cache_headers),
    )


def _user_key(key: Any) -> str | None:
    if key is None:
        return None
    try:
        return check_user_key(key)
    except (TypeError, ValueError) as exc:
        detail = str(exc).removeprefix("user_key: ")
        raise type(exc)(f"option 'user_key': {detail}") from None


def _starlette_secret(secret_key: Any) -> Any:
    if isinstance(secret_key, (str, bytes)):
        return secret_key
    # starlette.datastructures.Secret hides its value from repr; str() gives it.
    if type(secret_key).__name__ == "Secret":
        return str(secret_key)
    raise TypeError(
        f"option 'secret_key' must be a str, bytes or Starlette's Secret, "
        f"not {type(secret_key).__name__}"
    )


def _starlette_cookie(
    given: dict[str, Any], cookie: Mapping[str, Any], starlette: bool
) -> dict[str, Any]:
    """The cookie attributes Starlette's keywords set: the given ones, and with
    ``secret_key`` Starlette's defaults for those ``cookie`` leaves out."""
    out: dict[str, Any] = {}
    for option, value in given.items():
        key = _STARLETTE_COOKIE[option]
        if key in cookie:
            raise TypeError(
                f"option {option!r} and cookie={{{key!r}: ...}} both set the cookie's "
                f"{key}; give one"
            )
        if option == "https_only":
            value = _bool("https_only", value)
        out[key] = check_cookie_value(key, value)
    if starlette:
        for key, value in (("max_age", STARLETTE_MAX_AGE), ("same_site", "lax")):
            if key not in cookie and key not in out:
                out[key] = value
    return out


P = ParamSpec("P")
R = TypeVar("R")


def named_options(init: Callable[P, R]) -> Callable[P, R]:
    """Wrap a middleware's ``__init__`` so an unknown option is a TypeError that
    names it and the nearest valid option (the signature is kept for type
    checkers, editors and ``inspect``)."""
    params = inspect.signature(init).parameters
    valid = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    known = frozenset(params)
    owner = init.__qualname__.split(".")[0]

    @functools.wraps(init)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        for key in kwargs:
            if key not in known:
                raise TypeError(
                    f"{owner}() got an unknown option {key!r}{did_you_mean(key, valid)}"
                )
        return init(*args, **kwargs)

    return checked


def cookie_path(options: Mapping[str, Any]) -> str:
    """The path prefix a request must have to get a session (express: ``path || '/'``)."""
    return options.get("path") or "/"


__all__ = [
    "CookieOptions",
    "Options",
    "build_options",
    "default_genid",
    "named_options",
    "normalize_cookie_options",
]
