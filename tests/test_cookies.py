"""The cookie kernel (both twins) and fastsession.cookies against npm cookie 0.7.2."""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

import pytest
from conftest import Impl, load_vector

from fastsession import cookies

PARSE = load_vector("cookie_parse.json")
SERIALIZE = load_vector("cookie_serialize.json")
# cookie 0.7.2's cookieValueRegExp: what a serialized value may be made of.
COOKIE_VALUE = re.compile(r'("?)[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*\1\Z')
KERNEL_ARGS = (
    "max_age",
    "domain",
    "path",
    "expires",
    "http_only",
    "secure",
    "partitioned",
    "priority",
    "same_site",
)


def js_date(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def describe(case: dict[str, Any]) -> str:
    return str(case["description"])[:50]


# ---- parse and lookup ---------------------------------------------------------


@pytest.mark.parametrize("case", PARSE, ids=describe)
def test_parse_vectors(cookies_impl: Impl, case: dict[str, Any]) -> None:
    header = case["header"]
    assert cookies_impl.parse(header) == case["parsed"]
    for name, value in case["parsed"].items():
        assert cookies_impl.lookup(header, name) == value
    assert cookies_impl.lookup(header, "absent-name") is None
    assert cookies_impl.lookup(header, "__proto__") is None


@pytest.mark.parametrize("case", PARSE, ids=describe)
def test_public_parse_vectors(case: dict[str, Any]) -> None:
    assert cookies.parse(case["header"]) == case["parsed"]


def test_parse_rules(cookies_impl: Impl) -> None:
    parse = cookies_impl.parse
    assert parse('a="x"; b="; c=""; d=" y "') == {"a": "x", "b": "", "c": "", "d": " y "}
    assert parse("a=%F0%9F%8D%AA; b=%C3%A9x; c=%41%42") == {"a": "🍪", "b": "éx", "c": "AB"}
    # Overlong, surrogate, out-of-range and truncated UTF-8 keep the raw value.
    for raw in ("%C0%80", "%ED%A0%80", "%F4%90%80%80", "%E2%82", "%E2%82x", "%80", "%F8"):
        assert parse("a=" + raw) == {"a": raw}
    assert parse("a=%e2%82%ac") == {"a": "€"}
    assert parse("a=%+1; b=% 1; c=%-1") == {"a": "%+1", "b": "% 1", "c": "%-1"}
    assert parse("__proto__=1; __proto__=2; a=3") == {"a": "3"}
    assert parse("a=1; a=2") == {"a": "1"}
    assert parse("x") == {} and parse("=") == {} and parse("==") == {"": "="}
    assert cookies_impl.lookup("a=1; a=2", "a") == "1"
    assert cookies_impl.lookup("x; a=%zz", "a") == "%zz"


def test_parse_wrong_types(cookies_impl: Impl) -> None:
    for bad in (None, b"a=b", 1):
        with pytest.raises(TypeError, match="argument str must be a string"):
            cookies_impl.parse(bad)
        with pytest.raises(TypeError):
            cookies_impl.lookup(bad, "a")
    with pytest.raises(TypeError):
        cookies_impl.lookup("a=b", None)


def test_hostile_headers_agree(cookies_impl: Impl) -> None:
    rng = random.Random(7)
    big = "; ".join(f"c{i}={'v' * rng.randrange(0, 40)}%2{i % 10}" for i in range(1000))
    parsed = cookies_impl.parse(big)
    assert len(parsed) == 1000 and parsed["c999"].endswith(")")  # %29
    for name in ("c0", "c500", "c999"):
        assert cookies_impl.lookup(big, name) == parsed[name]
    huge = "a=" + "x" * 65536 + "; b=" + "%41" * 20000 + "; " + "=;" * 5000 + "c=\ud800%"
    assert cookies_impl.parse(huge) == {"a": "x" * 65536, "b": "A" * 20000, "": "", "c": "\ud800%"}
    soup = "".join(rng.choice(';= \t"%AF0é\ud83c') for _ in range(65536))
    reference = Impl("cookies", "py").parse(soup)
    assert cookies_impl.parse(soup) == reference


# ---- encode -------------------------------------------------------------------


def test_encode(cookies_impl: Impl) -> None:
    encode = cookies_impl.encode
    ascii_text = "".join(map(chr, range(128)))
    assert encode(ascii_text) == quote(ascii_text, safe="!'()*~")
    assert encode("-_.!~*'()") == "-_.!~*'()"
    assert encode("ü€🍪 \xff") == "%C3%BC%E2%82%AC%F0%9F%8D%AA%20%C3%BF"
    assert encode("") == ""
    for bad in ("\ud800", "a\udfff", "\ud83c\udf6a"):
        with pytest.raises(ValueError, match="URI malformed"):
            encode(bad)
    with pytest.raises(TypeError):
        encode(b"x")


def test_encoded_values_are_always_cookie_octets(cookies_impl: Impl) -> None:
    # Why serialize has no "argument val is invalid" branch: it cannot be reached.
    rng = random.Random(3)
    for _ in range(2000):
        text = "".join(chr(rng.randrange(0, 0xD800)) for _ in range(rng.randrange(0, 20)))
        assert COOKIE_VALUE.match(cookies_impl.encode(text))


# ---- serialize: the vectors -------------------------------------------------------


class NoPythonForm(Exception):
    """A JS-only case: the reason is the message."""


def kernel_args(case: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A vector as kernel arguments: JS coercions done the JS way."""
    options = case["options"] or {}
    if "encode" in options:
        raise NoPythonForm("a custom encode function")
    if not isinstance(case["value"], str):
        raise NoPythonForm("a non-string value (JS stringifies it)")
    args: dict[str, Any] = dict.fromkeys(KERNEL_ARGS)
    args.update(http_only=False, secure=False, partitioned=False)
    for key, value in options.items():
        if key == "originalMaxAge":
            continue  # express's cookie data; serialize ignores unknown keys
        if key == "maxAge":
            if value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise NoPythonForm("a maxAge that is not a finite number (kernel takes int)")
            args["max_age"] = math.floor(value)
        elif key == "expires":
            if isinstance(value, dict):
                raise NoPythonForm("an invalid Date, or a non-Date (kernel takes seconds)")
            args["expires"] = None if value is None else js_date(value).timestamp()
        elif key in ("priority", "sameSite"):
            if value is True and key == "sameSite":
                value = "strict"
            elif value is False:
                value = None
            elif isinstance(value, str):
                value = value.lower()
            args["same_site" if key == "sameSite" else key] = value
        else:
            args[{"httpOnly": "http_only"}.get(key, key)] = value
    return case["name"], case["value"], args


# The Python form of a case differs from JS on purpose: the argument would be
# coerced by JS; Python rejects the type instead.
PYTHON_TYPE_ERRORS = {
    "numeric value",
    "undefined value",
    "maxAge numeric string",
    "maxAge boolean true (Math.floor coerces to 1)",
    "httpOnly truthy string",
    'secure "auto" string is just truthy',
}


def public_call(case: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """A vector as a fastsession.cookies.serialize call."""
    options = case["options"] or {}
    if "encode" in options:
        raise NoPythonForm("a custom encode function (serialize has no encode argument)")
    value = case["value"]
    if isinstance(value, dict):
        value = None  # JS undefined
    kwargs: dict[str, Any] = {}
    for key, option in options.items():
        if key == "originalMaxAge":
            continue  # express's cookie data; serialize ignores unknown keys
        if isinstance(option, dict) and "$number" in option:
            option = float(option["$number"].replace("Infinity", "inf"))
        if key == "expires":
            if option == {"$date": "Invalid"}:
                raise NoPythonForm("an invalid Date (a datetime is always valid)")
            if isinstance(option, dict):
                option = option["$raw"]
            elif option is not None:
                option = js_date(option)
        name = {"maxAge": "max_age", "httpOnly": "http_only", "sameSite": "same_site"}
        kwargs[name.get(key, key)] = option
    return case["name"], value, kwargs


def check_outcome(call: Any, case: dict[str, Any], python_type_error: bool) -> None:
    if python_type_error:
        with pytest.raises(TypeError):
            call()
    elif "error" in case:
        with pytest.raises((TypeError, ValueError)) as info:
            call()
        assert str(info.value).startswith(case["error"])
    else:
        assert call() == case["result"]


def _has_form(build: Any, case: dict[str, Any]) -> bool:
    try:
        build(case)
    except NoPythonForm:
        return False
    return True


# The cases that exist only in JS (custom encoders, invalid Dates...) are left
# out here; test_only_js_only_cases_are_left_out counts them.
KERNEL_CASES = [c for c in SERIALIZE if _has_form(kernel_args, c)]
PUBLIC_CASES = [c for c in SERIALIZE if _has_form(public_call, c)]


@pytest.mark.parametrize("case", KERNEL_CASES, ids=describe)
def test_serialize_vectors(cookies_impl: Impl, case: dict[str, Any]) -> None:
    name, value, args = kernel_args(case)
    check_outcome(lambda: cookies_impl.serialize(name, value, **args), case, False)
    if args["max_age"] is None and "error" not in case:
        template = cookies_impl.CookieTemplate(
            name, *(args[k] for k in KERNEL_ARGS if k not in ("max_age", "expires"))
        )
        assert template.render(value, args["expires"]) == case["result"]


@pytest.mark.parametrize("case", PUBLIC_CASES, ids=describe)
def test_public_serialize_vectors(case: dict[str, Any]) -> None:
    name, value, kwargs = public_call(case)
    python_type_error = case["description"] in PYTHON_TYPE_ERRORS
    check_outcome(lambda: cookies.serialize(name, value, **kwargs), case, python_type_error)


def test_only_js_only_cases_are_left_out() -> None:
    def skipped(build: Any) -> list[str]:
        out = []
        for case in SERIALIZE:
            try:
                build(case)
            except NoPythonForm:
                out.append(case["description"])
        return out

    public = skipped(public_call)
    assert len(public) == 6  # five custom encoders, one invalid Date
    # The kernel also has no form for non-str values (2), maxAge NaN, Infinity,
    # "10", "ten" and true (5), and raw non-Date expires (2); the wrapper maps them.
    assert len(skipped(kernel_args)) == len(public) + 9
    descriptions = {c["description"] for c in SERIALIZE}
    assert PYTHON_TYPE_ERRORS <= descriptions


# ---- serialize and CookieTemplate: rules -------------------------------------------


def call_serialize(impl: Impl, **kw: Any) -> str:
    args: dict[str, Any] = dict.fromkeys(KERNEL_ARGS)
    args.update(http_only=False, secure=False, partitioned=False)
    args.update(kw)
    name = args.pop("name", "n")
    value = args.pop("value", "v")
    return impl.serialize(name, value, **args)  # type: ignore[no-any-return]


def test_checks_run_in_cookie_order(cookies_impl: Impl) -> None:
    everything_bad = dict(
        name="a b",
        value="\ud800",
        max_age=1.5,
        domain="-x",
        path=";",
        expires=math.nan,
        priority="x",
        same_site="x",
    )
    order = [
        ("name", "argument name is invalid"),
        ("value", "URI malformed"),
        ("max_age", "integer"),
        ("domain", "option domain is invalid"),
        ("path", "option path is invalid"),
        ("expires", "option expires is invalid"),
        ("priority", "option priority is invalid"),
        ("same_site", "option sameSite is invalid"),
    ]
    for i, (_, message) in enumerate(order):
        bad = {k: everything_bad[k] for k, _ in order[i:]}
        with pytest.raises((TypeError, ValueError), match=re.escape(message)):
            call_serialize(cookies_impl, **bad)


def test_attribute_checks(cookies_impl: Impl) -> None:
    ok = {
        "domain": ["a", "a-b.c", ".x.y", "a" * 63, "0.0"],
        "path": ["/", " ", "/a b=c>d~", "".join(chr(c) for c in range(0x20, 0x3B))],
    }
    bad = {
        "domain": [
            ".",
            "..a",
            "a.",
            "a..b",
            "-a",
            "a-",
            "a.-b",
            "a" * 64,
            "a_b",
            "ä",
            "a:1",
            "K".replace("K", "\u212a"),
        ],
        "path": [";", "<", "\x7f", "\x1f", "é", "/\n"],
    }
    for option, values in ok.items():
        for value in values:
            assert call_serialize(cookies_impl, **{option: value}).endswith(value)
    for option, values in bad.items():
        for value in values:
            with pytest.raises(ValueError, match=f"option {option} is invalid"):
                call_serialize(cookies_impl, **{option: value})
    for option in ("domain", "path", "priority", "same_site"):
        assert call_serialize(cookies_impl, **{option: ""}) == "n=v"
        with pytest.raises(TypeError):
            call_serialize(cookies_impl, **{option: 1})
    for option, value in (("priority", "Low"), ("same_site", "Lax")):
        with pytest.raises(ValueError):  # the kernel takes lowercase only
            call_serialize(cookies_impl, **{option: value})
    with pytest.raises(TypeError):
        call_serialize(cookies_impl, max_age=1.0)
    assert call_serialize(cookies_impl, max_age=True) == "n=v; Max-Age=1"
    assert call_serialize(cookies_impl, max_age=-3) == "n=v; Max-Age=-3"
    assert call_serialize(cookies_impl, max_age=10**30) == f"n=v; Max-Age={10**30}"
    with pytest.raises(ValueError, match="argument name is invalid"):
        call_serialize(cookies_impl, name="")
    with pytest.raises(TypeError):
        call_serialize(cookies_impl, name=None)
    with pytest.raises(TypeError):
        call_serialize(cookies_impl, value=None)


def test_expires_dates(cookies_impl: Impl) -> None:
    def date(second: float) -> str:
        return call_serialize(cookies_impl, expires=second).split("; Expires=")[1]

    rng = random.Random(11)
    low, high = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    for second in [0, -1, 86399, 951782400, 4107542399] + [
        rng.randrange(int(low.timestamp()), int(high.timestamp())) for _ in range(3000)
    ]:
        moment = datetime.fromtimestamp(second, UTC)
        assert date(second) == format_datetime(moment, usegmt=True)
        assert date(second + 0.999) == date(second)
    # JS Date's whole range, with its signed, zero-padded years.
    assert date(8.64e12) == "Sat, 13 Sep 275760 00:00:00 GMT"
    assert date(-8.64e12) == "Tue, 20 Apr -271821 00:00:00 GMT"
    assert date(-62198841600) == "Thu, 31 Dec -0002 00:00:00 GMT"
    assert date(-62167219200) == "Sat, 01 Jan 0000 00:00:00 GMT"
    assert date(-0.5) == "Wed, 31 Dec 1969 23:59:59 GMT"
    for bad in (8.64e12 + 1, -8.64e12 - 1, math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match="option expires is invalid"):
            date(bad)
    for wrong in ("0", None.__class__, [0]):
        with pytest.raises(TypeError):
            date(wrong)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        date(10**400)


def test_template_is_serialize(cookies_impl: Impl) -> None:
    rng = random.Random(5)
    for _ in range(200):
        options = dict(
            domain=rng.choice([None, "", "example.com", ".a.b"]),
            path=rng.choice([None, "", "/", "/app"]),
            http_only=rng.random() < 0.5,
            secure=rng.random() < 0.5,
            partitioned=rng.random() < 0.5,
            priority=rng.choice([None, "", "low", "medium", "high"]),
            same_site=rng.choice([None, "", "strict", "lax", "none"]),
        )
        template = cookies_impl.CookieTemplate("connect.sid", *options.values())
        for _ in range(5):
            value = "s:" + "".join(rng.choices("ab+/.:é€ ", k=rng.randrange(0, 40)))
            expires = rng.choice([None, rng.uniform(-1e10, 1e10), float(rng.randrange(10**9))])
            want = call_serialize(
                cookies_impl, name="connect.sid", value=value, expires=expires, **options
            )
            assert template.render(value, expires) == want


def test_template_caches_one_second(cookies_impl: Impl) -> None:
    template = cookies_impl.CookieTemplate("n", None, None, False, False, False, None, None)
    base = 1893456000
    for second in (base, base + 0.25, base + 0.999, base + 1, base, base - 1, base - 0.5):
        assert template.render("v", second) == call_serialize(cookies_impl, expires=second)
    with pytest.raises(ValueError):
        template.render("v", math.nan)
    with pytest.raises(ValueError):
        template.render("\udc00", base)
    with pytest.raises(TypeError):
        template.render(None, base)
    assert template.render("v", base) == "n=v; Expires=Tue, 01 Jan 2030 00:00:00 GMT"


def test_template_checks_once(cookies_impl: Impl) -> None:
    template_args = ["n", None, None, False, False, False, None, None]
    for index, bad in ((0, "a;b"), (1, "-x"), (2, "<"), (6, "urgent"), (7, "auto")):
        args = list(template_args)
        args[index] = bad
        with pytest.raises(ValueError):
            cookies_impl.CookieTemplate(*args)
    with pytest.raises(TypeError):
        cookies_impl.CookieTemplate(1, None, None, False, False, False, None, None)


# ---- fastsession.cookies.serialize: Python arguments --------------------------------


def test_public_serialize_python_types() -> None:
    when = datetime(2030, 1, 1, 0, 1, 0, 999000, tzinfo=UTC)
    cest = timezone(timedelta(hours=2))
    assert cookies.serialize("a", "b", expires=when) == "a=b; Expires=Tue, 01 Jan 2030 00:01:00 GMT"
    assert cookies.serialize("a", "b", expires=when.astimezone(cest)).endswith("00:01:00 GMT")
    assert cookies.serialize(
        "a", "b", expires=datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    ).endswith("23:59:59 GMT")
    assert cookies.serialize("a", "b", max_age=timedelta(hours=1, microseconds=5)) == (
        "a=b; Max-Age=3600"
    )
    assert cookies.serialize("a", "b", max_age=timedelta(seconds=-0.5)) == "a=b; Max-Age=-1"
    assert cookies.serialize("a", "b", max_age=-1.5) == "a=b; Max-Age=-2"
    assert cookies.serialize("a", "b", same_site=True) == "a=b; SameSite=Strict"
    assert cookies.serialize("a", "b", same_site="Lax", priority="HIGH") == (
        "a=b; Priority=High; SameSite=Lax"
    )
    assert cookies.serialize("a", "b", same_site=False) == "a=b"
    everything = cookies.serialize(
        "a",
        "b",
        max_age=1,
        expires=when,
        domain="x.y",
        path="/",
        http_only=True,
        secure=True,
        same_site="none",
        partitioned=True,
        priority="low",
    )
    assert everything == (
        "a=b; Max-Age=1; Domain=x.y; Path=/; Expires=Tue, 01 Jan 2030 00:01:00 GMT; "
        "HttpOnly; Secure; Partitioned; Priority=Low; SameSite=None"
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"expires": datetime(2030, 1, 1)}, ValueError),  # naive: no instant
        ({"expires": 1893456000}, TypeError),
        ({"expires": "Tue, 01 Jan 2030 00:00:00 GMT"}, TypeError),
        ({"max_age": math.inf}, ValueError),
        ({"max_age": "10"}, TypeError),
        ({"max_age": True}, TypeError),
        ({"http_only": 1}, TypeError),
        ({"secure": "auto"}, TypeError),
        ({"partitioned": None}, TypeError),
        ({"same_site": "auto"}, ValueError),
        ({"same_site": 1}, TypeError),
        ({"priority": True}, TypeError),
        ({"priority": "urgent"}, ValueError),
        ({"domain": b"x"}, TypeError),
        ({"path": "/;"}, ValueError),
    ],
)
def test_public_serialize_rejects(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        cookies.serialize("a", "b", **kwargs)
