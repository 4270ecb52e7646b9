"""The app that scripts/soak.py serves, as ASGI (uvicorn) and WSGI (gunicorn, waitress).

``GET /inc`` adds one to the session's counter ``n`` and answers 200 with the new
value; fastsession saves the session when the response starts, so a 200 leaves
only after the store took the write, and a store failure is a 5xx.
``GET /logout`` destroys the session. ``GET /dump`` (MemoryStore only: one
process) answers ``{sid: n}`` for every stored session.

Configured from the environment: ``SOAK_STORE`` is ``memory`` or a ``redis://``
URL, ``SOAK_SECRET`` the signing secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from fastsession import MemoryStore, SessionMiddleware, WSGISessionMiddleware

SECRET = os.environ.get("SOAK_SECRET", "soak test secret, long enough to sign with")
STORE_URL = os.environ.get("SOAK_STORE", "memory")
# Every session of the run fits: an eviction would look like a lost write.
MEMORY_ENTRIES = 2_000_000
# A timeout longer than a CLIENT PAUSE of the schedule, and few quick retries: a dead
# server is an error within a second (redis-py's default retries for about a minute).
REDIS_OPTIONS: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 2}
RETRIES, BACKOFF = 2, (0.25, 0.05)  # (cap, base) of an exponential backoff, seconds


def _store(asynchronous: bool) -> Any:
    if STORE_URL == "memory":
        return MemoryStore(max_entries=MEMORY_ENTRIES)
    from redis.backoff import ExponentialBackoff

    if asynchronous:
        import redis.asyncio
        from redis.asyncio.retry import Retry as AsyncRetry

        from fastsession.stores.redis import AsyncRedisStore

        retry = AsyncRetry(ExponentialBackoff(*BACKOFF), RETRIES)
        return AsyncRedisStore(
            redis.asyncio.Redis.from_url(STORE_URL, retry=retry, **REDIS_OPTIONS)
        )
    import redis
    from redis.retry import Retry

    from fastsession.stores.redis import RedisStore

    retry = Retry(ExponentialBackoff(*BACKOFF), RETRIES)
    return RedisStore(redis.Redis.from_url(STORE_URL, retry=retry, **REDIS_OPTIONS))


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]


def _dump(store: Any) -> bytes:
    return json.dumps({sid: record.get("n") for sid, record in store.all().items()}).encode()


# -- ASGI ---------------------------------------------------------------------------


async def _asgi_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path, session = scope["path"], scope.get("session")
    status, body = 200, b""
    if path == "/inc" and session is not None:
        n = int(session.get("n", 0)) + 1
        session["n"] = n
        body = str(n).encode()
    elif path == "/logout" and session is not None:
        await session.destroy()
        body = b"bye"
    elif path == "/dump" and STORE_URL == "memory":
        body = _dump(_asgi_store)
    else:
        status, body = 404, b"not found"
    await send({"type": "http.response.start", "status": status, "headers": _headers(body)})
    await send({"type": "http.response.body", "body": body})


_asgi_store = _store(asynchronous=True)
asgi_app = SessionMiddleware(_asgi_endpoint, secret=SECRET, store=_asgi_store)


# -- WSGI ---------------------------------------------------------------------------

StartResponse = Callable[..., Any]


def _wsgi_endpoint(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path, session = environ["PATH_INFO"], environ.get("fastsession.session")
    status, body = "200 OK", b""
    if path == "/inc" and session is not None:
        n = int(session.get("n", 0)) + 1
        session["n"] = n
        body = str(n).encode()
    elif path == "/logout" and session is not None:
        session.destroy()
        body = b"bye"
    elif path == "/dump" and STORE_URL == "memory":
        body = _dump(_wsgi_store)
    else:
        status, body = "404 Not Found", b"not found"
    headers = [(k.decode(), v.decode()) for k, v in _headers(body)]
    start_response(status, headers)
    return [body]


_wsgi_store = _store(asynchronous=False)
wsgi_app = WSGISessionMiddleware(_wsgi_endpoint, secret=SECRET, store=_wsgi_store)
