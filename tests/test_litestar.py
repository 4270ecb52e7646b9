"""Litestar: DefineMiddleware(SessionMiddleware, ...), one login across routes,
clear_session() as a logout that empties the store, set_session() replacing the
data; through Litestar's test client and over uvicorn on 127.0.0.1."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from app_servers import UvicornThread
from litestar import Litestar, Request, WebSocket, get, post, websocket
from litestar.middleware import DefineMiddleware
from litestar.response import Redirect
from litestar.testing import TestClient

from fastsession import MemoryStore, SessionMiddleware
from fastsession.engine import default_store
from fastsession.starlette import get_session

SECRET = "a-test-secret-that-is-long-enough-0123456789"
AnyRequest = Request[Any, Any, Any]


@dataclass
class Prefs:
    theme: str
    size: int


def make_app(**options: Any) -> Litestar:
    @get("/")
    async def home(request: AnyRequest) -> dict[str, Any]:
        session = get_session(request)
        session["views"] = session.get("views", 0) + 1
        return {"user": session.get("user"), "views": session["views"], "id": session.id}

    @post("/login")
    async def login(request: AnyRequest) -> Redirect:
        form = parse_qs((await request.body()).decode())
        session = get_session(request)
        await session.regenerate()
        session["user"] = form["user"][0]
        return Redirect("/", status_code=302)

    @get("/logout")
    async def logout(request: AnyRequest) -> Redirect:
        request.clear_session()
        return Redirect("/", status_code=302)

    @post("/replace")
    async def replace(request: AnyRequest) -> None:
        request.set_session({"replaced": True})

    @post("/replace-dataclass")
    async def replace_dataclass(request: AnyRequest) -> None:
        request.set_session(Prefs(theme="dark", size=3))  # type: ignore[arg-type]

    @get("/other")
    async def other(request: AnyRequest) -> dict[str, Any]:
        return {"user": request.session.get("user")}

    @websocket("/ws")
    async def ws(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        await socket.send_json({"user": socket.session.get("user")})
        socket.clear_session()
        await socket.close()

    return Litestar(
        route_handlers=[home, login, logout, replace, replace_dataclass, other, ws],
        middleware=[DefineMiddleware(SessionMiddleware, secret=SECRET, **options)],
    )


def sid_of(client: httpx.Client | TestClient[Any]) -> str:
    value = client.cookies["connect.sid"]
    assert value.startswith("s:") or value.startswith("s%3A")
    return value.replace("s%3A", "s:")[2:].rsplit(".", 1)[0]


def test_define_middleware_passes_app_by_keyword() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    middleware = DefineMiddleware(SessionMiddleware, secret=SECRET)(app)
    assert isinstance(middleware, SessionMiddleware) and middleware.app is app


def test_middlewares_of_one_configuration_share_the_default_store() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    first = SessionMiddleware(app, secret=SECRET)
    second = SessionMiddleware(app=app, secret=SECRET, rolling=True)
    other_secret = SessionMiddleware(app, secret=SECRET + "x")
    other_name = SessionMiddleware(app, secret=SECRET, name="other.sid")
    assert first.engine.store is second.engine.store
    assert isinstance(first.engine.store, MemoryStore)
    assert other_secret.engine.store is not first.engine.store
    assert other_name.engine.store is not first.engine.store
    given = MemoryStore()
    assert SessionMiddleware(app, secret=SECRET, store=given).engine.store is given


def test_the_shared_default_store_goes_with_its_last_middleware() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    secret = SECRET + "-weak"
    middleware = SessionMiddleware(app, secret=secret)
    store = middleware.engine.store
    store.set("kept", _record_session("kept"))
    assert default_store(middleware.options) is store
    del middleware, store
    gc.collect()
    fresh = SessionMiddleware(app, secret=secret).engine.store
    assert fresh.get("kept") is None  # a new store: the old one was freed


def _record_session(sid: str) -> Any:
    from fastsession import Session

    session = Session(sid)
    session["v"] = 1
    return session


def test_login_survives_across_routes() -> None:
    with TestClient(make_app()) as client:
        assert client.get("/").json()["views"] == 1
        response = client.post("/login", content="user=ann", follow_redirects=False)
        assert response.status_code == 302
        assert client.get("/").json()["user"] == "ann"
        assert client.get("/other").json() == {"user": "ann"}


@pytest.mark.parametrize("unset", ["keep", "destroy"])
def test_clear_session_removes_the_data_from_the_store(unset: str) -> None:
    store = MemoryStore()
    with TestClient(make_app(store=store, unset=unset)) as client:
        client.post("/login", content="user=ann")
        sid = sid_of(client)
        assert store.get(sid)["user"] == "ann"  # type: ignore[index]
        response = client.get("/logout", follow_redirects=False)
        assert response.status_code == 302
        assert store.get(sid) is None
        assert store.length() == 0
        after = client.get("/").json()
        assert after["user"] is None and after["id"] != sid


def test_set_session_replaces_the_data() -> None:
    store = MemoryStore()
    with TestClient(make_app(store=store)) as client:
        client.post("/login", content="user=ann")
        sid = sid_of(client)
        assert client.post("/replace").status_code == 201
        record = store.get(sid)
        assert record is not None
        del record["cookie"]
        assert record == {"replaced": True}
        client.post("/replace-dataclass")
        record = store.get(sid)
        assert record is not None and record["theme"] == "dark" and record["size"] == 3
        assert "replaced" not in record


def test_websocket_clear_session_removes_the_data() -> None:
    store = MemoryStore()
    with TestClient(make_app(store=store)) as client:
        client.post("/login", content="user=ann")
        sid = sid_of(client)
        with client.websocket_connect("/ws") as socket:
            assert socket.receive_json() == {"user": "ann"}
        assert store.get(sid) is None


@pytest.fixture
def server() -> Iterator[str]:
    thread = UvicornThread(make_app()).start()
    try:
        yield thread.url
    finally:
        thread.stop()


def test_over_uvicorn_login_redirect_and_logout(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        assert client.get("/").json()["views"] == 1
        assert client.get("/").json()["views"] == 2
        response = client.post(
            "/login",
            content="user=ann",
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=True,
        )
        assert response.json()["user"] == "ann"  # the redirect found the saved login
        assert client.get("/other").json() == {"user": "ann"}
        sid = sid_of(client)
        # The default store Litestar's per-route middlewares share is the one
        # any middleware of the same configuration gets.
        store = SessionMiddleware(_noop, secret=SECRET).engine.store
        assert store.get(sid)["user"] == "ann"  # type: ignore[index]
        client.get("/logout")
        assert store.get(sid) is None
        assert client.get("/other").json() == {"user": None}
        assert client.get("/").json()["id"] != sid


async def _noop(scope: Any, receive: Any, send: Any) -> None: ...


def test_flash_messages_are_shown_once_after_a_redirect() -> None:
    # Litestar's own flash() keeps its messages in request.session ("_messages").
    from litestar.plugins.flash import flash

    @post("/say")
    async def say(request: AnyRequest) -> Redirect:
        flash(request, "saved", "info")
        flash(request, "twice", "warning")
        return Redirect("/read", status_code=302)

    @get("/read")
    async def read(request: AnyRequest) -> dict[str, Any]:
        return {"messages": request.session.pop("_messages", [])}

    store = MemoryStore()
    app = Litestar(
        route_handlers=[say, read],
        middleware=[DefineMiddleware(SessionMiddleware, secret=SECRET, store=store)],
    )
    with TestClient(app) as client:
        shown = client.post("/say").json()["messages"]
        assert shown == [
            {"message": "saved", "category": "info"},
            {"message": "twice", "category": "warning"},
        ]
        assert client.get("/read").json() == {"messages": []}  # shown once
        [record] = store.all().values()
        assert "_messages" not in record
