"""Drive one request through either middleware, in process, and see what left.

`Client.request()` runs the real middleware around a small app whose handler
does one of the named actions of the express-session flow vectors.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import fastsession
from fastsession.stores.memory import MemoryStore


class RecordingStore(MemoryStore):
    """The real MemoryStore, noting each call the middleware makes."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.ops: list[tuple[str, str]] = []
        self.fail_get: BaseException | None = None

    def get(self, sid: str) -> Any:
        self.ops.append(("get", sid))
        if self.fail_get is not None:
            exc, self.fail_get = self.fail_get, None
            raise exc
        return super().get(sid)

    def set(self, sid: str, session: Any) -> None:
        self.ops.append(("set", sid))
        super().set(sid, session)

    def replace(self, sid: str, session: Any) -> bool:
        self.ops.append(("replace", sid))
        return super().replace(sid, session)

    def touch(self, sid: str, session: Any) -> bool:
        self.ops.append(("touch", sid))
        return super().touch(sid, session)

    def destroy(self, sid: str) -> None:
        self.ops.append(("destroy", sid))
        super().destroy(sid)

    def raw_items(self) -> list[tuple[str, bytes]]:
        """The exact bytes held for each live session."""
        return self._lru.items()


@dataclass
class Response:
    status: int
    set_cookie: list[str]
    body: str
    error: BaseException | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def session_cookie(self, name: str = "connect.sid") -> str | None:
        """``name=value`` of the session's Set-Cookie, as a browser would send it back."""
        for line in self.set_cookie:
            if line.startswith(name + "="):
                return line.split(";", 1)[0]
        return None


def _body(sid: Any, session: Any) -> str:
    return json.dumps(
        {"sessionID": sid, "session": None if session is None else session.to_record()},
        separators=(",", ":"),
    )


async def _asgi_action(action: str, scope: dict[str, Any], send: Any) -> list[tuple[bytes, bytes]]:
    """Do the action on scope["session"]; returns extra response headers."""
    session = scope.get("session")
    extra: list[tuple[bytes, bytes]] = []
    if session is None:
        return extra
    if action == "views":
        session["views"] = session.get("views", 0) + 1
    elif action == "regenerate":
        await session.regenerate()
    elif action == "regenerate+views":
        await session.regenerate()
        session["views"] = 1
    elif action == "destroy":
        await session.destroy()
    elif action == "null":
        scope["session"] = None
    elif action == "save":
        session["views"] = session.get("views", 0) + 1
        await session.save()
    elif action == "maxAge5000":
        session.cookie.max_age = 5
    elif action == "other-cookie":
        extra.append((b"set-cookie", b"other=1; Path=/"))
        session["views"] = session.get("views", 0) + 1
    elif action == "reload":
        session["views"] = 999
        await session.reload()
    elif action != "noop":
        raise AssertionError(f"unknown action {action}")
    return extra


def _wsgi_action(action: str, environ: dict[str, Any]) -> list[tuple[str, str]]:
    key = "fastsession.session"
    session = environ.get(key)
    extra: list[tuple[str, str]] = []
    if session is None:
        return extra
    if action == "views":
        session["views"] = session.get("views", 0) + 1
    elif action == "regenerate":
        session.regenerate()
    elif action == "regenerate+views":
        session.regenerate()
        session["views"] = 1
    elif action == "destroy":
        session.destroy()
    elif action == "null":
        environ[key] = None
    elif action == "save":
        session["views"] = session.get("views", 0) + 1
        session.save()
    elif action == "maxAge5000":
        session.cookie.max_age = 5
    elif action == "other-cookie":
        extra.append(("Set-Cookie", "other=1; Path=/"))
        session["views"] = session.get("views", 0) + 1
    elif action == "reload":
        session["views"] = 999
        session.reload()
    elif action != "noop":
        raise AssertionError(f"unknown action {action}")
    return extra


class Client:
    """One app (ASGI or WSGI) with fastsession around an action handler."""

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self.action = "noop"
        self.handler: Any = None  # a custom handler replaces the action when set
        if kind == "asgi":
            self.app: Any = fastsession.SessionMiddleware(self._asgi_app, **options)
        else:
            self.app = fastsession.WSGISessionMiddleware(self._wsgi_app, **options)

    # -- the apps -------------------------------------------------------------------

    async def _asgi_app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.handler is not None:
            await self.handler(scope, receive, send)
            return
        if self.action == "write-then-views":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"early;", "more_body": True})
            session = scope.get("session")
            if session is not None:
                session["views"] = session.get("views", 0) + 1
            body = _body(scope.get("session_id"), session)
            await send({"type": "http.response.body", "body": body.encode()})
            return
        extra = await _asgi_action(self.action, scope, send)
        body = _body(scope.get("session_id"), scope.get("session")).encode()
        headers = [(b"content-type", b"application/json"), *extra]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.handler is not None:
            return self.handler(environ, start_response)
        if self.action == "write-then-views":
            return self._wsgi_stream(environ, start_response)
        extra = _wsgi_action(self.action, environ)
        body = _body(environ.get("fastsession.session_id"), environ.get("fastsession.session"))
        start_response("200 OK", [("Content-Type", "application/json"), *extra])
        return [body.encode()]

    def _wsgi_stream(self, environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/json")])
        yield b"early;"
        session = environ.get("fastsession.session")
        if session is not None:
            session["views"] = session.get("views", 0) + 1
        body = _body(environ.get("fastsession.session_id"), session)
        yield body.encode()

    # -- one request ---------------------------------------------------------------

    def request(
        self,
        path: str = "/",
        headers: dict[str, str] | None = None,
        *,
        scheme: str = "http",
        method: str = "GET",
    ) -> Response:
        headers = dict(headers or {})
        path, _, query = path.partition("?")
        if self.kind == "asgi":
            return asyncio.run(self._asgi_request(method, path, query, headers, scheme))
        return self._wsgi_request(method, path, query, headers, scheme)

    async def _asgi_request(
        self, method: str, path: str, query: str, headers: dict[str, str], scheme: str
    ) -> Response:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": scheme,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [
                (k.lower().encode(), v.encode("utf-8", "surrogateescape"))
                for k, v in headers.items()
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        messages: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if any(m["type"] == "http.response.start" for m in messages):
                raise
            return Response(500, [], f"ERR:{exc}", exc)
        start = next(m for m in messages if m["type"] == "http.response.start")
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return Response(
            start["status"],
            [v for k, v in raw if k.lower() == "set-cookie"],
            body.decode(),
            headers=raw,
        )

    def _wsgi_request(
        self, method: str, path: str, query: str, headers: dict[str, str], scheme: str
    ) -> Response:
        import io
        from wsgiref.validate import validator

        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for k, v in headers.items():
            environ["HTTP_" + k.upper().replace("-", "_")] = v
        started: list[Any] = []

        def start_response(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started.append((status, hdrs))
            return lambda data: None

        app = validator(self.app)
        try:
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                result.close()
        except Exception as exc:
            return Response(500, [], f"ERR:{exc}", exc)
        status, hdrs = started[-1]
        return Response(
            int(status.split()[0]),
            [v for k, v in hdrs if k.lower() == "set-cookie"],
            body.decode(),
            headers=list(hdrs),
        )
