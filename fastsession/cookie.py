"""Cookie: the session cookie's settings and lifetime (express's session/cookie.js).

Times in this API are seconds; the record keeps express-session's milliseconds.
Setting ``max_age`` or ``expires`` also rewrites ``original_max_age``, as in
express-session, so a lifetime is always relative and every touch re-applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from . import _clock
from .record import datetime_to_ms, dumps, format_iso, ms_to_datetime, parse_iso

# Record field name (express) for each attribute, in express's stored order.
_ATTR_FIELDS = {
    "partitioned": "partitioned",
    "priority": "priority",
    "secure": "secure",
    "http_only": "httpOnly",
    "domain": "domain",
    "path": "path",
    "same_site": "sameSite",
}
_BEFORE_EXPIRES = ("partitioned", "priority")
_AFTER_EXPIRES = ("secure", "httpOnly", "domain", "path", "sameSite")


def _now_ms() -> int:
    return int(_clock.now() * 1000)


_new = object.__new__


class Cookie:
    """The session's cookie: ``session.cookie``.

    ``max_age`` is the seconds remaining (settable), ``original_max_age`` the
    lifetime each touch re-applies, ``expires`` an aware UTC datetime or None.
    """

    __slots__ = ("_expires", "_original", "_fields", "_shape")

    _expires: int | None  # epoch ms, or None for a browser-session cookie
    _original: int | None  # ms
    # express field name -> value, only those set; a read-only view shared by
    # the cookies the request kernel reads with the same members (put copies it)
    _fields: dict[str, Any] | MappingProxyType[str, Any]

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        """A new cookie from validated snake_case options, applied in order."""
        self._expires = None
        self._original = None
        self._fields = {"httpOnly": True, "path": "/"}
        self._shape: _Shape | None = None
        if options:
            for key, value in options.items():
                if key == "max_age":
                    self._set_max_age_ms(None if value is None else value * 1000)
                elif key == "expires":
                    self.expires = value
                else:
                    self._fields[_ATTR_FIELDS[key]] = value

    @classmethod
    def from_record(cls, fields: Mapping[str, Any]) -> Cookie:
        """The cookie of a stored record (express field names; ``expires`` ISO text)."""
        return cls._loaded(dict(fields))

    @classmethod
    def _loaded(cls, attrs: dict[str, Any]) -> Cookie:
        """`from_record` of a copy of the fields: takes ``attrs`` over."""
        self = _new(cls)
        expires = attrs.pop("expires", None)
        self._expires = parse_iso(expires) if isinstance(expires, str) else None
        original = attrs.pop("originalMaxAge", None)
        if original is None:
            self._original = None
        elif original.__class__ is int:
            self._original = original
        else:
            self._original = (
                int(original)
                if isinstance(original, (int, float)) and not isinstance(original, bool)
                else None
            )
        # Unknown members are kept but never written, as express's Cookie does.
        self._fields = attrs
        self._shape = None
        return self

    # -- lifetime ---------------------------------------------------------------

    def _set_max_age_ms(self, ms: float | None) -> None:
        if ms is None:
            self._expires = None
            self._original = None
        else:
            now = _now_ms()
            self._expires = int(now + ms)
            self._original = self._expires - now

    @property
    def max_age(self) -> float | None:
        """Seconds until the cookie expires (negative once past), or None."""
        if self._expires is None:
            return None
        return (self._expires - _now_ms()) / 1000

    @max_age.setter
    def max_age(self, seconds: float | timedelta | None) -> None:
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, (int, float))
        ):
            raise TypeError("max_age must be seconds (int, float or timedelta) or None")
        self._set_max_age_ms(None if seconds is None else seconds * 1000)

    @property
    def original_max_age(self) -> float | None:
        """The lifetime in seconds that ``touch()`` re-applies, or None."""
        return None if self._original is None else self._original / 1000

    @original_max_age.setter
    def original_max_age(self, seconds: float | None) -> None:
        self._original = None if seconds is None else int(seconds * 1000)

    @property
    def expires(self) -> datetime | None:
        return None if self._expires is None else ms_to_datetime(self._expires)

    @expires.setter
    def expires(self, value: datetime | None) -> None:
        if value is None:
            self._expires = None
            self._original = None
            return
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise TypeError("expires must be an aware datetime or None")
        self._expires = datetime_to_ms(value)
        self._original = self._expires - _now_ms()

    @property
    def expires_ms(self) -> int | None:
        """``expires`` as epoch milliseconds (what stores compute TTLs from)."""
        return self._expires

    def reset_max_age(self) -> None:
        """express's ``resetMaxAge``: expires = now + original_max_age."""
        if self._original is None:
            self._expires = None
        else:
            self._set_max_age_ms(self._original)

    # -- attributes -------------------------------------------------------------

    def _get(self, field: str, default: Any = None) -> Any:
        return self._fields.get(field, default)

    path = property(lambda self: self._get("path"), lambda self, v: self._set("path", v))
    domain = property(lambda self: self._get("domain"), lambda self, v: self._set("domain", v))
    http_only = property(
        lambda self: bool(self._get("httpOnly")), lambda self, v: self._set("httpOnly", v)
    )
    secure = property(
        lambda self: self._get("secure", False), lambda self, v: self._set("secure", v)
    )
    same_site = property(
        lambda self: self._get("sameSite", False), lambda self, v: self._set("sameSite", v)
    )
    partitioned = property(
        lambda self: bool(self._get("partitioned")), lambda self, v: self._set("partitioned", v)
    )
    priority = property(
        lambda self: self._get("priority"), lambda self, v: self._set("priority", v)
    )

    def _set(self, field: str, value: Any) -> None:
        from .options import _check_cookie_value

        key = next(k for k, f in _ATTR_FIELDS.items() if f == field)
        self.put(field, _check_cookie_value(key, value))

    def put(self, field: str, value: Any) -> None:
        """Set an attribute by its express field name, unchecked (for the middleware)."""
        fields = self._fields
        if type(fields) is not dict:
            fields = self._fields = dict(fields)
        fields[field] = value
        self._shape = None

    def _get_shape(self) -> _Shape:
        shape = self._shape
        if shape is None:
            shape = self._shape = _shape_of(self._fields)
        return shape

    def attribute_key(self) -> tuple[Any, ...]:
        """The attributes that shape the Set-Cookie line (a cache key)."""
        return self._get_shape()[2]

    # -- the record ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The cookie as stored: express's fields, order and omissions."""
        f = self._fields
        out: dict[str, Any] = {"originalMaxAge": self._original}
        for k in _BEFORE_EXPIRES:
            if k in f:
                out[k] = f[k]
        out["expires"] = None if self._expires is None else format_iso(self._expires)
        for k in _AFTER_EXPIRES:
            if k in f:
                out[k] = f[k]
        return out

    def to_json(self) -> bytes:
        """``to_dict()`` as JSON; the constant parts are prepared once per attribute set."""
        shape = self._shape
        if shape is None:
            shape = self._shape = _shape_of(self._fields)
        original = self._original
        expires = self._expires
        return b"".join((
            b'{"originalMaxAge":',
            b"null" if original is None else str(original).encode(),
            shape[0],
            b"null" if expires is None else b'"' + format_iso(expires).encode() + b'"',
            shape[1],
        ))

    def _record_head(self) -> bytes | None:
        """``{"cookie":<to_json()>``, the start of the stored record, when that is
        a flat object whose strings hold no backslash, ``{`` or ``[`` (so its end
        is found by scanning for quotes and braces); else None."""
        shape = self._shape
        if shape is None:
            shape = self._shape = _shape_of(self._fields)
        if not shape[3]:
            return None
        return b'{"cookie":' + self.to_json()

    def __repr__(self) -> str:
        return f"Cookie({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cookie):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


