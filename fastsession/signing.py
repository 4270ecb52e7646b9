"""Public cookie-signature API: ``sign``, ``unsign`` and secret normalisation.

Compatible with the npm ``cookie-signature`` package that express-session uses:
``value + "." + base64(HMAC-SHA256(secret, value))`` without ``=`` padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ._speedups import Signer
from ._types import SignerLike

__all__ = ["Secret", "normalize_secrets", "sign", "unsign"]

Secret = str | bytes | Sequence[str | bytes]
"""A secret, or a non-empty sequence of them: the first signs, all verify."""


def _key(secret: object) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if isinstance(secret, str):
        try:
            return secret.encode()
        except UnicodeEncodeError:
            # Node encodes a lone surrogate as U+FFFD.
            return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in secret).encode()
    raise TypeError(f"a secret must be str or bytes, not {type(secret).__name__}")


def normalize_secrets(secret: Secret) -> tuple[bytes, ...]:
    """The secrets as a tuple of bytes, in order; str secrets are UTF-8 encoded.

    :param secret: a str or bytes secret, or a non-empty sequence of them.
    :raises TypeError: for a secret of another type (``None`` included).
    :raises ValueError: for an empty sequence. An empty secret is allowed here,
        as in cookie-signature; the middlewares refuse it themselves.
    """
    if isinstance(secret, (str, bytes)):
        return (_key(secret),)
    if secret is None:
        raise TypeError("Secret key must be provided.")
    if not isinstance(secret, Sequence):
        raise TypeError(
            f"secret must be str, bytes or a sequence of them, not {type(secret).__name__}"
        )
    if not secret:
        raise ValueError("secret must not be an empty sequence")
    return tuple(_key(s) for s in secret)


@lru_cache(maxsize=16)
def _signer(secrets: tuple[bytes, ...]) -> SignerLike:
    # Preparing a key costs two SHA-256 compressions; repeated secrets reuse it.
    return Signer(secrets)


def sign(value: str, secret: str | bytes) -> str:
    """Sign ``value`` as cookie-signature's ``sign(value, secret)`` does.

    :param value: the text to sign (express-session signs the session id).
    :param secret: the key; a str is UTF-8 encoded.
    :raises TypeError: when ``value`` is not a str or ``secret`` not str/bytes.

    .. versionadded:: 0.1
    """
    if not isinstance(value, str):
        raise TypeError("Cookie value must be provided as a string.")
    if secret is None:
        raise TypeError("Secret key must be provided.")
    return _signer((_key(secret),)).sign(value)


def unsign(signed: str, secrets: Secret) -> str | None:
    """The value inside ``signed`` if any of ``secrets`` verifies it, else None.

    :param signed: ``value + "." + signature``, split at the last ``"."``.
    :param secrets: a secret, or a non-empty sequence tried in order.
    :raises TypeError: when ``signed`` is not a str or a secret has a wrong type.

    .. versionadded:: 0.1
    """
    if not isinstance(signed, str):
        raise TypeError("Signed cookie string must be provided.")
    return _signer(normalize_secrets(secrets)).unsign(signed)
