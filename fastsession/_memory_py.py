"""Pure-Python MemoryStore data path: the spec of src_c/_memory.pxi.

`MemoryCore` keeps each session as its record's exact JSON bytes in a bounded
LRU, with a deadline each. fastsession.stores.memory.MemoryStore subclasses it,
so the middlewares call these methods as the store's own (compiled, in the
compiled twin) with nothing in between.

A read parses only the data with orjson when the record's cookie has the
bytes of the last one read around another ``expires`` (`layout_of`,
`read_in_layout`): the rest of the cookie is that one's members.

Invariants: a stored value is always a whole record (``{"cookie":{...},...}``);
``touch`` replaces the stored cookie and keeps the stored data byte for byte,
as express's MemoryStore does. Each write is one LRU operation, atomic in the
LRU: ``touch`` and ``replace`` are a compare-and-swap (`LRULike.swap`) retried
until it lands, so neither can resurrect a session destroyed meanwhile (an
expired one counts as gone), nor a touch undo a concurrent ``set``; no lock is
taken on the request path. ``lock`` is for callers' compound operations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _clock
from ._model_py import CookieCore
from ._types import LRULike, Record
from .errors import CorruptSessionError, check_record
from .record import dumps, loads

__all__ = [
    "MemoryCore",
    "cookie_end",
    "layout_of",
    "parse_record",
    "read_in_layout",
    "with_cookie",
]

_HEAD = b'{"cookie":{'
_COOKIE_MEMBER = b'"cookie":'
_RECORD_START = b'{"cookie":'
_EXPIRES = b'"expires":'
# The epoch milliseconds a datetime can hold (years 1 to 9999).
_MIN_MS = -62_135_596_800_000
_MAX_MS = 253_402_300_799_999


class MemoryCore:
    """Records as JSON bytes in an LRU with a deadline each (clock seconds)."""

    __slots__ = ("lru", "lock", "ttl", "clock", "layout")

    def __init__(
        self, lru: LRULike, lock: Any, ttl: float, clock: Callable[[], float] | None
    ) -> None:
        self.lru = lru
        self.lock = lock
        self.ttl = ttl
        self.clock = clock
        # The last record's cookie layout (`layout_of`): a site's records share
        # one, so most reads parse only the data with orjson.
        self.layout: tuple[bytes, bytes, dict[str, Any]] | None = None

    def get(self, sid: str) -> Record | None:
        raw = self.lru.get(sid)
        if raw is None:
            return None
        layout = self.layout
        if layout is not None:
            record = read_in_layout(raw, layout)
            if record is not None:
                return record
        record = parse_record(raw)
        self.layout = layout_of(raw, record)
        return record

    def set(self, sid: str, session: Any) -> None:
        value = session.to_json()
        self.lru.set(sid, value, self.deadline(session))

    def replace(self, sid: str, session: Any) -> bool:
        """`set` if ``sid`` is stored and not expired: True; False (nothing written) if gone."""
        value = session.to_json()
        deadline = self.deadline(session)
        lru = self.lru
        while True:
            stored = lru.peek(sid)
            if stored is None:
                return False
            if lru.swap(sid, stored, value, deadline):
                return True

    def touch(self, sid: str, session: Any) -> bool:
        """Write the session's cookie over the stored one (the data kept); False
        when the session is not stored (destroyed or expired): nothing written."""
        cookie = session.cookie
        if isinstance(cookie, CookieCore):
            # The cookie alone, as a record without data: the stored data is kept.
            fresh = _RECORD_START + cookie.to_json() + b"}"
        else:
            fresh = session.to_json()
        deadline = self.deadline(session)
        lru = self.lru
        while True:
            stored = lru.peek(sid)
            if stored is None:
                return False
            if lru.swap(sid, stored, with_cookie(stored, fresh), deadline):
                return True

    def deadline(self, session: Any) -> float:
        """When the session's record expires, in clock seconds: the cookie's
        expiry, or ``ttl`` from now for a browser-session cookie."""
        cookie = session.cookie
        ms = getattr(cookie, "expires_ms", None)
        if ms is not None and _MIN_MS <= ms <= _MAX_MS:
            return ms / 1000  # type: ignore[no-any-return]
        # The kernel's own cookie needs no public API to say it has no expiry.
        expires = None if ms is None and isinstance(cookie, CookieCore) else cookie.expires
        if expires is None:
            clock = self.clock
            return (_clock.now() if clock is None else clock()) + self.ttl
        return expires.timestamp()  # type: ignore[no-any-return]


def parse_record(raw: bytes) -> Record:
    """Stored bytes → the record; anything but a record is `CorruptSessionError`."""
    try:
        record = loads(raw)
    except ValueError as exc:
        raise CorruptSessionError(f"stored session is not JSON: {exc}") from exc
    check_record(record)
    return record  # type: ignore[no-any-return]


def layout_of(raw: bytes, record: Record) -> tuple[bytes, bytes, dict[str, Any]] | None:
    """The layout of a parsed record's cookie: its bytes before and after the
    ``expires`` value and its members; None when the bytes cannot tell.

    Records that share those bytes around a null or plain string ``expires``
    have the same members but that one (`read_in_layout`).
    """
    end = cookie_end(raw)
    found = raw.find(_EXPIRES, 0, end) if end != -1 else -1
    if found == -1:
        return None
    at = found + len(_EXPIRES)
    stop = _expires_stop(raw, at)
    if stop == -1 or _EXPIRES in raw[stop:end]:
        return None
    layout = (raw[:at], raw[stop:end], dict(record["cookie"]))
    # Kept only if it reads this very record as orjson did.
    return layout if read_in_layout(raw, layout) == record else None


def read_in_layout(raw: bytes, layout: tuple[bytes, bytes, dict[str, Any]]) -> Record | None:
    """The record ``raw`` holds, if its cookie has the layout: the layout's
    members with this ``expires``, and the data through orjson; None if not
    (or unsure), for `parse_record` to read."""
    head, tail, fields = layout
    if not raw.startswith(head):
        return None
    at = len(head)
    stop = _expires_stop(raw, at)
    if stop == -1 or not raw.startswith(tail, stop):
        return None
    if stop == at + 4:
        expires = None
    else:
        try:
            expires = raw[at + 1 : stop - 1].decode()
        except UnicodeDecodeError:
            return None
    rest = raw[stop + len(tail) :]
    if rest == b"}":
        data: dict[str, Any] = {}
    elif rest.startswith(b","):
        try:
            data = loads(b"{" + rest[1:])
        except ValueError:
            return None
        # Empty (a trailing comma) or a second cookie member: the whole record says.
        if type(data) is not dict or not data or "cookie" in data:
            return None
    else:
        return None
    cookie = dict(fields)
    cookie["expires"] = expires
    record = {"cookie": cookie}
    record.update(data)
    return record


def _expires_stop(raw: bytes, at: int) -> int:
    """Where the ``expires`` value at ``at`` ends: null, or a string with no
    escape or control character; -1 otherwise."""
    if raw.startswith(b"null", at):
        return at + 4
    if not raw.startswith(b'"', at):
        return -1
    stop = raw.find(b'"', at + 1)
    if stop == -1:
        return -1
    if any(c < 0x20 or c == 0x5C for c in raw[at + 1 : stop]):
        return -1
    return stop + 1


def with_cookie(stored: bytes, fresh: bytes) -> bytes:
    """The stored record with the cookie of record ``fresh``, the stored data
    kept byte for byte (express MemoryStore's ``touch``)."""
    fresh_end = cookie_end(fresh)
    if fresh_end != -1 and stored.startswith(fresh[:fresh_end]):
        # The same bytes up to the cookie's end: cookie_end(stored) would find
        # the same end, unless a second cookie member follows.
        if stored.find(_COOKIE_MEMBER, fresh_end - 1) == -1:
            return stored  # the same cookie: the stored bytes kept, not copied
    end = cookie_end(stored)
    if end != -1 and fresh_end != -1:
        if end == fresh_end and stored[:end] == fresh[:fresh_end]:
            return stored  # the same cookie: the stored bytes kept, not copied
        return fresh[:fresh_end] + stored[end:]
    record = parse_record(stored)
    record["cookie"] = loads(fresh)["cookie"]
    return dumps(record)


def cookie_end(doc: bytes) -> int:
    """Where the leading cookie object of record JSON ends, or -1 if unsure.

    A cookie's members are scalars, so without a backslash, ``{`` or ``[`` the
    first ``}`` preceded by an even number of quotes closes it.
    """
    if not doc.startswith(_HEAD):
        return -1
    start = len(_HEAD)
    end = doc.find(b"}", start)
    while end != -1:
        part = doc[start:end]
        if b"\\" in part or b"{" in part or b"[" in part:
            return -1
        if part.count(b'"') % 2 == 0:
            # Unsure if a second "cookie" member follows: JSON reads the last one.
            return end + 1 if doc.find(_COOKIE_MEMBER, end) == -1 else -1
        end = doc.find(b"}", end + 1)
    return -1
