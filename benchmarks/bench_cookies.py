"""Reading the session cookie from a Cookie header, and writing its Set-Cookie line.

Contenders for reading a realistic ten-cookie header: fastsession's compiled and
pure twins, Starlette's ``cookie_parser``, werkzeug's ``parse_cookie`` and the
standard library's ``http.cookies.SimpleCookie``. ``cookie-lookup`` finds one
cookie (fastsession stops at it; the peers parse everything, then look it up);
``cookie-parse`` builds the whole mapping. The peers leave ``%XX`` escapes as they
are (``s%3A…``), so fastsession's decoding is work they skip.

``set-cookie`` writes express-session's line, ``connect.sid=s%3A…; Path=/;
Expires=…; HttpOnly``: fastsession's ``CookieTemplate`` (what the middlewares
call per response, attributes prepared once) in both twins, the public
``fastsession.cookies.serialize`` (arguments checked on every call) and
werkzeug's ``dump_cookie`` (which quotes rather than percent-encodes the value).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any

import pytest
from starlette.requests import cookie_parser
from werkzeug.http import dump_cookie, parse_cookie

from fastsession import _cookies_c, _cookies_py, cookies

Bench = Callable[[Callable[[Any], Any], Any], Any]
Label = Callable[[str, str], None]
NAME = "connect.sid"
EXPIRES = datetime(2030, 1, 1, 0, 1, 0, tzinfo=UTC)
READERS = ["c", "py", "starlette", "werkzeug", "SimpleCookie"]
WRITERS = ["c", "py", "fastsession.cookies.serialize", "werkzeug"]


def simple_cookie(header: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    return {key: morsel.value for key, morsel in jar.items()}


PARSERS: dict[str, Callable[[str], Any]] = {
    "c": _cookies_c.parse,
    "py": _cookies_py.parse,
    "starlette": cookie_parser,
    "werkzeug": parse_cookie,
    "SimpleCookie": simple_cookie,
}


def reader(name: str) -> Callable[[str], str | None]:
    if name in ("c", "py"):
        lookup = (_cookies_c if name == "c" else _cookies_py).lookup
        return lambda header: lookup(header, NAME)
    parse = PARSERS[name]
    return lambda header: parse(header).get(NAME)


@pytest.mark.parametrize("name", READERS)
def test_lookup(bench_calls: Bench, label: Label, cookie_header: str, name: str) -> None:
    label("cookie-lookup", name)
    value = bench_calls(reader(name), cookie_header)
    assert value is not None and value.startswith("s")


@pytest.mark.parametrize("name", READERS)
def test_parse(bench_calls: Bench, label: Label, cookie_header: str, name: str) -> None:
    label("cookie-parse", name)
    parsed = bench_calls(PARSERS[name], cookie_header)
    assert len(parsed) == 10 and parsed[NAME].startswith("s")


def writer(name: str) -> Callable[[str], str]:
    if name in ("c", "py"):
        module = _cookies_c if name == "c" else _cookies_py
        template = module.CookieTemplate(NAME, None, "/", True, False, False, None, None)
        expires = EXPIRES.timestamp()
        return lambda value: template.render(value, expires)
    if name == "werkzeug":
        return lambda value: dump_cookie(NAME, value, expires=EXPIRES, path="/", httponly=True)
    return lambda value: cookies.serialize(NAME, value, expires=EXPIRES, path="/", http_only=True)


@pytest.mark.parametrize("name", WRITERS)
def test_set_cookie(
    bench_calls: Bench, label: Label, session_id: str, secret: bytes, name: str
) -> None:
    from fastsession import _signing_py

    value = "s:" + _signing_py.sign(session_id, secret)
    label("set-cookie", name)
    line = bench_calls(writer(name), value)
    assert line.startswith(NAME + "=s") and "Expires=Tue, 01 Jan 2030 00:01:00 GMT" in line
