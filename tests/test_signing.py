"""The signing kernel (both twins) and fastsession.signing against cookie-signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from typing import Any

import pytest
from conftest import Impl, load_vector

from fastsession import signing

VECTORS = load_vector("signature.json")


def node_utf8(text: str) -> bytes:
    """UTF-8 as Node's Buffer.from(text) writes it: each surrogate becomes U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()


def reference_mac(key: bytes, value: str) -> str:
    digest = hmac.new(key, node_utf8(value), hashlib.sha256).digest()
    return base64.b64encode(digest).decode().rstrip("=")


def case_key(case: dict[str, Any]) -> bytes:
    if case["secret"] is None:
        return bytes.fromhex(case["secret_hex"])
    return node_utf8(case["secret"])


def expected(case: dict[str, Any]) -> str | None:
    result = case["unsigned_result"]
    return None if result is False else result


# ---- the kernel, both twins -----------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["sign_cases"], ids=lambda c: repr(c["value"])[:30])
def test_sign_vectors(signing_impl: Impl, case: dict[str, Any]) -> None:
    key = case_key(case)
    assert signing_impl.sign(case["value"], key) == case["signed"]
    assert signing_impl.Signer((key,)).sign(case["value"]) == case["signed"]
    # Any further secret only verifies; the first one signs.
    assert signing_impl.Signer((key, b"other")).sign(case["value"]) == case["signed"]
    assert signing_impl.Signer((key,)).unsign(case["signed"]) == case["value"]


@pytest.mark.parametrize("case", VECTORS["unsign_cases"], ids=lambda c: c["note"][:40])
def test_unsign_vectors(signing_impl: Impl, case: dict[str, Any]) -> None:
    secrets = tuple(node_utf8(s) for s in case["secrets"])
    assert signing_impl.unsign(case["input"], secrets) == expected(case)
    assert signing_impl.Signer(secrets).unsign(case["input"]) == expected(case)
    verified = [signing_impl.Signer((s,)).unsign(case["input"]) is not None for s in secrets]
    first = verified.index(True) if True in verified else None
    assert first == case["matched_secret_index"]


def test_the_vectors_cover_the_edges() -> None:
    notes = " ".join(c["note"] for c in VECTORS["unsign_cases"])
    for word in ("rotation", "padding", "base64url", "LAST dot", "empty value"):
        assert word in notes
    assert any("\ud800" in c["value"] for c in VECTORS["sign_cases"])


def test_a_lone_surrogate_signs_as_u_fffd(signing_impl: Impl) -> None:
    signer = signing_impl.Signer((b"keyboard cat",))
    signed = signer.sign("a\udc80b")
    assert signed.split(".")[-1] == signer.sign("a\ufffdb").split(".")[-1]
    assert signer.unsign(signed) == "a\udc80b"


@pytest.mark.parametrize("size", [0, 1, 31, 32, 54, 55, 56, 63, 64, 65, 119, 120, 200, 1000])
@pytest.mark.parametrize("alphabet", ["a.", "é", "€", "🍪", "a\ud800"])
def test_message_lengths_across_block_boundaries(
    signing_impl: Impl, size: int, alphabet: str
) -> None:
    value = (alphabet * size)[:size]
    for key in (b"", b"k", b"k" * 64, b"k" * 65, bytes(range(256))):
        signed = signing_impl.Signer((key,)).sign(value)
        assert signed == f"{value}.{reference_mac(key, value)}"
        assert signing_impl.Signer((b"x", key)).unsign(signed) == value


def test_unsign_rejects_near_misses(signing_impl: Impl) -> None:
    signer = signing_impl.Signer((b"tobiiscool",))
    good = signer.sign("hello")
    mac = good[6:]
    assert len(mac) == 43
    for bad in (
        good + "x",
        good[:-1],
        good + "=",
        "hello." + mac[:-1] + "é",  # a non-ASCII character where the MAC is
        "hello." + mac[:20] + "." + mac[21:],  # a dot inside the MAC
        "hello" + mac,
        "",
        ".",
        "." * 44,
        "hello." + mac.lower(),
    ):
        assert signer.unsign(bad) is None, bad
    assert signer.unsign(good) == "hello"


