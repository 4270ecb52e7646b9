"""Per-request cost of each store through the WSGI and ASGI middlewares, on traffic
spread over many sessions: ``SESSIONS`` sessions (100,000 by default) are created
first, then every round visits ``CALLS`` of them in a random order, reading or
incrementing a counter. MemoryStore and SQLiteStore always, RedisStore /
AsyncRedisStore when a redis-server can be started, PostgresStore /
AsyncPostgresStore (on psycopg_pool pools in autocommit mode, a PostgreSQL of the
tests' kind with fsync=off) when PostgreSQL can be, and Flask-Session on cachelib's
FileSystemCache (its filesystem store) as the peer of SQLite on one machine.

Run: ``python -m pytest benchmarks/bench_stores.py``; set
``FASTSESSION_BENCH_SESSIONS`` for fewer sessions (populating 100,000 takes a few
seconds per store, Flask-Session's files longer).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import cycle
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks import apps

SESSIONS = int(os.environ.get("FASTSESSION_BENCH_SESSIONS", "100000"))
CALLS = 100


@dataclass
class Population:
    """A store (or a peer's app) holding ``SESSIONS`` sessions, and their cookies."""

    store: Any
    cookies: list[str]
    wsgi: apps.WSGIApp  # the app that created them (WSGI), reused by the benchmark


def _session_wsgi(key: str) -> apps.WSGIApp:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        session = environ[key]
        if environ["PATH_INFO"] == "/write":
            views = session["views"] = session.get("views", 0) + 1
        else:
            views = session.get("views")
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [str(views).encode()]

    return app


def _populate(app: apps.WSGIApp) -> list[str]:
    cookies = []
    for _ in range(SESSIONS):
        response = apps.call_wsgi(app, "/write")
        cookie = response.set_cookie()
        assert response.status == 200 and response.body == b"1" and cookie, response
        cookies.append(cookie)
    assert apps.call_wsgi(app, "/read", cookies[-1]).body == b"1", "the last session is lost"
    random.Random(7).shuffle(cookies)  # visited in random order, not creation order
    return cookies


def _fastsession_population(store: Any) -> Population:
    import fastsession

    app: apps.WSGIApp = fastsession.WSGISessionMiddleware(
        _session_wsgi("fastsession.session"), secret=apps.SECRET, store=store
    )
    return Population(store, _populate(app), app)


@pytest.fixture(scope="module")
def memory() -> Population:
    from fastsession.stores.memory import MemoryStore

    return _fastsession_population(MemoryStore(max_entries=2 * SESSIONS))


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Population]:
    from fastsession.stores.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path_factory.mktemp("bench-sqlite") / "sessions.db")
    yield _fastsession_population(store)
    store.close()


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Population]:
    from tests.redis_server import REDIS_SERVER, RedisServer

    if REDIS_SERVER is None:
        pytest.skip("no redis-server on this machine")
    from fastsession.stores.redis import RedisStore

    server = RedisServer(tmp_path_factory.mktemp("bench-stores-redis"))
    server.start()
    population = _fastsession_population(RedisStore(server.client()))
    population.store.server = server  # the async variant connects to the same server
    yield population
    server.kill()


@pytest.fixture(scope="module")
def postgres(loop: asyncio.AbstractEventLoop) -> Iterator[Population]:
    from tests.postgres_server import BINDIR, PostgresServer

    if BINDIR is None:
        pytest.skip("no PostgreSQL on this machine")
    from psycopg_pool import AsyncConnectionPool, ConnectionPool

    from fastsession.stores.postgres import PostgresStore

    server = PostgresServer()
    server.start()
    server.create_session_table()
    options: dict[str, Any] = {"min_size": 2, "max_size": 8, "kwargs": {"autocommit": True}}
    pool = ConnectionPool(server.conninfo, open=True, **options)
    # The async variant's pool, opened on the loop that drives the ASGI rounds.
    async_pool = AsyncConnectionPool(server.conninfo, open=False, **options)
    loop.run_until_complete(async_pool.open(wait=True))
    population = _fastsession_population(PostgresStore(pool))
    population.store.async_pool = async_pool
    yield population
    loop.run_until_complete(async_pool.close())
    pool.close()
    server.remove()


@pytest.fixture(scope="module")
def flask_session_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Population]:
    flask = pytest.importorskip("flask")
    pytest.importorskip("flask_session")
    from cachelib import FileSystemCache
    from flask_session import Session  # type: ignore[import-untyped]

    directory = tmp_path_factory.mktemp("bench-flask-session")
    app = flask.Flask("bench_stores_flask_session")
    cache = FileSystemCache(str(directory), threshold=2 * SESSIONS)
    app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)
    Session(app)
    apps.add_flask_routes(app, "flask-session")
    yield Population(cache, _populate(app), app)
    shutil.rmtree(directory, ignore_errors=True)


# --- the variants: (protocol, contender, baseline, builder from the populations) ---------


def _asgi(store: Any) -> apps.ASGIApp:
    import fastsession

    app: apps.ASGIApp = fastsession.SessionMiddleware(
        apps.session_asgi, secret=apps.SECRET, store=store
    )
    return app


