"""The Redis stores' local copy (``local_cache=``) against a real redis-server:
repeat reads make no round trip (read back from MONITOR), and every change on
the server — another client's write or DEL, an Express app's write, expiry, a
flush — is seen on the next read, also after the tracking connection is killed."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.cluster
from app_servers import ExpressApp, UvicornThread, WaitressThread
from interop_apps import NAME, starlette_app, wsgi_app
from redis_server import (
    CommandLog,
    RedisClusterServers,
    RedisServer,
    fault_redis,
    redis_cluster,
    redis_db,
    redis_server,
)
from redis_support import SyncFacade, session_with

from fastsession.stores.redis import AsyncRedisStore, LocalCache, RedisStore

pytestmark = pytest.mark.redis
__all__ = ["fault_redis", "redis_cluster", "redis_db", "redis_server"]  # fixtures used here

StoreFactory = Callable[..., Any]
LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture(params=["sync", "async"])
def make_store(request: pytest.FixtureRequest, redis_db: RedisServer) -> Iterator[StoreFactory]:
    """``make_store(**options)`` → a store with a local copy, both faces."""
    made: list[Any] = []

    def make(local_cache: Any = 100, **options: Any) -> Any:
        if request.param == "sync":
            store: Any = RedisStore(redis_db.client(), local_cache=local_cache, **options)
        else:
            store = SyncFacade(
                AsyncRedisStore(redis_db.async_client(), local_cache=local_cache, **options)
            )
        made.append(store)
        return store

    yield make
    for store in made:
        if store.local_copy is not None:
            store.local_copy.close()
        if isinstance(store, SyncFacade):
            store.close()
        else:
            store.client.close()


@pytest.fixture
def monitor(redis_db: RedisServer) -> Iterator[CommandLog]:
    log = CommandLog(redis_db)
    yield log
    log.close()


def taken(monitor: CommandLog) -> list[list[str]]:
    """The session commands since the last call (the tracking connection's
    SUBSCRIBE left out)."""
    return [c for c in monitor.take() if c[0] != "SUBSCRIBE"]


def settle(store: Any, key: str, present: bool, timeout: float = 2.0) -> None:
    """Wait (bounded) until the invalidation for ``key`` has reached the store;
    the reads themselves never wait for it."""
    deadline = time.monotonic() + timeout
    while (key in store.local_copy._entries) != present:
        assert time.monotonic() < deadline, f"{key} still {'absent' if present else 'kept'}"
        with store.local_copy._lock:
            store.local_copy._drain()
        time.sleep(0.005)


def write(redis_db: RedisServer, sid: str, views: int, ttl: int = 3600) -> None:
    with redis_db.admin() as other:
        other.set(f"sess:{sid}", session_with(sid, LATER, views=views).to_json(), ex=ttl)


def test_repeat_reads_make_no_round_trip(make_store: StoreFactory, redis_db: RedisServer,
                                         monitor: CommandLog) -> None:  # fmt: skip
    store = make_store()
    write(redis_db, "hot", 1)
    monitor.take()
    assert store.get("hot")["views"] == 1
    assert taken(monitor) == [["GET", "sess:hot"], ["PTTL", "sess:hot"]]
    for _ in range(20):
        assert store.get("hot")["views"] == 1
    assert taken(monitor) == []
    assert store.local_copy.hits == 20


def test_returned_records_are_copies(make_store: StoreFactory, redis_db: RedisServer) -> None:
    store = make_store()
    write(redis_db, "a", 1)
    store.get("a")["views"] = 99
    assert store.get("a")["views"] == 1


def test_another_clients_write_and_del_are_seen(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store()
    write(redis_db, "a", 1)
    assert store.get("a")["views"] == 1
    assert store.get("a")["views"] == 1 and store.local_copy.hits == 1
    write(redis_db, "a", 2)
    settle(store, "sess:a", present=False)
    assert store.get("a")["views"] == 2
    with redis_db.admin() as other:
        other.delete("sess:a")
    settle(store, "sess:a", present=False)
    assert store.get("a") is None


def test_a_write_through_the_store_drops_its_copy(
    make_store: StoreFactory, redis_db: RedisServer, monitor: CommandLog
) -> None:
    store = make_store()
    write(redis_db, "a", 1)
    assert store.get("a")["views"] == 1
    store.set("a", session_with("a", LATER, views=5))
    # At once, without waiting for the server's message.
    assert store.get("a")["views"] == 5
    store.destroy("a")
    assert store.get("a") is None
    store.set("b", session_with("b", LATER, views=1))
    store.get("b")
    store.clear()
    assert store.get("b") is None


def test_replace_and_destroy_user_drop_their_copies(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store(user_key="uid")
    store.set("a", session_with("a", LATER, uid="ann", views=1))
    store.set("b", session_with("b", LATER, uid="ann", views=1))
    assert store.get("a")["views"] == 1 and store.get("b")["views"] == 1
    assert store.replace("a", session_with("a", LATER, uid="ann", views=2)) is True
    assert store.get("a")["views"] == 2  # at once, without the server's message
    assert store.destroy_user("ann", keep="b") == 1
    assert store.get("a") is None
    assert store.get("b")["views"] == 1
    assert store.destroy_user("ann") == 1
    assert store.get("b") is None


def test_expiry_drops_the_copy_even_without_a_message(
    make_store: StoreFactory, redis_db: RedisServer
) -> None:
    store = make_store()
    with redis_db.admin() as other:
        other.set("sess:short", session_with("short", LATER, views=1).to_json(), px=300)
    assert store.get("short")["views"] == 1
    deadline = store.local_copy._entries["sess:short"][1]
    assert deadline is not None and deadline <= time.monotonic() + 0.3
    time.sleep(0.35)
    # Kept no longer than the key's PTTL, whether or not Redis has announced it.
    assert store.get("short") is None


def test_expiry_announced_by_the_server(make_store: StoreFactory, redis_db: RedisServer) -> None:
    store = make_store()
    with redis_db.admin() as other:
        other.set("sess:e", session_with("e", LATER, views=1).to_json(), px=200)
        assert store.get("e")["views"] == 1
        time.sleep(0.25)
        assert other.exists("sess:e") == 0  # the server expires it, and says so
    settle(store, "sess:e", present=False)


def test_a_flush_drops_everything(make_store: StoreFactory, redis_db: RedisServer) -> None:
    store = make_store()
    write(redis_db, "a", 1)
    write(redis_db, "b", 1)
    store.get("a"), store.get("b")
    assert len(store.local_copy) == 2
    redis_db.flush()
    deadline = time.monotonic() + 2
    while len(store.local_copy):
        assert time.monotonic() < deadline
        store.get("zzz")
    assert store.get("a") is None


def test_killed_tracking_connection_drops_the_copy(
    make_store: StoreFactory, redis_db: RedisServer, monitor: CommandLog
) -> None:
    store = make_store(LocalCache(max_entries=10, retry_interval=30))
    write(redis_db, "a", 1)
    assert store.get("a")["views"] == 1
    with redis_db.admin() as admin:
        tracking = [c for c in admin.client_list() if "t" in c["flags"]]  # tracking on
        assert len(tracking) == 1
        admin.client_kill_filter(_id=tracking[0]["id"])
        # Changed while nobody tracks it for us: must never be served from the copy.
        write(redis_db, "a", 2)
    time.sleep(0.05)
    monitor.take()
    assert store.get("a")["views"] == 2
    assert not store.local_copy.live and len(store.local_copy) == 0
    assert store.get("a")["views"] == 2
    # Tracking is back on after the break: reads are kept again.
    assert store.local_copy.live
    assert store.get("a")["views"] == 2
    commands = [c[0] for c in taken(monitor)]
    assert commands == ["GET", "GET", "PTTL"]


def test_tracking_unreachable_reads_go_to_the_server(
    redis_db: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "fastsession.stores.redis")
    store = RedisStore(redis_db.client(), local_cache=LocalCache(retry_interval=0.01))
    with redis_db.admin() as admin:
        admin.acl_setuser("default", enabled=True, commands=["+@all", "-client"])
    try:
        write(redis_db, "a", 1)
        assert store.get("a")["views"] == 1
        assert not store.local_copy.live and len(store.local_copy) == 0
        write(redis_db, "a", 2)
        time.sleep(0.02)  # another attempt is due, and fails again
        assert store.get("a")["views"] == 2
        said = [(r.levelname, r.getMessage()) for r in caplog.records]
        assert [level for level, _ in said] == ["WARNING", "DEBUG"]  # two attempts, one warning
        assert all("tracking not turned on" in message for _, message in said)
    finally:
        with redis_db.admin() as admin:
            admin.acl_setuser("default", enabled=True, commands=["+@all"])
        store.client.close()


def test_a_server_fault_is_still_an_error(fault_redis: RedisServer) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from fastsession.errors import StoreError

    store = RedisStore(
        fault_redis.client(socket_timeout=1, retry=Retry(NoBackoff(), 0)), local_cache=10
    )
    write(fault_redis, "a", 1)
    assert store.get("a")["views"] == 1
    fault_redis.kill()
    with pytest.raises(StoreError) as info:
        store.get("a")
    assert info.value.__cause__ is not None
    assert len(store.local_copy) == 0


def test_bounded_least_recently_read_first(make_store: StoreFactory, redis_db: RedisServer,
                                           monitor: CommandLog) -> None:  # fmt: skip
    store = make_store(3)
    for sid in "abcd":
        write(redis_db, sid, 1)
    for sid in "abc":
        store.get(sid)
    store.get("a")  # a is now the most recently read
    store.get("d")  # evicts b
    assert list(store.local_copy._entries) == ["sess:c", "sess:a", "sess:d"]
    monitor.take()
    store.get("a"), store.get("c"), store.get("d")
    assert taken(monitor) == []
    store.get("b")
    assert taken(monitor) == [["GET", "sess:b"], ["PTTL", "sess:b"]]


def test_a_read_in_flight_when_its_key_changes_is_not_kept(redis_db: RedisServer) -> None:
    store = RedisStore(redis_db.client(), local_cache=10)
    write(redis_db, "a", 1)
    store.get("zzz")  # tracking on
    local = store.local_copy
    assert local is not None
    token = local.begin("sess:a")
    assert token is not None
    write(redis_db, "a", 2)  # lands between the GET and its reply being kept
    settle(store, "sess:a", present=False)
    local.keep("sess:a", token, b'{"cookie":{},"views":1}', 10_000)
    assert "sess:a" not in local._entries
    assert store.get("a")["views"] == 2
    store.client.close()


def test_options_are_checked(redis_db: RedisServer) -> None:
    client = redis_db.client()
    assert RedisStore(client).local_copy is None
    assert RedisStore(client, local_cache=0).local_copy is None
    for bad in (-1, True, "100", 1.5):
        with pytest.raises((TypeError, ValueError), match="local_cache"):
            RedisStore(client, local_cache=bad)
    for fields in ({"max_entries": 0}, {"retry_interval": 0}, {"health_interval": -1}):
        with pytest.raises(ValueError, match="local_cache"):
            LocalCache(**fields)
    client.close()


def test_an_express_write_is_seen(make_store: StoreFactory, redis_db: RedisServer) -> None:
    store = make_store()
    express = ExpressApp(
        redis_db.url, ["local copy secret, long enough"], name="connect.sid", max_age_ms=600_000
    ).start()
    try:
        with httpx.Client(timeout=10) as browser:
            body = browser.post(express.url + "/views").json()
            sid = body["sid"]
            assert store.get(sid)["views"] == 1
            assert store.get(sid)["views"] == 1 and store.local_copy.hits == 1
            assert browser.post(express.url + "/views").json()["views"] == 2
            settle(store, f"sess:{sid}", present=False)
            assert store.get(sid)["views"] == 2
    finally:
        express.stop()


def test_the_documented_acl_is_enough(redis_db: RedisServer) -> None:
    """docs/redis.md's ACL user, with the local copy's additions, keeps copies."""
    rule = (
        "on >pw resetkeys ~sess:* resetchannels &__redis__:invalidate -@all +get +set +del"
        " +expire +scan +mget +ping +pttl +client|id +client|tracking +subscribe"
    )
    with redis_db.admin() as admin:
        admin.execute_command("ACL", "SETUSER", "sessions", *rule.split())
    client = redis_db.client(username="sessions", password="pw")
    try:
        store = RedisStore(client, local_cache=10)
        store.set("s", session_with("s", LATER, views=1))
        assert store.get("s")["views"] == 1 and store.local_copy is not None
        assert store.local_copy.live
        assert store.get("s")["views"] == 1 and store.local_copy.hits == 1
        write(redis_db, "s", 2)
        settle(store, "sess:s", present=False)
        assert store.get("s")["views"] == 2
        store.local_copy.close()
    finally:
        client.close()
        with redis_db.admin() as admin:
            admin.execute_command("ACL", "DELUSER", "sessions")


def test_a_cluster_client_is_refused(redis_cluster: RedisClusterServers) -> None:
    client = redis.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[0].port)
    try:
        with pytest.raises(TypeError, match="local_cache: needs a client of one Redis server"):
            RedisStore(client, local_cache=10)
        assert RedisStore(client).local_copy is None
    finally:
        client.close()


def test_a_forked_child_keeps_nothing_of_its_parent(redis_db: RedisServer) -> None:
    store = RedisStore(redis_db.client(), local_cache=10)
    write(redis_db, "a", 1)
    assert store.get("a")["views"] == 1
    local = store.local_copy
    assert local is not None and local.live
    parent_conn = local._conn
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        ok = False
        try:
            fresh = store.get("a")["views"] == 1 and local.hits == 0
            ok = fresh and local.live and local._conn is not parent_conn
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's tracking connection is untouched by the child.
    assert local._conn is parent_conn
    write(redis_db, "a", 2)
    settle(store, "sess:a", present=False)
    assert store.get("a")["views"] == 2
    store.client.close()


def test_an_unanswered_health_ping_drops_the_copy(fault_redis: RedisServer) -> None:
    config = LocalCache(health_interval=0.2, retry_interval=30)
    store = RedisStore(fault_redis.client(), local_cache=config)
    write(fault_redis, "a", 1)
    assert store.get("a")["views"] == 1
    local = store.local_copy
    assert local is not None and local.live
    time.sleep(0.25)
    fault_redis.client_pause(800)  # the PING sent next is answered only after it
    assert store.get("a")["views"] == 1 and local.hits == 1
    time.sleep(0.25)
    # No answer for longer than health_interval: the connection counts as broken,
    # the copy is dropped and this read goes to the server (waiting out the pause).
    assert store.get("a")["views"] == 1
    assert local.hits == 1 and not local.live and len(local) == 0
    store.client.close()


@pytest.mark.parametrize(
    "client_options",
    [{"protocol": 3}, {"decode_responses": True}, {"protocol": 3, "decode_responses": True}],
    ids=["resp3", "decoded", "resp3-decoded"],
)
@pytest.mark.parametrize("face", ["sync", "async"])
def test_any_client_protocol(
    redis_db: RedisServer, monitor: CommandLog, face: str, client_options: dict[str, Any]
) -> None:
    if face == "sync":
        store: Any = RedisStore(redis_db.client(**client_options), local_cache=10)
    else:
        async_client = redis_db.async_client(**client_options)
        store = SyncFacade(AsyncRedisStore(async_client, local_cache=10))
    try:
        write(redis_db, "a", 1)
        assert store.get("a")["views"] == 1
        taken(monitor)
        assert store.get("a")["views"] == 1
        assert taken(monitor) == []
        write(redis_db, "a", 2)
        settle(store, "sess:a", present=False)
        assert store.get("a")["views"] == 2
    finally:
        store.local_copy.close()
        store.close() if face == "async" else store.client.close()


def test_through_the_middlewares_beside_express(redis_db: RedisServer) -> None:
    """Over HTTP, one browser: Express (connect-redis) writes, the fastsession apps
    (ASGI + AsyncRedisStore, WSGI under waitress + RedisStore, both with a local
    copy and no touch) read from memory, and see each Express write on the next
    request, with no waiting in between."""
    secrets = ["local copy over HTTP, a secret long enough"]
    async_store = AsyncRedisStore(redis_db.async_client(), local_cache=100, disable_touch=True)
    sync_store = RedisStore(redis_db.client(), local_cache=100, disable_touch=True)
    express = ExpressApp(redis_db.url, secrets, name=NAME, max_age_ms=3_600_000).start()
    asgi = UvicornThread(starlette_app("asgi", secrets, async_store)).start()
    wsgi = WaitressThread(wsgi_app(secrets, sync_store)).start()
    try:
        with httpx.Client(timeout=10) as browser:
            sid = browser.post(express.url + "/views").json()["sid"]
            for views in range(1, 4):
                for side, store in ((asgi, async_store), (wsgi, sync_store)):
                    assert store.local_copy is not None
                    hits = store.local_copy.hits
                    for _ in range(3):
                        body = browser.get(side.url + "/whoami").json()
                        assert (body["sid"], body["views"]) == (sid, views)
                    assert store.local_copy.hits == hits + 2  # the first read filled it
                assert browser.post(express.url + "/views").json()["views"] == views + 1
    finally:
        express.stop()
        asgi.stop()
        wsgi.stop()
        sync_store.client.close()
