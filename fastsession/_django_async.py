"""Django's a-prefixed async session API (``asave``, ``aflush``, ``aget``, ...), a
base of `fastsession.django_session.DjangoSession`.

The store calls are the engine's awaited ones (a blocking store then runs in a
worker thread, off the event loop); the rest, the data and the cookie's expiry,
is in memory, so those methods are the sync ones, awaited. They rely on
DjangoSession's sync methods and request bookkeeping, hence ``self: Any``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from .errors import store_error

__all__ = ["MISSING", "DjangoAsyncAPI", "data_of"]

MISSING: Any = object()
"""The default of ``pop``/``apop`` when none is given."""


class DjangoAsyncAPI:
    """The async faces of `DjangoSession`'s store, mapping and expiry methods."""

    __slots__ = ()

    async def _acall(self: Any, op: str, *args: Any) -> Any:
        engine = self._request.engine
        method = {
            "get": engine.aget, "set": engine.aset, "replace": engine.areplace,
            "destroy": engine.adestroy,
        }[op]  # fmt: skip
        try:
            return await method(*args)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise store_error(op, exc) from exc

    async def asave(self: Any, must_create: bool = False) -> None:
        op, previous = self._op(), self._request.saved_data
        if await self._acall(op, *self._saving()) is False:
            self._interrupted(previous)

    async def acreate(self: Any) -> None:
        self._creating()
        await self.asave()

    async def adelete(self: Any, session_key: str | None = None) -> None:
        key = session_key if session_key is not None else self.session_key
        if key is not None:
            await self._acall("destroy", key)

    async def aload(self: Any) -> dict[str, Any]:
        return data_of(await self._acall("get", self.fastsession.id))

    async def aexists(self: Any, session_key: str) -> bool:
        return await self._acall("get", session_key) is not None

    async def acycle_key(self: Any) -> None:
        old = self.session_key
        if old is not None:
            await self._acall("destroy", old)
        self._cycled()

    async def aflush(self: Any) -> None:
        old = self.session_key
        if old is not None:
            await self._acall("destroy", old)
        self._flushed()

    @classmethod
    async def aclear_expired(cls: Any) -> None:
        cls.clear_expired()

    # The data is in memory: the async faces of the mapping and expiry methods
    # (Django 5's, used by alogin/alogout and async views) need no I/O.

    async def aget(self: Any, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    async def aset(self: Any, key: str, value: Any) -> None:
        self[key] = value

    async def apop(self: Any, key: str, default: Any = MISSING) -> Any:
        return self.pop(key, default)

    async def asetdefault(self: Any, key: str, value: Any) -> Any:
        return self.setdefault(key, value)

    async def aupdate(self: Any, other: Mapping[str, Any]) -> None:
        self.update(other)

    async def ahas_key(self: Any, key: str) -> bool:
        return cast(bool, self.has_key(key))

    async def akeys(self: Any) -> Any:
        return self.keys()

    async def avalues(self: Any) -> Any:
        return self.values()

    async def aitems(self: Any) -> Any:
        return self.items()

    async def aset_test_cookie(self: Any) -> None:
        self.set_test_cookie()

    async def atest_cookie_worked(self: Any) -> bool:
        return cast(bool, self.test_cookie_worked())

    async def adelete_test_cookie(self: Any) -> None:
        self.delete_test_cookie()

    async def aget_expiry_age(self: Any, **kwargs: Any) -> int:
        return cast(int, self.get_expiry_age(**kwargs))

    async def aget_expiry_date(self: Any, **kwargs: Any) -> datetime:
        return cast(datetime, self.get_expiry_date(**kwargs))

    async def aset_expiry(self: Any, value: int | float | datetime | timedelta | None) -> None:
        self.set_expiry(value)

    async def aget_expire_at_browser_close(self: Any) -> bool:
        return cast(bool, self.get_expire_at_browser_close())


def data_of(record: Any) -> dict[str, Any]:
    """A stored record's data (its ``cookie`` left out); ``{}`` for none."""
    if record is None:
        return {}
    return {k: v for k, v in dict(record).items() if k != "cookie"}
