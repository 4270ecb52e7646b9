"""The public API used the way the README shows it, for the type checkers.

Not a test module: tests/test_typing.py runs ``mypy --strict`` and pyright on
it (and on the examples) and expects no error. Each block mirrors a README
snippet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from litestar import Litestar, get
from litestar import Request as LitestarRequest
from litestar.middleware import DefineMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

import fastsession
from fastsession import (
    AsyncSession,
    AsyncStore,
    CookieOptions,
    CookieParams,
    MemoryStore,
    Session,
    SessionMiddleware,
    StorableSession,
    Store,
    WSGISessionMiddleware,
    flash,
    get_flashed_messages,
)
from fastsession.fastapi import SessionDep
from fastsession.starlette import get_session

SECRET = "a long random secret, at least 32 bytes"


# -- the Starlette quick start ------------------------------------------------------


async def home(request: Request) -> PlainTextResponse:
    session = get_session(request)
    session["views"] = session.get("views", 0) + 1
    return PlainTextResponse(f"{session['views']} views")


async def login(request: Request) -> RedirectResponse:
    session = get_session(request)
    await session.regenerate()
    session["user"] = "ann"
    await session.save()
    return RedirectResponse("/", 302)


app = Starlette(routes=[Route("/", home), Route("/login", login, methods=["POST"])])
app.add_middleware(SessionMiddleware, secret=SECRET, cookie={"max_age": 3600})

# Starlette's own keyword names, as with starlette.middleware.sessions.
starlette_names = Starlette()
starlette_names.add_middleware(
    SessionMiddleware, secret_key=SECRET, max_age=None, same_site="strict", https_only=True
)


# -- FastAPI ------------------------------------------------------------------------

api = FastAPI()
api.add_middleware(SessionMiddleware, secret=SECRET)


@api.get("/")
async def api_home(session: SessionDep) -> dict[str, int]:
    views: int = session.get("views", 0) + 1
    session["views"] = views
    return {"views": views}


# -- flash messages -----------------------------------------------------------------


async def flashing(request: Request) -> list[str]:
    flash(request.session, "saved", "info")  # Starlette's request.session: a dict
    flash(get_session(request), "again")
    pairs: list[tuple[str, Any]] = get_flashed_messages(get_session(request), True)
    texts: list[Any] = get_flashed_messages(request.session, category_filter=["info"])
    return [category for category, _ in pairs] + [str(t) for t in texts]


# -- Litestar -----------------------------------------------------------------------


@get("/")
async def litestar_home(request: LitestarRequest[Any, Any, Any]) -> str:
    session = get_session(request)
    await session.reload()
    request.clear_session()
    return session.id


litestar_app = Litestar(
    route_handlers=[litestar_home],
    middleware=[DefineMiddleware(SessionMiddleware, secret=SECRET)],
)


# -- every option, typed --------------------------------------------------------------

cookie: CookieParams = {
    "max_age": timedelta(hours=1),
    "same_site": "lax",
    "secure": "auto",
    "priority": "high",
}


def scope_cookie(scope: Any) -> CookieParams:
    return {"path": "/", "http_only": True}


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    session: AsyncSession = scope["session"]
    session.touch()
    await session.destroy()


middleware = SessionMiddleware(
    asgi_app,
    secret=[SECRET, "the previous secret, still verifying"],
    store=MemoryStore(max_entries=10_000, ttl=3600),
    name="app.sid",
    cookie=cookie,
    genid=lambda scope: "an-id",
    proxy=True,
    resave=False,
    rolling=True,
    save_uninitialized=False,
    unset="destroy",
)
with_factory = SessionMiddleware(asgi_app, secret=SECRET, cookie=scope_cookie)
with_options = SessionMiddleware(app=asgi_app, secret=SECRET, cookie=CookieOptions(max_age=60))


# -- WSGI -----------------------------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session: Session = environ["fastsession.session"]
    session["views"] = session.get("views", 0) + 1
    session.save()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(session["views"]).encode()]


wsgi = WSGISessionMiddleware(wsgi_app, secret=SECRET, cookie={"max_age": 3600})


# -- a store --------------------------------------------------------------------------


class DictStore(Store):
    blocking = False

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, sid: str) -> dict[str, Any] | None:
        import json

        raw = self.data.get(sid)
        return None if raw is None else dict(json.loads(raw))

    def set(self, sid: str, session: StorableSession) -> None:
        self.data[sid] = session.to_json()
        expires = session.cookie.expires
        assert expires is None or expires.tzinfo is not None

    def destroy(self, sid: str) -> None:
        self.data.pop(sid, None)


class NullAsyncStore(AsyncStore):
    async def get(self, sid: str) -> dict[str, Any] | None:
        return None

    async def set(self, sid: str, session: StorableSession) -> None:
        return None

    async def destroy(self, sid: str) -> None:
        return None


with_store = SessionMiddleware(asgi_app, secret=SECRET, store=NullAsyncStore())
wsgi_with_store = WSGISessionMiddleware(wsgi_app, secret=SECRET, store=DictStore())
compiled: bool = fastsession.EXTENSIONS
