"""Sessions shared with a real Express app through a real Redis, both ways.

Express 5 + express-session 1.19 + connect-redis 9 (tests/interop) and three
fastsession apps: Starlette + AsyncRedisStore and Starlette + RedisStore under
uvicorn, a WSGI app + RedisStore under waitress. All use one redis-server, one
secret list and one cookie name; one httpx client (one cookie jar, as one
browser) talks to all of them on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from app_servers import ExpressApp, UvicornThread, WaitressThread, require_node
from interop_apps import (
    COOKIE_FIELDS,
    MAX_AGE,
    NAME,
    NEW,
    OLD,
    SIDES,
    attribute_names,
    call,
    pair,
    starlette_app,
    wsgi_app,
)
from redis_server import RedisServer, redis_db, redis_server

from fastsession.stores.redis import AsyncRedisStore, RedisStore

pytestmark = [pytest.mark.redis, pytest.mark.node]
__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here


class Deployment:
    """The four apps with one secret list, all on the same Redis."""

    def __init__(self, redis: RedisServer, secrets: list[str], user_key: str | None = None) -> None:
        require_node()
        self.redis = redis
        self.secrets = secrets
        self.user_key = user_key  # the Python apps' option (Express knows nothing of it)
        self.servers: dict[str, Any] = {}
        self.clients: list[Any] = []

    def start(self) -> Deployment:
        async_client = self.redis.async_client()
        sync_clients = [self.redis.client(), self.redis.client()]
        self.clients = [async_client, *sync_clients]
        key = self.user_key
        self.servers = {
            "express": ExpressApp(
                self.redis.url, self.secrets, name=NAME, max_age_ms=MAX_AGE * 1000
            ).start(),
            "asgi": UvicornThread(
                starlette_app("asgi", self.secrets, AsyncRedisStore(async_client), user_key=key)
            ).start(),
            "asgi-thread": UvicornThread(
                starlette_app(
                    "asgi-thread", self.secrets, RedisStore(sync_clients[0]), user_key=key
                )
            ).start(),
            "wsgi": WaitressThread(
                wsgi_app(self.secrets, RedisStore(sync_clients[1]), user_key=key)
            ).start(),
        }
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        for client in self.clients[1:]:
            client.close()
        self.servers = {}

    def restart(self, secrets: list[str]) -> None:
        self.stop()
        self.secrets = secrets
        self.start()

    def url(self, side: str, path: str) -> str:
        return str(self.servers[side].url) + path


@pytest.fixture(scope="module")
def deployment(redis_server: RedisServer) -> Iterator[Deployment]:
    apps = Deployment(redis_server, ["interop secret, long enough to sign cookies"]).start()
    yield apps
    apps.stop()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def stored(redis_db: RedisServer, sid: str) -> tuple[dict[str, Any], int]:
    admin = redis_db.admin()
    raw = admin.get(f"sess:{sid}")
    assert raw is not None, f"no sess:{sid} in Redis"
    return json.loads(raw), admin.pttl(f"sess:{sid}")


# ------------------------------------------------------------ the tests


@pytest.mark.parametrize("creator", SIDES)
def test_counter_and_login_shared_every_way(
    creator: str, deployment: Deployment, browser: httpx.Client, redis_db: RedisServer
) -> None:
    body, cookie = call(browser, deployment, creator, "POST", "/login?user=ann")
    sid = body["sid"]
    assert cookie is not None and body["user"] == "ann" and body["views"] is None
    order = [creator, *(s for s in SIDES if s != creator), creator]
    for n, side in enumerate(order, start=1):
        body, _ = call(browser, deployment, side, "POST", "/views")
        assert (body["sid"], body["views"], body["user"]) == (sid, n, "ann")
        record, pttl = stored(redis_db, sid)
        # Whoever wrote last, the record has express-session's shape and connect-redis's TTL.
        assert list(record) == ["cookie", "user", "views"] and record["views"] == n
        assert list(record["cookie"]) == COOKIE_FIELDS
        # express-session reads the clock twice when it resets maxAge, so each
        # write by Express may shave the ms between the reads off originalMaxAge
        # (spec 11.2); fastsession keeps whatever it loaded, exactly.
        assert MAX_AGE * 1000 - 1000 < record["cookie"]["originalMaxAge"] <= MAX_AGE * 1000
        assert 0 < pttl <= MAX_AGE * 1000
    for side in SIDES:
        body, cookie = call(browser, deployment, side, "GET", "/whoami")
        assert (body["sid"], body["views"], body["user"]) == (sid, len(order), "ann")
        assert cookie is None  # unmodified, not rolling: no Set-Cookie on either side
    assert redis_db.admin().keys("sess:*") == [f"sess:{sid}".encode()]


def test_every_side_signs_the_same_cookie(
    deployment: Deployment, browser: httpx.Client, redis_db: RedisServer
) -> None:
    call(browser, deployment, "asgi", "POST", "/views")
    cookies = {side: call(browser, deployment, side, "POST", "/views")[1] for side in SIDES}
    assert all(cookies.values())
    assert len({pair(c) for c in cookies.values() if c}) == 1
    assert {tuple(attribute_names(c)) for c in cookies.values() if c} == {
        ("path", "expires", "httponly")
    }


@pytest.mark.parametrize("side", SIDES)
def test_unmodified_visit_extends_the_ttl(
    side: str, deployment: Deployment, browser: httpx.Client, redis_db: RedisServer
) -> None:
    body, _ = call(
        browser, deployment, "express" if side != "express" else "wsgi", "POST", "/views"
    )
    key = f"sess:{body['sid']}"
    admin = redis_db.admin()
    admin.expire(key, 100)
    before = admin.get(key)
    call(browser, deployment, side, "GET", "/whoami")
    assert admin.pttl(key) > 100_000  # EXPIRE ttl: connect-redis's touch
    assert admin.get(key) == before  # and nothing rewritten


@pytest.mark.parametrize(("creator", "destroyer"), [(a, b) for a in SIDES for b in SIDES if a != b])
def test_destroyed_on_one_side_is_gone_on_the_other(
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
        assert cookie is None  # save_uninitialized=False on both sides


def test_secret_rotation_keeps_everyone_logged_in(
    redis_db: RedisServer, browser: httpx.Client
) -> None:
    apps = Deployment(redis_db, [OLD]).start()
    try:
        body, old_cookie = call(browser, apps, "express", "POST", "/login?user=cy")
        sid = body["sid"]
        assert old_cookie is not None

        # New secret first, old second, everywhere: the old cookie still verifies.
        apps.restart([NEW, OLD])
        for side in SIDES:
            assert call(browser, apps, side, "GET", "/whoami")[0]["user"] == "cy"
        # A write re-signs with the new secret, the same on every side.
        resigned = {side: call(browser, apps, side, "POST", "/views")[1] for side in SIDES}
        assert len({pair(c) for c in resigned.values() if c}) == 1
        new_cookie = resigned["asgi"]
        assert new_cookie is not None and pair(new_cookie) != pair(old_cookie)

        # Once the old secret is retired, the re-signed cookie keeps working.
        apps.restart([NEW])
        for side in SIDES:
            body = call(browser, apps, side, "GET", "/whoami")[0]
            assert (body["sid"], body["user"], body["views"]) == (sid, "cy", len(SIDES))
        # A cookie signed with the retired secret (or forged) is no session anywhere.
        for side in SIDES:
            with httpx.Client(timeout=10) as stranger:
                stranger.cookies.set(NAME, pair(old_cookie).split("=", 1)[1])
                body = call(stranger, apps, side, "GET", "/whoami")[0]
            assert body["user"] is None and body["sid"] != sid
    finally:
        apps.stop()


# ------------------------------------------------------------ with the user index


@pytest.fixture(scope="module")
def indexed(redis_server: RedisServer) -> Iterator[Deployment]:
    secrets = ["interop secret, long enough to sign cookies"]
    apps = Deployment(redis_server, secrets, user_key="user").start()
    yield apps
    apps.stop()


@pytest.mark.parametrize("side", [s for s in SIDES if s != "express"])
def test_express_keeps_working_beside_the_user_index(
    side: str, indexed: Deployment, browser: httpx.Client, redis_db: RedisServer
) -> None:
    admin = redis_db.admin()
    index = RedisStore(redis_db.client(), user_key="user")
    sid = call(browser, indexed, side, "POST", "/login?user=ann")[0]["sid"]
    assert list(index.sessions_of("ann")) == [sid]
    # Express reads and writes the indexed session; the data it does not know stays.
    for n, where in enumerate(["express", side, "express"], start=1):
        body, _ = call(browser, indexed, where, "POST", "/views")
        assert (body["sid"], body["views"], body["user"]) == (sid, n, "ann")
    record = index.sessions_of("ann")[sid]
    assert list(record) == ["cookie", "user", "views"] and record["views"] == 3
    assert admin.keys("sess:*") == [f"sess:{sid}".encode()]  # the index is outside SCAN's keys
    assert index.length() == 1 and list(index.all()) == [sid]
    # A login made by Express is indexed once a Python app saves the session.
    with httpx.Client(timeout=10) as other:
        eve = call(other, indexed, "express", "POST", "/login?user=eve")[0]["sid"]
        call(other, indexed, side, "POST", "/views")
        assert list(index.sessions_of("eve")) == [eve]
        # Logging ann out everywhere logs her out of Express too.
        assert index.destroy_user("ann") == 1
        body, _ = call(browser, indexed, "express", "GET", "/whoami")
        assert body["user"] is None and body["sid"] != sid
        assert call(other, indexed, "express", "GET", "/whoami")[0]["user"] == "eve"
    index.client.close()
