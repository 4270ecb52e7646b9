"""Flash messages shared by every framework through one store, over real HTTP.

Seven apps on one MemoryStore, one secret and one cookie name, each served on
127.0.0.1 (waitress for WSGI, uvicorn for ASGI): Flask (``flask.flash`` and
``flask.get_flashed_messages`` over fastsession.flask, with plain JSON and with
``serializer="tagged"``), a plain WSGI app, Starlette and Litestar
(``fastsession.flash`` on ``request.session``), and the Django test project
under its WSGI and ASGI handlers. One httpx client (one browser) flashes on
one app, reads on the next (twice in one request: the same messages), and the
one after finds nothing: the messages were shown once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

import flask
import httpx
import pytest
from app_servers import UvicornThread, WaitressThread
from django_support import served
from litestar import Litestar, Request
from litestar import get as litestar_get
from litestar.middleware import DefineMiddleware
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from fastsession import (
    MemoryStore,
    SessionMiddleware,
    WSGISessionMiddleware,
    flash,
    get_flashed_messages,
)
from fastsession.flask import FastSession

SECRET = "the Django test project's secret key, long enough to sign"  # its SECRET_KEY
NAME = "flash.sid"
OPTIONS: dict[str, Any] = {"secret": SECRET, "name": NAME}
AnyRequest = Request[Any, Any, Any]


def flask_app(store: MemoryStore, serializer: Literal["json", "tagged"]) -> flask.Flask:
    app = flask.Flask(__name__)
    FastSession(app, store=store, serializer=serializer, **OPTIONS)

    @app.get("/flash/add")
    def add() -> dict[str, Any]:
        flask.flash(flask.request.args["message"], flask.request.args.get("category", "message"))
        return {"flashed": True}

    @app.get("/flash/show")
    def show() -> dict[str, Any]:
        first = flask.get_flashed_messages(with_categories=True)
        again = flask.get_flashed_messages(with_categories=True)
        return {"first": first, "again": again}

    return app


def wsgi_app(store: MemoryStore) -> WSGISessionMiddleware:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ["fastsession.session"]
        if environ["PATH_INFO"] == "/flash/add":
            query = dict(parse_qsl(environ["QUERY_STRING"]))
            flash(session, query["message"], query.get("category", "message"))
            body: dict[str, Any] = {"flashed": True}
        else:
            first = get_flashed_messages(session, with_categories=True)
            body = {"first": first, "again": get_flashed_messages(session, True)}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return WSGISessionMiddleware(app, store=store, **OPTIONS)


def starlette_app(store: MemoryStore) -> Starlette:
    async def add(request: StarletteRequest) -> JSONResponse:
        query = request.query_params
        flash(request.session, query["message"], query.get("category", "message"))
        return JSONResponse({"flashed": True})

    async def show(request: StarletteRequest) -> JSONResponse:
        first = get_flashed_messages(request.session, with_categories=True)
        again = get_flashed_messages(request.session, with_categories=True)
        return JSONResponse({"first": first, "again": again})

    app = Starlette(routes=[Route("/flash/add", add), Route("/flash/show", show)])
    app.add_middleware(SessionMiddleware, store=store, **OPTIONS)
    return app


def litestar_app(store: MemoryStore) -> Litestar:
    @litestar_get("/flash/add")
    async def add(request: AnyRequest) -> Any:
        query = request.query_params
        flash(request.session, query["message"], query.get("category", "message"))
        return {"flashed": True}

    @litestar_get("/flash/show")
    async def show(request: AnyRequest) -> Any:
        first = get_flashed_messages(request.session, with_categories=True)
        again = get_flashed_messages(request.session, with_categories=True)
        return {"first": first, "again": again}

    return Litestar(
        route_handlers=[add, show],
        middleware=[DefineMiddleware(SessionMiddleware, store=store, **OPTIONS)],
    )


SIDES = ["flask", "wsgi", "starlette", "django-wsgi", "flask-tagged", "litestar", "django-asgi"]


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[MemoryStore, dict[str, str]]]:
    store = MemoryStore()
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        servers: list[tuple[str, WaitressThread | UvicornThread]] = [
            ("flask", WaitressThread(flask_app(store, "json"))),
            ("flask-tagged", WaitressThread(flask_app(store, "tagged"))),
            ("wsgi", WaitressThread(wsgi_app(store))),
            ("starlette", UvicornThread(starlette_app(store))),
            ("litestar", UvicornThread(litestar_app(store))),
        ]
        for side, server in servers:
            urls[side] = server.start().url
            stack.callback(server.stop)
        for kind in ("wsgi", "asgi"):
            urls[f"django-{kind}"] = stack.enter_context(served(kind, {"store": store, **OPTIONS}))
        yield store, urls


def sid_of(browser: httpx.Client) -> str:
    value = unquote(browser.cookies[NAME])
    assert value.startswith("s:"), value
    return value[2:].rsplit(".", 1)[0]


@pytest.mark.parametrize(
    ("writer", "reader", "after"),
    [(SIDES[i], SIDES[(i + 1) % 7], SIDES[(i + 2) % 7]) for i in range(7)],
    ids=[f"{SIDES[i]}-to-{SIDES[(i + 1) % 7]}" for i in range(7)],
)
def test_a_message_flashed_by_one_app_is_shown_once_by_another(
    apps: tuple[MemoryStore, dict[str, str]], writer: str, reader: str, after: str
) -> None:
    store, urls = apps
    with httpx.Client(timeout=10) as browser:
        for params in ({"message": "saved", "category": "info"}, {"message": "welcome"}):
            response = browser.get(f"{urls[writer]}/flash/add", params=params)
            assert response.status_code == 200 and response.json() == {"flashed": True}
        sid = sid_of(browser)
        record = store.get(sid)
        assert record is not None
        stored = record["_flashes"]
        if writer == "flask-tagged":  # flask.flash's tuples, in Flask's tagged JSON
            assert stored == [{" t": ["info", "saved"]}, {" t": ["message", "welcome"]}]
        else:
            assert stored == [["info", "saved"], ["message", "welcome"]]

        shown = browser.get(f"{urls[reader]}/flash/show").json()
        expected = [["info", "saved"], ["message", "welcome"]]
        assert shown == {"first": expected, "again": expected}
        record = store.get(sid)
        if reader.startswith("flask"):
            # Flask's rule: a session left empty leaves the store and the browser.
            assert record is None and NAME not in browser.cookies
        else:
            assert record is not None and "_flashes" not in record

        assert browser.get(f"{urls[after]}/flash/show").json() == {"first": [], "again": []}


def test_messages_from_several_apps_are_read_in_order(
    apps: tuple[MemoryStore, dict[str, str]],
) -> None:
    _, urls = apps
    with httpx.Client(timeout=10) as browser:
        for side, message, category in [
            ("django-asgi", "from django", "info"),
            ("flask", "from flask", "error"),
            ("litestar", "from litestar", "message"),
        ]:
            browser.get(
                f"{urls[side]}/flash/add", params={"message": message, "category": category}
            )
        shown = browser.get(f"{urls['starlette']}/flash/show").json()
        assert shown["first"] == [
            ["info", "from django"],
            ["error", "from flask"],
            ["message", "from litestar"],
        ]
        assert browser.get(f"{urls['flask-tagged']}/flash/show").json()["first"] == []
