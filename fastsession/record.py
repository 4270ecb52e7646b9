"""The stored-record codec: express-session's JSON, byte for byte.

``{"cookie":{...},...data}``: the cookie's fields in express's fixed order,
``originalMaxAge`` in milliseconds, ``expires`` as ISO-8601 UTC with
milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ._dates_py import format_iso, parse_iso  # the one date algorithm, re-exported
from .errors import SerializationError

__all__ = [
    "ORJSON_OPTIONS",
    "datetime_to_ms",
    "dumps",
    "encode_data",
    "format_iso",
    "join",
    "loads",
    "ms_to_datetime",
    "parse_iso",
]

try:
    import orjson

    HAVE_ORJSON = True
except ImportError:  # pragma: no cover - PyPy: orjson does not support it
    HAVE_ORJSON = False

_EncodeError: tuple[type[Exception], ...]

if HAVE_ORJSON:
    # Dates and dataclasses pass through to the error path: only what JSON
    # itself holds is stored, the same on every platform.
    ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    _dumps_raw = orjson.dumps
    loads = orjson.loads
    _EncodeError = (orjson.JSONEncodeError,)

    def dumps(obj: Any) -> bytes:
        return _dumps_raw(obj, None, ORJSON_OPTIONS)

    def encode_data(data: dict[str, Any]) -> bytes:
        """Serialize the session data; an unstorable value names its key."""
        try:
            return _dumps_raw(data, None, ORJSON_OPTIONS)
        except orjson.JSONEncodeError as exc:
            raise _explain(data, exc) from exc

else:  # pragma: no cover
    import json

    _encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    _EncodeError = (TypeError, ValueError)

    def dumps(obj: Any) -> bytes:
        return _encoder.encode(obj).encode("utf-8", "surrogatepass")

    def loads(data: Any) -> Any:
        return json.loads(data)

    def encode_data(data: dict[str, Any]) -> bytes:
        """Serialize the session data; an unstorable value names its key."""
        try:
            return dumps(data)
        except _EncodeError as exc:
            raise _explain(data, exc) from exc


def _explain(data: dict[str, Any], exc: Exception) -> SerializationError:
    for key, value in data.items():
        if not isinstance(key, str):
            return SerializationError(f"session key {key!r} is not a str: JSON keys are strings")
        try:
            dumps(value)
        except _EncodeError as inner:
            return SerializationError(
                f"session value for key {key!r} cannot be stored as JSON: {inner}"
            )
    return SerializationError(f"session data cannot be stored as JSON: {exc}")


def join(cookie_json: bytes, data_json: bytes) -> bytes:
    """``{"cookie":<cookie>,<data members>}`` from the two serialized parts."""
    if data_json == b"{}":
        return b'{"cookie":' + cookie_json + b"}"
    return b'{"cookie":' + cookie_json + b"," + data_json[1:]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


# A real entry, not a sentinel: (-1, "") was taken for the second before the epoch.
def ms_to_datetime(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(dt: datetime) -> int:
    return (dt - _EPOCH) // _MS
