"""When the app puts something else in ``scope["session"]``: Litestar's API.

Litestar's ``request.set_session(value)`` stores ``value`` (a dict or a data
container: dataclass, pydantic or msgspec model) in ``scope["session"]``, and
``request.clear_session()`` stores its ``Empty`` sentinel there (see
``litestar/connection/base.py``). Either would take fastsession's session out
of the request, so nothing would be saved and a logout would leave the data in
the store. Before each commit the session object is put back: with the new
value as its data (``set_session``), or destroyed in the store, whatever
``unset`` says (``clear_session``: Litestar's logout).

Only Litestar's scopes are watched (``"litestar_app" in scope``): other apps
keep the server's ``send`` with nothing in between.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from .session import AsyncSession

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]


LITESTAR_KEY = "litestar_app"
"""Litestar puts itself in every scope under this key (``Litestar.__call__``)."""


def watches(scope: Mapping[str, Any]) -> bool:
    """Whether the app may replace ``scope["session"]`` (a Litestar app)."""
    return LITESTAR_KEY in scope


def data_of(value: Any) -> Mapping[str, Any] | None:
    """The session data a replacement value stands for, or None for a sentinel
    (Litestar's ``Empty``): the session is cleared."""
    if isinstance(value, Mapping):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)  # pydantic 2
    if callable(dump):
        return dict(dump(mode="json"))
    fields = getattr(value, "__struct_fields__", None)  # msgspec.Struct
    if isinstance(fields, tuple):
        return {name: getattr(value, name) for name in fields}
    return None


async def adopt(scope: MutableMapping[str, Any], key: str, session: AsyncSession) -> None:
    """Put ``session`` back in ``scope[key]`` if the app replaced it there."""
    value = scope.get(key)
    if value is session or value is None or isinstance(value, AsyncSession):
        return
    scope[key] = session
    data = data_of(value)
    if data is None:
        await session.destroy()  # clear_session(): the data leaves the store
        return
    if data is not session:
        items = dict(data)
        session.clear()
        session.update(items)


def watching_send(
    scope: MutableMapping[str, Any], key: str, session: AsyncSession, send: Send
) -> Send:
    """``send``, with the session put back before each message (and so before
    the commits at the response's start and at its last message)."""

    async def send_adopted(message: Message) -> None:
        await adopt(scope, key, session)
        await send(message)

    return send_adopted


__all__ = ["LITESTAR_KEY", "adopt", "data_of", "watches", "watching_send"]
