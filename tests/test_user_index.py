"""The per-user index through the middleware (option ``user_key``), over real HTTP:
uvicorn on 127.0.0.1, browsers as httpx clients, MemoryStore and Redis (a real
redis-server); "log out everywhere" from another process; the option's errors.

Run on both kernel twins (the MemoryStore's data path is the kernel's)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_servers import UvicornThread
from redis_server import RedisServer, redis_db, redis_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import fastsession
from fastsession.stores.memory import MemoryStore
from fastsession.stores.redis import AsyncRedisStore, RedisStore

__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here

SECRET = "a-test-secret-that-is-long-enough-0123456789"
ROOT = Path(__file__).resolve().parent.parent


async def call(store: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(store, name)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def make_app(store: Any) -> Any:
    """Login (regenerating the id), a user switch without one, logout keeping the
    session, "your devices" and "log out everywhere else"."""

    def me(request: Request) -> dict[str, Any]:
        return {"sid": request.scope["session_id"], "user": request.session.get("user_id")}

    async def login(request: Request) -> JSONResponse:
        session = await request.scope["session"].regenerate()
        session["user_id"] = json.loads(request.path_params["user"])
        return JSONResponse(me(request))

    async def switch(request: Request) -> JSONResponse:
        request.session["user_id"] = json.loads(request.path_params["user"])
        return JSONResponse(me(request))

    async def logout(request: Request) -> JSONResponse:
        request.session.pop("user_id", None)
        request.session["left"] = True
        return JSONResponse(me(request))

    async def whoami(request: Request) -> JSONResponse:
        request.session["views"] = request.session.get("views", 0) + 1
        return JSONResponse({**me(request), "views": request.session["views"]})

    async def devices(request: Request) -> JSONResponse:
        found = await call(store, "sessions_of", request.session["user_id"])
        return JSONResponse(sorted(found))

    async def everywhere(request: Request) -> JSONResponse:
        sid = request.scope["session_id"]
        count = await call(store, "destroy_user", request.session["user_id"], keep=sid)
        return JSONResponse({"destroyed": count})

    routes = [
        Route("/login/{user}", login, methods=["POST"]),
        Route("/switch/{user}", switch, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/me", whoami),
        Route("/devices", devices),
        Route("/everywhere", everywhere, methods=["POST"]),
    ]
    return fastsession.SessionMiddleware(
        Starlette(routes=routes), secret=SECRET, store=store, user_key="user_id"
    )


@pytest.fixture(params=["memory", "redis", "async-redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
        return
    server: RedisServer = request.getfixturevalue("redis_db")
    if request.param == "redis":
        client = server.client()
        yield RedisStore(client)
        client.close()
    else:
        yield AsyncRedisStore(server.async_client())


@pytest.fixture
def site(store: Any) -> Iterator[str]:
    server = UvicornThread(make_app(store)).start()
    yield server.url
    server.stop()


def browser(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=10)


def test_your_devices_and_log_out_everywhere_else(site: str) -> None:
    with browser(site) as phone, browser(site) as laptop, browser(site) as other:
        first = phone.get("/me").json()["sid"]
        phone_sid = phone.post("/login/%22alice%22").json()["sid"]
        assert phone_sid != first  # regenerated: the old id is in no index
        laptop_sid = laptop.post("/login/%22alice%22").json()["sid"]
        bob_sid = other.post("/login/%22bob%22").json()["sid"]
        assert phone.get("/devices").json() == sorted([phone_sid, laptop_sid])
        assert other.get("/devices").json() == [bob_sid]

        assert phone.post("/everywhere").json() == {"destroyed": 1}
        after = laptop.get("/me").json()
        assert after["user"] is None and after["sid"] != laptop_sid  # logged out: anew
        assert phone.get("/me").json() == {"sid": phone_sid, "user": "alice", "views": 1}
        assert other.get("/me").json()["user"] == "bob"
        assert phone.get("/devices").json() == [phone_sid]


def test_a_user_switch_and_a_logout_move_the_session(site: str) -> None:
    with browser(site) as one, browser(site) as two:
        sid = one.post("/login/42").json()["sid"]
        two_sid = two.post("/login/%2242%22").json()["sid"]  # "42" and 42: one user
        assert one.get("/devices").json() == sorted([sid, two_sid])
        assert one.post("/switch/7").json() == {"sid": sid, "user": 7}
        assert one.get("/devices").json() == [sid]
        assert two.get("/devices").json() == [two_sid]
        assert two.post("/logout").json() == {"sid": two_sid, "user": None}
        assert two.get("/me").json() == {"sid": two_sid, "user": None, "views": 1}
        assert one.post("/switch/42").json()["sid"] == sid
        assert one.get("/devices").json() == [sid]  # the logged-out session is in no index


def test_destroy_user_from_another_process_logs_a_browser_out(redis_db: RedisServer) -> None:
    client = redis_db.client()
    server = UvicornThread(make_app(RedisStore(client))).start()
    try:
        with browser(server.url) as alice, browser(server.url) as bob:
            sid = alice.post("/login/%22alice%22").json()["sid"]
            alice.post("/login/%22alice%22")  # a second login: the first id is gone
            sid = alice.get("/me").json()["sid"]
            bob.post("/login/%22bob%22")
            script = textwrap.dedent(
                f"""
                import redis
                from fastsession.stores.redis import RedisStore
                store = RedisStore(redis.Redis(host="127.0.0.1", port={redis_db.port}),
                                   user_key="user_id")
                print(store.destroy_user("alice"))
                """
            )
            done = subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
                check=True,
            )
            assert done.stdout.strip() == "1"
            after = alice.get("/me").json()
            assert after["user"] is None and after["sid"] != sid
            assert bob.get("/me").json()["user"] == "bob"
    finally:
        server.stop()
        client.close()


# -- the option ----------------------------------------------------------------------


class _NoIndex:
    def get(self, sid: str) -> Any:
        return None

    def set(self, sid: str, session: Any) -> None:
        pass

    def destroy(self, sid: str) -> None:
        pass


async def _app(scope: Any, receive: Any, send: Any) -> None:
    pass


def test_a_store_without_an_index_is_refused() -> None:
    with pytest.raises(TypeError, match="option 'user_key'.*_NoIndex.*index_users"):
        fastsession.SessionMiddleware(_app, secret=SECRET, store=_NoIndex(), user_key="uid")


@pytest.mark.parametrize(
    ("key", "error"),
    [(3, TypeError), ("", ValueError), ("a b", ValueError), ("cookie", ValueError)],
)
def test_a_bad_user_key_is_refused(key: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="option 'user_key"):
        fastsession.WSGISessionMiddleware(_app, secret=SECRET, user_key=key)


def test_one_store_indexes_one_key() -> None:
    store = MemoryStore()
    fastsession.SessionMiddleware(_app, secret=SECRET, store=store, user_key="uid")
    fastsession.WSGISessionMiddleware(_app, secret=SECRET, store=store, user_key="uid")
    with pytest.raises(ValueError, match="option 'user_key'.*already indexes.*'uid'"):
        fastsession.SessionMiddleware(_app, secret=SECRET, store=store, user_key="account")
    assert store.user_key == "uid"


def test_without_user_key_the_store_keeps_no_index() -> None:
    store = MemoryStore()
    fastsession.SessionMiddleware(_app, secret=SECRET, store=store)
    assert store.user_key is None
    assert "set" not in vars(store)  # MemoryCore's own set: the request path unchanged
    with pytest.raises(TypeError, match="keeps no user index"):
        store.sessions_of("alice")


def test_a_memory_store_indexes_only_from_empty() -> None:
    from fastsession.testing import StandInSession

    store = MemoryStore()
    store.set("a", StandInSession("a", {"uid": 1}, now=fastsession._clock.now(), max_age=60))
    with pytest.raises(ValueError, match="already holds sessions; pass user_key="):
        store.index_users("uid")
    assert store.user_key is None
    indexed = MemoryStore(user_key="uid")
    indexed.set("a", StandInSession("a", {"uid": 1}, now=fastsession._clock.now(), max_age=60))
    assert list(indexed.sessions_of(1)) == ["a"]
