"""The store contract (tests/store_contract.py) on RedisStore and AsyncRedisStore over
a real redis-server: redis-py sync and asyncio clients, decoded responses, Valkey
clients, and a real 3-node Redis Cluster; plus cluster routing checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
import valkey
import valkey.asyncio
import valkey.exceptions
from redis_server import (
    HOST,
    RedisClusterServers,
    RedisServer,
    redis_cluster,
    redis_db,
    redis_server,
)
from redis_support import SyncFacade, session_with
from store_contract import AsyncStoreContract, StoreContract

from fastsession.stores.redis import AsyncRedisStore, RedisStore
from fastsession.testing import FaultCause

pytestmark = pytest.mark.redis
__all__ = ["redis_cluster", "redis_db", "redis_server"]  # the helper's fixtures, used here


# ---------------------------------------------------------------- the store contract


def advance_redis(servers: list[RedisServer], seconds: float) -> None:
    """Let ``seconds`` pass for every key's TTL without sleeping (PEXPIRE, DEL at zero)."""
    step = round(seconds * 1000)
    for server in servers:
        with server.admin() as admin:
            for key in admin.scan_iter(count=1000):
                pttl = admin.pttl(key)
                if pttl < 0:
                    continue
                if pttl <= step:
                    admin.delete(key)
                else:
                    admin.pexpire(key, pttl - step)


@contextmanager
def commands_refused(servers: list[RedisServer]) -> Iterator[FaultCause]:
    """Every command of the default user refused (ACL NOPERM) while the block runs."""
    admins = []
    for server in servers:
        with server.admin() as admin:
            admin.acl_setuser("fault-admin", enabled=True, nopass=True, commands=["+@all"])
        admins.append(redis.Redis(host=HOST, port=server.port, username="fault-admin"))
    try:
        for admin in admins:
            admin.acl_setuser("default", commands=["-@all", "+hello", "+auth", "+client"])
        yield (redis.exceptions.RedisError, valkey.exceptions.ValkeyError)
    finally:
        for admin in admins:
            admin.acl_setuser(
                "default",
                reset=True,
                enabled=True,
                nopass=True,
                commands=["+@all"],
                keys=["*"],
                channels=["*"],
            )
            admin.acl_deluser("fault-admin")
            admin.close()


class RedisFaults:
    servers: list[RedisServer]

    def store_fault(self, store: Any) -> AbstractContextManager[FaultCause]:
        return commands_refused(self.servers)


class TestRedisStoreContract(RedisFaults, StoreContract):
    TOUCH_TELLS_GONE = True

    @pytest.fixture
    def store(self, redis_db: RedisServer) -> Iterator[RedisStore]:
        self.servers = [redis_db]
        client = redis_db.client()
        yield RedisStore(client, ttl=self.TTL)
        client.close()

    def advance(self, store: Any, seconds: float) -> None:
        advance_redis(self.servers, seconds)


class TestRedisStoreContractDecodedResponses(TestRedisStoreContract):
    @pytest.fixture
    def store(self, redis_db: RedisServer) -> Iterator[RedisStore]:
        self.servers = [redis_db]
        client = redis_db.client(decode_responses=True)
        yield RedisStore(client, ttl=self.TTL)
        client.close()


class TestAsyncRedisStoreContract(RedisFaults, AsyncStoreContract):
    TOUCH_TELLS_GONE = True

    @pytest.fixture(autouse=True)
    def server(self, redis_db: RedisServer) -> RedisServer:
        self.servers = [redis_db]
        return redis_db

    async def make_store(self) -> AsyncRedisStore:
        return AsyncRedisStore(self.servers[0].async_client(), ttl=self.TTL)

    async def close_store(self, store: Any) -> None:
        await store.client.aclose()

    def advance(self, store: Any, seconds: float) -> None:
        advance_redis(self.servers, seconds)


class TestRedisClusterStoreContract(RedisFaults, StoreContract):
    TOUCH_TELLS_GONE = True

    @pytest.fixture
    def store(self, redis_cluster: RedisClusterServers) -> Iterator[RedisStore]:
        self.servers = redis_cluster.nodes
        for node in redis_cluster.nodes:
            node.flush()
        client = redis.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[0].port)
        yield RedisStore(client, ttl=self.TTL)
        client.close()

    def advance(self, store: Any, seconds: float) -> None:
        advance_redis(self.servers, seconds)


class TestAsyncRedisClusterStoreContract(RedisFaults, AsyncStoreContract):
    TOUCH_TELLS_GONE = True

    @pytest.fixture(autouse=True)
    def server(self, redis_cluster: RedisClusterServers) -> RedisClusterServers:
        self.servers = redis_cluster.nodes
        for node in redis_cluster.nodes:
            node.flush()
        return redis_cluster

    async def make_store(self) -> AsyncRedisStore:
        port = self.servers[0].port
        client = redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=port)
        return AsyncRedisStore(client, ttl=self.TTL)

    async def close_store(self, store: Any) -> None:
        await store.client.aclose()

    def advance(self, store: Any, seconds: float) -> None:
        advance_redis(self.servers, seconds)


class TestValkeyClientContract(TestRedisStoreContract):
    """A Valkey client (valkey-py, redis-py's fork) against the same server."""

    @pytest.fixture
    def store(self, redis_db: RedisServer) -> Iterator[RedisStore]:
        self.servers = [redis_db]
        client = valkey.Valkey(host="127.0.0.1", port=redis_db.port)
        yield RedisStore(client, ttl=self.TTL)
        client.close()  # type: ignore[no-untyped-call]


class TestAsyncValkeyClientContract(TestAsyncRedisStoreContract):
    async def make_store(self) -> AsyncRedisStore:
        client = valkey.asyncio.Valkey(host="127.0.0.1", port=self.servers[0].port)
        return AsyncRedisStore(client, ttl=self.TTL)


# ---------------------------------------------------------------- cluster


def _cluster_checks(store: Any) -> None:
    store.clear()
    sids = [f"user-{i}" for i in range(40)]  # spread over every primary's slots
    for sid in sids:
        store.set(sid, session_with(sid, None, owner=sid))
    assert store.length() == 40
    assert sorted(store.ids()) == sorted(sids)
    assert {k: v["owner"] for k, v in store.all().items()} == {s: s for s in sids}
    store.touch("user-3", session_with("user-3", None))
    store.destroy("user-3")
    assert store.get("user-3") is None and store.get("user-4")["owner"] == "user-4"
    store.clear()
    assert store.length() == 0 and store.all() == {}


def test_cluster_sync(redis_cluster: RedisClusterServers) -> None:
    client = redis.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[0].port)
    try:
        _cluster_checks(RedisStore(client))
    finally:
        client.close()


def test_cluster_async(redis_cluster: RedisClusterServers) -> None:
    client = redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[1].port)
    store = SyncFacade(AsyncRedisStore(client))
    try:
        _cluster_checks(store)
    finally:
        store.close()


def test_cluster_keys_reach_every_primary(redis_cluster: RedisClusterServers) -> None:
    for node in redis_cluster.nodes:
        node.flush()  # what earlier tests left (a user index of the contract's)
    client = redis.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[0].port)
    try:
        store = RedisStore(client)
        for i in range(40):
            store.set(f"user-{i}", session_with(f"user-{i}", None))
        counts = [node.admin().dbsize() for node in redis_cluster.nodes]
        assert all(n > 0 for n in counts) and sum(counts) == 40
        store.clear()
    finally:
        client.close()
