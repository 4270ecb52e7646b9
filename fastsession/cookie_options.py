"""The session cookie's options: each attribute checked, errors naming it.

Used by the middlewares' options (fastsession.options) and by the Cookie's
attribute setters, so a value is judged the same way wherever it is set.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

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
# cookie 0.7.2's domain and path rules (checked again when written).
_DOMAIN = re.compile(
    r"^\.?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$", re.I
)
_PATH = re.compile(r"^[\x20-\x3a\x3d-\x7e]*$")


def _bad(key: str, why: str) -> ValueError:
    return ValueError(f"cookie option {key!r} {why}")


def check_cookie_value(key: str, value: Any) -> Any:
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
            hint = did_you_mean(raw_key, (*_ALIASES, *COOKIE_KEYS))
            raise TypeError(f"unknown cookie option {raw_key!r}{hint}")
        out[key] = check_cookie_value(key, raw_value)
    return out


def did_you_mean(name: Any, valid: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the valid name nearest to ``name``, or ``""``."""
    if not isinstance(name, str):
        return ""
    folded = {v.replace("_", "").lower(): v for v in valid}
    close = difflib.get_close_matches(name.replace("_", "").lower(), list(folded), n=1, cutoff=0.6)
    return f"; did you mean {folded[close[0]]!r}?" if close else ""


def check_session_cookie(options: Mapping[str, Any]) -> Mapping[str, Any]:
    """The traps a middleware's cookie must avoid, refused before any request.

    Each is accepted by express-session and fails later or silently: a max age
    of zero or less (the cookie is expired when sent: a new session on every
    request), a path not starting with "/" (browsers ignore it and use the
    request's directory), SameSite=None without Secure (browsers drop it).
    """
    max_age = options.get("max_age")
    if max_age is not None and max_age <= 0:
        raise _bad(
            "max_age",
            f"must be more than 0 seconds, not {max_age!r}: the cookie would expire as it is "
            "sent, so every request would start a new session (None: a browser-session cookie)",
        )
    path = options.get("path")
    if path and not path.startswith("/"):
        raise _bad(
            "path", f'must start with "/", not {path!r} (browsers ignore such a path): "/{path}"?'
        )
    same_site = options.get("same_site")
    none = isinstance(same_site, str) and same_site.lower() == "none"
    if none and options.get("secure") is not True:
        raise _bad(
            "same_site",
            '"none" needs secure=True: browsers drop a SameSite=None cookie that is not Secure '
            '(same_site="auto" sends None over https and Lax over http)',
        )
    return options


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


__all__ = [
    "COOKIE_KEYS",
    "CookieOptions",
    "check_cookie_value",
    "check_session_cookie",
    "did_you_mean",
    "normalize_cookie_options",
]
