"""A whole request through a session middleware on PostgreSQL, in-process: fastsession's
AsyncPostgresStore and PostgresStore (on psycopg_pool pools in autocommit mode) behind
the ASGI and WSGI middlewares, against the bare apps.

The table holds ``SESSIONS`` (100,000) connect-pg-simple rows, and every request
carries the cookie of one of them, drawn in a random order fixed at the start: the
reads and writes spread over the whole table and its indexes, as a site's visitors
do, rather than hitting one hot row. A read is a ``SELECT`` and, the session being
unmodified, connect-pg-simple's touch (``UPDATE ... SET expire``); a write is the
``SELECT`` and the upsert. The server is the tests' PostgreSQL on 127.0.0.1 with
``fsync=off``: this measures the middleware, the store and the round trips, not the
disk. Each round drives ``CALLS`` requests (prebuilt scopes or environs, no HTTP).

Run: ``python -m pytest benchmarks/bench_postgres.py``, or ``python -m
benchmarks.bench_postgres`` for medians of interleaved rounds (every round visits all
variants in a random order), which a busy machine disturbs less.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks import apps

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture

    from tests.postgres_server import PostgresServer

CALLS = 50
SESSIONS = 100_000
COOKIE_NAME = "connect.sid"


# --- the database ----------------------------------------------------------------------


class Database:
    """A PostgreSQL holding SESSIONS sessions, and their cookies in a random order."""

    def __init__(self) -> None:
        from tests.postgres_server import PostgresServer

        self.server: PostgresServer = PostgresServer()
        self.server.start()
        self.server.create_session_table()
        record = {
            "cookie": {
                "originalMaxAge": 86_400_000,
                "expires": "2099-01-01T00:00:00.000Z",
                "httpOnly": True,
                "path": "/",
            },
            "views": 1,
        }
        with self.server.admin() as admin:
            admin.execute(
                'INSERT INTO "session" (sid, sess, expire) '
                "SELECT 'bench-' || lpad(i::text, 26, '0'), %s::json, "
                "to_timestamp(4070908800) FROM generate_series(1, %s) AS i",
                (json.dumps(record, separators=(",", ":")), SESSIONS),
            )
            admin.execute('VACUUM ANALYZE "session"')
        from fastsession import _cookies_py, signing

        sids = [f"bench-{i:026d}" for i in range(1, SESSIONS + 1)]
        random.Random(20_240_601).shuffle(sids)
        self.cookies = [
            f"{COOKIE_NAME}={_cookies_py.encode('s:' + signing.sign(sid, apps.SECRET))}"
            for sid in sids
        ]
        self._next = itertools.cycle(self.cookies)

    def next_cookies(self, n: int) -> list[str]:
        return list(itertools.islice(self._next, n))

    def close(self) -> None:
        self.server.remove()


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    db = Database()
    yield db
    db.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    # One loop for every ASGI call: an AsyncConnectionPool belongs to its loop.
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


# --- the variants ----------------------------------------------------------------------

POOL: dict[str, Any] = {"min_size": 2, "max_size": 4, "kwargs": {"autocommit": True}}


Built = tuple[Any, Callable[[], None]]
"""An app and what closes the pool under it."""


def _asgi_async(db: Database, loop: asyncio.AbstractEventLoop) -> Built:
    from psycopg_pool import AsyncConnectionPool

    import fastsession
    from fastsession.stores.postgres import AsyncPostgresStore

    pool = AsyncConnectionPool(db.server.conninfo, open=False, **POOL)
    loop.run_until_complete(pool.open(wait=True))
    app: apps.ASGIApp = fastsession.SessionMiddleware(
        apps.session_asgi, secret=apps.SECRET, store=AsyncPostgresStore(pool)
    )
    return app, lambda: loop.run_until_complete(pool.close())


def _asgi_threaded(db: Database, loop: asyncio.AbstractEventLoop) -> Built:
    from psycopg_pool import ConnectionPool

    import fastsession
    from fastsession.stores.postgres import PostgresStore

    pool = ConnectionPool(db.server.conninfo, open=True, **POOL)
    pool.wait()
    app: apps.ASGIApp = fastsession.SessionMiddleware(
        apps.session_asgi, secret=apps.SECRET, store=PostgresStore(pool)
    )
    return app, pool.close


def _wsgi_session_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session = environ["fastsession.session"]
    if environ["PATH_INFO"] == "/write":
        views = session["views"] = session.get("views", 0) + 1
    else:
        views = session.get("views")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [str(views).encode()]


def _wsgi(db: Database, loop: asyncio.AbstractEventLoop) -> Built:
    from psycopg_pool import ConnectionPool

    import fastsession
    from fastsession.stores.postgres import PostgresStore

    pool = ConnectionPool(db.server.conninfo, open=True, **POOL)
    pool.wait()
    app: apps.WSGIApp = fastsession.WSGISessionMiddleware(
        _wsgi_session_app, secret=apps.SECRET, store=PostgresStore(pool)
    )
    return app, pool.close


@dataclass(frozen=True)
class Variant:
    name: str
    protocol: apps.Protocol
    build: Callable[[Database, asyncio.AbstractEventLoop], Built]

    @property
    def is_bare(self) -> bool:
        return self.name == "bare"


VARIANTS = [
    Variant("bare", "asgi", lambda db, loop: (apps.bare_asgi, lambda: None)),
    Variant("fastsession-async", "asgi", _asgi_async),
    Variant("fastsession-threaded", "asgi", _asgi_threaded),
    Variant("bare", "wsgi", lambda db, loop: (apps.bare_wsgi, lambda: None)),
    Variant("fastsession", "wsgi", _wsgi),
]

CASES = [
    pytest.param(v, op, id=f"{v.protocol}-{op}-{v.name}")
    for op in ("read", "write")
    for v in VARIANTS
]


# --- driving them ----------------------------------------------------------------------


class Driver:
    """Calls one app in-process, each request with the next session's cookie."""

    def __init__(self, variant: Variant, db: Database, loop: asyncio.AbstractEventLoop) -> None:
        self.variant, self.db, self.loop = variant, db, loop
        self.app, self.close = variant.build(db, loop)

    def check(self, path: str) -> None:
        """A random stored session is found (the bare app has none to find)."""
        if self.variant.is_bare:
            return
        cookie = self.db.next_cookies(1)[0]
        if self.variant.protocol == "wsgi":
            response = apps.call_wsgi(self.app, path, cookie)
        else:
            response = self.loop.run_until_complete(apps.call_asgi(self.app, path, cookie))
        assert response.status == 200, response
        assert int(response.body) >= 1, f"{self.variant.name} did not find the session"

    def round(self, path: str) -> Callable[[], None]:
        db = self.db
        if self.variant.protocol == "wsgi":
            template = apps.wsgi_environ(path, None)

            def run_wsgi() -> None:
                for cookie in db.next_cookies(CALLS):
                    environ = dict(template)
                    environ["HTTP_COOKIE"] = cookie
                    for _chunk in self.app(environ, apps.discard_start_response):
                        pass

            return run_wsgi

        template_scope = apps.asgi_scope(path, None)
        base_headers = template_scope["headers"]

        async def batch() -> None:
            for cookie in db.next_cookies(CALLS):
                scope = dict(template_scope)
                scope["headers"] = [*base_headers, (b"cookie", cookie.encode("latin-1"))]
                await self.app(scope, apps.receive, apps.discard)

        def run_asgi() -> None:
            self.loop.run_until_complete(batch())

        return run_asgi