def _async_redis(population: Population) -> apps.ASGIApp:
    from fastsession.stores.redis import AsyncRedisStore

    return _asgi(AsyncRedisStore(population.store.server.async_client()))


def _async_postgres(population: Population) -> apps.ASGIApp:
    from fastsession.stores.postgres import AsyncPostgresStore

    return _asgi(AsyncPostgresStore(population.store.async_pool))


def _flask_fastsession(population: Population) -> apps.WSGIApp:
    from flask import Flask

    import fastsession

    app = Flask("bench_stores_flask_fastsession")
    app.wsgi_app = fastsession.WSGISessionMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, secret=apps.SECRET, store=population.store
    )
    apps.add_flask_routes(app, "fastsession")
    return app


@dataclass(frozen=True)
class Variant:
    protocol: apps.Protocol
    name: str
    baseline: str
    population: str | None  # the fixture holding its sessions; None for a bare app
    build: Callable[[Population | None], Any]


def _bare_flask(_: Population | None) -> apps.WSGIApp:
    from flask import Flask

    app = Flask("bench_stores_flask")
    apps.add_flask_routes(app, "bare")
    return app


VARIANTS = [
    Variant("wsgi", "bare", "bare", None, lambda p: apps.bare_wsgi),
    Variant("wsgi", "fastsession-memory", "bare", "memory", lambda p: p.wsgi),  # type: ignore[union-attr]
    Variant("wsgi", "fastsession-sqlite", "bare", "sqlite", lambda p: p.wsgi),  # type: ignore[union-attr]
    Variant("wsgi", "fastsession-redis", "bare", "redis", lambda p: p.wsgi),  # type: ignore[union-attr]
    Variant("wsgi", "fastsession-postgres", "bare", "postgres", lambda p: p.wsgi),  # type: ignore[union-attr]
    Variant("wsgi", "flask", "flask", None, _bare_flask),
    Variant("wsgi", "flask+fastsession-sqlite", "flask", "sqlite", _flask_fastsession),  # type: ignore[arg-type]
    Variant("wsgi", "flask+flask-session-files", "flask", "flask_session_files", lambda p: p.wsgi),  # type: ignore[union-attr]
    Variant("asgi", "bare", "bare", None, lambda p: apps.bare_asgi),
    Variant("asgi", "fastsession-memory", "bare", "memory", lambda p: _asgi(p.store)),  # type: ignore[union-attr]
    Variant("asgi", "fastsession-sqlite", "bare", "sqlite", lambda p: _asgi(p.store)),  # type: ignore[union-attr]
    Variant("asgi", "fastsession-redis-async", "bare", "redis", _async_redis),  # type: ignore[arg-type]
    Variant("asgi", "fastsession-postgres", "bare", "postgres", lambda p: _asgi(p.store)),  # type: ignore[union-attr]
    Variant("asgi", "fastsession-postgres-async", "bare", "postgres", _async_postgres),  # type: ignore[arg-type]
]

CASES = [
    pytest.param(v, op, id=f"{v.protocol}-{op}-{v.name}")
    for op in ("read", "write")
    for v in VARIANTS
]


def _round(
    variant: Variant,
    app: Any,
    path: str,
    cookies: Iterator[str | None],
    loop: asyncio.AbstractEventLoop,
) -> Callable[[], None]:
    if variant.protocol == "wsgi":

        def run_wsgi() -> None:
            for _ in range(CALLS):
                body = app(apps.wsgi_environ(path, next(cookies)), apps.discard_start_response)
                for _chunk in body:
                    pass
                close = getattr(body, "close", None)
                if close is not None:
                    close()

        return run_wsgi

    async def batch() -> None:
        for _ in range(CALLS):
            await app(apps.asgi_scope(path, next(cookies)), apps.receive, apps.discard)

    return lambda: loop.run_until_complete(batch())


@pytest.mark.parametrize(("variant", "op"), CASES)
def test_store_per_request(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    loop: asyncio.AbstractEventLoop,
    variant: Variant,
    op: str,
) -> None:
    population: Population | None = None
    if variant.population is not None:
        population = request.getfixturevalue(variant.population)
    app = variant.build(population)
    cookies: Iterator[str | None] = cycle(population.cookies) if population else cycle([None])
    if population is not None:  # a visited session is found, not created anew
        cookie = population.cookies[0]
        if variant.protocol == "wsgi":
            found = apps.call_wsgi(app, "/read", cookie)
        else:
            found = loop.run_until_complete(apps.call_asgi(app, "/read", cookie))
        assert found.status == 200 and int(found.body) >= 1, (variant.name, found)
    benchmark.group = f"stores-{variant.protocol}-{op}"
    benchmark.extra_info.update(
        contender=variant.name,
        baseline=variant.baseline,
        calls=CALLS,
        protocol=variant.protocol,
        op=op,
        sessions=SESSIONS,
    )
    benchmark(_round(variant, app, f"/{op}", cookies, loop))
