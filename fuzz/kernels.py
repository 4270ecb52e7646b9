"""Fuzz targets for the small kernels, each run on both twins in one call.

* ``cookies``: parse, lookup and the request kernel's SidReader on hostile
  Cookie headers; the twins agree, lookup is parse's first value, and an id
  comes back only when the server's secret signed it.
* ``serialize``: serialize and CookieTemplate on odd names, values and
  attributes; the twins agree, and what is written parses back.
* ``signing``: sign and unsign with odd secrets and values, tampered and
  forged signatures; the twins agree with an HMAC written here from hashlib.

A broken invariant raises `Finding`; any other exception escaping is a crash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from fastsession import (
    _cookies_c,
    _cookies_py,
    _kernel_c,
    _kernel_py,
    _signing_c,
    _signing_py,
)

from .draw import Draw

SECRET = b"fuzzing-secret-that-is-long-enough-0123456789"
OTHER = b"another-secret-the-server-never-had-012345678"
ROTATED = b"an-older-secret-the-server-still-verifies-0123"
NAMES = ["connect.sid", "sid", "a", "", " ", "connect.sid ", "é", "a=b", "s:"]
TWINS = (("c", _cookies_c, _signing_c, _kernel_c), ("py", _cookies_py, _signing_py, _kernel_py))


class Finding(AssertionError):
    """An invariant the fuzzer broke."""


def check(ok: bool, what: str, *context: Any) -> None:
    if not ok:
        raise Finding(f"{what}: {context!r}"[:4000])


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(*args))
    except (TypeError, ValueError, UnicodeError, OverflowError) as exc:
        return ("raised", type(exc).__name__, str(exc))


def agree(what: str, fn: Callable[[Any, Any, Any], Any]) -> Any:
    """``fn(cookies, signing, kernel)`` on each twin: the same outcome, which is returned."""
    results = [outcome(fn, cookies, signing, kernel) for _, cookies, signing, kernel in TWINS]
    check(results[0] == results[1], f"{what}: the twins differ", results)
    return results[0]


def mac(value: str, secret: bytes) -> str:
    data = value.encode("utf-8", "surrogatepass")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        # Node writes each lone surrogate as U+FFFD.
        data = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value).encode()
    digest = hmac.digest(secret, data, hashlib.sha256)
    return base64.b64encode(digest).decode().rstrip("=")


def signed_cookie(sid: str, secret: bytes = SECRET) -> str:
    return "s:" + sid + "." + mac(sid, secret)


def expected_sid(header: str, name: str) -> str | None:
    """The id express-session reads: the first value of the name, ``s:`` and a good MAC."""
    value = _cookies_py.parse(header).get(name)
    if value is None or not value.startswith("s:"):
        return None
    body = value[2:]
    dot = body.rfind(".")
    if dot <= 0:
        return None
    sid = body[:dot]
    return sid if body[dot + 1 :] in (mac(sid, SECRET), mac(sid, ROTATED)) else None


# -- hostile Cookie headers -------------------------------------------------------------------


def cookie_piece(d: Draw, sid: str) -> str:
    kind = max(0, d.below(13) - 3)  # a good cookie four times as often as another kind
    if kind == 0:
        signed = signed_cookie(sid, d.pick([SECRET, ROTATED]))[2:]
        return "connect.sid=" + d.pick(["", "s%3A", "s:"]) + signed
    if kind == 1:  # tampered: one character of a good cookie changed
        good = signed_cookie(sid)
        at = d.below(len(good))
        return "connect.sid=" + good[:at] + chr(d.byte()) + good[at + 1 :]
    if kind == 2:  # forged: signed with a secret the server never had
        return "connect.sid=" + signed_cookie(d.pick([sid, "admin", ""]), OTHER)
    if kind == 3:  # the bare id, unsigned
        return "connect.sid=" + d.pick([sid, "s:" + sid, "s:" + sid + "."])
    if kind == 4:  # thousands of cookies
        return "; ".join(f"c{i}=v{i}" for i in range(d.size()))
    if kind == 5:  # one huge value
        return d.pick(NAMES) + "=" + d.pick(["x", "%", "é", ";"]) * d.size()
    if kind == 6:
        return d.pick(NAMES) + d.pick(["=", " = ", '="', "\t=\t"]) + d.text(40)
    return d.text(60)


def cookie_header(d: Draw, sid: str) -> str:
    pieces = [cookie_piece(d, sid) for _ in range(1 + d.below(5))]
    return d.pick(["; ", ";", ",", " ", "", ";;"]).join(pieces)


# -- the targets ------------------------------------------------------------------------------


def fuzz_cookies(data: bytes) -> None:
    d = Draw(data)
    header = cookie_header(d, d.pick(["abc", "sid-1", "é", "x.y", ""]))
    name = d.pick(NAMES)
    parsed = agree("parse", lambda c, s, k: c.parse(header))
    check(parsed[0] == "ok", "parse raised on a str", header, parsed)
    pairs = parsed[1]
    for key in [name, *list(pairs)[:3]]:
        found = agree("lookup", lambda c, s, k, key=key: c.lookup(header, key))
        check(found == ("ok", pairs.get(key)), "lookup is not parse's value", header, key, found)
    want = expected_sid(header, "connect.sid")

    def read(c: Any, s: Any, k: Any) -> Any:
        reader = k.SidReader("connect.sid", c.lookup, s.Signer((SECRET, ROTATED)).unsign)
        first, again = reader.read(header), reader.read(header)
        raw = header.encode("utf-8", "surrogatepass")
        asgi = reader.read_asgi([(b"cookie", raw)])
        split = reader.read_asgi([(b"cookie", part) for part in raw.split(b"; ")])
        return first, again, asgi, split

    got = agree("SidReader", read)
    check(got[0] == "ok", "SidReader raised", header, got)
    first, again, asgi, split = got[1]
    check(first == again == want, "SidReader: not the signed id", header, first, again, want)
    latin = expected_sid(header.encode("utf-8", "surrogatepass").decode("latin-1"), "connect.sid")
    check(asgi == split == latin, "read_asgi: not the signed id", header, asgi, split, latin)


_SERIALIZE_OPTIONS = [
    None,
    "",
    "/",
    "example.com",
    ".a-b.c",
    "/a;b",
    "x\x00",
    "lax",
    "Strict",
    "none",
    "high",
    "LOW",
    "bogus",
    "é",
]


def fuzz_serialize(data: bytes) -> None:
    d = Draw(data)
    name = d.pick([d.pick(NAMES), d.text(20)])
    value = d.text(80)
    max_age = d.pick([None, 0, -1, 1, 3600, 2**31, 2**63, -(2**70), 10**20])
    expires = d.pick([None, 0, -1, 1893456000, 8.64e12, 8.64e12 + 1, -8.64e12, 1e300])
    domain, path = d.pick(_SERIALIZE_OPTIONS), d.pick(_SERIALIZE_OPTIONS)
    flags = (d.flag(), d.flag(), d.flag())
    priority, same_site = d.pick(_SERIALIZE_OPTIONS), d.pick(_SERIALIZE_OPTIONS)
    args = (name, value, max_age, domain, path, expires, *flags, priority, same_site)
    line = agree("serialize", lambda c, s, k: c.serialize(*args))
    if line[0] == "ok":
        first = line[1].split(";", 1)[0]
        check(first.isascii(), "serialize wrote non-ASCII", args, line)
        back = _cookies_py.parse(first)
        check(back == {name: value}, "serialize does not parse back", args, line, back)
    enc = agree("encode", lambda c, s, k: c.encode(value))
    if enc[0] == "ok":
        check(_cookies_py.parse("a=" + enc[1]) == {"a": value}, "encode round trip", value, enc)
    tpl = agree(
        "CookieTemplate",
        lambda c, s, k: c.CookieTemplate(name, domain, path, *flags, priority, same_site).render(
            value, expires
        ),
    )
    if tpl[0] == "ok" and line[0] == "ok" and max_age is None:
        check(tpl == line, "CookieTemplate is not serialize", args, tpl, line)


def fuzz_signing(data: bytes) -> None:
    d = Draw(data)
    secret = d.pick([SECRET, b"", b"k", bytes(range(256)), d.raw(100)])
    value = d.pick([d.text(60), "sid-1", "", "a.b", "x" * d.size()])
    signed = agree("sign", lambda c, s, k: s.Signer((secret,)).sign(value))
    check(signed[0] == "ok", "sign raised", secret, value, signed)
    check(signed[1] == value + "." + mac(value, secret), "sign is not the HMAC", value, signed)
    back = agree("unsign", lambda c, s, k: s.Signer((OTHER, secret)).unsign(signed[1]))
    check(back == ("ok", value), "unsign(sign(v)) is not v", secret, value, back)
    at = d.below(len(signed[1]) + 1)
    tampered = signed[1][:at] + d.text(3) + signed[1][at + d.below(3) :]
    got = agree("unsign tampered", lambda c, s, k: s.Signer((secret,)).unsign(tampered))
    check(got[0] == "ok", "unsign raised", tampered, got)
    if got[1] is not None:
        check(tampered == got[1] + "." + mac(got[1], secret), "unsign took a forgery", tampered)
    forged = d.text(120)
    got = agree("unsign forged", lambda c, s, k: s.Signer((secret, OTHER)).unsign(forged))
    if got[1] is not None:
        check(
            forged in (got[1] + "." + mac(got[1], secret), got[1] + "." + mac(got[1], OTHER)),
            "unsign took a forgery",
            forged,
        )
