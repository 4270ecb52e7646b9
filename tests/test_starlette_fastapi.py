"""Starlette and FastAPI: the typed accessor, the FastAPI dependency, and
Starlette's SessionMiddleware replaced by fastsession's with one import change."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket
from starlette.applications import Starlette
from starlette.datastructures import Secret
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from fastsession import AsyncSession, SessionError, SessionMiddleware
from fastsession.fastapi import SessionDep
from fastsession.starlette import get_session

SECRET = "a-test-secret-that-is-long-enough-0123456789"


async def _counter(request: Request) -> PlainTextResponse:
    request.session["views"] = request.session.get("views", 0) + 1
    return PlainTextResponse(str(request.session["views"]))


def _starlette(middleware: Any, **options: Any) -> Starlette:
    """The app of Starlette's docs; only the middleware class differs."""
    app = Starlette(routes=[Route("/", _counter)])
    app.add_middleware(middleware, **options)
    return app


# -- get_session -------------------------------------------------------------------


def test_get_session_returns_the_async_session() -> None:
    seen: list[Any] = []

    async def home(request: Request) -> PlainTextResponse:
        session = get_session(request)
        seen.append(session is request.session)
        await session.regenerate()
        session["user"] = "ann"
        return PlainTextResponse(session.id)

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(SessionMiddleware, secret=SECRET)
    with TestClient(app) as client:
        sid = client.get("/").text
    assert seen == [True]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", sid)


def test_get_session_without_the_middleware_says_what_to_do() -> None:
    async def home(request: Request) -> PlainTextResponse:
        get_session(request)
        return PlainTextResponse("unreachable")

    app = Starlette(routes=[Route("/", home)])
    with TestClient(app) as client, pytest.raises(SessionError, match="install fastsession"):
        client.get("/")


def test_get_session_under_starlettes_own_middleware_names_the_conflict() -> None:
    async def home(request: Request) -> PlainTextResponse:
        get_session(request)
        return PlainTextResponse("unreachable")

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(StarletteSessionMiddleware, secret_key=SECRET)
    with TestClient(app) as client, pytest.raises(SessionError, match="another session"):
        client.get("/")


def test_get_session_after_destroy_is_an_error() -> None:
    async def home(request: Request) -> PlainTextResponse:
        await get_session(request).destroy()
        get_session(request)
        return PlainTextResponse("unreachable")

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(SessionMiddleware, secret=SECRET)
    with TestClient(app) as client, pytest.raises(SessionError, match="destroyed or unset"):
        client.get("/")


# -- FastAPI's SessionDep ------------------------------------------------------------


def test_session_dep_in_routes_and_websockets() -> None:
    api = FastAPI()
    api.add_middleware(SessionMiddleware, secret=SECRET)
    kinds: list[str] = []

    @api.post("/login")
    async def login(session: SessionDep) -> dict[str, str]:
        kinds.append(type(session).__name__)
        await session.regenerate()
        session["user"] = "ann"
        return {"id": session.id}

    @api.get("/me")
    async def me(session: SessionDep) -> dict[str, Any]:
        return {"user": session.get("user"), "id": session.id}

    @api.websocket("/ws")
    async def ws(websocket: WebSocket, session: SessionDep) -> None:
        await websocket.accept()
        await websocket.send_json({"user": session.get("user")})
        await websocket.close()

    with TestClient(api) as client:
        sid = client.post("/login").json()["id"]
        assert client.get("/me").json() == {"user": "ann", "id": sid}
        with client.websocket_connect("/ws") as socket:
            assert socket.receive_json() == {"user": "ann"}
    assert kinds == [AsyncSession.__name__]


# -- Starlette's names: a one-line import change -----------------------------------------


def _set_cookie(response: Any) -> dict[str, str]:
    line = response.headers["set-cookie"]
    name_value, *attributes = [part.strip() for part in line.split(";")]
    out = {"name": name_value.split("=", 1)[0]}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        out[key.lower()] = value.lower() if key.lower() == "samesite" else value
    return out


