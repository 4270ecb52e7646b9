"""A whole request through a session middleware on Redis, in-process: fastsession's
RedisStore / AsyncRedisStore against starsessions' and Flask-Session's Redis
stores, on one redis-server started for the run, for a read and a write of an
existing session.

Each round drives ``CALLS`` requests (prebuilt scope or environ, no HTTP). Every
variant talks to the same local Redis, so the round trips dominate; the number
of Redis commands per request is recorded as ``extra_info["redis_commands"]``
to read the ratios by. Run: ``python -m pytest benchmarks/bench_redis.py``, or
``python benchmarks/report.py -k redis`` for the ratio table. On a busy machine,
``python -m benchmarks.bench_redis`` measures the same requests interleaved (every
round visits all variants in random order) and prints the ratios directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks import apps
from tests.redis_server import RedisServer

CALLS = 50


# --- the variants --------------------------------------------------------------------


def _asgi_fastsession_async(server: RedisServer) -> apps.ASGIApp:
    import fastsession
    from fastsession.stores.redis import AsyncRedisStore

    store = AsyncRedisStore(server.async_client())
    app: apps.ASGIApp = fastsession.SessionMiddleware(
        apps.session_asgi, secret=apps.SECRET, store=store
    )
    return app


def _asgi_fastsession_threaded(server: RedisServer) -> apps.ASGIApp:
    import fastsession
    from fastsession.stores.redis import RedisStore

    store = RedisStore(server.client())
    app: apps.ASGIApp = fastsession.SessionMiddleware(
        apps.session_asgi, secret=apps.SECRET, store=store
    )
    return app


def _asgi_starsessions(server: RedisServer) -> apps.ASGIApp:
    from starsessions import SessionAutoloadMiddleware, SessionMiddleware
    from starsessions.stores.redis import RedisStore

    store = RedisStore(connection=server.async_client())
    inner = SessionAutoloadMiddleware(apps.session_asgi)
    return SessionMiddleware(inner, store=store, cookie_https_only=False)


def _wsgi_session_app(key: str) -> apps.WSGIApp:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        session = environ[key]
        if environ["PATH_INFO"] == "/write":
            views = session["views"] = session.get("views", 0) + 1
        else:
            views = session.get("views")
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [str(views).encode()]

    return app


def _wsgi_fastsession(server: RedisServer) -> apps.WSGIApp:
    import fastsession
    from fastsession.stores.redis import RedisStore

    inner = _wsgi_session_app("fastsession.session")
    app: apps.WSGIApp = fastsession.WSGISessionMiddleware(
        inner, secret=apps.SECRET, store=RedisStore(server.client())
    )
    return app


def _flask(kind: str, server: RedisServer | None) -> apps.WSGIApp:
    from flask import Flask

    app = Flask(f"bench_redis_{kind}")
    if kind == "flask-session":
        from flask_session import Session  # type: ignore[import-untyped]

        assert server is not None
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=server.client())
        Session(app)
    elif kind == "fastsession":
        import fastsession
        from fastsession.stores.redis import RedisStore

        assert server is not None
        app.wsgi_app = fastsession.WSGISessionMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, secret=apps.SECRET, store=RedisStore(server.client())
        )

    apps.add_flask_routes(app, kind)
    return app


@dataclass(frozen=True)
class Variant:
    name: str
    protocol: apps.Protocol
    baseline: str
    build: Callable[[RedisServer], Any]

    @property
    def is_baseline(self) -> bool:
        return self.name == self.baseline


VARIANTS = [
    Variant("bare", "asgi", "bare", lambda s: apps.bare_asgi),
    Variant("fastsession-async", "asgi", "bare", _asgi_fastsession_async),
    Variant("fastsession-threaded", "asgi", "bare", _asgi_fastsession_threaded),
    Variant("starsessions", "asgi", "bare", _asgi_starsessions),
    Variant("bare", "wsgi", "bare", lambda s: apps.bare_wsgi),
    Variant("fastsession", "wsgi", "bare", _wsgi_fastsession),
    Variant("flask", "wsgi", "flask", lambda s: _flask("bare", None)),
    Variant("flask+fastsession", "wsgi", "flask", lambda s: _flask("fastsession", s)),
    Variant("flask+flask-session", "wsgi", "flask", lambda s: _flask("flask-session", s)),
]

CASES = [
    pytest.param(v, op, id=f"{v.protocol}-{op}-{v.name}")
    for op in ("read", "write")
    for v in VARIANTS
]


# --- driving them ----------------------------------------------------------------------


class Driver:
    """Calls one app in-process: ASGI on the module's loop, WSGI directly."""

    def __init__(self, variant: Variant, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.variant, self.app, self.loop = variant, app, loop

    def call(self, path: str, cookie: str | None) -> apps.Response:
        if self.variant.protocol == "wsgi":
            return apps.call_wsgi(self.app, path, cookie)
        return self.loop.run_until_complete(apps.call_asgi(self.app, path, cookie))

    def round(self, path: str, cookie: str | None) -> Callable[[], None]:
        if self.variant.protocol == "wsgi":
            template = apps.wsgi_environ(path, cookie)

            def run_wsgi() -> None:
                for _ in range(CALLS):
                    body = self.app(dict(template), apps.discard_start_response)
                    for _chunk in body:
                        pass
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()

            return run_wsgi

        scope = apps.asgi_scope(path, cookie)

        async def batch() -> None:
            for _ in range(CALLS):
                await self.app(dict(scope), apps.receive, apps.discard)

        def run_asgi() -> None:
            self.loop.run_until_complete(batch())

        return run_asgi

    def existing_session(self) -> str | None:
        """A session holding views == 1 in Redis, and the cookie that finds it again."""
        if self.variant.is_baseline:
            return None
        first = self.call("/write", None)
        cookie = first.set_cookie()
        assert first.status == 200 and first.body == b"1" and cookie, first
        assert self.call("/read", cookie).body == b"1", f"{self.variant.name} lost its session"
        return cookie


def commands_processed(server: RedisServer) -> int:
    with server.admin() as admin:
        return int(admin.info("stats")["total_commands_processed"])


@pytest.mark.parametrize(("variant", "op"), CASES)
def test_redis_middleware(
    benchmark: BenchmarkFixture,
    server: RedisServer,
    loop: asyncio.AbstractEventLoop,
    variant: Variant,
    op: str,
) -> None:
    driver = Driver(variant, variant.build(server), loop)
    cookie = driver.existing_session()
    run = driver.round(f"/{op}", cookie)
    before = commands_processed(server)
    run()
    # The admin connection's own INFO is one command.
    per_request = (commands_processed(server) - before - 1) / CALLS

    benchmark.group = f"redis-{variant.protocol}-{op}"
    benchmark.extra_info.update(
        contender=variant.name,
        baseline=variant.baseline,
        calls=CALLS,
        protocol=variant.protocol,
        op=op,
        redis_commands=per_request,
    )
    benchmark(run)


# --- interleaved run (python -m benchmarks.bench_redis) ----------------------------------


def interleaved(rounds: int = 30) -> dict[tuple[str, str, str], float]:
    """Median µs per request of every (protocol, op, variant), measured in rounds that
    visit the variants in a fresh random order each time: on a busy machine a burst of
    background load then lands on every contender alike, not on one."""
    import random
    import statistics
    import tempfile
    import time
    from pathlib import Path

    server = RedisServer(Path(tempfile.mkdtemp(prefix="bench-redis-")))
    server.start()
    loop = asyncio.new_event_loop()
    try:
        runs: dict[tuple[str, str, str], Callable[[], None]] = {}
        for variant in VARIANTS:
            driver = Driver(variant, variant.build(server), loop)
            cookie = driver.existing_session()
            for op in ("read", "write"):
                runs[(variant.protocol, op, variant.name)] = driver.round(f"/{op}", cookie)
        times: dict[tuple[str, str, str], list[float]] = {key: [] for key in runs}
        keys = list(runs)
        for _ in range(rounds):
            random.shuffle(keys)
            for key in keys:
                start = time.perf_counter()
                runs[key]()
                times[key].append((time.perf_counter() - start) / CALLS * 1e6)
        return {key: statistics.median(values) for key, values in times.items()}
    finally:
        loop.close()
        server.kill()


def main() -> None:
    medians = interleaved()
    baselines = {v.name: v.baseline for v in VARIANTS}
    for (protocol, op, name), us in sorted(medians.items()):
        baseline = baselines[name]
        reference = (
            "flask+fastsession"
            if baseline == "flask"
            else ("fastsession-async" if protocol == "asgi" else "fastsession")
        )
        note = ""
        if name != baseline:
            ref = medians[(protocol, op, reference)]
            base = medians[(protocol, op, baseline)]
            note = f"{us / ref:5.2f}x fastsession's time, {(us - base) / (ref - base):5.2f}x added"
        print(f"{protocol}-{op:5s} {name:22s} {us:8.1f} µs/request  {note}")


if __name__ == "__main__":
    main()
