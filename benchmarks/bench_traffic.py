"""The whole middleware in-process on real traffic: 100,000 sessions visited at random.

The same variants as bench_middleware.py (its one-cookie figures stay beside these in
the report), each first given ``FASTSESSION_BENCH_SESSIONS`` (default 100,000) sessions
by real logins, then timed on a read or a write per request, each request with the
next cookie of a shuffled, cycled visit order (benchmarks/traffic.py). Groups are
``traffic-{asgi,wsgi}-{read,write}``; ``extra_info["sessions"]`` is the count.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from benchmarks import apps, traffic
from benchmarks.bench_middleware import CALLS, cyclic_garbage

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture

# Flask's own cookie session is Starlette's design under Flask: 100,000 more Flask logins
# (several seconds) would add no new kind of cost.
LEFT_OUT = {"flask+cookie"}

CASES = [
    pytest.param(variant, op, id=f"{variant.protocol}-{op}-{variant.name}")
    for registry in (apps.ASGI_VARIANTS, apps.WSGI_VARIANTS)
    for variant in registry.values()
    if variant.name not in LEFT_OUT
    # read before write: the write test continues the same visit order
    for op in ("read", "write")
]


class Prepared:
    """The traffic of the variant now being measured: built once for its read and its
    write, dropped (and its memory freed) when the next variant starts."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.current: traffic.Traffic | None = None
        self.build_seconds = 0.0

    def get(self, variant: apps.Variant, loop: asyncio.AbstractEventLoop) -> traffic.Traffic:
        if self.current is None or self.current.variant != variant:
            self.current = None
            gc.collect()
            started = time.perf_counter()
            self.current = traffic.prepare(variant, self.n, loop)
            self.build_seconds = time.perf_counter() - started
            gc.collect()  # the logins' garbage is not the visits' cost
        return self.current


@pytest.fixture(scope="module")
def bench_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    return Prepared(traffic.sessions_wanted())


@pytest.mark.parametrize(("variant", "op"), CASES)
def test_traffic(
    benchmark: BenchmarkFixture,
    bench_loop: asyncio.AbstractEventLoop,
    prepared: Prepared,
    variant: apps.Variant,
    op: str,
) -> None:
    ready = prepared.get(variant, bench_loop)
    start = ready.rotation.taken
    if variant.protocol == "asgi":
        run = traffic.asgi_round(bench_loop, ready, f"/{op}", CALLS)
    else:
        run = traffic.wsgi_round(ready, f"/{op}", CALLS)

    benchmark.group = f"traffic-{variant.protocol}-{op}"
    benchmark.extra_info.update(
        contender=variant.name,
        baseline=variant.baseline,
        calls=CALLS,
        protocol=variant.protocol,
        op=op,
        sessions=prepared.n,
        build_seconds=round(prepared.build_seconds, 2),
        gc_objects=cyclic_garbage(run),
    )
    benchmark(run)
    benchmark.extra_info["visits"] = ready.rotation.taken
    traffic.check_after(ready, op, start, bench_loop)
