"""Configuration that express-session accepts and that fails later or silently is
refused at construction, naming the option; a Secure cookie refused on plain
http is a warning, once per middleware."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from fastsession import CookieOptions, MemoryStore, SessionMiddleware, WSGISessionMiddleware
from fastsession.stores.sqlite import SQLiteStore

SECRET = "a-test-secret-that-is-long-enough-0123456789"
MIDDLEWARES = [SessionMiddleware, WSGISessionMiddleware]


async def _asgi(scope: Any, receive: Any, send: Any) -> None: ...


TRAPS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"cookie": {"max_age": 0}}, ValueError, "cookie option 'max_age' must be more than 0"),
    ({"cookie": {"maxAge": -1}}, ValueError, "cookie option 'max_age' must be more than 0"),
    ({"cookie": {"max_age": timedelta(0)}}, ValueError, "'max_age' must be more than 0"),
    ({"max_age": -5}, ValueError, "cookie option 'max_age' must be more than 0 seconds, not -5"),
    ({"store": MemoryStore}, TypeError, "'store' must be a store, not the class MemoryStore"),
    ({"store": SQLiteStore}, TypeError, "write store=SQLiteStore(...)"),
    ({"cookie": {"path": "api"}}, ValueError, "cookie option 'path' must start with \"/\""),
    ({"path": "api/v1"}, ValueError, "'path' must start with \"/\", not 'api/v1'"),
    ({"cookie": {"same_site": "none"}}, ValueError, '"none" needs secure=True'),
    ({"cookie": {"sameSite": "None", "secure": "auto"}}, ValueError, "needs secure=True"),
    ({"secret_key": SECRET, "same_site": "none"}, ValueError, "'same_site' \"none\" needs"),
    ({"resav": True}, TypeError, "got an unknown option 'resav'; did you mean 'resave'?"),
    ({"samesite": "lax"}, TypeError, "unknown option 'samesite'; did you mean 'same_site'?"),
    ({"saveUninitialized": True}, TypeError, "did you mean 'save_uninitialized'?"),
    ({"xyzzy": 1}, TypeError, "got an unknown option 'xyzzy'"),
    ({"cookie": {"maxage": 60}}, TypeError, "cookie option 'maxage'; did you mean 'max_age'?"),
    ({"cookie": {"httponly": True}}, TypeError, "did you mean 'http_only'?"),
    ({"cookie": {"sime_site": "lax"}}, TypeError, "did you mean 'same_site'?"),
]


@pytest.mark.parametrize("middleware", MIDDLEWARES, ids=lambda m: m.__name__)
@pytest.mark.parametrize(("options", "error", "message"), TRAPS, ids=lambda v: str(v)[:40])
def test_trap_refused_at_construction(
    middleware: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    options = {"secret": SECRET, **options}
    if "secret_key" in options:
        del options["secret"]
    with pytest.raises(error, match=re.escape(message)):
        middleware(_asgi, **options)


def test_unknown_option_names_the_class() -> None:
    with pytest.raises(TypeError, match=r"^WSGISessionMiddleware\(\) got an unknown option"):
        WSGISessionMiddleware(_asgi, secret=SECRET, rollin=True)  # type: ignore[call-arg]


def test_the_valid_forms_of_each_trap_are_accepted() -> None:
    for cookie in (
        {"max_age": 1},
        {"max_age": None},
        {"path": "/api"},
        {"path": ""},
        {"same_site": "none", "secure": True},
        {"same_site": "auto", "secure": "auto"},
    ):
        SessionMiddleware(_asgi, secret=SECRET, cookie=cookie)  # type: ignore[arg-type]
    SessionMiddleware(_asgi, secret=SECRET, store=MemoryStore())
    SessionMiddleware(_asgi, secret=SECRET, cookie=CookieOptions(max_age=60, path="/x"))


def test_cookie_options_object_is_checked_too() -> None:
    with pytest.raises(ValueError, match="'max_age' must be more than 0"):
        SessionMiddleware(_asgi, secret=SECRET, cookie=CookieOptions(max_age=0))


def test_a_cookie_callable_returning_a_trap_fails_its_request() -> None:
    app = Starlette(routes=[Route("/", _views)])
    app.add_middleware(SessionMiddleware, secret=SECRET, cookie=lambda scope: {"path": "x"})
    with TestClient(app) as client, pytest.raises(ValueError, match="'path' must start with"):
        client.get("/")


async def _views(request: Request) -> PlainTextResponse:
    request.session["views"] = request.session.get("views", 0) + 1
    return PlainTextResponse(str(request.session["views"]))


def _secure_app(**options: Any) -> Starlette:
    app = Starlette(routes=[Route("/", _views)])
    app.add_middleware(SessionMiddleware, secret=SECRET, **options)
    return app


def _refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "fastsession"
        and r.levelno == logging.WARNING
        and "no session cookie" in r.getMessage()
    ]


def test_secure_cookie_on_plain_http_warns_once_per_middleware(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="fastsession")
    first = _secure_app(cookie={"secure": True})
    with TestClient(first, base_url="http://testserver") as client:
        for _ in range(3):
            response = client.get("/")
            assert "set-cookie" not in response.headers
            assert response.text == "1"  # no cookie: a new session every time
    refusals = _refusals(caplog)
    assert len(refusals) == 1
    message = refusals[0].getMessage()
    assert "cookie secure=True" in message and "plain http" in message
    assert 'secure="auto"' in message and "proxy=True" in message
    # Another middleware says it again, once.
    with TestClient(_secure_app(https_only=True), base_url="http://testserver") as client:
        client.get("/")
        client.get("/")
    assert len(_refusals(caplog)) == 2


def test_no_warning_when_the_cookie_is_sent_or_not_secure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastsession")
    with TestClient(_secure_app(cookie={"secure": True}), base_url="https://testserver") as client:
        assert "set-cookie" in client.get("/").headers
        assert client.get("/").text == "2"
    for options in ({"cookie": {"secure": "auto"}}, {}):
        with TestClient(_secure_app(**options), base_url="http://testserver") as client:
            assert "set-cookie" in client.get("/").headers
    assert _refusals(caplog) == []


def test_wsgi_secure_cookie_on_plain_http_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="fastsession")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["fastsession.session"]["v"] = 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = WSGISessionMiddleware(app, secret=SECRET, cookie={"secure": True})
    headers: list[Any] = []
    for _ in range(2):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http"}
        body = middleware(environ, lambda status, h, exc=None: headers.append(h))
        b"".join(body)
    assert all("set-cookie" not in {k.lower() for k, _ in h} for h in headers)
    assert len(_refusals(caplog)) == 1