# (JSON before "expires", JSON after it, Set-Cookie cache key, spliceable).
_Shape = tuple[bytes, bytes, tuple[Any, ...], bool]
_SHAPES: dict[tuple[Any, ...], _Shape] = {}
_SHAPES_MAX = 1024


def _shape_of(fields: Mapping[str, Any]) -> _Shape:
    """The JSON around ``expires`` and the Set-Cookie cache key, for an attribute set."""
    try:
        # With the values' types: True == 1 == 1.0, but each is written differently.
        key = (*fields.items(), *map(type, fields.values()))
        shape = _SHAPES.get(key)
    except TypeError:  # an unhashable value read from a store
        key, shape = (), None
    if shape is None:
        before = b"".join(
            b',"' + k.encode() + b'":' + dumps(fields[k]) for k in _BEFORE_EXPIRES if k in fields
        )
        after = b"".join(
            b',"' + k.encode() + b'":' + dumps(fields[k]) for k in _AFTER_EXPIRES if k in fields
        )
        g = fields.get
        cache_key = (g("domain"), g("path"), g("httpOnly"), g("secure"), g("partitioned"),
                     g("priority"), g("sameSite"))
        # originalMaxAge and expires hold only digits, null and ISO dates.
        plain = not any(c in part for part in (before, after) for c in (b"\\", b"{", b"["))
        shape = (before + b',"expires":', after + b"}", cache_key, plain)
        if key:
            if len(_SHAPES) >= _SHAPES_MAX:
                _SHAPES.clear()
            _SHAPES[key] = shape
    return shape


def same_site_token(value: Any) -> str | None:
    """The stored sameSite value → the kernel's lowercase token (None: no attribute)."""
    if value is True:
        return "strict"
    if not value:
        return None
    return str(value).lower()


def priority_token(value: Any) -> str | None:
    return str(value).lower() if value else None
