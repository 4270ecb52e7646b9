"""PostgreSQL faults seen through the middlewares, over real HTTP: Starlette under
uvicorn (AsyncPostgresStore on an AsyncConnectionPool, and PostgresStore on a
ConnectionPool in worker threads) and a WSGI app under waitress (PostgresStore on a
ConnectionPool), on a real PostgreSQL that is down at start-up, crashed mid-request,
restarted, or holding a lock past the statement timeout.

A request whose session cannot be loaded or saved gets a 500 with no Set-Cookie
(never a fresh session that would log the user out), the failure is logged on the
"fastsession" logger with its cause, and once PostgreSQL is back the app works
again without a restart: at the very next request after a restart, and as soon as
the pool has reconnected after an outage that requests ran into.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
from app_servers import UvicornThread, WaitressThread
from postgres_server import PostgresServer, fault_postgres
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import fastsession
from fastsession.signing import sign
from fastsession.stores.postgres import AsyncPostgresStore, PostgresStore

pytestmark = pytest.mark.postgres
__all__ = ["fault_postgres"]  # the helper's fixture, used here

SECRET = "a secret for the fault tests, long enough to sign"
NAME = "fault.sid"
KINDS = ["asgi", "asgi-thread", "wsgi"]
# As docs/postgres.md advises: a bounded wait for a pooled connection, and a server-side
# statement timeout, so that a request fails in bounded time instead of hanging.
POOL: dict[str, Any] = {
    "min_size": 1,
    "max_size": 4,
    "timeout": 0.5,
    "kwargs": {"autocommit": True, "options": "-c statement_timeout=500"},
}
RECOVERY = 15.0  # seconds the pool may take to reconnect (its backoff) after an outage
Hooks = dict[str, Callable[[], None]]


def starlette_app(store: Any, hooks: Hooks, lifespan: Any = None) -> Starlette:
    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"sid": request.scope["session_id"], **request.session})

    async def views(request: Request) -> JSONResponse:
        fault = request.query_params.get("fault")
        if fault:
            hooks[fault]()
        request.session["views"] = request.session.get("views", 0) + 1
        return JSONResponse({"sid": request.scope["session_id"], **request.session})

    options = {"secret": SECRET, "store": store, "name": NAME}
    session = Middleware(fastsession.SessionMiddleware, **options)
    routes = [Route("/whoami", whoami), Route("/views", views, methods=["POST"])]
    return Starlette(routes=routes, middleware=[session], lifespan=lifespan)


def wsgi_app(store: PostgresStore, hooks: Hooks) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        session = environ["fastsession.session"]
        if environ["PATH_INFO"] == "/views":
            fault = environ["QUERY_STRING"].removeprefix("fault=")
            if fault:
                hooks[fault]()
            session["views"] = session.get("views", 0) + 1
        body = {"sid": environ["fastsession.session_id"], **session}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return fastsession.WSGISessionMiddleware(app, secret=SECRET, store=store, name=NAME)


class Site:
    """One app of the given kind on its own server, and a browser for it."""

    def __init__(self, kind: str, server: PostgresServer) -> None:
        self.hooks: Hooks = {}
        self.closers: list[Callable[[], None]] = []
        if kind == "asgi":
            pool = AsyncConnectionPool(server.conninfo, open=False, **POOL)

            @asynccontextmanager
            async def lifespan(app: Starlette) -> AsyncIterator[None]:
                await pool.open()  # on uvicorn's event loop, where the pool will be used
                yield
                await pool.close()

            app = starlette_app(AsyncPostgresStore(pool), self.hooks, lifespan)
            self.server: Any = UvicornThread(app, lifespan="on").start()
        else:
            sync_pool = ConnectionPool(server.conninfo, open=True, **POOL)
            self.closers.append(sync_pool.close)
            store = PostgresStore(sync_pool)
            if kind == "wsgi":
                self.server = WaitressThread(wsgi_app(store, self.hooks)).start()
            else:
                self.server = UvicornThread(starlette_app(store, self.hooks)).start()
        # A connection per request: a server may close one after an app error, and
        # a reused connection would then race with that close.
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        self.browser = httpx.Client(base_url=self.server.url, timeout=30, limits=no_reuse)

    def request(self, method: str, path: str) -> httpx.Response:
        return self.browser.request(method, path)

    def ok(self, method: str, path: str) -> dict[str, Any]:
        response = self.request(method, path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def recovered(self, method: str, path: str) -> dict[str, Any]:
        """Retry until PostgreSQL answers through the pool again; every failure on the
        way must be a clean 500 (no cookie: no session given up or replaced)."""
        deadline = time.monotonic() + RECOVERY
        while True:
            response = self.request(method, path)
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            assert_no_cookie(response)
            assert time.monotonic() < deadline, "the pool never reconnected"
            time.sleep(0.1)

    def close(self) -> None:
        self.browser.close()
        self.server.stop()
        for close in self.closers:
            close()


@pytest.fixture(params=KINDS)
def site(request: pytest.FixtureRequest, fault_postgres: PostgresServer) -> Iterator[Site]:
    app = Site(str(request.param), fault_postgres)
    yield app
    app.close()


def assert_no_cookie(response: httpx.Response) -> None:
    assert response.status_code == 500, response.text
    assert not [v for v in response.headers.get_list("set-cookie") if v.startswith(NAME)]


def assert_failed_cleanly(
    response: httpx.Response, caplog: pytest.LogCaptureFixture, cause: str
) -> None:
    """A 500, no session cookie, and the cause in the "fastsession" log."""
    assert_no_cookie(response)
    messages = [r.getMessage() for r in caplog.records if r.name == "fastsession"]
    assert any(cause in m for m in messages), messages
    caplog.clear()


class TableLock:
    """A side transaction holding ACCESS EXCLUSIVE on the session table: every
    statement on it waits, and the store's statement_timeout cancels it."""

    def __init__(self, server: PostgresServer) -> None:
        self.conn = psycopg.connect(server.conninfo)
        self.conn.execute('LOCK TABLE "session" IN ACCESS EXCLUSIVE MODE')

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def rows(server: PostgresServer) -> int:
    with server.admin() as admin:
        row = admin.execute('SELECT count(*) FROM "session"').fetchone()
    assert row is not None
    return int(row[0])


