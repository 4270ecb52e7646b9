"""The whole middleware in-process: one request with an existing session, read or write.

Each round drives ``CALLS`` requests through the callable with a prebuilt scope (or
environ), with no server and no HTTP client, so that variant − bare is the middleware's
own cost. ASGI rounds run as one coroutine on a reused event loop; the bare app is driven
the same way, so the loop's per-round cost cancels out. ``extra_info["calls"]`` lets
benchmarks/report.py turn a round into µs per request.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks import apps

if TYPE_CHECKING:  # the test extra, which imports cyclic_garbage, has no pytest-benchmark
    from pytest_benchmark.fixture import BenchmarkFixture

CALLS = 100

CASES = [
    pytest.param(variant, op, id=f"{variant.protocol}-{op}-{variant.name}")
    for registry in (apps.ASGI_VARIANTS, apps.WSGI_VARIANTS)
    for op in ("read", "write")
    for variant in registry.values()
]


@pytest.fixture(scope="module")
def bench_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def asgi_round(
    loop: asyncio.AbstractEventLoop, app: apps.ASGIApp, path: str, cookie: str | None
) -> Callable[[], None]:
    template = apps.asgi_scope(path, cookie)
    receive, send = apps.receive, apps.discard

    async def batch() -> None:
        for _ in range(CALLS):
            # A fresh scope per request: middlewares store the session in it, and a scope
            # that already holds one is passed through untouched.
            await app(dict(template), receive, send)

    def run() -> None:
        loop.run_until_complete(batch())

    return run


def wsgi_round(app: apps.WSGIApp, path: str, cookie: str | None) -> Callable[[], None]:
    template = apps.wsgi_environ(path, cookie)
    start_response = apps.discard_start_response

    def run() -> None:
        for _ in range(CALLS):
            body = app(dict(template), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:  # as a WSGI server must; Flask tears down here
                close()

    return run


def cyclic_garbage(run: Callable[[], None]) -> float:
    """Objects per request that only the cyclic GC frees. In-process the collector has
    a tiny heap to scan, so this cost stays invisible here; in a server every such
    object hastens collections that walk the whole heap."""
    run()  # first-call caches are not garbage
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        run()
        return gc.collect() / CALLS
    finally:
        if was_enabled:
            gc.enable()


def check_path(variant: apps.Variant, app: Any, op: str, cookie: str | None) -> None:
    """The timed request must be the one named: an existing session, read or written."""
    body = apps.call(variant, app, f"/{op}", cookie).body
    if not variant.has_session:
        assert body == b"ok"
    elif op == "read":
        assert body == b"1", f"{variant.name} read {body!r} from an existing session"
    else:
        assert body.isdigit() and int(body) >= 2, f"{variant.name} wrote {body!r}"


@pytest.mark.parametrize(("variant", "op"), CASES)
def test_middleware(
    benchmark: BenchmarkFixture,
    bench_loop: asyncio.AbstractEventLoop,
    variant: apps.Variant,
    op: str,
) -> None:
    app = variant.build()
    cookie = apps.existing_session(variant, app)
    check_path(variant, app, op, cookie)
    if variant.protocol == "asgi":
        run = asgi_round(bench_loop, app, f"/{op}", cookie)
    else:
        run = wsgi_round(app, f"/{op}", cookie)

    benchmark.group = f"middleware-{variant.protocol}-{op}"
    benchmark.extra_info.update(
        contender=variant.name,
        baseline=variant.baseline,
        calls=CALLS,
        protocol=variant.protocol,
        op=op,
        gc_objects=cyclic_garbage(run),
    )
    benchmark(run)
