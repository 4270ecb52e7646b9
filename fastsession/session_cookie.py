"""Cookie: the session cookie's settings and lifetime (express's session/cookie.js).

Times in this API are seconds; the record keeps express-session's milliseconds.
Setting ``max_age`` or ``expires`` also rewrites ``original_max_age``, as in
express-session, so a lifetime is always relative and every touch re-applies it.
The lifetime, the stored members and the record JSON are the model core's
(`fastsession._model_py.CookieCore`, compiled when the kernels are).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from . import _clock
from ._speedups import CookieCore, cookie_from_fields
from .cookie_options import check_cookie_value
from .record import datetime_to_ms, ms_to_datetime

# Record field name (express) for each attribute.
_ATTR_FIELDS = {
    "partitioned": "partitioned",
    "priority": "priority",
    "secure": "secure",
    "http_only": "httpOnly",
    "domain": "domain",
    "path": "path",
    "same_site": "sameSite",
}


def _attribute(name: str, default: Any = None, kind: Any = None) -> property:
    field = _ATTR_FIELDS[name]

    def get(self: Cookie) -> Any:
        value = self.fields.get(field, default)
        return value if kind is None else kind(value)

    def set(self: Cookie, value: Any) -> None:
        self.put(field, check_cookie_value(name, value))

    return property(get, set, doc=f"The cookie's {name} attribute.")


class Cookie(CookieCore):
    """The session's cookie: ``session.cookie``.

    ``max_age`` is the seconds remaining (settable), ``original_max_age`` the
    lifetime each touch re-applies, ``expires`` an aware UTC datetime or None.
    """

    __slots__ = ()

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        """A new cookie from validated snake_case options, applied in order."""
        CookieCore.__init__(self)
        if options:
            for key, value in options.items():
                if key == "max_age":
                    self.set_lifetime_ms(None if value is None else value * 1000)
                elif key == "expires":
                    self.expires = value
                else:
                    self.put(_ATTR_FIELDS[key], value)

    @classmethod
    def from_record(cls, fields: Mapping[str, Any]) -> Cookie:
        """The cookie of a stored record (express field names; ``expires`` ISO text)."""
        return cookie_from_fields(cls, dict(fields))  # type: ignore[return-value]

    # -- lifetime ---------------------------------------------------------------

    @property
    def max_age(self) -> float | None:
        """Seconds until the cookie expires (negative once past), or None."""
        if self.expires_ms is None:
            return None
        return (self.expires_ms - int(_clock.now() * 1000)) / 1000

    @max_age.setter
    def max_age(self, seconds: float | timedelta | None) -> None:
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, (int, float))
        ):
            raise TypeError("max_age must be seconds (int, float or timedelta) or None")
        self.set_lifetime_ms(None if seconds is None else seconds * 1000)

    @property
    def original_max_age(self) -> float | None:
        """The lifetime in seconds that ``touch()`` re-applies, or None."""
        return None if self.original_ms is None else self.original_ms / 1000

    @original_max_age.setter
    def original_max_age(self, seconds: float | None) -> None:
        self.original_ms = None if seconds is None else int(seconds * 1000)

    @property
    def expires(self) -> datetime | None:
        return None if self.expires_ms is None else ms_to_datetime(self.expires_ms)

    @expires.setter
    def expires(self, value: datetime | None) -> None:
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise TypeError("expires must be an aware datetime or None")
        self.set_expires_ms(None if value is None else datetime_to_ms(value))

    # -- attributes -------------------------------------------------------------

    path = _attribute("path")
    domain = _attribute("domain")
    http_only = _attribute("http_only", kind=bool)
    secure = _attribute("secure", False)
    same_site = _attribute("same_site", False)
    partitioned = _attribute("partitioned", kind=bool)
    priority = _attribute("priority")

    def attribute_key(self) -> tuple[Any, ...]:
        """The attributes that shape the Set-Cookie line (a cache key)."""
        return self.get_shape().key

    def __repr__(self) -> str:
        return f"Cookie({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cookie):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def same_site_token(value: Any) -> str | None:
    """The stored sameSite value → the kernel's lowercase token (None: no attribute)."""
    if value is True:
        return "strict"
    if not value:
        return None
    return str(value).lower()


def priority_token(value: Any) -> str | None:
    return str(value).lower() if value else None
