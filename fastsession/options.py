"""Option validation: every bad option is an error naming it, at construction.

The cookie options are kept as given (only the keys the user set, in their
order), because express-session stores exactly those and applies them in order.
"""

from __future__ import annotations

import inspect
import math
import re
import secrets as _secrets
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .signing import normalize_secrets
from .stores import AsyncStore

Genid = Callable[[Any], str]
CookieFactory = Callable[[Any], Mapping[str, Any]]

_ALIASES = {
    "httpOnly": "http_only",
    "maxAge": "max_age",
    "sameSite": "same_site",
}
COOKIE_KEYS = (
    "path",
    "domain",
    "http_only",
    "secure",
    "max_age",
    "expires",
    "same_site",
    "partitioned",
    "priority",
)
# RFC 7230 token, and cookie 0.7.2's domain and path rules (checked again when written).
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_DOMAIN = re.compile(
    r"^\.?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$", re.I
)
_PATH = re.compile(r"^[\x20-\x3a\x3d-\x7e]*$")


def default_genid(_: Any = None) -> str:
    """24 random bytes from ``secrets``, base64url: 32 characters, as uid-safe."""
    return _secrets.token_urlsafe(24)


def _bad(key: str, why: str) -> ValueError:
    return ValueError(f"cookie option {key!r} {why}")


def _check_cookie_value(key: str, value: Any) -> Any:
    """Validate one cookie option; returns it as it will be stored."""
    if key == "path":
        if value is not None and (not isinstance(value, str) or not _PATH.match(value)):
            raise _bad(key, f"is invalid: {value!r}")
    elif key == "domain":
        if value is not None and (not isinstance(value, str) or not _DOMAIN.match(value)):
            raise _bad(key, f"is invalid: {value!r}")
    elif key in ("http_only", "partitioned"):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"cookie option {key!r} must be a bool, not {type(value).__name__}")
    elif key == "secure":
        if value is not None and not isinstance(value, bool) and value != "auto":
            raise _bad(key, f'must be True, False or "auto", not {value!r}')
    elif key == "same_site":
        if not (
            value is None
            or isinstance(value, bool)
            or (isinstance(value, str) and value.lower() in ("lax", "strict", "none", "auto"))
        ):
            raise _bad(key, f'must be a bool or "lax", "strict", "none", "auto", not {value!r}')
    elif key == "priority":
        if value is not None and (
            not isinstance(value, str) or value.lower() not in ("low", "medium", "high")
        ):
            raise _bad(key, f'must be "low", "medium" or "high", not {value!r}')
    elif key == "max_age":
        if isinstance(value, timedelta):
            value = value.total_seconds()
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(
                    f"cookie option 'max_age' must be seconds (int, float or timedelta), "
                    f"not {type(value).__name__}"
                )
            if not math.isfinite(value):
                raise _bad(key, f"must be finite, not {value!r}")
    elif key == "expires":
        if value is not None:
            if not isinstance(value, datetime):
                raise TypeError(
                    f"cookie option 'expires' must be an aware datetime, not {type(value).__name__}"
                )
            if value.tzinfo is None or value.utcoffset() is None:
                raise _bad(key, "must be an aware datetime (naive datetimes are ambiguous)")
    return value


def normalize_cookie_options(value: Any) -> dict[str, Any]:
    """A cookie mapping → the validated options, snake_case keys, in given order."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"option 'cookie' must be a mapping or a callable, not {type(value).__name__}"
        )
    out: dict[str, Any] = {}
    for raw_key, raw_value in value.items():
        key = _ALIASES.get(raw_key, raw_key)
        if key not in COOKIE_KEYS:
            raise TypeError(f"unknown cookie option {raw_key!r}")
        out[key] = _check_cookie_value(key, raw_value)
    return out


class CookieOptions(Mapping[str, Any]):
    """The session cookie's settings, validated (``cookie=CookieOptions(...)``)."""

    __slots__ = ("_data",)

    def __init__(self, mapping: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        merged = dict(mapping or {})
        merged.update(kwargs)
        self._data = normalize_cookie_options(merged)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"CookieOptions({self._data!r})"


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"option {name!r} must be a bool, not {type(value).__name__}")
    return value


def is_async_store(store: Any) -> bool:
    return isinstance(store, AsyncStore) or inspect.iscoroutinefunction(
        getattr(store, "get", None)
    )


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


def build_options(
    *,
    secret: Any,
    store: Any = None,
    name: str = "connect.sid",
    cookie: Any = None,
    genid: Genid | None = None,
    proxy: bool | None = None,
    resave: bool = False,
    rolling: bool = False,
    save_uninitialized: bool = False,
    unset: str = "keep",
    allow_async_store: bool = True,
) -> Options:
    if secret is None or (isinstance(secret, (str, bytes)) and not secret):
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
            stacklevel=4,
        )

    if store is None:
        from .stores.memory import MemoryStore

        store = MemoryStore()
    for method in ("get", "set", "destroy"):
        if not callable(getattr(store, method, None)):
            raise TypeError(f"option 'store' has no {method}() method: {store!r}")
    if not allow_async_store and is_async_store(store):
        raise TypeError("option 'store': a WSGI app needs a sync Store, not an AsyncStore")

    if not isinstance(name, str) or not _TOKEN.match(name):
        raise ValueError(f"option 'name' must be a cookie name (an RFC 7230 token), not {name!r}")

    cookie_factory: CookieFactory | None = None
    cookie_opts: dict[str, Any] | None = None
    if callable(cookie) and not isinstance(cookie, Mapping):
        cookie_factory = cookie
    else:
        cookie_opts = normalize_cookie_options(cookie)

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
    )


def cookie_path(options: Mapping[str, Any]) -> str:
    """The path prefix a request must have to get a session (express: ``path || '/'``)."""
    return options.get("path") or "/"


__all__ = ["CookieOptions", "Options", "build_options", "default_genid", "normalize_cookie_options"]
