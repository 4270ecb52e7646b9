"""fastsession.quart: ``quart.session`` as a fastsession AsyncSession, through
Quart's test client and under uvicorn on 127.0.0.1, with sync and async stores."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
from app_servers import ExpressApp, UvicornThread, require_node
from flask.sessions import SessionMixin
from interop_apps import COOKIE_FIELDS, MAX_AGE, NAME, NEW, OLD, call, pair
from markupsafe import Markup
from pallets_support import (
    OLD_SECRET,
    SECRET,
    TAGGED_VALUES,
    attributes,
    interop_view,
    is_deletion,
    load_example,
    set_cookies,
    sid_of,
)
from quart import Quart, flash, get_flashed_messages, redirect, request, session
from quart.testing import QuartClient
from redis_server import RedisServer, redis_db, redis_server
from werkzeug.wrappers import Response

from fastsession import AsyncSession, MemoryStore
from fastsession.quart import FastSession, QuartSession, get_session
from fastsession.stores.redis import AsyncRedisStore

__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here

T = TypeVar("T")


def run(test: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(test())  # type: ignore[arg-type]


def make_app(store: Any = None, config: dict[str, Any] | None = None, **options: Any) -> Quart:
    app = Quart(__name__)
    app.config["SECRET_KEY"] = SECRET
    app.config.update(config or {})
    FastSession(app, store=store, **options)

    @app.get("/count")
    async def count() -> dict[str, Any]:
        session["views"] = session.get("views", 0) + 1
        s = get_session()
        return {"views": session["views"], "sid": s.id, "new": s.new}

    @app.post("/login")
    async def login() -> Response:
        await get_session().regenerate()
        session["user"] = request.args["user"]
        return redirect("/whoami")

    @app.get("/whoami")
    async def whoami() -> dict[str, Any]:
        return {"user": session.get("user"), "sid": get_session().id}

    @app.post("/logout")
    async def logout() -> str:
        await get_session().destroy()
        return "bye"

    @app.post("/clear")
    async def clear() -> str:
        session.clear()
        return "cleared"

    @app.post("/flash")
    async def flash_it() -> Response:
        await flash("saved")
        await flash("careful", "warning")
        return redirect("/messages")

    @app.get("/messages")
    async def messages() -> dict[str, Any]:
        return {"messages": [list(m) for m in get_flashed_messages(with_categories=True)]}

    @app.post("/permanent/<int:on>")
    async def permanent(on: int) -> str:
        session.permanent = bool(on)
        session["user"] = "ann"
        return "ok"

    @app.get("/untouched")
    async def untouched() -> str:
        return "no session read"

    @app.post("/values")
    async def put_values() -> str:
        session.update(TAGGED_VALUES)
        return "ok"

    return app


def store_of(app: Quart) -> Any:
    return app.extensions["fastsession"].store


async def json_of(client: QuartClient, method: str, path: str, **kw: Any) -> Any:
    response = await client.open(path, method=method, **kw)
    return await response.get_json()


def test_quart_session_is_an_async_fastsession_session() -> None:
    app = make_app()
    seen: dict[str, Any] = {}

    @app.get("/types")
    async def types() -> str:
        s = get_session()
        seen.update(
            mixin=isinstance(session, SessionMixin),
            fastsession=isinstance(s, AsyncSession) and isinstance(s, QuartSession),
            new=s.new,
            modified=s.modified,
        )
        return ""

    run(lambda: app.test_client().get("/types"))
    assert seen == {"mixin": True, "fastsession": True, "new": True, "modified": False}


def test_counter_login_logout_through_the_test_client() -> None:
    app = make_app()
    store = store_of(app)

    async def scenario() -> None:
        client = app.test_client()
        first = await client.get("/count")
        (line,) = set_cookies(first.headers, "session")
        anonymous = sid_of(line)
        assert await first.get_json() == {"views": 1, "sid": anonymous, "new": True}
        second = await client.get("/count")
        assert (await second.get_json())["views"] == 2
        assert set_cookies(second.headers, "session") == []
        assert store.get(anonymous)["views"] == 2
        # Login: regenerate (the old id leaves the store), redirect, the user is found.
        login = await client.post("/login?user=ann")
        assert login.status_code == 302
        user_sid = sid_of(set_cookies(login.headers, "session")[0])
        assert user_sid != anonymous and store.get(anonymous) is None
        assert await json_of(client, "GET", "/whoami") == {"user": "ann", "sid": user_sid}
        # Logout: the data leaves the store and the cookie is deleted.
        logout = await client.post("/logout")
        assert is_deletion(set_cookies(logout.headers, "session")[0])
        assert store.get(user_sid) is None and store.length() == 0
        assert (await json_of(client, "GET", "/whoami"))["user"] is None

    run(scenario)


def test_clear_is_a_logout_too() -> None:
    app = make_app()

    async def scenario() -> None:
        client = app.test_client()
        await client.post("/login?user=ann", follow_redirects=True)
        sid = (await json_of(client, "GET", "/whoami"))["sid"]
        response = await client.post("/clear")
        assert is_deletion(set_cookies(response.headers, "session")[0])
        assert store_of(app).get(sid) is None

    run(scenario)


def test_flash_messages_survive_one_redirect() -> None:
    app = make_app()

    async def scenario() -> None:
        client = app.test_client()
        response = await client.post("/flash", follow_redirects=True)
        assert await response.get_json() == {
            "messages": [["message", "saved"], ["warning", "careful"]]
        }
        assert await json_of(client, "GET", "/messages") == {"messages": []}

    run(scenario)


def test_session_transaction() -> None:
    app = make_app()

    async def scenario() -> None:
        client = app.test_client()
        async with client.session_transaction() as sess:
            assert isinstance(sess, QuartSession) and dict(sess) == {}
            sess["user"] = "bob"
            sess["views"] = 9
        assert (await json_of(client, "GET", "/whoami"))["user"] == "bob"
        assert (await json_of(client, "GET", "/count"))["views"] == 10
        async with client.session_transaction() as sess:
            assert sess["views"] == 10
            sid = sess.id
        assert store_of(app).get(sid)["user"] == "bob"

    run(scenario)


def test_permanent_cookie_and_vary() -> None:
    app = make_app(config={"PERMANENT_SESSION_LIFETIME": timedelta(minutes=5)})

    async def scenario() -> None:
        client = app.test_client()
        response = await client.post("/permanent/1")
        (line,) = set_cookies(response.headers, "session")
        assert "expires" in attributes(line) and response.headers["Vary"] == "Cookie"
        sid = sid_of(line)
        assert store_of(app).get(sid)["cookie"]["originalMaxAge"] == 300_000
        refreshed = set_cookies((await client.get("/whoami")).headers, "session")
        assert len(refreshed) == 1 and sid_of(refreshed[0]) == sid
        back = set_cookies((await client.post("/permanent/0")).headers, "session")
        assert "expires" not in attributes(back[0])
        untouched = await client.get("/untouched")
        assert "Vary" not in untouched.headers and set_cookies(untouched.headers, "session") == []

    run(scenario)


def test_config_and_explicit_options() -> None:
    from_config = make_app(
        config={"SESSION_COOKIE_NAME": "q.sid", "SESSION_COOKIE_SAMESITE": "Lax"}
    )
    explicit = make_app(
        config={"SESSION_COOKIE_NAME": "q.sid"}, name="connect.sid", cookie={"same_site": "strict"}
    )

    async def scenario() -> None:
        line = set_cookies((await from_config.test_client().get("/count")).headers, "q.sid")[0]
        assert attributes(line) == {"path": "/", "httponly": "", "samesite": "Lax"}
        response = await explicit.test_client().get("/count")
        assert set_cookies(response.headers, "q.sid") == []
        line = set_cookies(response.headers, "connect.sid")[0]
        assert attributes(line)["samesite"] == "Strict"

    run(scenario)


def test_secret_key_fallbacks_verify_old_cookies() -> None:
    store = MemoryStore()
    old = make_app(store, config={"SECRET_KEY": OLD_SECRET})
    rotated = make_app(store, config={"SECRET_KEY_FALLBACKS": [OLD_SECRET]})
    unrotated = make_app(store)

    async def scenario() -> None:
        client = old.test_client()
        sid = (await json_of(client, "GET", "/count"))["sid"]
        # The same browser (cookie jar) after the key rotation, then without the fallback.
        for app, views in ((rotated, 2), (unrotated, 1)):
            other = app.test_client()
            other.cookie_jar = client.cookie_jar
            body = await json_of(other, "GET", "/count")
            assert body["views"] == views and (body["sid"] == sid) is (views == 2)

    run(scenario)


@pytest.mark.parametrize("async_store", [False, True], ids=["memory", "async-redis"])
def test_tagged_values_round_trip(async_store: bool, request: pytest.FixtureRequest) -> None:
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        if async_store:
            redis = request.getfixturevalue("redis_db")
            client_ = redis.async_client()
            store: Any = AsyncRedisStore(client_)
        else:
            store = MemoryStore()
        app = make_app(store, serializer="tagged")

        @app.get("/values")
        async def get_values() -> str:
            seen.update(session)
            seen["modified"] = session.modified
            return "ok"

        client = app.test_client()
        sid = sid_of(set_cookies((await client.post("/values")).headers, "session")[0])
        await client.get("/values")
        record = await store.get(sid) if async_store else store.get(sid)
        assert record["when"] == {" d": "Sun, 17 May 2026 08:30:15 GMT"}
        assert record["html"] == {" m": "<b>bold</b>"}
        if async_store:
            await client_.aclose()

    run(scenario)
    assert seen.pop("modified") is False
    assert seen == TAGGED_VALUES and isinstance(seen["html"], Markup)
    assert type(seen["pair"]) is tuple


# ------------------------------------------------------------ under uvicorn on 127.0.0.1


def browse_example(url: str, store: Any, stored: Callable[[str], Any]) -> None:
    """The example app's flow as a browser drives it."""
    with httpx.Client(base_url=url, timeout=10) as browser:
        first = browser.get("/")
        assert "views: 1" in first.text and "Log in" in first.text
        anonymous = sid_of(set_cookies(first.headers, "session")[0])
        assert "views: 2" in browser.get("/").text
        login = browser.post("/login", data={"user": "ann"})
        assert login.status_code == 302 and login.headers["location"] == "/"
        user_sid = sid_of(set_cookies(login.headers, "session")[0])
        assert user_sid != anonymous and stored(anonymous) is None
        page = browser.get("/")
        assert "hello, ann!" in page.text and "logged in as ann" in page.text
        assert "logged in as ann" not in browser.get("/").text
        assert stored(user_sid)["user"] == "ann"
        browser.post("/login", data={"user": " "})
        assert '<p class="error">a user name is needed</p>' in browser.get("/").text
        logout = browser.post("/logout")
        assert is_deletion(set_cookies(logout.headers, "session")[0])
        assert stored(user_sid) is None
        assert "Log in" in browser.get("/").text