def test_large_and_hostile_inputs(signing_impl: Impl) -> None:
    signer = signing_impl.Signer((b"k" * 100,))
    for value in ("v" * 65536 + "\u00e9\ud800", "." * 70000, "\U0001f36a" * 20000):
        signed = signer.sign(value)
        assert signed == f"{value}.{reference_mac(b'k' * 100, value)}"
        assert signer.unsign(signed) == value
        assert signer.unsign(signed[1:]) is None
    for hostile in ("." * 65536, "\ud800" * 65536, "x" * 10**6 + "." + "A" * 43):
        assert signer.unsign(hostile) is None


def test_unsign_tries_every_secret_in_order(signing_impl: Impl) -> None:
    old = signing_impl.Signer((b"old",)).sign("sid")
    new = signing_impl.Signer((b"new",)).sign("sid")
    rotating = signing_impl.Signer((b"new", b"old"))
    assert rotating.sign("sid") == new
    assert rotating.unsign(old) == "sid"
    assert rotating.unsign(new) == "sid"
    assert signing_impl.Signer((b"new",)).unsign(old) is None


def test_bad_arguments(signing_impl: Impl) -> None:
    with pytest.raises(ValueError):
        signing_impl.Signer(())
    for secrets in ([b"k"], b"k", (b"k", "s"), ("s",), None):
        with pytest.raises(TypeError):
            signing_impl.Signer(secrets)
    signer = signing_impl.Signer((b"k",))
    with pytest.raises(TypeError, match="Cookie value must be provided as a string."):
        signer.sign(b"v")
    with pytest.raises(TypeError, match="Signed cookie string must be provided."):
        signer.unsign(None)
    with pytest.raises(TypeError):
        signing_impl.sign("v", "k")
    with pytest.raises(TypeError):
        signing_impl.unsign("v", [b"k"])
    with pytest.raises(ValueError):
        signing_impl.unsign("v", ())


def test_random_round_trips_match_hmac(signing_impl: Impl) -> None:
    rng = random.Random(1234)
    for _ in range(300):
        key = rng.randbytes(rng.randrange(0, 130))
        value = "".join(
            chr(rng.choice((rng.randrange(32, 127), rng.randrange(1, 0x2FFFF))))
            for _ in range(rng.randrange(0, 90))
        )
        signed = signing_impl.sign(value, key)
        assert signed == f"{value}.{reference_mac(key, value)}"
        assert signing_impl.unsign(signed, (b"wrong", key)) == value


# ---- the Signer's memo of signed values ------------------------------------------


def test_signing_an_id_again_reuses_the_result(signing_impl: Impl) -> None:
    signer = signing_impl.Signer((b"keyboard cat",))
    first = signer.sign("sid-1")
    # The very same object: no second HMAC (a new computation builds a new str).
    assert signer.sign("sid-1") is first
    assert signer.sign("".join(["sid", "-1"])) is first  # equal text, another object
    assert first == f"sid-1.{reference_mac(b'keyboard cat', 'sid-1')}"
    assert signer.unsign(first) == "sid-1"
    # Per Signer: another key signs the same id with its own MAC.
    other = signing_impl.Signer((b"another cat",))
    assert other.sign("sid-1") == f"sid-1.{reference_mac(b'another cat', 'sid-1')}"
    assert signer.sign("sid-1") is first


def test_the_memo_is_bounded_and_cleared_when_full(signing_impl: Impl) -> None:
    signer = signing_impl.Signer((b"k",))
    ids = [f"id-{i}" for i in range(4097)]
    signed = [signer.sign(i) for i in ids[:4096]]  # exactly full
    assert signer.sign(ids[0]) is signed[0] and signer.sign(ids[4095]) is signed[4095]
    newest = signer.sign(ids[4096])  # one more: cleared at once, then kept
    assert signer.sign(ids[4096]) is newest
    again = signer.sign(ids[0])
    assert again is not signed[0] and again == signed[0]
    assert signer.sign(ids[1]) is not signed[1]
    for value, result in zip(ids, signed, strict=False):
        assert result == f"{value}.{reference_mac(b'k', value)}"


