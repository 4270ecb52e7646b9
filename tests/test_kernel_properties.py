"""Hypothesis: the compiled and pure twins of the signing and cookie kernels agree.

Equal results, or the same exception type, on random and adversarial input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.hypothesis, pytest.mark.c_extension]


class Twin:
    """A kernel module imported on first use, so that a pure-only run (the compiled
    tests deselected) still collects this file; a missing module fails the test."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.name), attr)


sign_py = Twin("fastsession._signing_py")
sign_c = Twin("fastsession._signing_c")
cook_py = Twin("fastsession._cookies_py")
cook_c = Twin("fastsession._cookies_c")


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """("ok", result) or ("raised", (exception type, message))."""
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return ("raised", (type(exc), str(exc)))


def same(name: str, *args: Any, py: Any, c: Any) -> Any:
    """Call ``name`` on both twins (modules or objects); assert equal outcomes.

    A constructor's instances differ by type, so for classes only success counts.
    """
    left = outcome(getattr(py, name), *args)
    right = outcome(getattr(c, name), *args)
    if left[0] == right[0] == "ok" and isinstance(getattr(py, name), type):
        return left[1]
    assert left == right, (name, args)
    return left[1]


# ---- strategies ------------------------------------------------------------------

SOUP = st.text(alphabet=st.sampled_from(';= \t"%,aZ09fF\x00\xa0é€🍪\ud800'), max_size=80)
TOKEN = st.text(alphabet=st.sampled_from("abcAZ09!#$%&'*+-.^_`|~"), min_size=1, max_size=12)
ESCAPE = st.builds(lambda b: f"%{b:02X}", st.integers(0, 255)) | st.builds(
    lambda b: f"%{b:02x}", st.integers(0, 255)
)
VALUE = st.lists(
    st.one_of(ESCAPE, st.sampled_from(['"', " ", "\t", "%", "%Z", "="]), st.text(max_size=4)),
    max_size=12,
).map("".join)
PAIR = st.tuples(st.one_of(TOKEN, SOUP), VALUE).map(lambda p: f"{p[0]}={p[1]}")
HEADER = st.one_of(
    st.text(),
    SOUP,
    st.lists(st.one_of(PAIR, SOUP), max_size=20).map("; ".join),
    # Huge headers (hundreds of cookies, tens of KB) from a few repeated pieces:
    # generating each piece separately would be slow for no extra coverage.
    st.tuples(st.lists(st.one_of(PAIR, SOUP), min_size=1, max_size=4), st.integers(50, 2000)).map(
        lambda p: ";".join(p[0] * p[1])
    ),
)
SECRETS = st.lists(st.binary(max_size=100), min_size=1, max_size=3).map(tuple)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def reference_unsign(signed: str, secrets: tuple[bytes, ...]) -> str | None:
    """cookie-signature's unsign, on the hmac module."""
    value = signed[: signed.rfind(".")] if "." in signed else signed[:-1]
    data = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value).encode()
    for secret in secrets:
        mac = base64.b64encode(hmac.new(secret, data, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(
            (value + "." + mac.rstrip("=")).encode("utf-8", "surrogatepass"),
            signed.encode("utf-8", "surrogatepass"),
        ):
            return value
    return None


# ---- signing ------------------------------------------------------------------------


@given(value=st.text(), secrets=SECRETS)
def test_sign_round_trip(value: str, secrets: tuple[bytes, ...]) -> None:
    signed = same("sign", value, secrets[0], py=sign_py, c=sign_c)
    assert same("unsign", signed, secrets, py=sign_py, c=sign_c) == value
    assert reference_unsign(signed, secrets) == value
    signer_py, signer_c = sign_py.Signer(secrets), sign_c.Signer(secrets)
    assert same("sign", value, py=signer_py, c=signer_c) == signed


@given(
    sid=st.text(alphabet=B64 + "-_", min_size=0, max_size=40),
    secrets=SECRETS,
    flip=st.integers(min_value=0),
    replacement=st.characters(),
)
def test_unsign_near_valid_cookies(
    sid: str, secrets: tuple[bytes, ...], flip: int, replacement: str
) -> None:
    signed = sign_py.sign("s:" + sid, secrets[-1])
    i = flip % len(signed)
    forged = signed[:i] + replacement + signed[i + 1 :]
    for candidate in (signed, forged, forged[:-1], forged + "A", signed[:i] + signed[i + 1 :]):
        result = same("unsign", candidate, secrets, py=sign_py, c=sign_c)
        assert result == reference_unsign(candidate, secrets)
    assert same("unsign", signed, secrets, py=sign_py, c=sign_c) == "s:" + sid


@given(signed=st.one_of(st.text(), SOUP), secrets=SECRETS)
def test_unsign_arbitrary_text(signed: str, secrets: tuple[bytes, ...]) -> None:
    result = same("unsign", signed, secrets, py=sign_py, c=sign_c)
    assert result == reference_unsign(signed, secrets)


@given(
    value=st.one_of(st.none(), st.integers(), st.binary()),
    secrets=st.one_of(
        st.tuples(),
        st.lists(st.binary(max_size=3), max_size=2),
        st.tuples(st.text(max_size=2)),
        SECRETS,
    ),
)
def test_signing_bad_arguments(value: Any, secrets: Any) -> None:
    same("unsign", value, secrets, py=sign_py, c=sign_c)
    same("Signer", secrets, py=sign_py, c=sign_c)
    if isinstance(secrets, tuple) and secrets:
        same("sign", value, secrets[0], py=sign_py, c=sign_c)


# ---- cookies: parse, lookup, encode ------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(header=HEADER, name=st.one_of(TOKEN, SOUP, st.just("__proto__")))
def test_parse_and_lookup_agree(header: str, name: str) -> None:
    parsed = same("parse", header, py=cook_py, c=cook_c)
    assert same("lookup", header, name, py=cook_py, c=cook_c) == parsed.get(name)
    for key, value in list(parsed.items())[:5]:
        assert same("lookup", header, key, py=cook_py, c=cook_c) == value


@given(value=st.text())
def test_encode_agrees(value: str) -> None:
    same("encode", value, py=cook_py, c=cook_c)


@given(header=st.one_of(st.none(), st.binary(), st.integers()), name=st.one_of(st.none(), TOKEN))
def test_parse_wrong_types_agree(header: Any, name: Any) -> None:
    same("parse", header, py=cook_py, c=cook_c)
    same("lookup", header, name, py=cook_py, c=cook_c)
    same("lookup", "a=b", name, py=cook_py, c=cook_c)


# ---- cookies: serialize and CookieTemplate ----------------------------------------------

MAYBE_TEXT = st.one_of(st.none(), st.just(""), st.text(max_size=10))
DOMAIN = st.one_of(
    MAYBE_TEXT,
    st.lists(st.text(alphabet="aZ0-", max_size=65), min_size=1, max_size=3).map(".".join),
    st.builds(lambda d: "." + d, st.text(alphabet="az.-", max_size=10)),
)
PATH = st.one_of(
    MAYBE_TEXT, st.text(alphabet=st.characters(min_codepoint=0x1F, max_codepoint=0x80))
)
PRIORITY = st.one_of(MAYBE_TEXT, st.sampled_from(["low", "medium", "high", "Low"]), st.integers())
SAME_SITE = st.one_of(MAYBE_TEXT, st.sampled_from(["strict", "lax", "none", "auto"]), st.booleans())
EXPIRES = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-8.7e12, max_value=8.7e12),
    st.integers(min_value=-(10**13), max_value=10**13),
    st.text(max_size=3),
)
MAX_AGE = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=3))
FLAG = st.one_of(st.booleans(), st.none(), st.integers(-1, 1), st.text(max_size=1))
TEMPLATE = st.tuples(
    st.one_of(TOKEN, SOUP, st.none()), DOMAIN, PATH, FLAG, FLAG, FLAG, PRIORITY, SAME_SITE
)


