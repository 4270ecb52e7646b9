"""Pure-Python request kernel: the spec of ``fastsession._request_c``.

The per-request work both middlewares share, below their own I/O:

* `EngineCore`: one middleware's constants; the session id from the cookie header.
* `RequestCore`: one request's session. It loads the session (from the
  store's record, or straight from MemoryStore's bytes), decides what
  express-session decides (its section 5) about Set-Cookie and the store at
  the response's start and at its last message, does it with a sync store,
  and wraps the ASGI ``send`` / WSGI ``start_response`` the app is given.
* `MemoryCore`: MemoryStore's data path (get, set, touch).

``fastsession._core`` subclasses the first two (``Engine``, ``RequestState``)
with the rest: the options, the Set-Cookie line, new sessions, the session's
own methods and the store errors. The compiled twin (src_c/_request_c.pyx)
does the same steps on the session's and cookie's slots where this twin calls
their methods; tests/test_request_kernel.py holds the two equal.

Invariants:

* ``read_id`` returns an id only for a value whose signature verified; verified
  values (at most `VERIFIED_MAX`) and the cookie headers that held them (at
  most `HEADERS_MAX`, each at most `HEADER_LEN_MAX` long) are remembered, so a
  forged value always reaches the signer's constant-time check.
* ``original_data`` and ``saved_data`` are the data's JSON (the record without
  its cookie) as loaded and as last saved; equal bytes mean unmodified.
* ``inflate_raw(sid, raw)`` gives the session ``inflate(sid, parse(raw))``
  gives, or None (having changed nothing) when the record is not in the shape
  it reads: a leading flat cookie object whose members are null, true, false,
  integers of at most 18 digits or strings without escapes, no whitespace.
* A store call made for ``plan``'s ``SET`` or ``TOUCH`` sees the session's data
  JSON in ``session._encoded``; it is cleared after the call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, MutableMapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from . import _clock
from .errors import CorruptSessionError
from .record import loads

if TYPE_CHECKING:
    from ._core import RequestState
    from ._types import LRULike, Record
    from .cookie import Cookie
    from .session import _SessionBase

__all__ = [
    "DESTROY",
    "EMPTY_DATA",
    "HEADERS_MAX",
    "HEADER_LEN_MAX",
    "LAYOUTS_MAX",
    "NOTHING",
    "SET",
    "TOUCH",
    "VERIFIED_MAX",
    "EngineCore",
    "MemoryCore",
    "RequestCore",
    "cookie_end",
]

# What plan() asks the middleware to do with the store.
NOTHING, SET, TOUCH, DESTROY = 0, 1, 2, 3

VERIFIED_MAX = 4096
"""Verified cookie values remembered per middleware (then forgotten at once)."""

HEADERS_MAX = 1024
HEADER_LEN_MAX = 1024
"""Cookie headers remembered with the id they held, per middleware (then all
forgotten at once), and the longest remembered: a browser sends the same
header again, and its id needs no scan of it."""

LAYOUTS_MAX = 64
"""Stored cookie layouts remembered per middleware (then forgotten at once)."""

EMPTY_DATA = b"{}"
"""The data's JSON of a new session."""

logger = logging.getLogger("fastsession")
_DEBUG = logging.DEBUG

_START = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})
_HEAD = b'{"cookie":{'
_HEAD_LEN = len(_HEAD)
# One member of a flat cookie object, and what follows it.
_MEMBER = re.compile(
    rb'"([^"\\\x00-\x1f]*)":(null|true|false|-?(?:0|[1-9][0-9]{0,17})|"[^"\\\x00-\x1f]*")([,}])'
)
_SCALARS: dict[bytes, Any] = {b"null": None, b"true": True, b"false": False}


