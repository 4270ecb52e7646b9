"""Pure-Python signing kernel: cookie-signature 1.0.7 (HMAC-SHA256, unpadded base64).

This module is the specification of its compiled twin, src_c/_signing_c.pyx.
"""

from __future__ import annotations

from binascii import b2a_base64
from hashlib import sha256
from hmac import compare_digest
from typing import Any

__all__ = ["Signer", "sign", "unsign"]

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
        key = sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return sha256(key.translate(_IPAD)), sha256(key.translate(_OPAD))


def _check_secrets(secrets: tuple[bytes, ...]) -> None:
    if not isinstance(secrets, tuple):
        raise TypeError("secrets must be a tuple of bytes")
    if not secrets:
        raise ValueError("at least one secret is required")
    for secret in secrets:
        if not isinstance(secret, bytes):
            raise TypeError("secrets must be a tuple of bytes")


class Signer:
    """Signs with ``secrets[0]``; verifies with each secret in turn (rotation)."""

    __slots__ = ("_keys",)

    def __init__(self, secrets: tuple[bytes, ...]) -> None:
        _check_secrets(secrets)
        self._keys = tuple(_prepare(secret) for secret in secrets)

    def sign(self, value: str) -> str:
        if not isinstance(value, str):
            raise TypeError("Cookie value must be provided as a string.")
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
