"""Pure-Python signing kernel: cookie-signature 1.0.7 (HMAC-SHA256, unpadded base64).

This module is the specification of its compiled twin, src_c/_signing_c.pyx.
"""

from __future__ import annotations

import hashlib
import hmac
from binascii import b2a_base64
from hmac import compare_digest
from typing import Any

__all__ = ["Signer", "hmac_sha256", "sha256", "sign", "unsign"]

# The per-Signer memo of signed values: entries, and the longest value kept.
_MEMO_MAX = 4096
_MEMO_VALUE_MAX = 256

_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Node encodes a lone surrogate as U+FFFD; a Python str holds each surrogate alone.
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text).encode()


def _prepare(key: bytes) -> tuple[Any, Any]:
    # The hash states after the ipad and opad blocks: copying them per message
    # saves the key schedule (two compressions) that hmac.new() redoes each time.
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def _check_secrets(secrets: tuple[bytes, ...]) -> None:
    if not isinstance(secrets, tuple):
        raise TypeError("secrets must be a tuple of bytes")
    if not secrets:
        raise ValueError("at least one secret is required")
    for secret in secrets:
        if not isinstance(secret, bytes):
            raise TypeError("secrets must be a tuple of bytes")


class Signer:
    """Signs with ``secrets[0]``; verifies with each secret in turn (rotation).

    Remembers the signed form of up to ``_MEMO_MAX`` short values (cleared at once
    when full), so an id signed on every response costs a dict lookup.
    """

    __slots__ = ("_keys", "_memo")

    def __init__(self, secrets: tuple[bytes, ...]) -> None:
        _check_secrets(secrets)
        self._keys = tuple(_prepare(secret) for secret in secrets)
        self._memo: dict[str, str] = {}

    def sign(self, value: str) -> str:
        # Exact str only: a subclass could compare equal to a different text.
        if type(value) is str and len(value) <= _MEMO_VALUE_MAX:
            memo = self._memo
            signed = memo.get(value)
            if signed is None:
                signed = self._sign(value)
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[value] = signed
            return signed
        if not isinstance(value, str):
            raise TypeError("Cookie value must be provided as a string.")
        return self._sign(value)

    def _sign(self, value: str) -> str:
        return f"{value}.{_mac(self._keys[0], _utf8(value)).decode('ascii')}"

    def unsign(self, signed: str) -> str | None:
        if not isinstance(signed, str):
            raise TypeError("Signed cookie string must be provided.")
        dot = signed.rfind(".")
        # A MAC is 43 ASCII characters; anything else can never match, and the
        # lengths are public anyway (cookie-signature 1.2.2 checks them first).
        if dot < 0 or len(signed) - dot != 44:
            return None
        tail = signed[dot + 1 :]
        if not tail.isascii():
            return None
        presented = tail.encode("ascii")
        value = signed[:dot]
        data = _utf8(value)
        for key in self._keys:
            if compare_digest(_mac(key, data), presented):
                return value
        return None


def _mac(key: tuple[Any, Any], data: bytes) -> bytes:
    inner, outer = key
    inner = inner.copy()
    inner.update(data)
    outer = outer.copy()
    outer.update(inner.digest())
    return b2a_base64(outer.digest(), newline=False)[:43]


def sign(value: str, secret: bytes) -> str:
    """``value + "." + base64(HMAC-SHA256(secret, value))`` without ``=`` padding."""
    return Signer((secret,)).sign(value)


def unsign(signed: str, secrets: tuple[bytes, ...]) -> str | None:
    """The value when any secret verifies ``signed``, else None."""
    return Signer(secrets).unsign(signed)


def sha256(msg: bytes) -> bytes:
    """SHA-256 of ``msg`` (hashlib; the compiled twin's own is held to it)."""
    if not isinstance(msg, bytes):
        raise TypeError("msg must be bytes")
    return hashlib.sha256(msg).digest()


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA-256 of ``msg`` (the hmac module)."""
    if not isinstance(key, bytes):
        raise TypeError("key must be bytes")
    if not isinstance(msg, bytes):
        raise TypeError("msg must be bytes")
    return hmac.digest(key, msg, "sha256")