class EngineCore:
    """What the request kernel needs of one middleware's configuration.

    ``Engine`` (fastsession._core) sets every attribute in its ``__init__``;
    ``store_get`` ... ``store_destroy`` are the sync store's methods (None for
    an async store), ``memory`` the `MemoryCore` of a MemoryStore whose data
    path is its own (else None), ``shape_of`` the cookie module's ``_shape_of``.
    """

    __slots__ = (
        "name",
        "lookup",
        "unsign",
        "verified",
        "headers",
        "layouts",
        "session_key",
        "id_key",
        "session_cls",
        "session_base",
        "cookie_cls",
        "shape_of",
        "resave",
        "rolling",
        "save_uninitialized",
        "unset_destroy",
        "has_touch",
        "store_get",
        "store_set",
        "store_touch",
        "store_destroy",
        "memory",
    )

    name: str
    lookup: Callable[[str, str], str | None]
    unsign: Callable[[str], str | None]
    verified: dict[str, str]
    headers: dict[str | bytes, str]
    layouts: dict[bytes, tuple[MappingProxyType[str, Any], Any]]
    session_key: str
    id_key: str
    session_cls: type[_SessionBase]
    session_base: type[_SessionBase]
    cookie_cls: type[Cookie]
    shape_of: Callable[[dict[str, Any]], Any]
    resave: bool
    rolling: bool
    save_uninitialized: bool
    unset_destroy: bool
    has_touch: bool
    store_get: Callable[[str], Any] | None
    store_set: Callable[[str, Any], Any] | None
    store_touch: Callable[[str, Any], Any] | None
    store_destroy: Callable[[str], Any] | None
    memory: MemoryCore | None

    def __init__(self) -> None:
        """Nothing to do: the subclass sets the attributes."""

    def read_id(self, header: str | None) -> str | None:
        """The verified id in the first cookie with our name, or None (express getcookie)."""
        if not header:
            return None
        sid = self.headers.get(header)
        if sid is None:
            sid = self._verify(header)
            if sid is not None:
                self._remember(header, sid)
        return sid

    def _verify(self, header: str) -> str | None:
        value = self.lookup(header, self.name)
        if value is None:
            return None
        verified = self.verified
        sid = verified.get(value)
        if sid is None:
            if not value.startswith("s:"):
                return None
            sid = self.unsign(value[2:])
            if not sid:
                return None
            if len(verified) >= VERIFIED_MAX:
                verified.clear()
            verified[value] = sid
        return sid

    def _remember(self, header: str | bytes, sid: str) -> None:
        if len(header) <= HEADER_LEN_MAX:
            headers = self.headers
            if len(headers) >= HEADERS_MAX:
                headers.clear()
            headers[header] = sid

    def read_asgi_id(self, headers: Iterable[Any] | None) -> str | None:
        """`read_id` of an ASGI scope's headers: every ``cookie`` header, joined.

        A single one is remembered as it came (bytes), so it needs no decoding.
        """
        header = None
        single = None  # the first cookie header, while it is the only one (bytes)
        for name, value in headers or ():
            if name == b"cookie":
                if header is None and single is None and type(value) is bytes:
                    single = value
                    continue
                if single is not None:
                    header, single = single.decode("latin-1"), None
                text = value.decode("latin-1")
                header = text if header is None else f"{header}; {text}"
        if single is None:
            return self.read_id(header)
        if not single:
            return None
        sid = self.headers.get(single)
        if sid is None:
            sid = self._verify(single.decode("latin-1"))
            if sid is not None:
                self._remember(single, sid)
        return sid

    def asgi_begin(
        self,
        cls: type[RequestCore],
        scope: MutableMapping[str, Any],
        options: dict[str, Any],
        send: Any,
    ) -> RequestCore:
        """An ASGI request's state (``cls(self, scope, options)``), its session
        loaded from a sync store (`RequestCore.begin`)."""
        state = cls(self, scope, options)
        state.respond = send
        state.begin(self.read_asgi_id(scope.get("headers")))
        return state

    def wsgi_begin(
        self,
        cls: type[RequestCore],
        environ: dict[str, Any],
        options: dict[str, Any],
        start_response: Any,
    ) -> RequestCore:
        """A WSGI request's state (``cls(self, environ, options)``), its session loaded."""
        state = cls(self, environ, options)
        state.respond = start_response
        state.begin(self.read_id(environ.get("HTTP_COOKIE")))
        return state

    def set_cookie_line(self, sid: str, cookie: Cookie) -> str | None:
        raise NotImplementedError

    def load_failed(self, exc: Exception) -> Exception:
        """The error to raise for a failed store get (logged)."""
        raise NotImplementedError

    def store_failed(self, op: int, exc: Exception) -> Exception:
        """The error to raise for a failed store write (logged)."""
        raise NotImplementedError


