"""Public Cookie/Set-Cookie API: the npm ``cookie`` 0.7.2 ``parse`` and ``serialize``.

These are the parser and serializer express-session uses, with Python argument
types: seconds and aware datetimes instead of JS numbers and Dates.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from ._speedups import parse as _parse
from ._speedups import serialize as _serialize

__all__ = ["parse", "serialize"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def parse(header: str) -> dict[str, str]:
    """Every cookie in a ``Cookie`` request header, as cookie 0.7.2 parses it.

    The first cookie of a name wins; a value in double quotes loses one pair of
    them; a value with ``%`` is URI-decoded unless that fails, when it stays as is.

    :param header: the header's value.
    :raises TypeError: when ``header`` is not a str.

    .. versionadded:: 0.1
    """
    return _parse(header)


def _max_age(max_age: int | float | timedelta | None) -> int | None:
    if max_age is None:
        return None
    if isinstance(max_age, bool):
        # JS would read true as 1; in Python a bool here is almost surely a mistake.
        raise TypeError("option maxAge is invalid")
    if isinstance(max_age, int):
        return max_age
    if isinstance(max_age, float):
        if not math.isfinite(max_age):
            raise ValueError("option maxAge is invalid")
        return math.floor(max_age)
    if isinstance(max_age, timedelta):
        return max_age // _SECOND
    raise TypeError("option maxAge is invalid")


def _expires(expires: datetime | None) -> int | None:
    if expires is None:
        return None
    if not isinstance(expires, datetime):
        raise TypeError("option expires is invalid")
    if expires.utcoffset() is None:
        raise ValueError("option expires is invalid: a naive datetime has no instant")
    # Whole seconds, floored: a JS Date's milliseconds are dropped the same way.
    return (expires - _EPOCH) // _SECOND


def _flag(value: bool, option: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"option {option} must be a bool")
    return value


def _token(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"option {option} is invalid")
    return value.lower()


def _same_site(same_site: bool | str | None) -> str | None:
    if same_site is True:
        return "strict"
    if same_site is False:
        return None
    return _token(same_site, "sameSite")


def serialize(
    name: str,
    value: str,
    *,
    max_age: int | float | timedelta | None = None,
    expires: datetime | None = None,
    domain: str | None = None,
    path: str | None = None,
    http_only: bool = False,
    secure: bool = False,
    same_site: bool | str | None = None,
    partitioned: bool = False,
    priority: str | None = None,
) -> str:
    """A ``Set-Cookie`` header value, as cookie 0.7.2 ``serialize`` writes it.

    The value is percent-encoded like JS ``encodeURIComponent``. Attributes come in
    0.7.2's order: Max-Age, Domain, Path, Expires, HttpOnly, Secure, Partitioned,
    Priority, SameSite.

    :param name: the cookie name: one or more RFC 7230 token characters.
    :param value: the cookie value (any str without lone surrogates).
    :param max_age: seconds (int, float floored, or timedelta) for ``Max-Age``.
    :param expires: an aware datetime for ``Expires`` (whole seconds, floored).
    :param domain: the ``Domain``; ``None`` or ``""`` leaves it out.
    :param path: the ``Path``; ``None`` or ``""`` leaves it out.
    :param http_only: add ``HttpOnly``.
    :param secure: add ``Secure``.
    :param same_site: ``True`` or ``"strict"``, ``"lax"``, ``"none"`` (any case);
        ``False`` or ``None`` leaves it out.
    :param partitioned: add ``Partitioned``.
    :param priority: ``"low"``, ``"medium"`` or ``"high"`` (any case).
    :raises ValueError: for an invalid name, value, or attribute value.
    :raises TypeError: for an argument of the wrong type.

    .. versionadded:: 0.1
    """
    return _serialize(
        name,
        value,
        _max_age(max_age),
        domain,
        path,
        _expires(expires),
        _flag(http_only, "httpOnly"),
        _flag(secure, "secure"),
        _flag(partitioned, "partitioned"),
        _token(priority, "priority"),
        _same_site(same_site),
    )
