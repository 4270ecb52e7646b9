"""No session comes back after a logout, over real HTTP.

A slow request of a session runs in one tab while another tab logs out
(``destroy``) or logs in again (``regenerate``). When the slow one finishes,
its save must not write the old session back (express-session with
connect-redis does: a plain SET), and its response must not set the old
session's cookie again. Starlette under uvicorn (ASGI) and a WSGI app under
waitress (threads), on MemoryStore and on a real redis-server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from app_servers import UvicornThread, WaitressThread
from redis_server import RedisServer, redis_db, redis_server
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import fastsession
from fastsession.stores.memory import MemoryStore
from fastsession.stores.redis import AsyncRedisStore, RedisStore

__all__ = ["redis_db", "redis_server"]  # fixtures, used here

SECRET = "a secret for the race tests, long enough to sign"
NAME = "race.sid"
WAIT = 10.0


class Gate:
    """The slow handler waits here: ``entered`` once it has its session,
    ``release`` when the test lets it finish."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()


def starlette_app(store: Any, gate: Gate, options: dict[str, Any]) -> Starlette:
    async def login(request: Request) -> JSONResponse:
        request.session["user"] = "ann"
        return JSONResponse({"sid": request.scope["session_id"]})

    async def slow(request: Request) -> JSONResponse:
        gate.entered.set()
        await asyncio.to_thread(gate.release.wait, WAIT)
        if request.query_params.get("modify"):
            request.session["cart"] = ["late"]
        return JSONResponse({"sid": request.scope["session_id"]})

    async def logout(request: Request) -> JSONResponse:
        await request.session.destroy()
        return JSONResponse({})

    async def relogin(request: Request) -> JSONResponse:
        await request.session.regenerate()
        request.session["user"] = "ann"
        return JSONResponse({"sid": request.scope["session_id"]})

    routes = [Route(f"/{f.__name__}", f, methods=["POST"]) for f in (login, slow, logout, relogin)]
    middleware = Middleware(
        fastsession.SessionMiddleware, secret=SECRET, store=store, name=NAME, **options
    )
    return Starlette(routes=routes, middleware=[middleware])


def wsgi_app(store: Any, gate: Gate, options: dict[str, Any]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        session = environ["fastsession.session"]
        path = environ["PATH_INFO"]
        if path == "/login":
            session["user"] = "ann"
        elif path == "/slow":
            gate.entered.set()
            gate.release.wait(WAIT)
            if "modify" in environ["QUERY_STRING"]:
                session["cart"] = ["late"]
        elif path == "/logout":
            session.destroy()
        elif path == "/relogin":
            session.regenerate()
            session["user"] = "ann"
        body = {"sid": environ["fastsession.session_id"]}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return fastsession.WSGISessionMiddleware(app, secret=SECRET, store=store, name=NAME, **options)


class Site:
    """One app on its own real server, with a way to look into its store."""

    def __init__(self, kind: str, backend: str, server: RedisServer | None, rolling: bool):
        self.gate = Gate()
        self.redis = server.client() if server is not None else None
        store: Any
        if backend == "memory":
            store = self.memory = MemoryStore()
        elif kind == "asgi":
            assert server is not None
            store = AsyncRedisStore(server.async_client())
        else:
            assert server is not None
            store = RedisStore(server.client())
        options = {"cookie": {"max_age": 60}, "rolling": rolling}
        if kind == "wsgi":
            self.server: Any = WaitressThread(wsgi_app(store, self.gate, options)).start()
        else:
            self.server = UvicornThread(starlette_app(store, self.gate, options)).start()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=WAIT * 2)

    def stored(self, sid: str) -> dict[str, Any] | None:
        if self.redis is None:
            return self.memory.get(sid)
        raw = self.redis.get("sess:" + sid)
        return None if raw is None else json.loads(raw)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.gate.release.set()
        self.server.stop()
        if self.redis is not None:
            self.redis.close()