def test_postgres_down_when_the_app_starts(
    fault_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    fault_postgres.stop()  # the apps start with nothing listening on the port
    for kind in KINDS:
        site = Site(kind, fault_postgres)
        try:
            # Nothing to load or save: no store call, no error.
            assert site.request("GET", "/whoami").status_code == 200
            # A new session to save: the save fails, and no cookie promises a session.
            assert_failed_cleanly(site.request("POST", "/views"), caplog, "PoolTimeout")
            # A signed cookie to load: the load fails; the user's id is not replaced.
            site.browser.cookies.set(NAME, "s:" + sign("known-id", SECRET))
            assert_failed_cleanly(site.request("GET", "/whoami"), caplog, "PoolTimeout")
            site.browser.cookies.clear()

            fault_postgres.start()
            body = site.recovered("POST", "/views")
            assert body["views"] == 1 and NAME in site.browser.cookies
            assert site.ok("POST", "/views") == {"sid": body["sid"], "views": 2}
            fault_postgres.stop()
        finally:
            site.close()


def test_postgres_crashed_mid_request_loses_nothing_committed(
    site: Site, fault_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    sid = site.ok("POST", "/views")["sid"]
    site.hooks["crash"] = fault_postgres.kill
    response = site.request("POST", "/views?fault=crash")
    assert_failed_cleanly(response, caplog, "PostgreSQL UPDATE failed")  # replace
    fault_postgres.start()  # crash recovery replays the WAL
    # The same app, the same cookie: the session as it was before the failed write.
    assert site.recovered("GET", "/whoami") == {"sid": sid, "views": 1}
    assert site.ok("POST", "/views") == {"sid": sid, "views": 2}


def test_postgres_restarted_between_requests(site: Site, fault_postgres: PostgresServer) -> None:
    sid = site.ok("POST", "/views")["sid"]
    fault_postgres.restart()
    # The pooled connections died with the server: the store finds out, has the pool
    # replace them, and runs the statement again. The very next request works.
    assert site.ok("POST", "/views") == {"sid": sid, "views": 2}
    assert site.ok("GET", "/whoami") == {"sid": sid, "views": 2}
    fault_postgres.kill()
    fault_postgres.start()
    assert site.ok("POST", "/views") == {"sid": sid, "views": 3}


def test_statement_timeout_on_load(
    site: Site, fault_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    sid = site.ok("POST", "/views")["sid"]
    lock = TableLock(fault_postgres)
    try:
        assert_failed_cleanly(site.request("GET", "/whoami"), caplog, "QueryCanceled")
    finally:
        lock.release()
    assert site.ok("GET", "/whoami") == {"sid": sid, "views": 1}
    assert rows(fault_postgres) == 1  # no fresh session was saved for the failed request


def test_statement_timeout_on_save(
    site: Site, fault_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    sid = site.ok("POST", "/views")["sid"]
    locks: list[TableLock] = []
    site.hooks["lock"] = lambda: locks.append(TableLock(fault_postgres))
    try:
        response = site.request("POST", "/views?fault=lock")
        assert_failed_cleanly(response, caplog, "QueryCanceled")
    finally:
        for lock in locks:
            lock.release()
    assert locks, "the hook ran"
    # A cancelled statement did nothing: the session is whole, and usable at once.
    assert site.ok("GET", "/whoami") == {"sid": sid, "views": 1}
    assert site.ok("POST", "/views") == {"sid": sid, "views": 2}


def test_errors_are_logged_with_their_cause(
    site: Site, fault_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    site.ok("POST", "/views")
    fault_postgres.kill()
    with caplog.at_level(logging.ERROR, logger="fastsession"):
        assert site.request("GET", "/whoami").status_code == 500
    records = [r for r in caplog.records if r.name == "fastsession"]
    assert records and all(r.levelno == logging.ERROR for r in records)
    message = records[0].getMessage()
    assert "get()" in message and "PostgreSQL SELECT failed" in message, message


def test_one_connection_does_not_outlive_a_restart(
    fault_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A single psycopg connection cannot reconnect (docs/postgres.md: use a pool).
    After a restart every request fails cleanly: never a new, empty session."""
    conn = psycopg.connect(fault_postgres.conninfo, autocommit=True)
    server = WaitressThread(wsgi_app(PostgresStore(conn), {})).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            sid = browser.post("/views").json()["sid"]
            fault_postgres.restart()
            # The server's goodbye first (AdminShutdown), then psycopg's closed connection.
            assert_failed_cleanly(browser.get("/whoami"), caplog, "AdminShutdown")
            for method, path in [("GET", "/whoami"), ("POST", "/views")]:
                response = browser.request(method, path)
                assert_failed_cleanly(response, caplog, "the connection is closed")
            assert browser.cookies[NAME].startswith("s%3A" + sid)
    finally:
        server.stop()
        conn.close()
    assert rows(fault_postgres) == 1
