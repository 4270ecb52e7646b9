"""The login flow over real HTTP: Starlette under uvicorn, a WSGI app under waitress,
on 127.0.0.1, driven by an HTTP client that keeps cookies."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from app_servers import UvicornThread, WaitressThread

from fastsession import AsyncStore, MemoryStore, SessionMiddleware, WSGISessionMiddleware

SECRET = "a-test-secret-that-is-long-enough-0123456789"


class SlowStore(AsyncStore):
    """Writes take 200 ms: a redirect that raced the save would find no user."""

    def __init__(self) -> None:
        self.inner = MemoryStore()

    async def get(self, sid: str) -> Any:
        return self.inner.get(sid)

    async def set(self, sid: str, session: Any) -> None:
        await asyncio.sleep(0.2)
        self.inner.set(sid, session)

    async def touch(self, sid: str, session: Any) -> None:
        self.inner.touch(sid, session)

    async def destroy(self, sid: str) -> None:
        self.inner.destroy(sid)


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, RedirectResponse
    from starlette.routing import Route

    async def home(request: Request) -> PlainTextResponse:
        session = request.session
        session["views"] = session.get("views", 0) + 1
        return PlainTextResponse(f"user={session.get('user')} views={session['views']}")

    async def login(request: Request) -> RedirectResponse:
        from urllib.parse import parse_qs

        form = parse_qs((await request.body()).decode())
        await request.session.regenerate()  # no fixation: a new id at login
        request.session["user"] = form["user"][0]
        await request.session.save()
        return RedirectResponse("/", status_code=302)

    async def logout(request: Request) -> RedirectResponse:
        await request.session.destroy()
        return RedirectResponse("/", status_code=302)

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout),
        ]
    )
    app.add_middleware(SessionMiddleware, secret=SECRET, store=SlowStore())
    return app


def wsgi_app() -> Any:
    from urllib.parse import parse_qs

    def app(environ: Any, start_response: Any) -> list[bytes]:
        session = environ["fastsession.session"]
        path = environ["PATH_INFO"]
        if path == "/login":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(size).decode())
            session.regenerate()
            session["user"] = form["user"][0]
            session.save()
            start_response("302 Found", [("Location", "/")])
            return [b""]
        if path == "/logout":
            session.destroy()
            start_response("302 Found", [("Location", "/")])
            return [b""]
        session["views"] = session.get("views", 0) + 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"user={session.get('user')} views={session['views']}".encode()]

    return WSGISessionMiddleware(app, secret=SECRET, store=MemoryStore())


@pytest.fixture(params=["uvicorn", "waitress"])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    server = (
        UvicornThread(starlette_app()) if request.param == "uvicorn" else WaitressThread(wsgi_app())
    )
    server.start()
    yield server.url
    server.stop()


def test_counter_login_and_logout_over_http(base_url: str) -> None:
    with httpx.Client(base_url=base_url, follow_redirects=True, timeout=10) as client:
        assert client.get("/").text == "user=None views=1"
        assert client.get("/").text == "user=None views=2"
        anonymous = client.cookies.get("connect.sid")
        # The redirect right after login finds the session saved.
        resp = client.post("/login", data={"user": "ann"})
        assert resp.text == "user=ann views=1"
        assert client.cookies.get("connect.sid") != anonymous  # regenerated
        assert client.get("/").text == "user=ann views=2"
        # The pre-login cookie is worthless now (its session was destroyed).
        with httpx.Client(base_url=base_url, timeout=10) as other:
            other.cookies.set("connect.sid", anonymous)
            assert other.get("/").text == "user=None views=1"
        assert client.get("/logout").text == "user=None views=1"


def test_concurrent_clients_keep_their_own_sessions(base_url: str) -> None:
    def run(n: int, out: dict[int, str]) -> None:
        with httpx.Client(base_url=base_url, timeout=10) as c:
            for _ in range(5):
                out[n] = c.get("/").text

    results: dict[int, str] = {}
    threads = [threading.Thread(target=run, args=(n, results)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {n: "user=None views=5" for n in range(6)}