@given(
    template=TEMPLATE,
    value=st.one_of(st.text(max_size=30), st.none()),
    max_age=MAX_AGE,
    expires=EXPIRES,
)
def test_serialize_agrees(
    template: tuple[Any, ...], value: Any, max_age: Any, expires: Any
) -> None:
    name, domain, path, http_only, secure, partitioned, priority, same_site = template
    # Messages too: both twins report the first failing check, in cookie's order.
    same(
        "serialize",
        name,
        value,
        max_age,
        domain,
        path,
        expires,
        http_only,
        secure,
        partitioned,
        priority,
        same_site,
        py=cook_py,
        c=cook_c,
    )


@given(
    template=TEMPLATE,
    values=st.lists(st.text(max_size=30), min_size=1, max_size=3),
    expires=st.lists(EXPIRES, min_size=1, max_size=4),
)
def test_template_agrees(template: tuple[Any, ...], values: list[str], expires: list[Any]) -> None:
    built = same("CookieTemplate", *template, py=cook_py, c=cook_c)
    if not isinstance(built, cook_py.CookieTemplate):
        return  # both twins raised the same error
    twins = (cook_py.CookieTemplate(*template), cook_c.CookieTemplate(*template))
    for value in values:
        for when in expires:
            result = same("render", value, when, py=twins[0], c=twins[1])
            name, domain, path, http_only, secure, partitioned, priority, same_site = template
            assert (
                result
                == outcome(
                    cook_py.serialize,
                    name,
                    value,
                    None,
                    domain,
                    path,
                    when,
                    http_only,
                    secure,
                    partitioned,
                    priority,
                    same_site,
                )[1]
            )