class RequestCore:
    """One request's session bookkeeping (express's cookieId, originalId, hashes).

    ``respond`` is the server's ``send`` (ASGI) or ``start_response`` (WSGI).
    """

    __slots__ = (
        "engine",
        "conn",
        "options",
        "respond",
        "_secure",
        "cookie_id",
        "original_id",
        "original_data",
        "saved_data",
        "touched",
        "destroyed",
        "started",
        "committed_id",
        "committed_data",
    )

    engine: EngineCore
    conn: MutableMapping[str, Any]
    options: dict[str, Any]
    respond: Any
    _secure: bool | None
    cookie_id: str | None
    original_id: str | None
    original_data: bytes | None
    saved_data: bytes | None
    touched: bool
    destroyed: bool
    started: bool
    committed_id: str | None
    committed_data: bytes | None

    def __init__(
        self, engine: EngineCore, conn: MutableMapping[str, Any], options: dict[str, Any]
    ) -> None:
        self.engine = engine
        self.conn = conn
        self.options = options
        self.respond = None
        self._secure = None
        self.cookie_id = None
        self.original_id = None
        self.original_data = None
        self.saved_data = None  # None: never saved
        self.touched = False
        self.destroyed = False
        self.started = False
        # The id and data as of the commit at the response's start: the last
        # message only stores what changed after it.
        self.committed_id = None
        self.committed_data = None

    # -- supplied by the subclasses ----------------------------------------------------

    def secure_scheme(self) -> bool:
        """Whether the request came over TLS (each protocol's subclass says)."""
        raise NotImplementedError

    def generate(self) -> _SessionBase:
        """A brand-new session (express generate)."""
        raise NotImplementedError

    def is_secure(self) -> bool:
        if self._secure is None:
            self._secure = bool(self.secure_scheme())
        return self._secure

    # -- loading -----------------------------------------------------------------------

    def begin(self, sid: str | None) -> _SessionBase:
        """The request's session, from a sync store: loaded if ``sid`` (the
        cookie's verified id) is stored, else new (an unknown id is never reused)."""
        self.cookie_id = sid
        if sid is None:
            return self.generate()
        engine = self.engine
        memory = engine.memory
        raw = record = None
        try:
            if memory is not None:
                raw = memory.get_raw(sid)
            else:
                assert engine.store_get is not None
                record = engine.store_get(sid)
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise engine.load_failed(exc) from exc
        if raw is not None:
            assert memory is not None
            session = self.inflate_raw(sid, raw)
            if session is not None:
                return session
            try:
                record = memory.parse(raw)
            except Exception as exc:
                raise engine.load_failed(exc) from exc
        if record is not None:
            return self.inflate(sid, record)
        return self.generate()

    def inflate(self, sid: str, record: Any) -> _SessionBase:
        """The session loaded from the store (express inflate)."""
        if not isinstance(record, dict):
            raise CorruptSessionError(f"stored session is a {type(record).__name__}, not an object")
        fields = record.pop("cookie", None)
        if not isinstance(fields, dict):
            raise CorruptSessionError("stored session has no cookie object")
        return self._loaded(sid, self.engine.cookie_cls.from_record(fields), record)

    def inflate_raw(self, sid: str, raw: bytes) -> _SessionBase | None:
        """``inflate(sid, parse(raw))`` for a record in the usual shape, else None.

        The cookie's members other than ``originalMaxAge`` and ``expires`` are
        the same for every session of a middleware: they are parsed (and their
        JSON prepared, see cookie._shape_of) once per layout, the cookie
        object's bytes without those two values.
        """
        if not raw.startswith(_HEAD):
            return None
        pos = _HEAD_LEN
        fields: dict[str, Any] = {}
        original: Any = None
        expires: Any = None
        cuts: list[int] = [pos]  # the layout: raw[cuts[0]:cuts[1]] + raw[cuts[2]:cuts[3]] ...
        seen = set()
        try:
            while True:
                match = _MEMBER.match(raw, pos)
                if match is None:
                    return None
                key = match.group(1).decode()
                token = match.group(2)
                if key == "expires" or key == "originalMaxAge":
                    if key in seen:
                        return None  # a repeated member: left to the full parse
                    seen.add(key)
                    if key == "expires":
                        expires = _value(token)
                    else:
                        original = _value(token)
                    cuts += match.span(2)
                else:
                    fields[key] = _value(token)
                pos = match.end()
                if match.group(3) == b"}":
                    break
        except UnicodeDecodeError:
            return None
        end = pos
        if end == len(raw) - 1 and raw[end] == 0x7D:  # "}": no data
            data: Any = {}
        elif raw[end : end + 2] == b',"':
            try:
                data = loads(b"{" + raw[end + 1 :])
            except ValueError:
                return None
            if "cookie" in data:
                return None  # a second "cookie" member: left to the full parse
        else:
            return None
        cuts.append(end)
        layout = b"".join(raw[cuts[i] : cuts[i + 1]] for i in range(0, len(cuts), 2))
        engine = self.engine
        known = engine.layouts.get(layout)
        if known is None:
            # The members, read-only, shared by the cookies of this layout (a
            # cookie copies them when one is set: Cookie.put).
            known = (MappingProxyType(fields), engine.shape_of(fields))
            if len(engine.layouts) >= LAYOUTS_MAX:
                engine.layouts.clear()
            engine.layouts[layout] = known
        cookie = engine.cookie_cls.from_record({"originalMaxAge": original, "expires": expires})
        cookie._fields, cookie._shape = known
        return self._loaded(sid, cookie, data)

    def _loaded(self, sid: str, cookie: Cookie, data: dict[str, Any]) -> _SessionBase:
        engine = self.engine
        # The state is the RequestState (fastsession._core) subclassing this.
        session = engine.session_cls._loaded(sid, cookie, data, cast("RequestState", self))
        conn = self.conn
        conn[engine.id_key] = sid
        conn[engine.session_key] = session
        self.original_id = sid
        self.original_data = encoded = session.encode()
        if not engine.resave:
            self.saved_data = encoded  # a freshly loaded session counts as saved
        return session

    # -- the decisions -----------------------------------------------------------------

    def plan(self, final: bool) -> tuple[str | None, int, Any]:
        """What to do now: (Set-Cookie line or None, store operation, its argument).

        At the start of the response (``final`` false) this is express's header
        hook followed by its end-of-response commit; at the last body message it
        saves only what changed since.
        """
        engine = self.engine
        conn = self.conn
        session = conn.get(engine.session_key)
        sid = conn.get(engine.id_key)
        if session is None:
            if engine.unset_destroy and sid and not self.destroyed:
                self.destroyed = True
                _debug("destroying session %s (unset)", sid)
                return None, DESTROY, sid
            return None, NOTHING, None
        if not isinstance(sid, str) or not isinstance(session, engine.session_base):
            return None, NOTHING, None

        data = session.encode()
        current = session.id
        if final and self.committed_data == data and self.committed_id == current:
            return None, NOTHING, None
        self.committed_id = current
        self.committed_data = data
        same_id = self.original_id == current
        modified = not same_id or self.original_data != data
        is_new = self.cookie_id != sid
        line = None
        if not final:
            cookie = session.cookie
            if is_new:
                set_cookie = engine.save_uninitialized or modified
            else:
                set_cookie = engine.rolling or (modified and cookie.expires_ms is not None)
            if set_cookie and cookie.secure and not self.is_secure():
                _debug("not secured: no Set-Cookie for %s", sid)
                set_cookie = False
            if not self.touched:
                session.touch()
                self.touched = True
            if set_cookie:
                line = engine.set_cookie_line(sid, cookie)
                _debug("set-cookie for session %s", sid)

        saved = self.saved_data
        if not engine.save_uninitialized and saved is None and is_new:
            save = modified
        else:
            save = not (same_id and saved == data)
        if save:
            self.saved_data = data
            session._encoded = data
            _debug("saving session %s", current)
            return line, SET, session
        if not final and engine.has_touch and not is_new:
            session._encoded = data
            _debug("touching session %s", sid)
            return line, TOUCH, session
        if not final:
            _debug("session %s unchanged: nothing to store", sid)
        return line, NOTHING, None

    # -- doing it with a sync store -------------------------------------------------------

    def commit(self, final: bool) -> str | None:
        """Do what `plan` decides; a store failure is raised, never swallowed."""
        line, op, arg = self.plan(final)
        if op:
            engine = self.engine
            memory = engine.memory
            try:
                if op == SET:
                    try:
                        if memory is not None:
                            memory.set(arg.id, arg)
                        else:
                            assert engine.store_set is not None
                            engine.store_set(arg.id, arg)
                    finally:
                        arg._encoded = None
                elif op == TOUCH:
                    try:
                        if memory is not None:
                            memory.touch(arg.id, arg)
                        else:
                            assert engine.store_touch is not None
                            engine.store_touch(arg.id, arg)
                    finally:
                        arg._encoded = None
                else:
                    assert engine.store_destroy is not None
                    engine.store_destroy(arg)
            except Exception as exc:
                raise engine.store_failed(op, exc) from exc
        return line

    def asgi_send(self, message: MutableMapping[str, Any]) -> Any:
        """The ``send`` an ASGI app is given (a sync store): commit at the
        response's start and before its last message, then the server's ``send``."""
        kind = message["type"]
        if kind in _START:
            self.started = True
            line = self.commit(False)
            if line is not None:
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"set-cookie", line.encode("latin-1")),
                ]
        elif self.started and (
            (kind == "http.response.body" and not message.get("more_body", False))
            or kind == "websocket.close"
        ):
            self.commit(True)
        return self.respond(message)

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        """The ``start_response`` a WSGI app is given: commit, then the server's."""
        if not self.started:
            self.started = True
            line = self.commit(False)
            if line is not None:
                headers = [*headers, ("Set-Cookie", line)]
        return self.respond(status, headers, exc_info)