@pytest.mark.parametrize(("variant", "op"), CASES)
def test_postgres_middleware(
    benchmark: BenchmarkFixture,
    database: Database,
    loop: asyncio.AbstractEventLoop,
    variant: Variant,
    op: str,
) -> None:
    driver = Driver(variant, database, loop)
    driver.check(f"/{op}")
    benchmark.group = f"postgres-{variant.protocol}-{op}"
    benchmark.extra_info.update(
        contender=variant.name,
        baseline="bare",
        calls=CALLS,
        protocol=variant.protocol,
        op=op,
        sessions=SESSIONS,
        statements=0 if variant.is_bare else 2,
    )
    try:
        benchmark(driver.round(f"/{op}"))
    finally:
        driver.close()


# --- interleaved run (python -m benchmarks.bench_postgres) ------------------------------


def interleaved(rounds: int = 40) -> dict[tuple[str, str, str], float]:
    """Median µs per request of every (protocol, op, variant), in rounds that visit the
    variants in a fresh random order each time."""
    import statistics
    import time

    db = Database()
    loop = asyncio.new_event_loop()
    try:
        runs: dict[tuple[str, str, str], Callable[[], None]] = {}
        drivers = [Driver(variant, db, loop) for variant in VARIANTS]
        for driver in drivers:
            variant = driver.variant
            for op in ("read", "write"):
                driver.check(f"/{op}")
                runs[(variant.protocol, op, variant.name)] = driver.round(f"/{op}")
        times: dict[tuple[str, str, str], list[float]] = {key: [] for key in runs}
        keys = list(runs)
        for _ in range(rounds):
            random.shuffle(keys)
            for key in keys:
                start = time.perf_counter()
                runs[key]()
                times[key].append((time.perf_counter() - start) / CALLS * 1e6)
        for driver in drivers:
            driver.close()
        return {key: statistics.median(values) for key, values in times.items()}
    finally:
        loop.close()
        db.close()


def main() -> None:
    medians = interleaved()
    print(f"{SESSIONS:,} sessions in PostgreSQL, visited in random order; µs per request")
    for (protocol, op, name), us in sorted(medians.items()):
        added = us - medians[(protocol, op, "bare")]
        note = "" if name == "bare" else f"  (+{added:.1f} µs over the bare app)"
        print(f"{protocol}-{op:5s} {name:22s} {us:8.1f}{note}")


if __name__ == "__main__":
    main()
