"""The lifetime options and cache headers over real HTTP, on a real redis-server.

uvicorn (ASGI, AsyncRedisStore) and waitress (WSGI, RedisStore) on 127.0.0.1 (and
both on MemoryStore, its calls recorded, in the last test);
the commands the store sends are read back from Redis MONITOR: with
``touch_after`` a read inside the window is one GET, a read after it GET +
SET with the new TTL (a rolling cookie re-sent only then); ``absolute_timeout`` ends an
active session with a DEL. The library's clock is moved by the test (the
servers run in this process), Redis's own TTLs are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from app_servers import UvicornThread, WaitressThread
from conftest import FakeClock
from harness import RecordingStore
from redis_server import CommandLog, RedisServer, redis_db, redis_server

import fastsession
import fastsession._clock
from fastsession.stores.redis import AsyncRedisStore, RedisStore

pytestmark = [pytest.mark.redis]
__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here

SECRET = "a-test-secret-that-is-long-enough-0123456789"
MAX_AGE = 3600


def iso(seconds: float) -> str:
    return fastsession.record.format_iso(int(seconds * 1000))


def asgi_app(**options: Any) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        session = scope["session"]
        if scope["path"] == "/views":
            session["views"] = session.get("views", 0) + 1
        body = json.dumps({"sid": scope["session_id"], "views": session.get("views")})
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})

    return fastsession.SessionMiddleware(app, secret=SECRET, **options)


def wsgi_app(**options: Any) -> Any:
    def app(environ: Any, start_response: Any) -> Any:
        session = environ["fastsession.session"]
        if environ["PATH_INFO"] == "/views":
            session["views"] = session.get("views", 0) + 1
        body = json.dumps({"sid": environ["fastsession.session_id"], "views": session.get("views")})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body.encode()]

    return fastsession.WSGISessionMiddleware(app, secret=SECRET, **options)


class Site:
    def __init__(self, kind: str, redis: RedisServer, **options: Any) -> None:
        options.setdefault("cookie", {"max_age": MAX_AGE})
        if kind == "asgi":
            self.client: Any = redis.async_client()
            store: Any = AsyncRedisStore(self.client)
            self.server: Any = UvicornThread(asgi_app(store=store, **options))
        else:
            self.client = redis.client()
            self.server = WaitressThread(wsgi_app(store=RedisStore(self.client), **options))
        self.server.start()
        self.browser = httpx.Client(base_url=self.server.url, timeout=10)

    def get(self, path: str = "/") -> httpx.Response:
        response = self.browser.get(path)
        assert response.status_code == 200, response.text
        return response

    def close(self) -> None:
        self.browser.close()
        self.server.stop()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(fastsession._clock, "now", fake)
    return fake


@pytest.fixture
def monitor(redis_db: RedisServer) -> Iterator[CommandLog]:
    log = CommandLog(redis_db)
    yield log
    log.close()


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def site(kind: str, redis: RedisServer, **options: Any) -> Iterator[Site]:
    s = Site(kind, redis, **options)
    try:
        yield s
    finally:
        s.close()


def test_touch_after_a_read_is_one_get_until_due(
    kind: str, redis_db: RedisServer, monitor: CommandLog, clock: FakeClock
) -> None:
    for s in site(kind, redis_db, rolling=True, touch_after=60):
        sid = s.get("/views").json()["sid"]
        key = f"sess:{sid}"
        assert [c[0] for c in monitor.take()] == ["SET"]
        for _ in range(3):
            clock.advance(15)
            response = s.get()
            assert monitor.take() == [["GET", key]]
            assert response.headers.get_list("set-cookie") == []
            assert response.headers["vary"] == "Cookie"
        clock.advance(15)  # 60 s since the last renewal
        response = s.get()
        # The renewal is a save: the record holds the renewal time (EXPIRE would not),
        # written only if the session is still stored (XX: never brought back).
        commands = monitor.take()
        assert [c[:2] for c in commands] == [["GET", key], ["SET", key]]
        assert sorted(commands[1][3:]) == sorted(["XX", "EX", str(MAX_AGE)])
        record = json.loads(commands[1][2])
        assert record["cookie"]["expires"] == iso(clock.now + MAX_AGE)
        assert len(response.headers.get_list("set-cookie")) == 1
        assert response.headers["cache-control"] == "private"
        clock.advance(1)
        s.get()
        assert monitor.take() == [["GET", key]]


def test_without_touch_after_every_read_expires(
    kind: str, redis_db: RedisServer, monitor: CommandLog, clock: FakeClock
) -> None:
    for s in site(kind, redis_db):
        sid = s.get("/views").json()["sid"]
        monitor.take()
        clock.advance(1)
        s.get()
        assert monitor.take() == [["GET", f"sess:{sid}"], ["EXPIRE", f"sess:{sid}", str(MAX_AGE)]]


def test_absolute_timeout_over_http(
    kind: str, redis_db: RedisServer, monitor: CommandLog, clock: FakeClock
) -> None:
    for s in site(kind, redis_db, rolling=True, absolute_timeout=600, touch_after=60):
        first = s.get("/views").json()["sid"]
        record = json.loads(redis_db.admin().get(f"sess:{first}"))
        assert record["_created"] == int(clock.now * 1000)
        for _ in range(5):  # active every 100 s: idle never, absolute at 600 s
            clock.advance(100)
            assert s.get("/views").json() == {"sid": first, "views": _ + 2}
        monitor.take()
        clock.advance(100)
        body = s.get("/views").json()
        assert body["sid"] != first and body["views"] == 1
        commands = monitor.take()
        assert commands[:2] == [["GET", f"sess:{first}"], ["DEL", f"sess:{first}"]]
        assert [c[0] for c in commands[2:]] == ["SET"]
        assert redis_db.admin().exists(f"sess:{first}") == 0


def test_cache_headers_over_http(kind: str, redis_db: RedisServer) -> None:
    for s in site(kind, redis_db):
        response = s.get("/views")
        assert response.headers["vary"] == "Cookie"
        assert response.headers["cache-control"] == "private"
    for s in site(kind, redis_db, cache_headers=False):
        response = s.get("/views")
        assert "vary" not in response.headers and "cache-control" not in response.headers


def test_every_lifetime_option_over_http_on_memory_store(kind: str, clock: FakeClock) -> None:
    store = RecordingStore()

    def take() -> list[str]:
        ops = [op for op, _ in store.ops]
        store.ops.clear()
        return ops

    options: dict[str, Any] = {
        "store": store,
        "cookie": {"max_age": MAX_AGE},
        "rolling": True,
        "touch_after": 60,
        "absolute_timeout": 600,
    }
    app = asgi_app(**options) if kind == "asgi" else wsgi_app(**options)
    server: Any = UvicornThread(app) if kind == "asgi" else WaitressThread(app)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            response = browser.get("/views")
            sid = response.json()["sid"]
            assert take() == ["set"]
            assert response.headers["vary"] == "Cookie"
            assert response.headers["cache-control"] == "private"
            clock.advance(30)  # within touch_after: one get, nothing renewed or sent
            response = browser.get("/")
            assert take() == ["get"] and response.headers.get_list("set-cookie") == []
            assert response.headers["vary"] == "Cookie" and "cache-control" not in response.headers
            clock.advance(30)  # due: renewed by a save, the rolling cookie re-sent
            response = browser.get("/")
            assert take() == ["get", "replace"]
            assert len(response.headers.get_list("set-cookie")) == 1
            stored = store.get(sid)
            assert stored is not None and stored["cookie"]["expires"] == iso(clock.now + MAX_AGE)
            take()
            clock.advance(600)  # past absolute_timeout since the login, however active
            body = browser.get("/views").json()
            assert body["sid"] != sid and body["views"] == 1
            assert take() == ["get", "destroy", "set"]
            assert store.get(sid) is None
    finally:
        server.stop()
