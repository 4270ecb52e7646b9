"""fastsession.django over real servers on 127.0.0.1: the project of
tests/django_project under Django's WSGI handler (waitress) and its ASGI handler
(uvicorn); a blocking store kept off the event loop; a Redis store shared with
the Express app of tests/interop; and examples/django_app under gunicorn and
uvicorn, each in its own process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_servers import ExpressApp
from django_support import PASSWORD, migrate, served
from interop_apps import MAX_AGE, NAME, call, pair
from redis_server import HOST, RedisServer, free_port, redis_db, redis_server

from fastsession.stores.memory import MemoryStore
from fastsession.stores.redis import AsyncRedisStore, RedisStore
from fastsession.stores.sqlite import SQLiteStore

__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "django_app"
COOKIE = "sessionid"


def sid_of(client: httpx.Client, name: str = COOKIE) -> str:
    value = client.cookies[name]
    assert value.startswith("s%3A"), value
    return value[4:].rsplit(".", 1)[0]


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_the_project_under_a_real_server(kind: str) -> None:
    store = MemoryStore()
    with (
        served(kind, {"store": store}) as url,
        httpx.Client(base_url=url, timeout=10) as browser,
    ):
        assert [browser.get(p).json()["views"] for p in ("/counter", "/acounter")] == [1, 2]
        anonymous = sid_of(browser)

        # Login: a new key, the redirect finds the user.
        response = browser.post(
            "/login", data={"username": "ann", "password": PASSWORD}, follow_redirects=True
        )
        who = response.json()
        assert who["user"] == "ann" and who["key_before_login"] == anonymous
        user_sid = sid_of(browser)
        assert user_sid != anonymous and store.get(anonymous) is None
        record = store.get(user_sid)
        assert record is not None and record["_auth_user_id"] == "1" and record["views"] == 2

        # Messages, and a form posted with the CSRF token kept in the session.
        shown = browser.get("/messages/add", params={"text": "hi"}, follow_redirects=True)
        assert shown.json()["messages"] == ["hi"]
        page = browser.get("/form").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None and "csrftoken" not in browser.cookies
        assert browser.post("/form", data={"csrfmiddlewaretoken": token.group(1)}).text == (
            "accepted"
        )
        assert browser.post("/form", data={}).status_code == 403

        # Logout: the data leaves the store; the message after it is in a new session.
        after = browser.post("/logout", follow_redirects=True).json()
        assert after["messages"] == ["logged out"]
        assert store.get(user_sid) is None
        assert sid_of(browser) != user_sid
        assert browser.get("/whoami").json()["user"] is None
        assert list(store.all()) == [sid_of(browser)]


class ThreadedSQLiteStore(SQLiteStore):
    """An SQLiteStore that notes the thread each call ran in."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.threads: set[str] = set()

    def get(self, sid: str) -> Any:
        self.threads.add(threading.current_thread().name)
        return super().get(sid)

    def set(self, sid: str, session: Any) -> None:
        self.threads.add(threading.current_thread().name)
        super().set(sid, session)


def test_a_blocking_store_runs_off_the_event_loop_under_asgi(tmp_path: Path) -> None:
    store = ThreadedSQLiteStore(tmp_path / "sessions.sqlite3")
    with (
        served("asgi", {"store": store}) as url,
        httpx.Client(base_url=url, timeout=10) as browser,
    ):
        loop_threads = {t.name for t in threading.enumerate()}
        assert [browser.get("/acounter").json()["views"] for _ in range(3)] == [1, 2, 3]
        browser.post("/alogin", data={"username": "bob", "password": PASSWORD})
        assert browser.get("/whoami").json()["user"] == "bob"
    assert store.threads and not store.threads & loop_threads
    record = store.get(sid_of(browser))
    assert record is not None and record["_auth_user_id"] == "2"


# ------------------------------------------------------------------ Express and Redis


