"""What the per-user index (``user_key``) costs a write: ``store.set`` of a logged-in
session, the same store kind without and with the index, in the same run.

MemoryStore and SQLiteStore always; RedisStore when a redis-server can be started
(one more round trip's worth of commands, sent in the same pipeline). Each round
writes ``CALLS`` sessions spread over ``USERS`` users.

Run: ``python -m pytest benchmarks/bench_user_index.py``; compare each group's
``plain`` and ``indexed`` rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from fastsession import Session
from fastsession.session_cookie import Cookie
from fastsession.stores.memory import MemoryStore
from fastsession.stores.redis import RedisStore
from fastsession.stores.sqlite import SQLiteStore
from tests.redis_server import RedisServer

CALLS = 100
USERS = 20


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | None]:
    if shutil.which("redis-server") is None:
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("bench-user-index"))
    server.start()
    yield server
    server.kill()


def _sessions() -> list[Session]:
    sessions = []
    for n in range(CALLS):
        sid = f"bench-session-{n:04d}-KQ2dCwJtM7Yxq6SG8dSg"
        cookie = Cookie({"max_age": 3600, "http_only": True, "path": "/"})
        sessions.append(Session(sid, cookie, {"user_id": n % USERS, "views": n}))
    return sessions


def _store(kind: str, indexed: bool, tmp: Path, redis: RedisServer | None) -> Any:
    key = "user_id" if indexed else None
    if kind == "memory":
        return MemoryStore(user_key=key)
    if kind == "sqlite":
        return SQLiteStore(tmp / f"sessions-{indexed}.db", user_key=key)
    if redis is None:
        pytest.skip("redis-server is not installed")
    redis.flush()
    return RedisStore(redis.client(), user_key=key)


@pytest.mark.parametrize("index", ["plain", "indexed"])
@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_write_with_and_without_the_user_index(
    benchmark: BenchmarkFixture,
    kind: str,
    index: str,
    tmp_path: Path,
    redis_server: RedisServer | None,
) -> None:
    store = _store(kind, index == "indexed", tmp_path, redis_server)
    sessions = _sessions()

    def round_of_writes() -> Callable[[], None] | None:
        for session in sessions:
            store.set(session.id, session)
        return None

    benchmark.group = f"user-index-set-{kind}"
    benchmark.extra_info["calls"] = CALLS
    benchmark(round_of_writes)
    # The writes did what they measure: every session stored, indexed when asked.
    assert store.length() == CALLS
    if index == "indexed":
        assert len(store.sessions_of(3)) == CALLS // USERS
