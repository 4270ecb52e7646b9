"""fastsession.flask: ``flask.session`` as a fastsession session, through Flask's
test client and under waitress on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_servers import ExpressApp, WaitressThread, require_node
from flask import Flask, flash, get_flashed_messages, redirect, request, session
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
from redis_server import RedisServer, redis_db, redis_server
from werkzeug.wrappers import Response

from fastsession import MemoryStore, Session
from fastsession.errors import SerializationError
from fastsession.flask import FastSession, FlaskSession, get_session
from fastsession.stores.redis import RedisStore
from fastsession.stores.sqlite import SQLiteStore

__all__ = ["redis_db", "redis_server"]  # the helper's fixtures, used here


def make_app(store: Any = None, config: dict[str, Any] | None = None, **options: Any) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET
    app.config.update(config or {})
    FastSession(app, store=store, **options)

    @app.get("/count")
    def count() -> dict[str, Any]:
        session["views"] = session.get("views", 0) + 1
        s = get_session()
        return {"views": session["views"], "sid": s.id, "new": s.new}

    @app.post("/login")
    def login() -> Response:
        get_session().regenerate()
        session["user"] = request.args["user"]
        return redirect("/whoami")

    @app.get("/whoami")
    def whoami() -> dict[str, Any]:
        return {"user": session.get("user"), "sid": get_session().id}

    @app.post("/logout")
    def logout() -> str:
        get_session().destroy()
        return "bye"

    @app.post("/clear")
    def clear() -> str:
        session.clear()
        return "cleared"

    @app.post("/flash")
    def flash_it() -> Response:
        flash("saved")
        flash("careful", "warning")
        return redirect("/messages")

    @app.get("/messages")
    def messages() -> dict[str, Any]:
        return {"messages": [list(m) for m in get_flashed_messages(with_categories=True)]}

    @app.post("/permanent/<int:on>")
    def permanent(on: int) -> str:
        session.permanent = bool(on)
        session["user"] = "ann"
        return "ok"

    @app.get("/untouched")
    def untouched() -> str:
        return "no session read"

    @app.post("/cart")
    def cart() -> dict[str, Any]:
        # An in-place change to a nested value: no "session.modified = True" needed.
        session.setdefault("cart", []).append(request.args["item"])
        return {"cart": session["cart"]}

    return app


def store_of(app: Flask) -> Any:
    return app.extensions["fastsession"].store


def test_flask_session_is_a_fastsession_session_with_flasks_mixin() -> None:
    app = make_app()
    seen: dict[str, Any] = {}

    @app.get("/types")
    def types() -> str:
        s = get_session()
        seen.update(
            mixin=isinstance(session, SessionMixin),
            fastsession=isinstance(s, Session) and isinstance(s, FlaskSession),
            new=s.new,
            modified=s.modified,
            permanent=s.permanent,
        )
        return ""

    app.test_client().get("/types")
    assert seen == {
        "mixin": True,
        "fastsession": True,
        "new": True,
        "modified": False,
        "permanent": False,
    }


def test_counter_cookie_once_and_data_in_the_store() -> None:
    app = make_app()
    client = app.test_client()
    first = client.get("/count")
    (line,) = set_cookies(first.headers, "session")
    sid = sid_of(line)
    assert first.json == {"views": 1, "sid": sid, "new": True}
    assert attributes(line) == {"path": "/", "httponly": ""}  # a browser-session cookie
    for n in (2, 3):
        response = client.get("/count")
        assert response.json == {"views": n, "sid": sid, "new": False}
        assert set_cookies(response.headers, "session") == []  # not rolling, not permanent
    record = store_of(app).get(sid)
    assert record["views"] == 3 and set(record["cookie"]) == {
        "originalMaxAge", "expires", "httpOnly", "path",
    }  # fmt: skip


def test_login_regenerates_and_the_redirect_finds_the_user() -> None:
    app = make_app()
    client = app.test_client()
    old = client.get("/count").json["sid"]
    response = client.post("/login?user=ann")
    assert response.status_code == 302
    new = sid_of(set_cookies(response.headers, "session")[0])
    assert new is not None and new != old
    assert store_of(app).get(old) is None  # regenerate destroyed the old id
    assert store_of(app).get(new)["user"] == "ann"  # saved before the redirect left
    assert client.get("/whoami").json == {"user": "ann", "sid": new}


@pytest.mark.parametrize("route", ["/logout", "/clear"])
def test_logout_removes_the_data_from_the_store_and_the_cookie(route: str) -> None:
    app = make_app()
    client = app.test_client()
    client.post("/login?user=ann", follow_redirects=True)
    sid = client.get("/whoami").json["sid"]
    assert store_of(app).get(sid) is not None
    response = client.post(route)
    assert store_of(app).get(sid) is None
    assert store_of(app).length() == 0
    (line,) = set_cookies(response.headers, "session")
    assert is_deletion(line)
    assert client.get_cookie("session") is None
    assert client.get("/whoami").json["user"] is None


def test_flash_messages_survive_one_redirect() -> None:
    app = make_app()
    client = app.test_client()
    response = client.post("/flash", follow_redirects=True)
    assert response.json == {"messages": [["message", "saved"], ["warning", "careful"]]}
    assert client.get("/messages").json == {"messages": []}  # shown once


def test_session_transaction_writes_and_reads_the_store() -> None:
    app = make_app()
    client = app.test_client()
    with client.session_transaction() as sess:
        assert isinstance(sess, FlaskSession) and dict(sess) == {}
        sess["user"] = "bob"
        sess["views"] = 41
    assert client.get("/whoami").json["user"] == "bob"
    assert client.get("/count").json["views"] == 42
    with client.session_transaction() as sess:
        assert sess["views"] == 42 and sess.id == client.get("/whoami").json["sid"]
        sid = sess.id
    assert store_of(app).get(sid)["user"] == "bob"


def test_vary_cookie_only_when_the_session_was_used() -> None:
    client = make_app().test_client()
    assert "Cookie" in client.get("/count").headers.get("Vary", "")
    assert "Vary" not in client.get("/untouched").headers


def test_nested_change_is_saved_by_comparing_the_data() -> None:
    app = make_app()
    client = app.test_client()
    client.post("/cart?item=apple")
    assert client.post("/cart?item=pear").json == {"cart": ["apple", "pear"]}
    with client.session_transaction() as sess:
        assert sess["cart"] == ["apple", "pear"]


def test_permanent_session_gets_the_lifetime_and_a_refreshed_cookie() -> None:
    app = make_app(config={"PERMANENT_SESSION_LIFETIME": timedelta(hours=2)})
    client = app.test_client()
    response = client.post("/permanent/1")
    (line,) = set_cookies(response.headers, "session")
    sid = sid_of(line)
    expires = attributes(line)["expires"]
    assert expires and sid is not None
    assert store_of(app).get(sid)["cookie"]["originalMaxAge"] == 2 * 3600 * 1000
    # SESSION_REFRESH_EACH_REQUEST (True by default): every response re-sends it.
    again = set_cookies(client.get("/whoami").headers, "session")
    assert len(again) == 1 and sid_of(again[0]) == sid and "expires" in attributes(again[0])
    # No longer permanent: the cookie becomes a browser-session cookie.
    back = set_cookies(client.post("/permanent/0").headers, "session")
    assert len(back) == 1 and "expires" not in attributes(back[0])
    assert store_of(app).get(sid)["cookie"]["originalMaxAge"] is None
    assert set_cookies(client.get("/whoami").headers, "session") == []


def test_permanent_without_refresh_sends_the_cookie_only_when_changed() -> None:
    app = make_app(config={"SESSION_REFRESH_EACH_REQUEST": False})
    client = app.test_client()
    assert len(set_cookies(client.post("/permanent/1").headers, "session")) == 1
    assert set_cookies(client.get("/whoami").headers, "session") == []
    record = store_of(app).get(client.get("/whoami").json["sid"])
    assert record["cookie"]["originalMaxAge"] == 31 * 86400 * 1000  # Flask's default lifetime


def test_an_explicit_cookie_lifetime_applies_to_every_session() -> None:
    app = make_app(cookie={"max_age": 600})
    line = set_cookies(app.test_client().get("/count").headers, "session")[0]
    assert "expires" in attributes(line)
    assert store_of(app).get(sid_of(line))["cookie"]["originalMaxAge"] == 600_000


def test_config_gives_the_defaults() -> None:
    app = make_app(
        config={
            "SESSION_COOKIE_NAME": "app.sid",
            "SESSION_COOKIE_DOMAIN": "example.test",
            "SESSION_COOKIE_PATH": "/",
            "SESSION_COOKIE_HTTPONLY": False,
            "SESSION_COOKIE_SECURE": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_PARTITIONED": True,
        }
    )
    client = app.test_client()
    response = client.get("/count", base_url="https://example.test")
    (line,) = set_cookies(response.headers, "app.sid")
    assert attributes(line) == {
        "domain": "example.test",
        "path": "/",
        "secure": "",
        "partitioned": "",
        "samesite": "Lax",
    }


def test_explicit_options_win_over_the_config() -> None:
    app = make_app(
        config={"SESSION_COOKIE_NAME": "from.config", "SESSION_COOKIE_SAMESITE": "Strict"},
        secret="an explicit secret that wins over SECRET_KEY",
        name="connect.sid",
        cookie={"same_site": "lax", "http_only": False},
    )
    response = app.test_client().get("/count")
    assert set_cookies(response.headers, "from.config") == []
    (line,) = set_cookies(response.headers, "connect.sid")
    assert attributes(line) == {"path": "/", "samesite": "Lax"}
    assert sid_of(line, "an explicit secret that wins over SECRET_KEY") is not None
    assert sid_of(line, SECRET) is None


def test_cookie_path_from_application_root() -> None:
    app = make_app(config={"APPLICATION_ROOT": "/shop"})
    response = app.test_client().get("/count", environ_overrides={"SCRIPT_NAME": "/shop"})
    assert attributes(set_cookies(response.headers, "session")[0])["path"] == "/shop"


def test_secret_key_fallbacks_verify_old_cookies() -> None:
    store = MemoryStore()
    old_app = make_app(store, config={"SECRET_KEY": OLD_SECRET})
    client = old_app.test_client()
    sid = client.get("/count").json["sid"]
    rotated = make_app(store, config={"SECRET_KEY": SECRET, "SECRET_KEY_FALLBACKS": [OLD_SECRET]})
    client.application = rotated
    response = client.post("/permanent/1")  # a change: the cookie is sent again
    (line,) = set_cookies(response.headers, "session")
    assert sid_of(line, SECRET) == sid  # the same session, now signed with the new key
    assert sid_of(line, OLD_SECRET) is None
    assert client.get("/count").json == {"views": 2, "sid": sid, "new": False}
    # Without the fallback, the old key's cookies are not trusted.
    stranger = old_app.test_client()
    stranger.get("/count")
    stranger.application = make_app(store)
    assert stranger.get("/count").json["views"] == 1


def test_missing_secret_key_is_an_error_at_setup() -> None:
    app = Flask(__name__)
    with pytest.raises(ValueError, match="SECRET_KEY"):
        FastSession(app)


def test_bad_config_names_the_key() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SESSION_COOKIE_SAMESITE="sometimes")
    with pytest.raises(ValueError, match="SESSION_COOKIE_SAMESITE"):
        FastSession(app)
    app.config.update(SESSION_COOKIE_SAMESITE=None, PERMANENT_SESSION_LIFETIME=0)
    with pytest.raises(ValueError, match="PERMANENT_SESSION_LIFETIME"):
        FastSession(app)
    with pytest.raises(TypeError, match="serializer"):
        FastSession(serializer="pickle").init_app(Flask(__name__))


def test_init_app_later_with_one_extension_for_two_apps() -> None:
    ext = FastSession(cookie={"max_age": 60})
    first, second = Flask("one"), Flask("two")
    for app in (first, second):
        app.config["SECRET_KEY"] = SECRET
        ext.init_app(app)

        @app.get("/")
        def home() -> str:
            session["n"] = session.get("n", 0) + 1
            return str(session["n"])

    # The default MemoryStore is shared by whatever reads the same cookie (the
    # same secrets and name: fastsession.engine.default_store), as a Redis would be.
    assert first.extensions["fastsession"].store is second.extensions["fastsession"].store
    client = first.test_client()
    assert [client.get("/").text for _ in range(2)] == ["1", "2"]
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = second.test_client()
    other.set_cookie("session", cookie.value)
    assert other.get("/").text == "3"  # the same session, read by the other app

    third = Flask("three")
    third.config["SECRET_KEY"] = "another secret that is long enough for the check"
    ext.init_app(third)
    assert third.extensions["fastsession"].store is not first.extensions["fastsession"].store


def test_default_json_refuses_a_datetime_naming_the_key() -> None:
    app = make_app()
    app.testing = True

    @app.get("/when")
    def when() -> str:
        session["when"] = TAGGED_VALUES["when"]
        return "ok"

    with pytest.raises(SerializationError, match="'when'"):
        app.test_client().get("/when")


@pytest.mark.parametrize("serializer", ["tagged", "instance"])
def test_tagged_serializer_round_trips_flasks_values(serializer: str) -> None:
    from flask.json.tag import TaggedJSONSerializer

    store = MemoryStore()
    codec: Any = "tagged" if serializer == "tagged" else TaggedJSONSerializer()
    app = make_app(store, serializer=codec)
    seen: dict[str, Any] = {}

    @app.post("/values")
    def put() -> str:
        session.update(TAGGED_VALUES)
        return "ok"

    @app.get("/values")
    def get() -> str:
        seen.update(session)
        seen["modified"] = session.modified
        return "ok"

    client = app.test_client()
    sid = sid_of(set_cookies(client.post("/values").headers, "session")[0])
    client.get("/values")
    assert seen.pop("modified") is False  # the data JSON compares equal after loading
    assert seen == TAGGED_VALUES
    assert type(seen["pair"]) is tuple and type(seen["pair"][1]) is int
    assert isinstance(seen["html"], Markup)
    # The record stays express-session's JSON: tagged values are plain objects in it.
    record = json.loads(store.lru.get(sid))
    assert list(record)[0] == "cookie"
    assert record["when"] == {" d": "Sun, 17 May 2026 08:30:15 GMT"}
    assert record["raw"] == {" b": "AP9ieXRlcw=="}
    assert record["pair"] == {" t": ["a", 1, {" t": ["nested", 2.5]}]}
    assert record["lookalike"] == {" di": {" t__": [1, 2]}}


def test_tagged_serializer_with_sqlite(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sessions.db")
    app = make_app(store, serializer="tagged")

    @app.post("/when")
    def put() -> str:
        session["when"] = TAGGED_VALUES["when"]
        return "ok"

    @app.get("/when")
    def get() -> str:
        return session["when"].isoformat()  # type: ignore[no-any-return]

    client = app.test_client()
    client.post("/when")
    assert client.get("/when").text == "2026-05-17T08:30:15+00:00"
    (sid,) = store.all()
    assert store.get(sid)["when"] == {" d": "Sun, 17 May 2026 08:30:15 GMT"}
    store.close()


# ------------------------------------------------------------ under waitress on 127.0.0.1


@pytest.fixture
def example_server() -> Iterator[tuple[str, MemoryStore]]:
    store = MemoryStore()
    app = load_example("flask_app").create_app(store, secret=SECRET)
    server = WaitressThread(app).start()
    try:
        yield server.url, store
    finally:
        server.stop()


def test_example_app_under_waitress(example_server: tuple[str, MemoryStore]) -> None:
    url, store = example_server
    with httpx.Client(base_url=url, timeout=10) as browser:
        first = browser.get("/")
        assert "views: 1" in first.text and "Log in" in first.text
        (line,) = set_cookies(first.headers, "session")
        anonymous = sid_of(line)
        assert "views: 2" in browser.get("/").text
        # Log in: a new id, the old one gone, and the redirect finds the user.
        login = browser.post("/login", data={"user": "ann"})
        assert login.status_code == 302 and login.headers["location"] == "/"
        user_sid = sid_of(set_cookies(login.headers, "session")[0])
        assert user_sid != anonymous and store.get(anonymous) is None
        page = browser.get("/")
        assert "hello, ann!" in page.text and "logged in as ann" in page.text
        assert "logged in as ann" not in browser.get("/").text  # flashed once
        assert store.get(user_sid)["user"] == "ann"
        # An empty name: an error flashed across the redirect.
        browser.post("/login", data={"user": " "})
        assert '<p class="error">a user name is needed</p>' in browser.get("/").text
        # Log out: the data leaves the store, the cookie is deleted.
        logout = browser.post("/logout")
        assert logout.status_code == 302 and is_deletion(set_cookies(logout.headers, "session")[0])
        assert store.get(user_sid) is None and store.length() == 0
        assert "session" not in browser.cookies
        assert "Log in" in browser.get("/").text


def test_sessions_expire_with_the_permanent_lifetime_under_waitress() -> None:
    store = MemoryStore()
    app = make_app(store, config={"PERMANENT_SESSION_LIFETIME": 1})
    server = WaitressThread(app).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            line = set_cookies(browser.post("/permanent/1").headers, "session")[0]
            sid = sid_of(line)
            assert browser.get("/whoami").json() == {"user": "ann", "sid": sid}
            time.sleep(2.1)
            assert store.get(sid) is None  # the record expired with the cookie
        # A client that kept the expired cookie anyway gets a new, empty session.
        headers = {"Cookie": line.split(";", 1)[0]}
        body = httpx.get(server.url + "/whoami", headers=headers, timeout=10).json()
        assert body["user"] is None and body["sid"] != sid
    finally:
        server.stop()


# ------------------------------------------------------------ shared with Express through Redis


def interop_app(secrets: list[str], store: Any) -> Flask:
    """tests/interop/app.mjs's routes on Flask, configured as the Express app is."""
    app = Flask(__name__)
    FastSession(app, secret=secrets, store=store, name=NAME, cookie={"max_age": MAX_AGE})

    @app.get("/whoami")
    def whoami() -> dict[str, Any]:
        return interop_view("flask", get_session())

    @app.post("/views")
    def views() -> dict[str, Any]:
        session["views"] = (session.get("views") or 0) + 1
        return interop_view("flask", get_session())

    @app.post("/login")
    def login() -> dict[str, Any]:
        session["user"] = request.args["user"]
        return interop_view("flask", get_session())

    @app.post("/logout")
    def logout() -> dict[str, Any]:
        get_session().destroy()
        return {"side": "flask", "sid": None}

    return app


