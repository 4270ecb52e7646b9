"""Test data for the store contract: stand-in sessions and records, and the data sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastsession._types import Record

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as JS ``Date.toISOString()``."""
    stamp = _EPOCH + timedelta(milliseconds=ms)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def to_js_json(value: Any) -> bytes:
    """``JSON.stringify`` for the plain data used here (no floats with integral values)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class StandInCookie:
    """The cookie of a `StandInSession`: only what a store reads (expiry, lifetime)."""

    def __init__(self, expires_ms: int | None, original_max_age_ms: int | None) -> None:
        self.expires_ms = expires_ms
        self.original_max_age_ms = original_max_age_ms

    @property
    def expires(self) -> datetime | None:
        if self.expires_ms is None:
            return None
        return _EPOCH + timedelta(milliseconds=self.expires_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "originalMaxAge": self.original_max_age_ms,
            "expires": None if self.expires_ms is None else iso_ms(self.expires_ms),
            "httpOnly": True,
            "path": "/",
        }


class StandInSession:
    """A StorableSession: id, cookie.expires, to_record(), to_json()."""

    def __init__(
        self,
        sid: str,
        data: dict[str, Any] | None = None,
        *,
        now: float,
        max_age: float | None = 60,
        raw_json: bytes | None = None,
    ) -> None:
        self.id = sid
        self.data = dict(data or {})
        now_ms = int(now * 1000)
        max_age_ms = None if max_age is None else round(max_age * 1000)
        self.cookie = StandInCookie(None if max_age_ms is None else now_ms + max_age_ms, max_age_ms)
        self._raw_json = raw_json

    def to_record(self) -> Record:
        return {"cookie": self.cookie.to_dict(), **self.data}

    def to_json(self) -> bytes:
        if self._raw_json is not None:
            return self._raw_json
        return to_js_json(self.to_record())


RICH_DATA: dict[str, Any] = {
    "views": 3,
    "user": {"id": 7, "name": "Zoë ✓ 𝄞", "roles": ["a", "b"]},
    "ratio": 1.5,
    "none": None,
    "flag": False,
    "text": 'quote " backslash \\ slash / newline \n tab \t',
    "empty": {},
}
"""Session data with nesting, unicode and floats, for the round-trip tests."""


UNICODE_IDS = [
    "ключ-сессии",
    "🔑🍪",
    "مفتاح",
    "e\u0301",  # not the same id as "é" (no normalisation)
    "é",
    "tab\tand\u2028separator",
]

UNICODE_DATA: dict[str, Any] = {
    "名前": "値",
    "emoji": "🍪👩‍💻",
    "rtl": "שלום",
    "combining": "e\u0301",
    "nul": "a\u0000b",
    "separators": "\u2028\u2029",
    "astral key 𝄞": ["𝄞", {"ü": "ß"}],
}

EXACT_DATA: dict[str, Any] = {
    "big": 9007199254740991,
    "negative": -42,
    "fraction": 0.1,
    "small": 1e-7,
    "large": 1e21,
    "escapes": '"\\/\b\f\n\r\t\u0001\u001f',
    "html": "<script>&amp;</script>",
    "nested": [[[]], {}, [{"a": [None, True, False]}]],
    "order": {"z": 1, "a": 2, "m": 3},
}

Op = tuple[Any, ...]
"""A store call for ``run_concurrently``: the method name, then its arguments."""

FaultCause = type[BaseException] | tuple[type[BaseException], ...]
"""The exception type(s) a store's driver raises for a fault (`store_fault`'s cause)."""

FAULT_TESTS = ("test_faults_are_store_errors_with_their_cause",)


class ContractHooks:
    """What the contract's case mixins call and StoreContract provides."""

    def session(
        self, sid: str, data: dict[str, Any] | None = None, *, max_age: float | None = 60
    ) -> StandInSession:
        raise NotImplementedError  # StoreContract's

    def advance(self, store: Any, seconds: float) -> None:
        raise NotImplementedError  # StoreContract's
