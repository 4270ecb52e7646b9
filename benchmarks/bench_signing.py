"""Signing a session id and verifying it: cookie-signature's HMAC-SHA256 format.

Contenders: fastsession's compiled and pure twins (a Signer with the key prepared
once, as the middlewares hold it), itsdangerous' ``Signer`` set to HMAC-SHA256
with no key derivation (the closest peer), and ``hmac.digest`` alone: OpenSSL's
one-shot HMAC of the id, with no encoding or comparison, as a floor.

Groups: ``sign`` and ``unsign`` (a valid signature, the common case).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import itsdangerous
import pytest

from fastsession import _signing_c, _signing_py

CONTENDERS = ["c", "py", "itsdangerous", "hmac.digest"]


def itsdangerous_signer(secret: bytes) -> itsdangerous.Signer:
    return itsdangerous.Signer(
        secret,
        key_derivation="none",
        digest_method=hashlib.sha256,
        algorithm=itsdangerous.signer.HMACAlgorithm(hashlib.sha256),
    )


def operation(name: str, op: str, secret: bytes, value: str) -> tuple[Callable[..., Any], Any]:
    """The bound call and its argument for one contender."""
    if name in ("c", "py"):
        signer = (_signing_c if name == "c" else _signing_py).Signer((secret,))
        return (signer.sign, value) if op == "sign" else (signer.unsign, signer.sign(value))
    if name == "itsdangerous":
        signer = itsdangerous_signer(secret)
        return (signer.sign, value) if op == "sign" else (signer.unsign, signer.sign(value))
    return (lambda data: hmac.digest(secret, data, "sha256")), value.encode()


@pytest.mark.parametrize("name", CONTENDERS)
@pytest.mark.parametrize("op", ["sign", "unsign"])
def test_signing(
    bench_calls: Callable[[Callable[[Any], Any], Any], Any],
    label: Callable[[str, str], None],
    secret: bytes,
    session_id: str,
    op: str,
    name: str,
) -> None:
    fn, arg = operation(name, op, secret, session_id)
    label(op, name)
    result = bench_calls(fn, arg)
    if name in ("c", "py"):
        expected = _signing_py.sign(session_id, secret)
        assert result == (expected if op == "sign" else session_id)
    elif name == "itsdangerous" and op == "unsign":
        assert result == session_id.encode()
