"""The Python side of the Express interop tests (Redis and PostgreSQL): a Starlette
app and a WSGI app with the routes of tests/interop/app.mjs, and how a test's
browser calls them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import fastsession

NAME = "interop.sid"
MAX_AGE = 3600
SIDES = ["express", "asgi", "asgi-thread", "wsgi"]
COOKIE_FIELDS = ["originalMaxAge", "expires", "httpOnly", "path"]
OLD = "the old secret, retired after the rotation"
NEW = "the new secret, signing from the rotation on"


def _view(side: str, sid: str | None, session: Any) -> dict[str, Any]:
    return {"side": side, "sid": sid, "views": session.get("views"), "user": session.get("user")}


def starlette_app(
    side: str, secrets: list[str], store: Any, lifespan: Any = None, user_key: str | None = None
) -> Starlette:
    def view(request: Request) -> JSONResponse:
        return JSONResponse(_view(side, request.scope["session_id"], request.session))

    async def whoami(request: Request) -> JSONResponse:
        return view(request)

    async def views(request: Request) -> JSONResponse:
        request.session["views"] = (request.session.get("views") or 0) + 1
        return view(request)

    async def login(request: Request) -> JSONResponse:
        request.session["user"] = request.query_params["user"]
        return view(request)

    async def logout(request: Request) -> JSONResponse:
        await request.scope["session"].destroy()
        return JSONResponse({"side": side, "sid": None})

    routes = [
        Route("/whoami", whoami),
        Route("/views", views, methods=["POST"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
    options = {"secret": secrets, "store": store, "name": NAME, "cookie": {"max_age": MAX_AGE}}
    if user_key is not None:
        options["user_key"] = user_key
    session = Middleware(fastsession.SessionMiddleware, **options)
    return Starlette(routes=routes, middleware=[session], lifespan=lifespan)


def wsgi_app(secrets: list[str], store: Any, user_key: str | None = None) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        session = environ["fastsession.session"]
        path = environ["PATH_INFO"]
        if path == "/views":
            session["views"] = (session.get("views") or 0) + 1
        elif path == "/login":
            session["user"] = parse_qs(environ["QUERY_STRING"])["user"][0]
        if path == "/logout":
            session.destroy()
            body: dict[str, Any] = {"side": "wsgi", "sid": None}
        else:
            body = _view("wsgi", environ["fastsession.session_id"], session)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return fastsession.WSGISessionMiddleware(
        app,
        secret=secrets,
        store=store,
        name=NAME,
        cookie={"max_age": MAX_AGE},
        user_key=user_key,
    )


class Apps(Protocol):
    """A deployment of the four apps: where each side answers."""

    def url(self, side: str, path: str) -> str: ...


def call(
    browser: httpx.Client, apps: Apps, side: str, method: str, path: str
) -> tuple[dict[str, Any], str | None]:
    """One request; the JSON body and the session cookie's ``name=value`` if one was set."""
    response = browser.request(method, apps.url(side, path))
    assert response.status_code == 200, (side, path, response.text)
    cookies = [v for v in response.headers.get_list("set-cookie") if v.startswith(NAME + "=")]
    assert len(cookies) <= 1
    body: dict[str, Any] = response.json()
    assert body["side"] == side
    return body, cookies[0] if cookies else None


def pair(cookie: str) -> str:
    return cookie.split(";", 1)[0]


def attribute_names(cookie: str) -> list[str]:
    return [a.split("=", 1)[0].strip().lower() for a in cookie.split(";")[1:]]


__all__ = [
    "COOKIE_FIELDS",
    "MAX_AGE",
    "NAME",
    "NEW",
    "OLD",
    "SIDES",
    "Apps",
    "attribute_names",
    "call",
    "pair",
    "starlette_app",
    "wsgi_app",
]