def test_starlettes_keywords_and_defaults_give_the_same_cookie() -> None:
    options = {"secret_key": SECRET}
    with TestClient(_starlette(StarletteSessionMiddleware, **options)) as client:
        theirs = _set_cookie(client.get("/"))
        assert client.get("/").text == "2"
    with TestClient(_starlette(SessionMiddleware, **options)) as client:
        ours = _set_cookie(client.get("/"))
        assert client.get("/").text == "2"
    assert ours["name"] == theirs["name"] == "session"
    assert ours["path"] == theirs["path"] == "/"
    assert ours["samesite"] == theirs["samesite"] == "lax"
    assert "httponly" in ours and "httponly" in theirs
    assert "secure" not in ours and "secure" not in theirs
    # Starlette sends Max-Age, express-session (and so fastsession) Expires: the same 14 days.
    assert int(theirs["max-age"]) == 14 * 24 * 3600
    lifetime = parsedate_to_datetime(ours["expires"]).timestamp() - time.time()
    assert 14 * 24 * 3600 - 60 < lifetime <= 14 * 24 * 3600


def test_starlettes_keywords_with_their_values() -> None:
    options: dict[str, Any] = {
        "secret_key": Secret(SECRET),
        "session_cookie": "app_session",
        "max_age": 600,
        "path": "/",
        "same_site": "strict",
        "https_only": True,
        "domain": "testserver.local",
    }
    app = _starlette(SessionMiddleware, **options)
    with TestClient(app, base_url="https://testserver.local") as client:
        ours = _set_cookie(client.get("/"))
    assert ours["name"] == "app_session"
    assert ours["samesite"] == "strict" and "secure" in ours
    assert ours["domain"] == "testserver.local"
    lifetime = parsedate_to_datetime(ours["expires"]).timestamp() - time.time()
    assert 540 < lifetime <= 600


def test_starlettes_max_age_none_is_a_browser_session_cookie() -> None:
    with TestClient(_starlette(SessionMiddleware, secret_key=SECRET, max_age=None)) as client:
        ours = _set_cookie(client.get("/"))
    assert "expires" not in ours and "max-age" not in ours


def test_starlette_names_beside_fastsessions_own() -> None:
    middleware = SessionMiddleware(_starlette_noop, secret=SECRET, max_age=60, https_only=True)
    assert middleware.options.name == "connect.sid"  # no secret_key: no Starlette defaults
    assert middleware.options.cookie == {"max_age": 60, "secure": True}


async def _starlette_noop(scope: Any, receive: Any, send: Any) -> None: ...


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret": SECRET, "secret_key": SECRET}, "'secret' and 'secret_key'"),
        ({"secret": SECRET, "name": "a", "session_cookie": "b"}, "'name' and 'session_cookie'"),
        ({"secret": SECRET, "max_age": 60, "cookie": {"maxAge": 60}}, "'max_age' and cookie="),
        ({"secret": SECRET, "https_only": True, "cookie": {"secure": True}}, "'https_only' and"),
        ({"secret_key": SECRET, "path": "/a", "cookie": {"path": "/b"}}, "'path' and cookie="),
        ({"secret": SECRET, "domain": "a.ex", "cookie": lambda scope: {}}, "callable 'cookie'"),
        ({"secret_key": 42}, "'secret_key' must be a str"),
    ],
)
def test_one_thing_set_twice_is_an_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        SessionMiddleware(_starlette_noop, **options)


def test_starlette_defaults_yield_to_an_explicit_cookie() -> None:
    middleware = SessionMiddleware(
        _starlette_noop, secret_key=SECRET, cookie={"max_age": 30, "same_site": "strict"}
    )
    assert middleware.options.cookie == {"max_age": 30, "same_site": "strict"}
    assert middleware.options.name == "session"


def test_json_response_counter_over_the_drop_in() -> None:
    async def who(request: Request) -> JSONResponse:
        return JSONResponse(dict(request.session))

    app = Starlette(routes=[Route("/", _counter), Route("/who", who)])
    app.add_middleware(SessionMiddleware, secret_key=SECRET)
    with TestClient(app) as client:
        client.get("/")
        client.get("/")
        assert client.get("/who").json() == {"views": 2}
