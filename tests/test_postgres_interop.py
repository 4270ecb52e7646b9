"""Sessions shared with a real Express app through a real PostgreSQL, both ways.

Express 5 + express-session 1.19 + connect-pg-simple 10 (tests/interop) and three
fastsession apps: Starlette + AsyncPostgresStore (a conninfo string: the store's own
pool) and Starlette + PostgresStore (a psycopg_pool pool) under uvicorn, and a WSGI
app + PostgresStore (one psycopg connection) under waitress. All use one table, one
secret list and one cookie name; one httpx client (one cookie jar, as one browser)
talks to all of them on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest
from app_servers import ExpressApp, UvicornThread, WaitressThread, require_node
from interop_apps import (
    COOKIE_FIELDS,
    MAX_AGE,
    NAME,
    NEW,
    OLD,
    SIDES,
    attribute_names,
    call,
    pair,
    starlette_app,
    wsgi_app,
)
from postgres_server import PostgresServer, postgres_db, postgres_server
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette

from fastsession.stores.postgres import AsyncPostgresStore, PostgresStore

pytestmark = [pytest.mark.postgres, pytest.mark.node]
__all__ = ["postgres_db", "postgres_server"]  # the helper's fixtures, used here


class Deployment:
    """The four apps with one secret list, all on the same PostgreSQL table."""

    def __init__(self, server: PostgresServer, secrets: list[str]) -> None:
        require_node()
        self.server = server
        self.secrets = secrets
        self.servers: dict[str, Any] = {}
        self.closers: list[Any] = []

    def start(self) -> Deployment:
        async_store = AsyncPostgresStore(self.server.conninfo)

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            await async_store.close()  # the pool it opened on this loop

        pool = ConnectionPool(self.server.conninfo, min_size=1, max_size=4, open=True)
        conn = psycopg.connect(self.server.conninfo, autocommit=True)
        self.closers = [pool.close, conn.close]
        self.servers = {
            "express": ExpressApp(
                self.server.url, self.secrets, name=NAME, max_age_ms=MAX_AGE * 1000
            ).start(),
            "asgi": UvicornThread(
                starlette_app("asgi", self.secrets, async_store, lifespan), lifespan="on"
            ).start(),
            "asgi-thread": UvicornThread(
                starlette_app("asgi-thread", self.secrets, PostgresStore(pool))
            ).start(),
            "wsgi": WaitressThread(wsgi_app(self.secrets, PostgresStore(conn))).start(),
        }
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        for close in self.closers:
            close()
        self.servers = {}

    def restart(self, secrets: list[str]) -> None:
        self.stop()
        self.secrets = secrets
        self.start()

    def url(self, side: str, path: str) -> str:
        return str(self.servers[side].url) + path


@pytest.fixture(scope="module")
def deployment(postgres_server: PostgresServer) -> Iterator[Deployment]:
    apps = Deployment(postgres_server, ["interop secret, long enough to sign cookies"]).start()
    yield apps
    apps.stop()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def stored(server: PostgresServer, sid: str) -> tuple[str, int]:
    """The row's ``sess`` text and ``expire`` (epoch seconds, in the server's TimeZone)."""
    with server.admin() as admin:
        row = admin.execute(
            "SELECT sess::text, extract(epoch from expire::timestamptz)::bigint "
            'FROM "session" WHERE sid = %s',
            (sid,),
        ).fetchone()
    assert row is not None, f"no row for {sid}"
    return row[0], int(row[1])


def cookie_expiry(record: dict[str, Any]) -> int:
    """connect-pg-simple's expire for a record: its cookie's expiry, seconds rounded up."""
    expires = datetime.fromisoformat(record["cookie"]["expires"])
    return math.ceil(round(expires.timestamp() * 1000) / 1000)


def sids(server: PostgresServer) -> list[str]:
    with server.admin() as admin:
        return [sid for (sid,) in admin.execute('SELECT sid FROM "session"').fetchall()]


# ------------------------------------------------------------ the tests


@pytest.mark.parametrize("creator", SIDES)
def test_counter_and_login_shared_every_way(
    creator: str, deployment: Deployment, browser: httpx.Client, postgres_db: PostgresServer
) -> None:
    body, cookie = call(browser, deployment, creator, "POST", "/login?user=ann")
    sid = body["sid"]
    assert cookie is not None and body["user"] == "ann" and body["views"] is None
    order = [creator, *(s for s in SIDES if s != creator), creator]
    for n, side in enumerate(order, start=1):
        body, _ = call(browser, deployment, side, "POST", "/views")
        assert (body["sid"], body["views"], body["user"]) == (sid, n, "ann")
        text, expire = stored(postgres_db, sid)
        record = json.loads(text)
        # Whoever wrote last: express-session's record, connect-pg-simple's expire.
        assert list(record) == ["cookie", "user", "views"] and record["views"] == n
        assert list(record["cookie"]) == COOKIE_FIELDS
        # express-session reads the clock twice when it resets maxAge (spec 11.2).
        assert MAX_AGE * 1000 - 1000 < record["cookie"]["originalMaxAge"] <= MAX_AGE * 1000
        assert expire == cookie_expiry(record), side
    for side in SIDES:
        body, cookie = call(browser, deployment, side, "GET", "/whoami")
        assert (body["sid"], body["views"], body["user"]) == (sid, len(order), "ann")
        assert cookie is None  # unmodified, not rolling: no Set-Cookie on either side
    assert sids(postgres_db) == [sid]


def test_every_side_signs_the_same_cookie(
    deployment: Deployment, browser: httpx.Client, postgres_db: PostgresServer
) -> None:
    call(browser, deployment, "asgi", "POST", "/views")
    cookies = {side: call(browser, deployment, side, "POST", "/views")[1] for side in SIDES}
    assert all(cookies.values())
    assert len({pair(c) for c in cookies.values() if c}) == 1
    assert {tuple(attribute_names(c)) for c in cookies.values() if c} == {
        ("path", "expires", "httponly")
    }


@pytest.mark.parametrize("side", SIDES)
def test_unmodified_visit_moves_only_the_expiry(
    side: str, deployment: Deployment, browser: httpx.Client, postgres_db: PostgresServer
) -> None:
    writer = "express" if side != "express" else "wsgi"
    sid = call(browser, deployment, writer, "POST", "/views")[0]["sid"]
    soon = math.ceil(time.time()) + 100
    with postgres_db.admin() as admin:
        admin.execute('UPDATE "session" SET expire = to_timestamp(%s) WHERE sid = %s', (soon, sid))
    before, _ = stored(postgres_db, sid)
    call(browser, deployment, side, "GET", "/whoami")
    after, expire = stored(postgres_db, sid)
    # connect-pg-simple's touch: UPDATE ... SET expire, from the renewed cookie.
    assert MAX_AGE - 5 < expire - time.time() <= MAX_AGE + 1
    assert after == before  # and the record is not rewritten


@pytest.mark.parametrize("side", SIDES)
def test_an_expired_row_is_no_session_anywhere(
    side: str, deployment: Deployment, browser: httpx.Client, postgres_db: PostgresServer
) -> None:
    sid = call(browser, deployment, "asgi-thread", "POST", "/login?user=dee")[0]["sid"]
    past = math.ceil(time.time()) - 2
    with postgres_db.admin() as admin:
        admin.execute('UPDATE "session" SET expire = to_timestamp(%s) WHERE sid = %s', (past, sid))
    body, cookie = call(browser, deployment, side, "GET", "/whoami")
    assert body["user"] is None and body["sid"] != sid and cookie is None


@pytest.mark.parametrize(("creator", "destroyer"), [(a, b) for a in SIDES for b in SIDES if a != b])
def test_destroyed_on_one_side_is_gone_on_the_other(
    creator: str,
    destroyer: str,
    deployment: Deployment,
    browser: httpx.Client,
    postgres_db: PostgresServer,
) -> None:
    sid = call(browser, deployment, creator, "POST", "/login?user=bob")[0]["sid"]
    assert call(browser, deployment, destroyer, "GET", "/whoami")[0]["user"] == "bob"
    call(browser, deployment, destroyer, "POST", "/logout")
    assert sid not in sids(postgres_db)
    for side in SIDES:
        body, cookie = call(browser, deployment, side, "GET", "/whoami")
        assert body["user"] is None and body["sid"] != sid
        assert cookie is None  # save_uninitialized=False on both sides


def test_secret_rotation_keeps_everyone_logged_in(
    postgres_db: PostgresServer, browser: httpx.Client
) -> None:
    apps = Deployment(postgres_db, [OLD]).start()
    try:
        body, old_cookie = call(browser, apps, "express", "POST", "/login?user=cy")
        sid = body["sid"]
        assert old_cookie is not None

        # New secret first, old second, everywhere: the old cookie still verifies.
        apps.restart([NEW, OLD])
        for side in SIDES:
            assert call(browser, apps, side, "GET", "/whoami")[0]["user"] == "cy"
        # A write re-signs with the new secret, the same on every side.
        resigned = {side: call(browser, apps, side, "POST", "/views")[1] for side in SIDES}
        assert len({pair(c) for c in resigned.values() if c}) == 1
        new_cookie = resigned["asgi"]
        assert new_cookie is not None and pair(new_cookie) != pair(old_cookie)

        # Once the old secret is retired, the re-signed cookie keeps working.
        apps.restart([NEW])
        for side in SIDES:
            body = call(browser, apps, side, "GET", "/whoami")[0]
            assert (body["sid"], body["user"], body["views"]) == (sid, "cy", len(SIDES))
        # A cookie signed with the retired secret (or forged) is no session anywhere.
        for side in SIDES:
            with httpx.Client(timeout=10) as stranger:
                stranger.cookies.set(NAME, pair(old_cookie).split("=", 1)[1])
                body = call(stranger, apps, side, "GET", "/whoami")[0]
            assert body["user"] is None and body["sid"] != sid
    finally:
        apps.stop()


def test_both_create_the_same_table(postgres_db: PostgresServer, browser: httpx.Client) -> None:
    with postgres_db.admin() as admin:
        for schema in ("by_express", "by_fastsession"):
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            admin.execute(f"CREATE SCHEMA {schema}")
    env = {"PG_SCHEMA": "by_express", "PG_CREATE_TABLE": "1"}
    express = ExpressApp(postgres_db.url, ["s" * 32], name=NAME, max_age_ms=None, env=env)
    express.start()
    try:
        response = browser.post(f"{express.url}/login?user=eve")  # the first query creates it
        assert response.status_code == 200, response.text
    finally:
        express.stop()
    with psycopg.connect(postgres_db.conninfo, autocommit=True) as conn:
        ours = PostgresStore(conn, schema_name="by_fastsession", create_table_if_missing=True)
        assert ours.length() == 0
        # And each reads the other's table: here, the session Express just saved.
        theirs = PostgresStore(conn, schema_name="by_express", create_table_if_missing=True)
        assert [r["user"] for r in theirs.all().values()] == ["eve"]
    expected = postgres_db.describe_table('"by_express"."session"', "by_express")
    assert postgres_db.describe_table('"by_fastsession"."session"', "by_fastsession") == expected
    assert expected[2][0][0] == "IDX_session_expire"