class Sides:
    """Express and the Django project under both handlers, on one Redis."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    def url(self, side: str, path: str) -> str:
        if side == "express":
            return self.urls[side] + path
        return f"{self.urls[side]}/interop/{side}{path}"


@pytest.fixture
def sides(redis_db: RedisServer) -> Iterator[Sides]:
    secrets = ["interop secret, long enough to sign cookies"]
    migrate()
    express = ExpressApp(redis_db.url, secrets, name=NAME, max_age_ms=MAX_AGE * 1000).start()
    clients = [redis_db.client(), redis_db.async_client()]
    options = {"secret": secrets, "name": NAME, "cookie": {"max_age": MAX_AGE}}
    try:
        with (
            served("wsgi", {**options, "store": RedisStore(clients[0])}) as wsgi,
            served("asgi", {**options, "store": AsyncRedisStore(clients[1])}) as asgi,
        ):
            yield Sides({"express": express.url, "django-wsgi": wsgi, "django-asgi": asgi})
    finally:
        express.stop()
        clients[0].close()


@pytest.mark.redis
@pytest.mark.node
def test_a_session_shared_with_express(sides: Sides, redis_db: RedisServer) -> None:
    with httpx.Client(timeout=10) as browser:
        body, express_cookie = call(browser, sides, "express", "POST", "/login?user=ann")
        sid = body["sid"]
        cookies = [express_cookie]
        for n, side in enumerate(["django-wsgi", "django-asgi", "express", "django-wsgi"], 1):
            body, cookie = call(browser, sides, side, "POST", "/views")
            assert (body["sid"], body["views"], body["user"]) == (sid, n, "ann")
            cookies.append(cookie)
            stored = json.loads(redis_db.admin().get(f"sess:{sid}"))
            assert list(stored) == ["cookie", "user", "views"] and stored["views"] == n
        # The same signed cookie from every side (each resent it: the data changed).
        assert all(cookies) and len({pair(c) for c in cookies if c}) == 1

        # Logged out on Django's side: gone from Redis, so Express starts afresh.
        body, _ = call(browser, sides, "django-asgi", "POST", "/logout")
        assert redis_db.admin().keys("sess:*") == []
        body, _ = call(browser, sides, "express", "GET", "/whoami")
        assert body["sid"] != sid and body["user"] is None


# ------------------------------------------------------------------ the example


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def _serve_example(argv: list[str], port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "DJANGO_SECRET_KEY": "the example's secret key, long enough " * 2}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        argv,
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the example did not start: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            httpx.get(f"http://{HOST}:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the example did not answer within 30 s")


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_the_example_app(server: str) -> None:
    port = free_port()
    if server == "gunicorn":
        argv = [sys.executable, "-m", "gunicorn", "-b", f"{HOST}:{port}", "-w", "1"]
        argv.append("project.wsgi:application")
    else:
        argv = [sys.executable, "-m", "uvicorn", "--host", HOST, "--port", str(port)]
        argv += ["--lifespan", "off", "project.asgi:application"]
    process = _serve_example(argv, port)
    try:
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10) as browser:
            assert "views: 1" in browser.get("/").text
            page = browser.get("/").text
            assert "views: 2" in page
            before = browser.cookies["sessionid"]
            assert browser.post("/login", data={"name": "ann"}).status_code == 403  # no token
            form = {"name": "<b>ann</b>", "csrfmiddlewaretoken": csrf_token(page)}
            page = browser.post("/login", data=form, follow_redirects=True).text
            assert "hello, &lt;b&gt;ann&lt;/b&gt;!" in page and "views: 3" in page
            assert "welcome back, &lt;b&gt;ann" in page  # a message, shown once
            assert browser.cookies["sessionid"] != before  # cycle_key on login
            page = browser.get("/").text
            assert "welcome back" not in page and "views: 4" in page
            form = {"csrfmiddlewaretoken": csrf_token(page)}
            page = browser.post("/logout", data=form, follow_redirects=True).text
            assert "hello" not in page and "views: 1" in page and "signed out" in page
    finally:
        process.terminate()
        process.wait(10)