def test_long_values_and_str_subclasses_are_not_remembered(signing_impl: Impl) -> None:
    class Text(str):
        def __eq__(self, other: object) -> bool:
            return True  # would match any remembered id

        def __hash__(self) -> int:
            return hash("sid")

    signer = signing_impl.Signer((b"k",))
    kept = signer.sign("x" * 256)
    assert signer.sign("x" * 256) is kept
    long = signer.sign("x" * 257)
    assert signer.sign("x" * 257) is not long and signer.sign("x" * 257) == long
    remembered = signer.sign("sid")
    forged = signer.sign(Text("other"))
    assert forged == f"other.{reference_mac(b'k', 'other')}" != remembered


# ---- fastsession.signing -------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["sign_cases"], ids=lambda c: repr(c["value"])[:30])
def test_public_sign_vectors(case: dict[str, Any]) -> None:
    secret = bytes.fromhex(case["secret_hex"]) if case["secret"] is None else case["secret"]
    assert signing.sign(case["value"], secret) == case["signed"]
    assert signing.unsign(case["signed"], secret) == case["value"]
    assert signing.unsign(case["signed"], [b"other", secret]) == case["value"]


@pytest.mark.parametrize("case", VECTORS["unsign_cases"], ids=lambda c: c["note"][:40])
def test_public_unsign_vectors(case: dict[str, Any]) -> None:
    assert signing.unsign(case["input"], case["secrets"]) == expected(case)
    assert signing.unsign(case["input"], tuple(case["secrets"])) == expected(case)
    if len(case["secrets"]) == 1:
        assert signing.unsign(case["input"], case["secrets"][0]) == expected(case)


def test_public_express_cookie_value() -> None:
    from fastsession.cookies import serialize

    case = next(c for c in VECTORS["sign_cases"] if "express_cookie_value" in c)
    signed = "s:" + signing.sign(case["value"], case["secret"])
    assert serialize("connect.sid", signed) == "connect.sid=" + case["express_cookie_value"]


def test_normalize_secrets() -> None:
    assert signing.normalize_secrets("keyboard cat") == (b"keyboard cat",)
    assert signing.normalize_secrets(b"\x00\xff") == (b"\x00\xff",)
    assert signing.normalize_secrets(["new", b"old"]) == (b"new", b"old")
    assert signing.normalize_secrets(("é",)) == ("é".encode(),)
    assert signing.normalize_secrets("a\ud800") == (b"a\xef\xbf\xbd",)
    # cookie-signature accepts an empty secret; the middlewares refuse it themselves.
    assert signing.normalize_secrets("") == (b"",)
    with pytest.raises(ValueError):
        signing.normalize_secrets([])
    for bad in (None, 1, {"a"}, [b"a", None], [1], bytearray(b"a"), iter(["a"])):
        with pytest.raises(TypeError):
            signing.normalize_secrets(bad)  # type: ignore[arg-type]


def test_public_errors() -> None:
    with pytest.raises(TypeError, match="Cookie value must be provided as a string."):
        signing.sign(1, "k")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Secret key must be provided."):
        signing.sign("v", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        signing.sign("v", ["k"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Signed cookie string must be provided."):
        signing.unsign(None, "k")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Secret key must be provided."):
        signing.unsign("v.x", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        signing.unsign("v.x", [])


def test_public_api_reuses_prepared_signers() -> None:
    cache = signing._signer
    cache.cache_clear()
    for _ in range(5):
        signing.unsign(signing.sign("sid", "secret one"), ["secret one", "secret two"])
    info = cache.cache_info()
    assert (info.misses, info.hits) == (2, 8)
    for i in range(100):
        signing.sign("sid", f"secret {i}")
    assert cache.cache_info().currsize == info.maxsize == 16
