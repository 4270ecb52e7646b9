"""Flash messages for every framework: Flask's ``flash`` and ``get_flashed_messages``.

A message flashed in one request is shown by a later one, once. The messages
live in the session under Flask's key, ``"_flashes"``, as a list of
``[category, message]`` pairs (JSON arrays), so a Flask app (whose
``flask.flash`` works with `fastsession.flask.FastSession`), a Starlette,
FastAPI or Litestar app, a WSGI app and a Django app that share a store all
see the same messages.

The semantics are Flask's: reading the messages takes them out of the
session; ``category_filter`` keeps the messages of those categories (the
others are taken out all the same); ``with_categories=True`` gives
``(category, message)`` tuples. Flask keeps the messages it read for the rest
of the request (in ``flask.g``), so a second call in the same request (a
layout and a page both showing them) gets the same list. Here they are kept on
the session object, which lives as long as its request: `Session`,
`AsyncSession` and Django's ``request.session`` (fastsession.django) carry
them. A plain ``dict`` cannot, so there a second call finds nothing.

In a Flask app use Flask's own functions: they keep the list in ``flask.g``,
not on the session, and the two caches do not see each other. With Flask's
``serializer="tagged"``, ``flask.flash`` stores tuples as tagged objects
(``{" t": [category, message]}``); they are read as pairs here too.

Any session works: the functions need only ``in``, ``[]`` and ``del``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal, Protocol, overload

__all__ = ["FLASHES_KEY", "FlashSession", "flash", "get_flashed_messages"]

FLASHES_KEY = "_flashes"
"""The session key of the messages: Flask's."""

_CACHE = "_flashed"  # the attribute that keeps the messages read, for the request
_TUPLE_TAG = " t"  # Flask's tagged JSON for a tuple (flask.json.tag.TagTuple)


class FlashSession(Protocol):
    """What the functions need of a session: any mapping of data keys."""

    def __contains__(self, key: object, /) -> bool: ...

    def __getitem__(self, key: str, /) -> Any: ...

    def __setitem__(self, key: str, value: Any, /) -> None: ...

    def __delitem__(self, key: str, /) -> None: ...


def flash(session: FlashSession, message: Any, category: str = "message") -> None:
    """Keep ``message`` in the session for a later request (Flask's ``flash``).

    ``message`` is any JSON value (usually a string); ``category`` a string,
    Flask's default ``"message"`` or e.g. ``"error"``, ``"info"``, ``"warning"``.
    """
    if not isinstance(category, str):
        raise TypeError(f"a flash category is a str, not {type(category).__name__}")
    flashes = [list(pair) for pair in _pairs(session)]
    flashes.append([category, message])
    session[FLASHES_KEY] = flashes  # assigned, so every session sees a change


@overload
def get_flashed_messages(
    session: FlashSession,
    with_categories: Literal[False] = False,
    category_filter: Collection[str] = (),
) -> list[Any]: ...


@overload
def get_flashed_messages(
    session: FlashSession,
    with_categories: Literal[True],
    category_filter: Collection[str] = (),
) -> list[tuple[str, Any]]: ...


@overload
def get_flashed_messages(
    session: FlashSession,
    with_categories: bool,
    category_filter: Collection[str] = (),
) -> list[Any] | list[tuple[str, Any]]: ...


def get_flashed_messages(
    session: FlashSession,
    with_categories: bool = False,
    category_filter: Collection[str] = (),
) -> list[Any] | list[tuple[str, Any]]:
    """The flashed messages, taken out of the session (Flask's ``get_flashed_messages``).

    The first call in a request takes every message out of the session; later
    calls on the same session object return the same messages (see the module
    docstring). ``category_filter`` keeps only messages of those categories;
    ``with_categories=True`` gives ``(category, message)`` tuples, else the
    messages alone.
    """
    if isinstance(category_filter, str):
        # "error" would filter by its letters: a clear error instead
        raise TypeError("category_filter is a collection of categories, not one str")
    flashes: list[tuple[str, Any]] | None = getattr(session, _CACHE, None)
    if flashes is None:
        flashes = _pairs(session)
        if FLASHES_KEY in session:
            del session[FLASHES_KEY]
        try:
            setattr(session, _CACHE, flashes)
        except (AttributeError, TypeError):
            pass  # a plain dict keeps nothing beside its data
    if category_filter:
        flashes = [pair for pair in flashes if pair[0] in category_filter]
    if with_categories:
        return list(flashes)
    return [message for _, message in flashes]


def _pairs(session: FlashSession) -> list[tuple[str, Any]]:
    """The stored messages as (category, message) tuples; a clear error when the
    key holds something else (another app wrote it)."""
    if FLASHES_KEY not in session:
        return []
    stored = session[FLASHES_KEY]
    if not isinstance(stored, list | tuple):
        raise ValueError(f"session[{FLASHES_KEY!r}] is not a list of flashed messages")
    pairs = []
    for item in stored:
        if isinstance(item, dict) and len(item) == 1 and _TUPLE_TAG in item:
            item = item[_TUPLE_TAG]
        if not (isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError(
                f"session[{FLASHES_KEY!r}] holds {item!r}, not a [category, message] pair"
            )
        pairs.append((item[0], item[1]))
    return pairs
