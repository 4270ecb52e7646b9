"""Prebuilt requests and in-process calls: ASGI scopes, WSGI environs, captured responses.

No server and no HTTP client: the benchmarks call the application directly.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def asgi_scope(path: str, cookie: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")]
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def wsgi_environ(path: str, cookie: str | None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


_REQUEST: Message = {"type": "http.request", "body": b"", "more_body": False}


async def receive() -> Message:
    return _REQUEST


async def discard(message: Message) -> None:
    return None


def discard_start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
    return None


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def set_cookie(self) -> str | None:
        """The ``name=value`` pair of the (last) Set-Cookie header, as a client replays it."""
        found = [v for k, v in self.headers if k.lower() == "set-cookie"]
        return found[-1].split(";", 1)[0].strip() if found else None


async def call_asgi(app: ASGIApp, path: str, cookie: str | None = None) -> Response:
    response = Response(0, [], b"")

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = [(k.decode(), v.decode()) for k, v in message["headers"]]
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")

    await app(asgi_scope(path, cookie), receive, capture)
    return response


def call_wsgi(app: WSGIApp, path: str, cookie: str | None = None) -> Response:
    response = Response(0, [], b"")

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        response.status = int(status.split(" ", 1)[0])
        response.headers = list(headers)

    body = app(wsgi_environ(path, cookie), start_response)
    try:
        response.body = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return response
