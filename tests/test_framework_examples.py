"""Each framework's example in examples/, served by uvicorn on 127.0.0.1 and
driven by an HTTP client that keeps cookies: a counter, a login that
regenerates the id and redirects to a page that finds the user, a logout that
removes the session from the store."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from app_servers import UvicornThread

from fastsession import SessionMiddleware

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def load_example(name: str) -> ModuleType:
    module_name = f"framework_example_{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Litestar and FastAPI resolve the handlers' annotations in their module.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _store_of(module: ModuleType) -> Any:
    """The default MemoryStore the example's middleware uses: any middleware of
    the same secret and cookie name shares it."""

    async def noop(scope: Any, receive: Any, send: Any) -> None: ...

    return SessionMiddleware(noop, secret=module.SECRET).engine.store


@pytest.fixture(params=["fastapi_app", "litestar_app"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[ModuleType, str]]:
    module = load_example(request.param)
    server = UvicornThread(module.app).start()
    try:
        yield module, server.url
    finally:
        server.stop()


def _sid(client: httpx.Client) -> str:
    return client.cookies["connect.sid"].replace("s%3A", "s:")[2:].rsplit(".", 1)[0]


def test_counter_login_logout(served: tuple[ModuleType, str]) -> None:
    module, url = served
    store = _store_of(module)
    with httpx.Client(base_url=url) as client:
        assert "views: 1" in client.get("/").text
        assert "views: 2" in client.get("/").text
        anonymous = _sid(client)
        response = client.post("/login", content="user=ann", headers=FORM, follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"] == "/"
        sid = _sid(client)
        assert sid != anonymous  # regenerated at login
        assert store.get(anonymous) is None
        assert store.get(sid)["user"] == "ann"
        page = client.get("/").text
        assert "hello, ann!" in page and "views: 1" in page
        assert client.get("/logout", follow_redirects=False).status_code == 302
        assert store.get(sid) is None  # the logout removed it from the store
        assert "Log in" in client.get("/").text


def test_sessions_are_per_client(served: tuple[ModuleType, str]) -> None:
    _, url = served
    with httpx.Client(base_url=url) as ann, httpx.Client(base_url=url) as bob:
        ann.post("/login", content="user=ann", headers=FORM)
        bob.post("/login", content="user=bob", headers=FORM)
        assert "hello, ann!" in ann.get("/").text
        assert "hello, bob!" in bob.get("/").text


def test_fastapi_websocket_sees_the_login() -> None:
    module = load_example("fastapi_app")
    from fastapi.testclient import TestClient

    with TestClient(module.app) as client:
        client.post("/login", content="user=ann", headers=FORM)  # redirected to "/"
        with client.websocket_connect("/ws") as socket:
            assert socket.receive_json() == {"user": "ann", "views": 1}


def test_litestar_set_session_replaces_the_data() -> None:
    module = load_example("litestar_app")
    server = UvicornThread(module.app).start()
    store = _store_of(module)
    try:
        with httpx.Client(base_url=server.url) as client:
            client.post("/login", content="user=ann", headers=FORM)
            response = client.post("/preferences", content="theme=dark", headers=FORM)
            assert response.json() == {"theme": "dark"}
            record = store.get(_sid(client))
            del record["cookie"]
            assert record == {"theme": "dark"}
    finally:
        server.stop()
