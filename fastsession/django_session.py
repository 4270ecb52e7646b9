"""DjangoSession: what Django's ``SessionBase`` offers, over a fastsession session.

``request.session`` under `fastsession.django.SessionMiddleware`. It is an
adapter around the request's fastsession session (``.fastsession``), not a
subclass of it, for three reasons:

* Django's names clash with express's: ``save(must_create)``, ``delete()``,
  ``load()`` and ``clear()`` mean other things there, and ``session_key`` is
  None until the session is stored, where ``Session.id`` always exists.
* ``accessed`` must be set by every read (Django varies the response on the
  Cookie header when it is); the kernel's dict stays a plain dict, read at C
  speed by the request path, and only Django code pays for the flag.
* One class serves WSGI and ASGI, sync views and async ones: each store call
  is made the way the calling code needs (``flush()`` in a sync view, even in
  Django's ASGI worker thread; ``await aflush()`` in an async view, a blocking
  store then running in a worker thread, off the event loop).

Expiry lives in the cookie, as express-session keeps it, not in a
``_session_expiry`` data key: an Express app sharing the store sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

from asgiref.sync import async_to_sync
from django.core.exceptions import SynchronousOnlyOperation
from django.utils import timezone

from ._django_async import MISSING, DjangoAsyncAPI, data_of
from ._speedups import RequestCore
from .engine import is_async_store
from .errors import SerializationError, store_error
from .session import AsyncSession, Session
from .session_cookie import Cookie

__all__ = ["DjangoSession"]

_EMPTY = b"{}"  # a new session's data JSON (the kernel's EMPTY_DATA)


class DjangoSession(DjangoAsyncAPI):
    """``request.session``: Django's session API over a fastsession session."""

    TEST_COOKIE_NAME: ClassVar[str] = "testcookie"
    TEST_COOKIE_VALUE: ClassVar[str] = "worked"

    # _flashed: the flash messages read in this request (fastsession.flash)
    __slots__ = ("fastsession", "_request", "_cookie_age", "_keyed", "accessed", "modified",
                 "expiry_set", "_flashed")  # fmt: skip

    def __init__(self, session: Session | AsyncSession, request: RequestCore, cookie_age: int):
        self.fastsession = session
        """The fastsession session: ``id``, ``cookie``, ``to_json()``."""
        self._request = request
        self._cookie_age = cookie_age
        # Whether the id is (or, once cycled, will be) in the store: Django's
        # session_key is None until then.
        self._keyed = request.cookie_id == session.id
        self.accessed = False
        self.modified = False
        self.expiry_set = False
        """Whether `set_expiry` was called: the cookie is sent and the session saved."""

    # -- the mapping ------------------------------------------------------------------

    def _data(self) -> Session | AsyncSession:
        self.accessed = True
        return self.fastsession

    def __contains__(self, key: object) -> bool:
        return key in self._data()

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "cookie":
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        self._data()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._data()[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return f"DjangoSession(session_key={self.session_key!r}, data={dict(self.fastsession)!r})"

    def get(self, key: str, default: Any = None) -> Any:
        return self._data().get(key, default)

    def pop(self, key: str, default: Any = MISSING) -> Any:
        data = self._data()
        self.modified = self.modified or key in data
        return data.pop(key) if default is MISSING else data.pop(key, default)

    def setdefault(self, key: str, value: Any) -> Any:
        data = self._data()
        if key in data:
            return data[key]
        self[key] = value
        return value

    def update(self, other: Mapping[str, Any] = MISSING, /, **kwargs: Any) -> None:
        merged = dict(kwargs) if other is MISSING else {**other, **kwargs}
        if "cookie" in merged:
            raise SerializationError('the session key "cookie" is reserved for the cookie')
        self._data().update(merged)
        self.modified = True

    def has_key(self, key: str) -> bool:
        return key in self._data()

    def keys(self) -> Any:
        return self._data().keys()

    def values(self) -> Any:
        return self._data().values()

    def items(self) -> Any:
        return self._data().items()

    def clear(self) -> None:
        self._data().clear()
        self.modified = True

    def is_empty(self) -> bool:
        """True when there is no session key and no data (Django deletes the cookie)."""
        return not self._keyed and not self.fastsession

    @property
    def session_key(self) -> str | None:
        """The id once the session is stored (or cycled, or saved), else None, as in Django."""
        return self.fastsession.id if self._keyed else None

    # -- the test cookie ----------------------------------------------------------------

    def set_test_cookie(self) -> None:
        self[self.TEST_COOKIE_NAME] = self.TEST_COOKIE_VALUE

    def test_cookie_worked(self) -> bool:
        return bool(self.get(self.TEST_COOKIE_NAME) == self.TEST_COOKIE_VALUE)

    def delete_test_cookie(self) -> None:
        del self[self.TEST_COOKIE_NAME]

    # -- expiry: the cookie's ------------------------------------------------------------

    def get_session_cookie_age(self) -> int:
        """The configured cookie lifetime in seconds (``SESSION_COOKIE_AGE`` by default)."""
        return self._cookie_age

    def get_expiry_age(self, **kwargs: Any) -> int:
        """Seconds until the session expires (the cookie age for a browser-session cookie)."""
        modification = kwargs.get("modification") or timezone.now()
        expiry = kwargs.get("expiry", MISSING)
        if expiry is MISSING:
            expiry = self.fastsession.cookie.expires
        if not expiry:
            return self.get_session_cookie_age()
        if isinstance(expiry, str):
            expiry = datetime.fromisoformat(expiry)
        if not isinstance(expiry, datetime):
            return int(expiry)
        delta = expiry - modification
        return delta.days * 86400 + delta.seconds

    def get_expiry_date(self, **kwargs: Any) -> datetime:
        """When the session expires, an aware datetime."""
        modification = kwargs.get("modification") or timezone.now()
        expiry = kwargs.get("expiry", MISSING)
        if expiry is MISSING:
            expiry = self.fastsession.cookie.expires
        if isinstance(expiry, datetime):
            return expiry
        if isinstance(expiry, str):
            return datetime.fromisoformat(expiry)
        return modification + timedelta(seconds=expiry or self.get_session_cookie_age())

    def set_expiry(self, value: int | float | datetime | timedelta | None) -> None:
        """Django's ``set_expiry``, on the cookie: seconds of inactivity (0: when the
        browser closes), a moment (``datetime``, or ``timedelta`` from now), or
        None for the configured lifetime. As express-session keeps a cookie, a
        moment becomes a lifetime that each later save or touch re-applies."""
        cookie = self.fastsession.cookie
        if value is None:
            fresh = cast(Cookie, self._request.engine.new_cookie(self._request))
            cookie.max_age = fresh.original_max_age
        elif isinstance(value, timedelta):
            cookie.expires = datetime.now(UTC) + value
        elif isinstance(value, datetime):
            if timezone.is_naive(value):
                value = timezone.make_aware(value)
            cookie.expires = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            cookie.max_age = value if value else None
        else:
            raise TypeError(
                f"set_expiry() takes seconds, a datetime, a timedelta or None, "
                f"not {type(value).__name__}"
            )
        self.accessed = self.modified = self.expiry_set = True
        # Saved at the response even if the data did not change.
        self._request.saved_data = None

    def get_expire_at_browser_close(self) -> bool:
        return self.fastsession.cookie.expires_ms is None

    # -- the store: sync ------------------------------------------------------------------

    def _call(self, op: str, *args: Any) -> Any:
        """A store call from sync code: inline, or an async store's on the event loop."""
        store = self._request.engine.store
        is_async = is_async_store(store)
        if (is_async or getattr(store, "blocking", True)) and _in_event_loop():
            raise SynchronousOnlyOperation(
                f"request.session: this store call blocks; in async code use the "
                f"session's a-prefixed method (await request.session.a{_CALLER[op]}())"
            )
        method = getattr(store, op)
        try:
            return async_to_sync(method)(*args) if is_async else method(*args)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise store_error(op, exc) from exc

    def save(self, must_create: bool = False) -> None:
        """Write the session to the store now (``must_create`` is accepted and ignored).

        A session loaded in this request is written only while it is still
        stored (the store's ``replace``): gone (a logout in another tab), nothing
        is written and Django's ``SessionInterrupted`` is raised, as Django's own
        backends do when the session was deleted before the request completed.
        """
        op, previous = self._op(), self._request.saved_data
        if self._call(op, *self._saving()) is False:
            self._interrupted(previous)

    def create(self) -> None:
        """A new stored session with empty data (a new key if this one is stored)."""
        self._creating()
        self.save()

    def delete(self, session_key: str | None = None) -> None:
        """Remove ``session_key`` (default: this session's stored key) from the store."""
        key = session_key if session_key is not None else self.session_key
        if key is not None:
            self._call("destroy", key)

    def load(self) -> dict[str, Any]:
        """The stored data of this session (``{}`` if none)."""
        return data_of(self._call("get", self.fastsession.id))

    def exists(self, session_key: str) -> bool:
        return self._call("get", session_key) is not None

    def cycle_key(self) -> None:
        """A new key for the same data; the old key is removed from the store."""
        old = self.session_key
        if old is not None:
            self._call("destroy", old)
        self._cycled()

    def flush(self) -> None:
        """Remove the session from the store; a new, empty, unstored one takes its place."""
        old = self.session_key
        if old is not None:
            self._call("destroy", old)
        self._flushed()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: every store expires its records itself (Redis's TTL, the
        memory LRU's deadlines; SQLite and PostgreSQL never return an expired
        record, and remove them with ``sweep()`` and ``prune()``)."""

    # -- what the store methods do to the request -------------------------------------------

    def _op(self) -> str:
        """``replace`` for a session this request loaded, ``set`` for one it made."""
        return "replace" if self._request.is_loaded(self.fastsession) else "set"

    def _interrupted(self, previous: bytes | None) -> None:
        from django.contrib.sessions.exceptions import SessionInterrupted

        # Nothing was written; the end of the request finds the session gone too.
        self._request.saved_data = previous
        raise SessionInterrupted(
            f"session {self.fastsession.id!r} was deleted before the request completed"
        )

    def _saving(self) -> tuple[str, Session | AsyncSession]:
        """The request told that this data is what the store will hold."""
        session = self.fastsession
        self._request.saved_data = session.encode()
        self._keyed = True
        return session.id, session

    def _rebind(self, data: Mapping[str, Any], cookie: Any = None) -> None:
        """A new id for this session (its cookie kept unless given), put where the
        request finds it."""
        request = self._request
        session = self.fastsession
        sid = request.new_id()
        session.bind(sid, session.cookie if cookie is None else cookie, data, request)
        request.conn[request.engine.id_key] = sid
        self.accessed = self.modified = True

    def _creating(self) -> None:
        if self._keyed:
            self._rebind({})
        else:
            self.fastsession.clear()

    def _cycled(self) -> None:
        # The new id differs from the loaded one: the commit saves the data and
        # sends the cookie, as express does after regenerate().
        self._rebind(dict(self.fastsession))
        self._keyed = True

    def _flushed(self) -> None:
        request = self._request
        self._rebind({}, request.engine.new_cookie(request))
        # A fresh session, as if generated now: stored (and its cookie sent)
        # only if something is written to it.
        request.original_id = self.fastsession.id
        request.original_data = _EMPTY
        request.saved_data = None
        self._keyed = False
        self.expiry_set = False


_CALLER = {"set": "save", "replace": "save", "get": "load", "destroy": "flush"}


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
