"""Pure-Python session model cores: the spec of src_c/_model.pxi.

`CookieCore` is the session cookie's lifetime and stored members, `SessionCore`
the session's data (a ``dict``) with its id, cookie and JSON. They hold the one
copy of what the request path does to a session: express's ``resetMaxAge``,
the stored record's JSON, and reading a cookie back from a record. The public
classes (fastsession.session_cookie.Cookie, fastsession.session.Session and
AsyncSession) add the user-facing API on top; the compiled twin makes these
two ``cdef class``es, so the request kernel reads their fields in C.

Invariants:

* ``expires_ms`` and ``original_ms`` are ints (epoch ms, ms) or None;
  ``fields`` holds the other stored members under express's names, in no
  particular order; ``shape`` is ``shape_of(fields)`` or None (not yet made).
* ``SessionCore.encoded``, when not None, is the data's JSON as the request
  kernel just encoded it: set only for the length of a store call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _clock
from ._dates_py import format_iso, parse_iso
from .errors import SerializationError
from .record import dumps, encode_data, join

__all__ = ["CookieCore", "CookieShape", "SessionCore", "cookie_from_fields", "shape_of"]

# The stored members around "expires", in express's order.
_BEFORE_EXPIRES = ("partitioned", "priority")
_AFTER_EXPIRES = ("secure", "httpOnly", "domain", "path", "sameSite")
_SHAPES_MAX = 1024


def _now_ms() -> int:
    return int(_clock.now() * 1000)


# The compiled twin types these fields, so a wrong type is a TypeError when set;
# here it is one where the field is used.
def _typed(value: Any, kind: type, owner: str) -> Any:
    if type(value) is not kind:
        raise TypeError(f"{owner} must be {kind.__name__}, not {type(value).__name__}")
    return value


class CookieShape:
    """What a cookie's members give, prepared once per set of members: the JSON
    before and after ``expires``, the Set-Cookie cache key, and whether the
    JSON can be spliced (no backslash, ``{`` or ``[`` in it)."""

    __slots__ = ("before", "after", "key", "plain")

    def __init__(self, before: bytes, after: bytes, key: tuple[Any, ...], plain: bool) -> None:
        self.before = before
        self.after = after
        self.key = key
        self.plain = plain


_SHAPES: dict[tuple[Any, ...], CookieShape] = {}


def shape_of(fields: Mapping[str, Any]) -> CookieShape:
    """The shape of a set of members (memoised: a pure function of them)."""
    try:
        # With the values' types: True == 1 == 1.0, but each is written differently.
        memo_key: tuple[Any, ...] | None = (*fields.items(), *map(type, fields.values()))
        shape = _SHAPES.get(memo_key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable value read from a store
        memo_key, shape = None, None
    if shape is None:
        before = b"".join(
            b',"' + k.encode() + b'":' + dumps(fields[k]) for k in _BEFORE_EXPIRES if k in fields
        )
        after = b"".join(
            b',"' + k.encode() + b'":' + dumps(fields[k]) for k in _AFTER_EXPIRES if k in fields
        )
        g = fields.get
        key = (
            g("domain"), g("path"), g("httpOnly"), g("secure"),
            g("partitioned"), g("priority"), g("sameSite"),
        )  # fmt: skip
        # originalMaxAge and expires hold only digits, null and ISO dates.
        plain = not any(c in part for part in (before, after) for c in (b"\\", b"{", b"["))
        shape = CookieShape(before + b',"expires":', after + b"}", key, plain)
        if memo_key is not None:
            if len(_SHAPES) >= _SHAPES_MAX:
                _SHAPES.clear()
            _SHAPES[memo_key] = shape
    return shape


class CookieCore:
    """The session cookie's lifetime and stored members."""

    __slots__ = ("expires_ms", "original_ms", "fields", "shape")

    expires_ms: int | None
    original_ms: int | None
    fields: dict[str, Any]
    shape: CookieShape | None

    def __init__(self) -> None:
        """A browser-session cookie with express's defaults (httpOnly, path "/")."""
        self.expires_ms = None
        self.original_ms = None
        self.fields = {"httpOnly": True, "path": "/"}
        self.shape = None

    def set_lifetime_ms(self, ms: float | None) -> None:
        """express's ``maxAge`` setter: expires = now + ms; the lifetime kept."""
        if ms is None:
            self.expires_ms = None
            self.original_ms = None
        else:
            now = _now_ms()
            self.expires_ms = expires = int(now + ms)
            self.original_ms = expires - now

    def set_expires_ms(self, ms: int | None) -> None:
        """express's ``expires`` setter: the lifetime becomes what is left."""
        self.expires_ms = ms
        self.original_ms = None if ms is None else ms - _now_ms()

    def reset_max_age(self) -> None:
        """express's ``resetMaxAge``: expires = now + the original max age."""
        if self.original_ms is None:
            self.expires_ms = None
        else:
            self.set_lifetime_ms(self.original_ms)

    def put(self, field: str, value: Any) -> None:
        """Set a stored member by its express name (unchecked)."""
        _typed(self.fields, dict, "CookieCore.fields")[field] = value
        self.shape = None

    def get_shape(self) -> CookieShape:
        fields = _typed(self.fields, dict, "CookieCore.fields")
        shape = self.shape
        if shape is None:
            shape = self.shape = shape_of(fields)
        return _typed(shape, CookieShape, "CookieCore.shape")  # type: ignore[no-any-return]

    def to_json(self) -> bytes:
        """The stored cookie object: express's members, order and omissions."""
        shape = self.get_shape()
        original = self.original_ms
        expires = self.expires_ms
        return b"".join(
            (
                b'{"originalMaxAge":',
                b"null" if original is None else str(original).encode(),
                shape.before,
                b"null" if expires is None else b'"' + format_iso(expires).encode() + b'"',
                shape.after,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """`to_json` as a dict."""
        fields = _typed(self.fields, dict, "CookieCore.fields")
        out: dict[str, Any] = {"originalMaxAge": self.original_ms}
        for k in _BEFORE_EXPIRES:
            if k in fields:
                out[k] = fields[k]
        out["expires"] = None if self.expires_ms is None else format_iso(self.expires_ms)
        for k in _AFTER_EXPIRES:
            if k in fields:
                out[k] = fields[k]
        return out


def cookie_from_fields(cls: type[CookieCore], fields: dict[str, Any]) -> CookieCore:
    """The cookie of a stored record's cookie object; takes ``fields`` over.

    Unknown members are kept but never written, as express's Cookie does.
    """
    cookie = cls.__new__(cls)
    expires = fields.pop("expires", None)
    cookie.expires_ms = parse_iso(expires) if isinstance(expires, str) else None
    original = fields.pop("originalMaxAge", None)
    if isinstance(original, (int, float)) and not isinstance(original, bool):
        cookie.original_ms = int(original)
    else:
        cookie.original_ms = None
    cookie.fields = fields
    cookie.shape = None
    return cookie


class SessionCore(dict[str, Any]):
    """The session's data, with its id, cookie and stored JSON."""

    __slots__ = ("_id", "cookie", "state", "encoded")

    _id: str
    cookie: Any  # a CookieCore (the public Cookie)
    state: Any  # the request it belongs to (fastsession._request_py.RequestCore) or None
    encoded: bytes | None

    @property
    def id(self) -> str:
        """The session id (read-only; ``regenerate()`` gives a new one)."""
        return _typed(self._id, str, "SessionCore._id")  # type: ignore[no-any-return]

    def bind(self, sid: str, cookie: Any, data: Mapping[str, Any], state: Any) -> None:
        """Make this the session ``sid``: its cookie, data and request."""
        dict.clear(self)
        dict.update(self, data)
        self._id = sid
        self.cookie = cookie
        self.state = state
        self.encoded = None

    def touch(self) -> SessionCore:
        """Reset the cookie's max age: expires = now + original max age."""
        self.cookie.reset_max_age()
        return self

    def encode(self) -> bytes:
        """The data as JSON (without the cookie); a value JSON cannot hold names its key."""
        encoded = self.encoded
        if encoded is not None:
            return _typed(encoded, bytes, "SessionCore.encoded")  # type: ignore[no-any-return]
        if "cookie" in self:
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        return encode_data(self)

    def to_json(self) -> bytes:
        """The stored record as express-session's JSON bytes."""
        return join(self.cookie.to_json(), self.encode())

    def to_record(self) -> dict[str, Any]:
        """The stored record as a JSON-ready dict: ``{"cookie": {...}, ...data}``."""
        if "cookie" in self:
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        return {"cookie": self.cookie.to_dict(), **self}