@pytest.fixture(
    params=[
        ("asgi", "memory"),
        ("wsgi", "memory"),
        pytest.param(("asgi", "redis"), marks=pytest.mark.redis),
        pytest.param(("wsgi", "redis"), marks=pytest.mark.redis),
    ],
    ids=lambda p: "-".join(p),
)
def kind_backend(request: pytest.FixtureRequest) -> tuple[str, str, RedisServer | None]:
    kind, backend = request.param
    server = request.getfixturevalue("redis_db") if backend == "redis" else None
    return kind, backend, server


@pytest.fixture
def site(kind_backend: tuple[str, str, RedisServer | None]) -> Iterator[Site]:
    app = Site(*kind_backend, rolling=False)
    yield app
    app.close()


@pytest.fixture
def rolling_site(kind_backend: tuple[str, str, RedisServer | None]) -> Iterator[Site]:
    app = Site(*kind_backend, rolling=True)
    yield app
    app.close()


def race(site: Site, slow_path: str, other: str) -> tuple[httpx.Response, str, httpx.Response]:
    """Log in, start the slow request, run ``other`` while it waits, then let it
    finish: (the slow response, the session id it started with, the other's)."""
    with site.client() as tab1, site.client() as tab2:
        login = tab1.post("/login")
        assert login.status_code == 200
        sid = login.json()["sid"]
        cookie = f"{NAME}={login.cookies[NAME]}"
        assert site.stored(sid) is not None
        result: dict[str, httpx.Response] = {}

        def run_slow() -> None:
            result["slow"] = tab1.post(slow_path, headers={"Cookie": cookie})

        slow = threading.Thread(target=run_slow)
        slow.start()
        try:
            assert site.gate.entered.wait(WAIT), "the slow request did not start"
            done = tab2.post(other, headers={"Cookie": cookie})
            assert done.status_code == 200, done.text
        finally:
            site.gate.release.set()
            slow.join(WAIT * 2)
        return result["slow"], sid, done


def session_cookies(response: httpx.Response) -> list[str]:
    return [v for v in response.headers.get_list("set-cookie") if v.startswith(NAME + "=")]


def warned_about(caplog: pytest.LogCaptureFixture, sid: str) -> bool:
    return any(
        r.name == "fastsession" and r.levelno == logging.WARNING and sid in r.getMessage()
        for r in caplog.records
    )


def test_a_logout_is_not_undone_by_a_slow_request(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        slow, sid, logout = race(site, "/slow?modify=1", "/logout")
    assert slow.status_code == 200, slow.text
    assert site.stored(sid) is None  # not brought back with the user in it
    assert session_cookies(slow) == []
    assert session_cookies(logout) == []
    assert warned_about(caplog, sid)


def test_a_new_login_is_not_undone_by_a_slow_request(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        slow, sid, relogin = race(site, "/slow?modify=1", "/relogin")
    assert slow.status_code == 200, slow.text
    new_sid = relogin.json()["sid"]
    assert new_sid != sid and session_cookies(relogin) != []
    assert site.stored(sid) is None
    assert session_cookies(slow) == []
    assert warned_about(caplog, sid)
    # The new session, created by the login with set, holds the login's data alone.
    record = site.stored(new_sid)
    assert record is not None and record["user"] == "ann" and "cart" not in record


def test_a_touch_after_a_logout_sets_no_cookie(
    rolling_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    # Unmodified and rolling: the slow request touches, and would set the cookie again.
    with caplog.at_level(logging.WARNING, logger="fastsession"):
        slow, sid, _ = race(rolling_site, "/slow", "/logout")
    assert slow.status_code == 200, slow.text
    assert rolling_site.stored(sid) is None
    assert session_cookies(slow) == []
    assert warned_about(caplog, sid)


def test_without_a_race_the_slow_request_saves_and_sets_its_cookie(site: Site) -> None:
    # The same requests in order: the loaded session is written (replace) as before.
    with site.client() as tab:
        login = tab.post("/login")
        sid = login.json()["sid"]
        cookie = f"{NAME}={login.cookies[NAME]}"
        site.gate.release.set()
        slow = tab.post("/slow?modify=1", headers={"Cookie": cookie})
    assert slow.status_code == 200 and len(session_cookies(slow)) == 1
    record = site.stored(sid)
    assert record is not None and record["user"] == "ann" and record["cart"] == ["late"]
