"""When the response goes out: saved before the headers, and before the last body
message for changes made while the body streams (better than express-session)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from fastsession import AsyncStore, MemoryStore, SessionMiddleware, WSGISessionMiddleware

SECRET = "a-test-secret-that-is-long-enough-0123456789"


class SlowAsyncStore(AsyncStore):
    """An async store over MemoryStore whose writes take a while, noting events."""

    def __init__(self, events: list[str], delay: float = 0.05) -> None:
        self.inner = MemoryStore()
        self.events = events
        self.delay = delay

    async def get(self, sid: str) -> Any:
        return self.inner.get(sid)

    async def set(self, sid: str, session: Any) -> None:
        await asyncio.sleep(self.delay)
        self.inner.set(sid, session)
        self.events.append(f"set {sorted(session)}")

    async def touch(self, sid: str, session: Any) -> None:
        await asyncio.sleep(self.delay)
        self.inner.touch(sid, session)
        self.events.append("touch")

    async def destroy(self, sid: str) -> None:
        self.inner.destroy(sid)
        self.events.append("destroy")


def _scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/",
        "scheme": "http",
        "headers": headers or [],
        "query_string": b"",
    }


def test_asgi_saves_before_the_headers_and_before_the_last_body() -> None:
    events: list[str] = []
    store = SlowAsyncStore(events)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["user"] = "ann"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        scope["session"]["cart"] = [1]  # changed while the body streams
        await send({"type": "http.response.body", "body": b"b", "more_body": True})
        await send({"type": "http.response.body", "body": b"c"})

    mw = SessionMiddleware(app, secret=SECRET, store=store)

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"] + ("+" if message.get("more_body") else ""))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    asyncio.run(mw(_scope(), receive, send))
    assert events == [
        "set ['user']",
        "http.response.start",
        "http.response.body+",
        "http.response.body+",
        "set ['cart', 'user']",
        "http.response.body",
    ]


def test_asgi_store_error_before_headers_sends_nothing() -> None:
    class Down(SlowAsyncStore):
        async def set(self, sid: str, session: Any) -> None:
            raise ConnectionError("down")

    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["x"] = 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request"}

    mw = SessionMiddleware(app, secret=SECRET, store=Down([]))
    try:
        asyncio.run(mw(_scope(), receive, send))
    except Exception as exc:
        assert "down" in str(exc)
    else:
        raise AssertionError("a failed save must not look like success")
    assert sent == []


def test_wsgi_saves_before_start_response_and_before_the_last_chunk() -> None:
    events: list[str] = []

    class Noting(MemoryStore):
        def set(self, sid: str, session: Any) -> None:
            super().set(sid, session)
            events.append(f"set {sorted(session)}")

    def app(environ: Any, start_response: Any) -> Any:
        environ["fastsession.session"]["user"] = "ann"
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"a"
        environ["fastsession.session"]["cart"] = [1]
        yield b"b"
        yield b"c"

    mw = WSGISessionMiddleware(app, secret=SECRET, store=Noting())

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        events.append("start_response")

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }
    body = mw(environ, start_response)
    for chunk in body:
        events.append(chunk.decode())
    body.close()  # type: ignore[attr-defined]
    assert events == ["set ['user']", "start_response", "a", "b", "set ['cart', 'user']", "c"]
