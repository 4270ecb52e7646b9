"""Shared benchmark inputs, built once per session, and the labelling helper.

Each bench file adds its own fixtures; these are the ones several files use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import TYPE_CHECKING, Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

SECRET = b"keyboard cat: a long random value in production"
SESSION_ID = "KQ2dCwJtM7Yxq6SG8dSg2kCJ5Hh3m9Fo"  # 32 characters, as uid-safe makes them


@pytest.fixture(scope="session")
def secret() -> bytes:
    return SECRET


@pytest.fixture(scope="session")
def session_id() -> str:
    return SESSION_ID


@pytest.fixture(scope="session")
def signed_cookie() -> str:
    """The session cookie's value as a browser sends it back (before percent-decoding)."""
    from fastsession import _cookies_py, _signing_py

    return _cookies_py.encode("s:" + _signing_py.sign(SESSION_ID, SECRET))


@pytest.fixture(scope="session")
def cookie_header(signed_cookie: str) -> str:
    """A realistic Cookie header: ten cookies, analytics first, the session sixth."""
    return "; ".join(
        [
            "_ga=GA1.2.1234567890.1700000000",
            "_gid=GA1.2.987654321.1700000000",
            "theme=dark",
            "lang=en-US",
            "csrftoken=Xk3pQ9vL2mN8rT5wY1zA6bC4dE7fG0hJ",
            f"connect.sid={signed_cookie}",
            "tz=Europe%2FBerlin",
            "consent=analytics%3Ayes%2Cads%3Ano",
            "cart=3",
            "seen_banner=1",
        ]
    )


CALLS = 100
"""Calls per round for sub-microsecond operations: one call per round would time
mostly the timer. The report divides by ``extra_info["calls"]``."""


@pytest.fixture
def label(benchmark: BenchmarkFixture) -> Callable[[str, str], None]:
    """``label(group, contender)``: names a benchmark the way benchmarks/ratios.py reads
    it ("c" and "py" stand for fastsession's compiled and pure twins)."""

    def apply(group: str, contender: str) -> None:
        benchmark.group = group
        benchmark.extra_info["contender"] = contender

    return apply


@pytest.fixture
def bench_calls(benchmark: BenchmarkFixture) -> Callable[[Callable[[Any], Any], Any], Any]:
    """``bench_calls(fn, arg)``: benchmark ``CALLS`` calls of ``fn(arg)`` per round
    (``extra_info["calls"]``), and return one call's result for the test to check."""

    def run(fn: Callable[[Any], Any], arg: Any) -> Any:
        def rounds() -> None:
            for _ in repeat(None, CALLS):
                fn(arg)

        benchmark.extra_info["calls"] = CALLS
        benchmark(rounds)
        return fn(arg)

    return run


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for a bench file's ASGI calls (redis.asyncio connections
    belong to the loop that made them)."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    """A redis-server of the bench file's own, on 127.0.0.1."""
    from tests.redis_server import RedisServer

    name = request.module.__name__.rsplit(".", 1)[-1]
    redis_server = RedisServer(tmp_path_factory.mktemp(name))
    redis_server.start()
    yield redis_server
    redis_server.kill()