class MemoryCore:
    """MemoryStore's data path: records are the sessions' exact JSON bytes in
    an LRU with a deadline each; writes hold ``lock``.

    ``parse(raw)`` is the record of stored bytes (raising CorruptSessionError),
    ``splice(stored, fresh, session)`` the stored record with the session's
    cookie, ``cookie_end(doc)`` where a record's leading cookie object ends
    (-1 if unsure). ``session_classes`` and ``cookie_cls`` are ours: their
    sessions hand over the record's cookie part alone for a touch, since their
    data is known to serialize (the middleware has just encoded it).
    """

    __slots__ = (
        "lru",
        "lock",
        "ttl",
        "clock",
        "parse",
        "splice",
        "cookie_end",
        "session_classes",
        "cookie_cls",
    )

    def __init__(
        self,
        lru: LRULike,
        lock: Any,
        ttl: float,
        clock: Callable[[], float] | None,
        parse: Callable[[bytes], Record],
        splice: Callable[[bytes, bytes, Any], bytes],
        cookie_end: Callable[[bytes], int],
        session_classes: tuple[type, ...],
        cookie_cls: type[Any],
    ) -> None:
        self.lru = lru
        self.lock = lock
        self.ttl = ttl
        self.clock = clock
        self.parse = parse
        self.splice = splice
        self.cookie_end = cookie_end
        self.session_classes = session_classes
        self.cookie_cls = cookie_cls

    def get_raw(self, sid: str) -> bytes | None:
        return self.lru.get(sid)

    def get(self, sid: str) -> Record | None:
        raw = self.lru.get(sid)
        return None if raw is None else self.parse(raw)

    def set(self, sid: str, session: Any) -> None:
        value = session.to_json()
        deadline = self.deadline(session)
        lock = self.lock
        lock.acquire()
        try:
            self.lru.set(sid, value, deadline)
        finally:
            lock.release()

    def touch(self, sid: str, session: Any) -> None:
        head = session._record_head() if type(session) in self.session_classes else None
        fresh = session.to_json() if head is None else b""
        deadline = self.deadline(session)
        lock = self.lock
        lock.acquire()
        try:
            stored = self.lru.peek(sid)
            if stored is not None:
                if head is None:
                    value = self.splice(stored, fresh, session)
                elif stored.startswith(head):
                    value = stored  # the same cookie: as spliced, byte for byte
                else:
                    end = self.cookie_end(stored)
                    value = (
                        head + stored[end:]
                        if end != -1
                        else self.splice(stored, session.to_json(), session)
                    )
                self.lru.set(sid, value, deadline)
        finally:
            lock.release()

    def deadline(self, session: Any) -> float:
        """When the session's record expires, in clock seconds."""
        cookie: Any = session.cookie
        if type(cookie) is self.cookie_cls:
            # expires.timestamp() without the datetime: the same float.
            ms = cookie.expires_ms
            if ms is not None and _MIN_MS <= ms <= _MAX_MS:
                return ms / 1000  # type: ignore[no-any-return]
        expires = cookie.expires
        if expires is None:
            clock = self.clock
            return (_clock.now() if clock is None else clock()) + self.ttl
        return expires.timestamp()  # type: ignore[no-any-return]


# The epoch milliseconds a datetime can hold (years 1 to 9999).
_MIN_MS = -62_135_596_800_000
_MAX_MS = 253_402_300_799_999


def cookie_end(doc: bytes) -> int:
    """Where the leading cookie object of record JSON ends, or -1 if unsure.

    The cookie's members are scalars, so without a backslash the first ``}``
    preceded by an even number of quotes closes it.
    """
    if not doc.startswith(_HEAD):
        return -1
    start = _HEAD_LEN
    end = doc.find(b"}", start)
    while end != -1:
        part = doc[start:end]
        if b"\\" in part or b"{" in part or b"[" in part:
            return -1
        if part.count(b'"') % 2 == 0:
            return end + 1
        end = doc.find(b"}", end + 1)
    return -1


def _value(token: bytes) -> Any:
    """A scalar JSON token of the cookie object, as orjson.loads reads it."""
    if token[:1] == b'"':
        return token[1:-1].decode()
    scalar = _SCALARS.get(token, token)
    return int(token) if scalar is token else scalar


def _debug(msg: str, *args: Any) -> None:
    if logger.isEnabledFor(_DEBUG):
        logger.debug(msg, *args)
