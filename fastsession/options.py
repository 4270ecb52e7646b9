"""Option validation: every bad option is an error naming it, at construction.

The cookie options are kept as given (only the keys the user set, in their
order), because express-session stores exactly those and applies them in order.
"""

from __future__ import annotations

import re
import secrets as _secrets
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .cookie_options import CookieOptions, normalize_cookie_options
from .signing import normalize_secrets

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

    # None: the engine makes the default MemoryStore.
    if store is not None:
        for method in ("get", "set", "destroy"):
            if not callable(getattr(store, method, None)):
                raise TypeError(f"option 'store' has no {method}() method: {store!r}")

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
