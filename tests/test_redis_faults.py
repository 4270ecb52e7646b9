"""Redis faults, with a real redis-server that is stopped, killed, restarted,
frozen, put to DEBUG SLEEP / CLIENT PAUSE, out of memory or loading.

Every fault is a StoreError with the client's exception as its cause, never a
None that reads as "no session"; recovery is the client's own reconnect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio.retry
import redis.exceptions
import valkey
import valkey.exceptions
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry
from redis_server import RedisServer, fault_redis, free_port, require_redis
from redis_support import SyncFacade, session_with

from fastsession.errors import StoreError
from fastsession.stores.redis import AsyncRedisStore, RedisStore

pytestmark = pytest.mark.redis
__all__ = ["fault_redis"]  # the helper's fixture, used here

TIMEOUT = 0.3  # the clients' socket timeout; every stall below outlasts it


def client_options(face: str, retries: int = 0, **extra: Any) -> dict[str, Any]:
    retry_cls = Retry if face == "sync" else redis.asyncio.retry.Retry
    return {
        "socket_timeout": TIMEOUT,
        "socket_connect_timeout": TIMEOUT,
        "retry": retry_cls(NoBackoff(), retries),
        **extra,
    }


StoreFactory = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(face: str) -> Iterator[StoreFactory]:
    """``make_store(port, **client_options)`` → a store of this face on that port."""
    made: list[Any] = []

    def make(port: int, **options: Any) -> Any:
        options = {**client_options(face), **options}
        if face == "sync":
            store: Any = RedisStore(redis.Redis(host="127.0.0.1", port=port, **options))
        else:
            client = redis.asyncio.Redis(host="127.0.0.1", port=port, **options)
            store = SyncFacade(AsyncRedisStore(client))
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, SyncFacade):
            store.close()
        else:
            store.client.close()


def raises_store_error(call: Callable[[], Any], cause: type[BaseException]) -> StoreError:
    with pytest.raises(StoreError) as info:
        call()
    assert isinstance(info.value.__cause__, cause), repr(info.value.__cause__)
    return info.value


def every_operation(store: Any) -> list[Callable[[], Any]]:
    session = session_with("s", None, n=1)
    return [
        lambda: store.get("s"),
        lambda: store.set("s", session),
        lambda: store.touch("s", session),
        lambda: store.destroy("s"),
        lambda: store.all(),
        lambda: store.ids(),
        lambda: store.length(),
        lambda: store.clear(),
    ]


def test_unreachable_from_the_start(make_store: StoreFactory) -> None:
    require_redis()
    store = make_store(free_port())  # nothing listens there
    for operation in every_operation(store):
        raises_store_error(operation, redis.exceptions.ConnectionError)


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_down_then_restarted_on_the_same_port(
    how: str, make_store: StoreFactory, fault_redis: RedisServer
) -> None:
    store = make_store(fault_redis.port)
    store.set("s", session_with("s", None, n=1))
    assert store.get("s")["n"] == 1
    getattr(fault_redis, how)()
    for operation in every_operation(store):
        raises_store_error(operation, redis.exceptions.ConnectionError)
    fault_redis.start()
    # The same store and client work again; the data went with the old process.
    assert store.get("s") is None
    store.set("s", session_with("s", None, n=2))
    assert store.get("s")["n"] == 2


def test_stalled_server_times_out_and_replies_never_mix(
    make_store: StoreFactory, fault_redis: RedisServer
) -> None:
    store = make_store(fault_redis.port)
    store.set("a", session_with("a", None, who="a"))
    store.set("b", session_with("b", None, who="b"))
    sleeper = fault_redis.debug_sleep(1.0)
    raises_store_error(lambda: store.get("a"), redis.exceptions.TimeoutError)
    sleeper.join()
    # The timed-out connection was dropped: its late reply ("a") cannot answer this.
    assert store.get("b")["who"] == "b"
    assert store.get("a")["who"] == "a"


def test_client_pause_times_out_then_writes_go_through(
    make_store: StoreFactory, fault_redis: RedisServer
) -> None:
    store = make_store(fault_redis.port)
    store.get("warm-up")
    fault_redis.client_pause(1000)
    raises_store_error(
        lambda: store.set("s", session_with("s", None, n=1)), redis.exceptions.TimeoutError
    )
    fault_redis.admin().ping()  # waits for the pause to end
    store.set("s", session_with("s", None, n=2))
    assert store.get("s")["n"] == 2


def test_frozen_process_times_out_then_recovers(
    make_store: StoreFactory, fault_redis: RedisServer
) -> None:
    store = make_store(fault_redis.port)
    store.set("s", session_with("s", None, n=1))
    fault_redis.freeze()
    try:
        raises_store_error(lambda: store.get("s"), redis.exceptions.TimeoutError)
        raises_store_error(lambda: store.destroy("s"), redis.exceptions.TimeoutError)
    finally:
        fault_redis.thaw()
    assert store.get("s")["n"] == 1


def test_wrong_type_is_a_store_error(make_store: StoreFactory, fault_redis: RedisServer) -> None:
    store = make_store(fault_redis.port)
    fault_redis.admin().hset("sess:h", "f", "v")
    error = raises_store_error(lambda: store.get("h"), redis.exceptions.ResponseError)
    assert "WRONGTYPE" in str(error)


def test_out_of_memory_refuses_writes_not_reads(
    make_store: StoreFactory, fault_redis: RedisServer
) -> None:
    store = make_store(fault_redis.port)
    store.set("s", session_with("s", None, n=1))
    admin = fault_redis.admin()
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)
    try:
        error = raises_store_error(
            lambda: store.set("s", session_with("s", None, n=2)),
            redis.exceptions.OutOfMemoryError,
        )
        assert "maxmemory" in str(error)
        assert store.get("s")["n"] == 1  # the old data, never reported as replaced
        store.destroy("s")  # freeing memory stays allowed
    finally:
        admin.config_set("maxmemory", 0)
    store.set("s", session_with("s", None, n=3))
    assert store.get("s")["n"] == 3


def test_loading_dataset_is_a_store_error(
    make_store: StoreFactory, fault_redis: RedisServer
) -> None:
    store = make_store(fault_redis.port, socket_timeout=5)
    store.set("s", session_with("s", None, n=1))
    reloader = fault_redis.reload_slowly()
    raises_store_error(lambda: store.get("s"), redis.exceptions.BusyLoadingError)
    reloader.join()
    assert store.get("s")["n"] == 1


def test_retry_with_backoff_rides_out_a_restart(face: str, fault_redis: RedisServer) -> None:
    """The recommended client (docs/redis.md) absorbs a short outage by itself."""
    retry_cls = Retry if face == "sync" else redis.asyncio.retry.Retry
    options = client_options(face, retries=0)
    options["retry"] = retry_cls(ExponentialBackoff(cap=1.0, base=0.05), 6)
    options["retry_on_error"] = [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    if face == "sync":
        store: Any = RedisStore(redis.Redis(host="127.0.0.1", port=fault_redis.port, **options))
    else:
        client = redis.asyncio.Redis(host="127.0.0.1", port=fault_redis.port, **options)
        store = SyncFacade(AsyncRedisStore(client))
    try:
        store.set("s", session_with("s", None, n=1))
        fault_redis.kill()
        restarter = threading.Timer(0.2, fault_redis.start)
        restarter.start()
        store.set("s", session_with("s", None, n=2))  # retried until the server is back
        restarter.join()
        assert store.get("s")["n"] == 2
    finally:
        if isinstance(store, SyncFacade):
            store.close()
        else:
            store.client.close()


def test_first_command_after_a_restart_is_an_error_or_a_reconnect(
    face: str, fault_redis: RedisServer
) -> None:
    """A pooled connection closed by a Redis restart: without retries, redis.asyncio
    (8.x) notices only by using it. The store then raises; it never answers None
    from a dead connection. With one retry the client reconnects by itself."""
    stores: dict[int, Any] = {}
    for retries in (0, 1):
        options = client_options(face, retries=retries)
        if face == "sync":
            stores[retries] = RedisStore(fault_redis.client(**options))
        else:
            stores[retries] = SyncFacade(AsyncRedisStore(fault_redis.async_client(**options)))
    try:
        for store in stores.values():
            store.set("s", session_with("s", None, n=1))
        fault_redis.restart()
        try:
            first = stores[0].get("s")
        except StoreError as error:
            assert isinstance(error.__cause__, redis.exceptions.ConnectionError)
        else:
            assert first is None  # reconnected: the restarted server has no data
        assert stores[0].get("s") is None
        assert stores[1].get("s") is None
    finally:
        for store in stores.values():
            if isinstance(store, SyncFacade):
                store.close()
            else:
                store.client.close()


def test_valkey_client_down_then_back(fault_redis: RedisServer) -> None:
    client = valkey.Valkey(host="127.0.0.1", port=fault_redis.port, socket_timeout=TIMEOUT)
    store = RedisStore(client)
    try:
        store.set("s", session_with("s", None, n=1))
        fault_redis.kill()
        raises_store_error(lambda: store.get("s"), valkey.exceptions.ConnectionError)
        fault_redis.start()
        assert store.get("s") is None
        store.set("s", session_with("s", None, n=2))
        record = store.get("s")
        assert record is not None and record["n"] == 2
    finally:
        client.close()  # type: ignore[no-untyped-call]


class _FailingClient:
    """A client whose every command raises the given error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return fail


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("refused"),
        redis.exceptions.TimeoutError("timed out"),
        redis.exceptions.BusyLoadingError("loading"),
        redis.exceptions.ResponseError("ERR"),
        redis.exceptions.ReadOnlyError("READONLY"),
        redis.exceptions.AuthenticationError("WRONGPASS"),
        redis.exceptions.ClusterDownError("CLUSTERDOWN"),
        ConnectionResetError("reset"),
        valkey.exceptions.ConnectionError("refused"),
        valkey.exceptions.TimeoutError("timed out"),
        valkey.exceptions.ResponseError("ERR"),
    ],
    ids=lambda e: f"{type(e).__module__.split('.')[0]}-{type(e).__name__}",
)
def test_every_client_error_becomes_a_store_error(error: BaseException) -> None:
    store = RedisStore(_FailingClient(error))
    for operation in every_operation(store):
        assert raises_store_error(operation, type(error)).__cause__ is error


def test_programming_errors_are_not_disguised() -> None:
    store = RedisStore(_FailingClient(KeyError("bug")))
    with pytest.raises(KeyError):
        store.get("s")