def test_example_app_under_uvicorn() -> None:
    store = MemoryStore()
    server = UvicornThread(load_example("quart_app").create_app(store, secret=SECRET)).start()
    try:
        browse_example(server.url, store, store.get)
        assert store.length() == 1  # only the anonymous visit after the logout
    finally:
        server.stop()


@pytest.mark.redis
def test_example_app_with_async_redis_under_uvicorn(redis_db: RedisServer) -> None:
    client = redis_db.async_client()
    app = load_example("quart_app").create_app(AsyncRedisStore(client), secret=SECRET)
    server = UvicornThread(app).start()
    admin = redis_db.admin()

    def stored(sid: str) -> Any:
        raw = admin.get(f"sess:{sid}")
        return None if raw is None else json.loads(raw)

    try:
        browse_example(server.url, None, stored)
    finally:
        server.stop()


# ------------------------------------------------------------ shared with Express through Redis


def interop_app(secrets: list[str], store: Any) -> Quart:
    """tests/interop/app.mjs's routes on Quart, configured as the Express app is."""
    app = Quart(__name__)
    FastSession(app, secret=secrets, store=store, name=NAME, cookie={"max_age": MAX_AGE})

    @app.get("/whoami")
    async def whoami() -> dict[str, Any]:
        return interop_view("quart", get_session())

    @app.post("/views")
    async def views() -> dict[str, Any]:
        session["views"] = (session.get("views") or 0) + 1
        return interop_view("quart", get_session())

    @app.post("/login")
    async def login() -> dict[str, Any]:
        session["user"] = request.args["user"]
        return interop_view("quart", get_session())

    @app.post("/logout")
    async def logout() -> dict[str, Any]:
        await get_session().destroy()
        return {"side": "quart", "sid": None}

    return app