class FlaskAndExpress:
    def __init__(self, redis: RedisServer, secrets: list[str]) -> None:
        self.client = redis.client()
        self.servers = {
            "express": ExpressApp(redis.url, secrets, name=NAME, max_age_ms=MAX_AGE * 1000),
            "flask": WaitressThread(interop_app(secrets, RedisStore(self.client))),
        }
        for server in self.servers.values():
            server.start()

    def url(self, side: str, path: str) -> str:
        return str(self.servers[side].url) + path

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.client.close()


@pytest.fixture(scope="module")
def with_express(redis_server: RedisServer) -> Iterator[FlaskAndExpress]:
    require_node()
    apps = FlaskAndExpress(redis_server, [NEW, OLD])
    yield apps
    apps.stop()


@pytest.mark.redis
@pytest.mark.node
@pytest.mark.parametrize("first", ["express", "flask"])
def test_a_redis_session_shared_with_express(
    first: str, with_express: FlaskAndExpress, redis_db: RedisServer
) -> None:
    other = "flask" if first == "express" else "express"
    with httpx.Client(timeout=10) as browser:
        body, cookie = call(browser, with_express, first, "POST", "/login?user=ann")
        assert cookie is not None and body["user"] == "ann"
        sid = body["sid"]
        assert sid_of(cookie, NEW) == sid  # signed with the first secret on both sides
        for n, side in enumerate([other, first, other], start=1):
            body, again = call(browser, with_express, side, "POST", "/views")
            assert (body["sid"], body["views"], body["user"]) == (sid, n, "ann")
            # The same signed cookie, whoever sends it (both set it: maxAge, modified).
            assert again is not None and pair(again) == pair(cookie)
            record = json.loads(redis_db.admin().get(f"sess:{sid}"))
            assert list(record) == ["cookie", "user", "views"] and record["views"] == n
            assert list(record["cookie"]) == COOKIE_FIELDS
        body, _ = call(browser, with_express, other, "POST", "/logout")
        assert body["sid"] is None
        assert redis_db.admin().exists(f"sess:{sid}") == 0
        body, _ = call(browser, with_express, first, "GET", "/whoami")
        assert body["user"] is None and body["sid"] != sid


def test_a_store_that_cannot_be_reached_is_a_server_error() -> None:
    import redis
    from redis_server import free_port

    store = RedisStore(redis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=1))
    app = make_app(store)
    response = app.test_client().get("/count")
    assert response.status_code == 500
    assert set_cookies(response.headers, "session") == []
