"""The examples under real servers on 127.0.0.1: Starlette on uvicorn, Flask on waitress.

Each runs in a thread of this process and is driven by httpx with a cookie jar,
as a browser would.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
import waitress.server  # type: ignore[import-untyped]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


@contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_for(lambda: server.started or not thread.is_alive(), "uvicorn start")
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive()


@contextmanager
def waitress_server(app: Any) -> Iterator[str]:
    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # waitress has no stop(): close every dispatcher so its loop runs dry.
        while server._map:
            for dispatcher in list(server._map.values()):
                dispatcher.handle_close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_starlette_counter_under_uvicorn() -> None:
    app = load_example("starlette_counter").app
    with uvicorn_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        first = client.get("/")
        assert first.status_code == 200
        assert "views: 1" in first.text
        set_cookie = first.headers["set-cookie"]
        assert set_cookie.startswith("connect.sid=s%3A")
        assert "HttpOnly" in set_cookie and "Path=/" in set_cookie
        assert "expires in: 3600 s" in first.text or "expires in: 3599 s" in first.text
        assert "views: 2" in client.get("/").text
        assert "views: 3" in client.get("/").text
        with httpx.Client(base_url=url, timeout=30) as other:
            assert "views: 1" in other.get("/").text
        assert "views: 4" in client.get("/").text


def test_starlette_login_under_uvicorn() -> None:
    app = load_example("starlette_login").app
    with uvicorn_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert 'action="/login"' in client.get("/").text
        # Nothing stored yet: no cookie before the session is modified (save_uninitialized off).
        assert "connect.sid" not in client.cookies

        assert client.post("/login", data={"user": ""}).status_code == 400
        login = client.post("/login", data={"user": "<i>bo</i>"})
        assert login.status_code == 302
        assert login.headers["location"] == "/"
        sid = client.cookies["connect.sid"]
        page = client.get("/").text
        assert "hello, &lt;i&gt;bo&lt;/i&gt;!" in page
        assert "<i>" not in page

        logout = client.get("/logout")
        assert logout.status_code == 302
        assert client.cookies["connect.sid"] != sid  # regenerated
        assert 'action="/login"' in client.get("/").text

        # The old session id no longer logs anyone in.
        with httpx.Client(base_url=url, timeout=30) as replay:
            replay.cookies.set("connect.sid", sid)
            assert "hello" not in replay.get("/").text


def test_flask_counter_under_waitress() -> None:
    app = load_example("flask_counter").app
    with waitress_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        first = client.get("/")
        assert first.status_code == 200
        assert "views: 1" in first.text
        assert first.headers["set-cookie"].startswith("connect.sid=s%3A")
        assert "views: 2" in client.get("/").text
        with httpx.Client(base_url=url, timeout=30) as other:
            assert "views: 1" in other.get("/").text
        assert "views: 3" in client.get("/").text
