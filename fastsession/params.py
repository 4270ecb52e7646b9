"""The typed shapes of the middlewares' options, for type checkers and editors.

`SessionMiddleware` and `WSGISessionMiddleware` declare each option with these
types, so mypy and pyright flag a misspelt option (``resav=True``), a wrong type
(``resave="yes"``) or an unknown cookie key (``cookie={"maxage": 60}``) before
the code runs; at run time the same mistakes are errors naming the option.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypedDict

from .cookie_options import CookieOptions

if TYPE_CHECKING:
    from starlette.datastructures import Secret as StarletteSecret
else:
    try:
        from starlette.datastructures import Secret as StarletteSecret
    except ImportError:  # without Starlette there is no Secret to pass
        StarletteSecret = str

Secret: TypeAlias = str | bytes | Sequence[str | bytes]
"""A signing secret, or several: the first signs, all verify (rotation)."""

SameSite: TypeAlias = bool | Literal["lax", "strict", "none", "auto", "Lax", "Strict", "None"]
"""The cookie's SameSite: True is "strict", False leaves the attribute out; "auto"
is "none" over https and "lax" over http."""

Secure: TypeAlias = bool | Literal["auto"]
"""The cookie's Secure: "auto" follows the request's scheme."""

Priority: TypeAlias = Literal["low", "medium", "high", "Low", "Medium", "High"]
"""The cookie's Priority attribute (a Chrome extension)."""

Unset: TypeAlias = Literal["keep", "destroy"]
"""What unsetting the request's session does to the stored copy."""


class CookieParams(TypedDict, total=False):
    """The session cookie's settings, every key optional (``cookie={...}``).

    Times are seconds. express-session's camelCase names (``maxAge``,
    ``httpOnly``, ``sameSite``) are accepted too; ``maxAge`` is still seconds.
    """

    path: str
    domain: str | None
    http_only: bool
    secure: Secure
    max_age: float | timedelta | None
    expires: datetime | None
    same_site: SameSite | None
    partitioned: bool
    priority: Priority | None
    httpOnly: bool
    maxAge: float | timedelta | None
    sameSite: SameSite | None


CookieFactory: TypeAlias = Callable[[Any], CookieParams | CookieOptions]
"""Called with the ASGI scope or WSGI environ of each new session's request."""

CookieArg: TypeAlias = CookieParams | CookieOptions | CookieFactory
"""What ``cookie=`` takes: settings, validated settings, or a function of the request."""

Genid: TypeAlias = Callable[[Any], str]
"""Called with the ASGI scope or WSGI environ: a new session id."""

StarletteSecretKey: TypeAlias = str | bytes | StarletteSecret
"""Starlette's ``secret_key``: a str, or its ``starlette.datastructures.Secret``."""


class _Default(Enum):
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default.DEFAULT
"""Marks an option left out, where None is a value of its own (Starlette's
``max_age=None``: a browser-session cookie)."""

DefaultType: TypeAlias = Literal[_Default.DEFAULT]
"""The type of `DEFAULT`."""

STARLETTE_MAX_AGE: Final = 14 * 24 * 60 * 60
"""Starlette's SessionMiddleware default ``max_age``: 14 days."""

__all__ = [
    "DEFAULT",
    "STARLETTE_MAX_AGE",
    "CookieArg",
    "CookieFactory",
    "CookieParams",
    "DefaultType",
    "Genid",
    "Priority",
    "SameSite",
    "Secret",
    "Secure",
    "StarletteSecretKey",
    "Unset",
]