class QuartAndExpress:
    def __init__(self, redis: RedisServer, secrets: list[str]) -> None:
        self.client = redis.async_client()
        self.servers = {
            "express": ExpressApp(redis.url, secrets, name=NAME, max_age_ms=MAX_AGE * 1000),
            "quart": UvicornThread(interop_app(secrets, AsyncRedisStore(self.client))),
        }
        for server in self.servers.values():
            server.start()

    def url(self, side: str, path: str) -> str:
        return str(self.servers[side].url) + path

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def with_express(redis_server: RedisServer) -> Iterator[QuartAndExpress]:
    require_node()
    apps = QuartAndExpress(redis_server, [NEW, OLD])
    yield apps
    apps.stop()


@pytest.mark.redis
@pytest.mark.node
@pytest.mark.parametrize("first", ["express", "quart"])
def test_a_redis_session_shared_with_express(
    first: str, with_express: QuartAndExpress, redis_db: RedisServer
) -> None:
    other = "quart" if first == "express" else "express"
    with httpx.Client(timeout=10) as browser:
        body, cookie = call(browser, with_express, first, "POST", "/login?user=ann")
        assert cookie is not None and body["user"] == "ann"
        sid = body["sid"]
        assert sid_of(cookie, NEW) == sid
        for n, side in enumerate([other, first, other], start=1):
            body, again = call(browser, with_express, side, "POST", "/views")
            assert (body["sid"], body["views"], body["user"]) == (sid, n, "ann")
            assert again is not None and pair(again) == pair(cookie)
            record = json.loads(redis_db.admin().get(f"sess:{sid}"))
            assert list(record) == ["cookie", "user", "views"] and record["views"] == n
            assert list(record["cookie"]) == COOKIE_FIELDS
        body, _ = call(browser, with_express, other, "POST", "/logout")
        assert body["sid"] is None and redis_db.admin().exists(f"sess:{sid}") == 0
        body, _ = call(browser, with_express, first, "GET", "/whoami")
        assert body["user"] is None and body["sid"] != sid


def test_a_store_that_cannot_be_reached_is_a_server_error() -> None:
    import redis.asyncio
    from redis_server import free_port

    async def scenario() -> None:
        client = redis.asyncio.Redis(host="127.0.0.1", port=free_port(), socket_timeout=1)
        app = make_app(AsyncRedisStore(client))
        response = await app.test_client().get("/count")
        assert response.status_code == 500
        assert set_cookies(response.headers, "session") == []

    run(scenario)
