"""The LRU+TTL kernel against other bounded caches with expiry.

Contenders: fastsession's compiled and pure twins, cachebox's ``VTTLCache``
(Rust, a TTL per entry, as sessions need) and ``TTLCache`` (one TTL for all),
and cachetools' ``TTLCache`` (pure Python, one TTL for all). All use the wall
clock. A round is ``CALLS`` operations on different keys of a cache holding
``FILL`` sessions (``extra_info["calls"]``: the report divides by it), so the
loop costs the same for everyone and the keys are not all hot in the CPU cache.

Groups: ``lru-get`` (hits), ``lru-set`` (replace a held session), ``lru-touch``
(a new deadline for a held session; the peers have no touch, so they read and
write the value again, which is what a store built on them does) and
``lru-expire-churn`` (new sessions with a 1 ms lifetime into a full cache, so
every write makes room by reclaiming expired or evicting entries).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import cachebox
import cachetools
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from fastsession import _lru_c, _lru_py

CALLS = 1_000
FILL = 10_000
MAX = 100_000
TTL = 3_600.0
CHURN_MAX = 5_000
CHURN_TTL = 0.001
VALUE = (
    b'{"cookie":{"originalMaxAge":86400000,"expires":"2030-01-02T00:00:00.000Z",'
    b'"httpOnly":true,"path":"/"},"views":1}'
)
_rnd = random.Random(1)
KEYS = [
    "".join(_rnd.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k=32))
    for _ in range(FILL)
]
SAMPLE = _rnd.sample(KEYS, CALLS)
CHURN_KEYS = [f"churn-{i:026d}" for i in range(20 * CHURN_MAX)]

CONTENDERS = [
    pytest.param("c", id="c"),
    pytest.param("py", id="py"),
    pytest.param("cachebox.VTTLCache", id="cachebox-vttl"),
    pytest.param("cachebox.TTLCache", id="cachebox-ttl"),
    pytest.param("cachetools.TTLCache", id="cachetools"),
]


def make(name: str, maxsize: int, ttl: float) -> Any:
    if name == "c":
        return _lru_c.LRUCache(maxsize)
    if name == "py":
        return _lru_py.LRUCache(maxsize)
    if name == "cachebox.VTTLCache":
        return cachebox.VTTLCache(maxsize)
    if name == "cachebox.TTLCache":
        return cachebox.TTLCache(maxsize, ttl)
    return cachetools.TTLCache(maxsize, ttl)


def writer(name: str, cache: Any, ttl: float) -> Callable[[list[str]], None]:
    """A round of writes (replace or insert) of VALUE under the given keys."""
    if name in ("c", "py"):
        put = cache.set

        def run(keys: list[str]) -> None:
            deadline = time.time() + ttl  # a store knows it from the cookie: once per round
            for k in keys:
                put(k, VALUE, deadline)

    elif name == "cachebox.VTTLCache":
        insert = cache.insert

        def run(keys: list[str]) -> None:
            for k in keys:
                insert(k, VALUE, ttl)

    else:
        setitem = cache.__setitem__

        def run(keys: list[str]) -> None:
            for k in keys:
                setitem(k, VALUE)

    return run


def filled(name: str) -> Any:
    cache = make(name, MAX, TTL)
    writer(name, cache, TTL)(KEYS)
    return cache


def label(benchmark: BenchmarkFixture, group: str, name: str) -> None:
    benchmark.group = group
    benchmark.extra_info.update(contender=name, calls=CALLS)


@pytest.mark.parametrize("name", CONTENDERS)
def test_get(benchmark: BenchmarkFixture, name: str) -> None:
    cache = filled(name)
    get = cache.get

    def run() -> None:
        for k in SAMPLE:
            get(k)

    label(benchmark, "lru-get", name)
    benchmark(run)
    assert all(get(k) == VALUE for k in SAMPLE)


@pytest.mark.parametrize("name", CONTENDERS)
def test_set(benchmark: BenchmarkFixture, name: str) -> None:
    cache = filled(name)
    write = writer(name, cache, TTL)
    label(benchmark, "lru-set", name)
    benchmark(write, SAMPLE)
    assert len(cache) == FILL


@pytest.mark.parametrize("name", CONTENDERS)
def test_touch(benchmark: BenchmarkFixture, name: str) -> None:
    cache = filled(name)
    if name in ("c", "py"):
        touch = cache.touch

        def run() -> None:
            deadline = time.time() + TTL
            for k in SAMPLE:
                touch(k, deadline)

    elif name == "cachebox.VTTLCache":
        get, insert = cache.get, cache.insert

        def run() -> None:
            for k in SAMPLE:
                insert(k, get(k), TTL)

    else:
        getitem, setitem = cache.__getitem__, cache.__setitem__

        def run() -> None:
            for k in SAMPLE:
                setitem(k, getitem(k))

    label(benchmark, "lru-touch", name)
    benchmark(run)
    assert len(cache) == FILL


@pytest.mark.parametrize("name", CONTENDERS)
def test_expire_churn(benchmark: BenchmarkFixture, name: str) -> None:
    cache = make(name, CHURN_MAX, CHURN_TTL)
    write = writer(name, cache, CHURN_TTL)
    batches = [CHURN_KEYS[i : i + CALLS] for i in range(0, len(CHURN_KEYS), CALLS)]
    state = {"next": 0}

    def run() -> None:
        i = state["next"]
        state["next"] = (i + 1) % len(batches)
        write(batches[i])

    label(benchmark, "lru-expire-churn", name)
    benchmark(run)
    assert len(cache) <= CHURN_MAX
