"""Litestar and FastAPI share sessions with a real Express app through a real Redis.

Express 5 + express-session + connect-redis (tests/interop/app.mjs), a Litestar app
(DefineMiddleware(SessionMiddleware), logout by ``request.clear_session()``) and a
FastAPI app (``add_middleware(SessionMiddleware)``, ``SessionDep``, logout by
``await session.destroy()``), both on AsyncRedisStore under uvicorn. One
redis-server, one secret, one cookie name; one httpx client (one cookie jar, as
one browser) talks to all three on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from app_servers import ExpressApp, UvicornThread, require_node
from fastapi import FastAPI
from interop_apps import COOKIE_FIELDS, MAX_AGE, NAME, call, pair
from litestar import Litestar, Request, get, post
from litestar.middleware import DefineMiddleware
from redis_server import RedisServer, redis_db, redis_server

from fastsession import AsyncSession, SessionMiddleware
from fastsession.fastapi import SessionDep
from fastsession.starlette import get_session
from fastsession.stores.redis import AsyncRedisStore

pytestmark = [pytest.mark.redis, pytest.mark.node]
__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here

SIDES = ["express", "litestar", "fastapi"]
PYTHON_SIDES = ["litestar", "fastapi"]
SECRETS = ["framework interop secret, long enough to sign cookies"]
AnyRequest = Request[Any, Any, Any]


def _view(side: str, session: AsyncSession) -> dict[str, Any]:
    return {
        "side": side,
        "sid": session.id,
        "views": session.get("views"),
        "user": session.get("user"),
    }


def litestar_app(store: AsyncRedisStore) -> Litestar:
    @get("/whoami")
    async def whoami(request: AnyRequest) -> dict[str, Any]:
        return _view("litestar", get_session(request))

    @post("/views", status_code=200)
    async def views(request: AnyRequest) -> dict[str, Any]:
        session = get_session(request)
        session["views"] = (session.get("views") or 0) + 1
        return _view("litestar", session)

    @post("/login", status_code=200)
    async def login(request: AnyRequest) -> dict[str, Any]:
        session = get_session(request)
        session["user"] = request.query_params["user"]
        return _view("litestar", session)

    @post("/logout", status_code=200)
    async def logout(request: AnyRequest) -> dict[str, Any]:
        request.clear_session()
        return {"side": "litestar", "sid": None}

    options = {"secret": SECRETS, "store": store, "name": NAME, "cookie": {"max_age": MAX_AGE}}
    return Litestar(
        route_handlers=[whoami, views, login, logout],
        middleware=[DefineMiddleware(SessionMiddleware, **options)],
    )


def fastapi_app(store: AsyncRedisStore) -> FastAPI:
    api = FastAPI()
    api.add_middleware(
        SessionMiddleware, secret=SECRETS, store=store, name=NAME, cookie={"max_age": MAX_AGE}
    )

    @api.get("/whoami")
    async def whoami(session: SessionDep) -> dict[str, Any]:
        return _view("fastapi", session)

    @api.post("/views")
    async def views(session: SessionDep) -> dict[str, Any]:
        session["views"] = (session.get("views") or 0) + 1
        return _view("fastapi", session)

    @api.post("/login")
    async def login(session: SessionDep, user: str) -> dict[str, Any]:
        session["user"] = user
        return _view("fastapi", session)

    @api.post("/logout")
    async def logout(session: SessionDep) -> dict[str, Any]:
        await session.destroy()
        return {"side": "fastapi", "sid": None}

    return api


class Deployment:
    """Express, Litestar and FastAPI on one Redis; each Python app has its own async
    client, as each uvicorn thread runs its own event loop."""

    def __init__(self, redis: RedisServer) -> None:
        require_node()
        self.servers: dict[str, Any] = {
            "express": ExpressApp(redis.url, SECRETS, name=NAME, max_age_ms=MAX_AGE * 1000),
            "litestar": UvicornThread(litestar_app(AsyncRedisStore(redis.async_client()))),
            "fastapi": UvicornThread(fastapi_app(AsyncRedisStore(redis.async_client()))),
        }

    def start(self) -> Deployment:
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def url(self, side: str, path: str) -> str:
        return str(self.servers[side].url) + path


@pytest.fixture(scope="module")
def deployment(redis_server: RedisServer) -> Iterator[Deployment]:
    apps = Deployment(redis_server)
    try:
        yield apps.start()
    finally:
        apps.stop()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def stored(redis_db: RedisServer, sid: str) -> dict[str, Any]:
    raw = redis_db.admin().get(f"sess:{sid}")
    assert raw is not None, f"no sess:{sid} in Redis"
    record: dict[str, Any] = json.loads(raw)
    return record


@pytest.mark.parametrize("creator", SIDES)
def test_one_session_read_and_updated_on_every_side(
    creator: str, deployment: Deployment, browser: httpx.Client, redis_db: RedisServer
) -> None:
    body, cookie = call(browser, deployment, creator, "POST", "/login?user=ann")
    sid = body["sid"]
    assert cookie is not None and (body["user"], body["views"]) == ("ann", None)
    order = [creator, *(s for s in SIDES if s != creator), creator]
    for n, side in enumerate(order, start=1):
        body, written = call(browser, deployment, side, "POST", "/views")
        assert (body["sid"], body["views"], body["user"]) == (sid, n, "ann")
        # The same session id under the same secret: every side signs the same cookie.
        assert written is not None and pair(written) == pair(cookie)
        record = stored(redis_db, sid)
        assert list(record) == ["cookie", "user", "views"] and record["views"] == n
        assert list(record["cookie"]) == COOKIE_FIELDS
    for side in SIDES:
        body, written = call(browser, deployment, side, "GET", "/whoami")
        assert (body["sid"], body["views"], body["user"]) == (sid, len(order), "ann")
        assert written is None  # unmodified, not rolling: no Set-Cookie anywhere
    assert redis_db.admin().keys("sess:*") == [f"sess:{sid}".encode()]


@pytest.mark.parametrize(("creator", "destroyer"), [(a, b) for a in SIDES for b in SIDES if a != b])
def test_logout_on_one_side_and_express_starts_anew(
    creator: str,
    destroyer: str,
    deployment: Deployment,
    browser: httpx.Client,
    redis_db: RedisServer,
) -> None:
    sid = call(browser, deployment, creator, "POST", "/login?user=bob")[0]["sid"]
    assert call(browser, deployment, destroyer, "GET", "/whoami")[0]["user"] == "bob"
    call(browser, deployment, destroyer, "POST", "/logout")
    assert redis_db.admin().exists(f"sess:{sid}") == 0
    for side in SIDES:
        body, cookie = call(browser, deployment, side, "GET", "/whoami")
        assert body["user"] is None and body["sid"] != sid
        assert cookie is None  # save_uninitialized=False on every side
    # Express starts a new session, and the Python sides read it.
    body, cookie = call(browser, deployment, "express", "POST", "/views")
    fresh = body["sid"]
    assert cookie is not None and fresh != sid and (body["views"], body["user"]) == (1, None)
    assert stored(redis_db, fresh)["views"] == 1
    for side in PYTHON_SIDES:
        body = call(browser, deployment, side, "GET", "/whoami")[0]
        assert (body["sid"], body["views"], body["user"]) == (fresh, 1, None)
    assert redis_db.admin().keys("sess:*") == [f"sess:{fresh}".encode()]
