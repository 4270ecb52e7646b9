"""Tagged values: Python types JSON lacks, kept as small JSON objects in the record.

Flask's own cookie session stores a ``datetime``, ``UUID``, ``bytes``, ``tuple``
or ``Markup`` through Flask's tagged JSON (``flask.json.tag``): each such value
becomes a one-member object, ``{" d": "Wed, 21 Oct 2015 07:28:00 GMT"}``. The
integrations' opt-in ``serializer="tagged"`` writes each data value that way
inside express-session's record, so the record stays plain JSON that every
store keeps and an Express app reads; loading turns the tags back into values.

A codec is anything with Flask's ``TaggedJSONSerializer`` methods ``tag(value)``
(a value → its JSON-ready form) and ``untag(obj)`` (a one-member dict → the
value, anything else unchanged), so an app's own registered tags work too.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Codec", "resolve_serializer", "tag_data", "untag_data"]


@runtime_checkable
class Codec(Protocol):
    """What the integrations need of a tagged serializer (Flask's has both)."""

    def tag(self, value: Any) -> Any: ...

    def untag(self, value: dict[str, Any]) -> Any: ...


def resolve_serializer(value: Any) -> Codec | None:
    """The ``serializer`` option: None or ``"json"`` (express's plain JSON, the
    default), ``"tagged"`` (Flask's tagged JSON), or a codec instance."""
    if value is None or value == "json":
        return None
    if value == "tagged":
        from flask.json.tag import TaggedJSONSerializer

        return TaggedJSONSerializer()
    if isinstance(value, Codec) and not isinstance(value, type):
        return value
    raise TypeError(
        'option \'serializer\' must be "json", "tagged" or an object with tag() and '
        f"untag() methods (flask.json.tag.TaggedJSONSerializer), not {value!r}"
    )


def tag_data(codec: Codec, data: dict[str, Any]) -> dict[str, Any]:
    """The session data with each value tagged (the keys are JSON's strings already)."""
    tag = codec.tag
    return {key: tag(value) for key, value in dict.items(data)}


def untag_data(codec: Codec, data: Any) -> dict[str, Any]:
    """Stored data → values: every object untagged from the leaves up, as
    ``json.loads(..., object_hook=codec.untag)`` would."""
    return {key: _untag(codec, value) for key, value in data.items()}


def _untag(codec: Codec, value: Any) -> Any:
    if isinstance(value, dict):
        return codec.untag({k: _untag(codec, v) for k, v in value.items()})
    if isinstance(value, list):
        return [_untag(codec, item) for item in value]
    return value
