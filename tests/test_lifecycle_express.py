"""An Express app (express-session + connect-redis, tests/interop) shares one
Redis with a fastsession app that has ``touch_after``, ``absolute_timeout`` and
the cache headers on (and, in the last test, every option: ``user_key`` and the
store's local copy too): Express reads and writes the same sessions and keeps the
``_created`` key as it is; fastsession's absolute timeout still ends a session
Express wrote to, and stamps one Express created.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from app_servers import ExpressApp, UvicornThread, require_node
from redis_server import CommandLog, RedisServer, redis_db, redis_server

import fastsession
import fastsession._clock
from fastsession.stores.redis import AsyncRedisStore

pytestmark = [pytest.mark.redis, pytest.mark.node]
__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here

SECRETS = ["interop secret, long enough to sign cookies"]
NAME = "interop.sid"
MAX_AGE = 3600


def python_app(store: Any) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        session = scope["session"]
        path = scope["path"]
        if path == "/views":
            session["views"] = session.get("views", 0) + 1
        elif path == "/login":
            await session.regenerate()
            session["user"] = scope["query_string"].decode().partition("=")[2]
        body = {
            "side": "python",
            "sid": scope["session_id"],
            "views": session.get("views"),
            "user": session.get("user"),
        }
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    return fastsession.SessionMiddleware(
        app,
        secret=SECRETS,
        store=store,
        name=NAME,
        cookie={"max_age": MAX_AGE},
        rolling=True,
        touch_after=60,
        absolute_timeout=8 * 3600,
    )


@pytest.fixture
def sides(redis_db: RedisServer) -> Iterator[dict[str, Any]]:
    require_node()
    client = redis_db.async_client()
    servers = {
        "express": ExpressApp(redis_db.url, SECRETS, name=NAME, max_age_ms=MAX_AGE * 1000),
        "python": UvicornThread(python_app(AsyncRedisStore(client))),
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def stored(redis_db: RedisServer, sid: str) -> dict[str, Any]:
    raw = redis_db.admin().get(f"sess:{sid}")
    assert raw is not None, f"no sess:{sid}"
    return json.loads(raw)  # type: ignore[no-any-return]


def test_express_keeps_the_creation_time_and_fastsession_enforces_it(
    sides: dict[str, Any], redis_db: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with httpx.Client(timeout=10) as browser:

        def call(side: str, method: str, path: str) -> httpx.Response:
            response = browser.request(method, sides[side].url + path)
            assert response.status_code == 200, response.text
            return response

        login = call("python", "POST", "/login?user=ann")
        assert login.headers["vary"] == "Cookie" and login.headers["cache-control"] == "private"
        sid = login.json()["sid"]
        created = stored(redis_db, sid)["_created"]
        assert isinstance(created, int)

        # Express reads the session and writes to it: the key is kept as it is.
        body = call("express", "POST", "/views").json()
        assert (body["sid"], body["user"], body["views"]) == (sid, "ann", 1)
        record = stored(redis_db, sid)
        assert record["_created"] == created and record["views"] == 1
        assert list(record) == ["cookie", "_created", "user", "views"]

        # fastsession reads what Express wrote; within touch_after a read is one GET
        # (Express's save just renewed the record).
        log = CommandLog(redis_db)
        try:
            body = call("python", "GET", "/whoami").json()
            assert (body["sid"], body["user"], body["views"]) == (sid, "ann", 1)
            assert log.take() == [["GET", f"sess:{sid}"]]
        finally:
            log.close()
        assert call("express", "POST", "/views").json()["views"] == 2
        assert stored(redis_db, sid)["_created"] == created

        # Eight hours after the login, however active: fastsession ends it.
        later = created / 1000 + 8 * 3600
        monkeypatch.setattr(fastsession._clock, "now", lambda: later)
        body = call("python", "GET", "/whoami").json()
        assert body["sid"] != sid and body["user"] is None
        assert redis_db.admin().exists(f"sess:{sid}") == 0


def test_a_session_express_created_is_stamped(sides: dict[str, Any], redis_db: RedisServer) -> None:
    with httpx.Client(timeout=10) as browser:
        response = browser.post(sides["express"].url + "/login?user=bob")
        sid = response.json()["sid"]
        assert "_created" not in stored(redis_db, sid)
        response = browser.get(sides["python"].url + "/whoami")
        assert response.json()["sid"] == sid and response.json()["user"] == "bob"
        created = stored(redis_db, sid)["_created"]
        assert isinstance(created, int)
        response = browser.post(sides["express"].url + "/views")
        assert response.json()["views"] == 1
        assert stored(redis_db, sid)["_created"] == created


def test_express_beside_every_option_on(redis_db: RedisServer) -> None:
    """touch_after, absolute_timeout, cache headers, user_key and the store's local
    copy all on: Express still reads and writes the sessions, its writes are seen on
    fastsession's next read, the extra data is kept, and "log out everywhere" from
    the Python side ends the browser's session on Express too."""
    require_node()
    store = AsyncRedisStore(redis_db.async_client(), local_cache=100)
    python = fastsession.SessionMiddleware(
        python_app(store).app,
        secret=SECRETS,
        store=store,
        name=NAME,
        cookie={"max_age": MAX_AGE},
        rolling=True,
        touch_after=60,
        absolute_timeout=8 * 3600,
        user_key="user",
    )
    servers = {
        "express": ExpressApp(redis_db.url, SECRETS, name=NAME, max_age_ms=MAX_AGE * 1000),
        "python": UvicornThread(python),
    }
    for server in servers.values():
        server.start()
    try:
        with httpx.Client(timeout=10) as browser:

            def call(side: str, method: str, path: str) -> dict[str, Any]:
                response = browser.request(method, servers[side].url + path)
                assert response.status_code == 200, response.text
                return response.json()  # type: ignore[no-any-return]

            sid = call("python", "POST", "/login?user=ann")["sid"]
            assert call("python", "GET", "/whoami")["user"] == "ann"  # fills the local copy
            for views in (1, 2):
                body = call("express", "POST", "/views")
                assert (body["sid"], body["user"], body["views"]) == (sid, "ann", views)
                # Express's write invalidates the copy: the next read sees it.
                assert call("python", "GET", "/whoami")["views"] == views
            record = stored(redis_db, sid)
            assert record["user"] == "ann" and isinstance(record["_created"], int)

            async def log_out_everywhere() -> int:
                index = AsyncRedisStore(redis_db.async_client(), user_key="user")
                try:
                    assert list(await index.sessions_of("ann")) == [sid]
                    return await index.destroy_user("ann")
                finally:
                    await index.client.aclose()

            assert asyncio.run(log_out_everywhere()) == 1
            body = call("express", "GET", "/whoami")
            assert body["sid"] != sid and body["user"] is None
            assert call("python", "GET", "/whoami")["user"] is None
    finally:
        for server in servers.values():
            server.stop()
        if store.local_copy is not None:
            store.local_copy.close()
