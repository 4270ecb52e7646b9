"""Reads of an existing, unmodified session through the middleware on Redis: the
Redis round trips and the µs per request, with and without the store's local
copy (``local_cache=``), in one run on one redis-server.

Variants (each for WSGI + ``RedisStore`` and ASGI + ``AsyncRedisStore``):

* ``plain``: no option: ``GET`` + the touch's ``EXPIRE`` on every read;
* ``local``: ``local_cache``: a hit needs no ``GET``, but every touch's
  ``EXPIRE`` changes the key, so Redis invalidates the copy and the next read
  misses (``GET`` + ``PTTL`` in one round trip);
* ``touch_after`` / ``local+touch_after``: the middleware's ``touch_after``
  option (``TOUCH_AFTER`` seconds) renews the key at most that often; left
  out, and said so, when the middleware has no such option;
* ``local+disable_touch``: the store never touches: the limit of a long
  ``touch_after``, available on any version.

Every variant's cookie has a ``max_age`` (``MAX_AGE``), as a site with logins sets:
``touch_after`` reads the last renewal from it. ``main()`` also checks, for each
variant with the local copy, that a write another Redis client makes to the session
is seen on the next read (tests/test_redis_local_cache.py does the same for an
Express app's write).

Commands are counted from ``INFO commandstats`` around the timed requests;
round trips = ``GET`` + ``EXPIRE`` + ``SET`` (a ``PTTL`` always travels with
its ``GET``). Run: ``python -m benchmarks.bench_redis_local`` (a table), or
``python -m pytest benchmarks/bench_redis_local.py``. The table run interleaves
the variants (each round visits all in a fresh random order): on a busy machine
background load then lands on every variant alike.
"""

from __future__ import annotations

import asyncio
import inspect
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks import apps
from tests.redis_server import RedisServer

CALLS = 200
TOUCH_AFTER: float = 60.0
"""Seconds for the ``touch_after`` variants (the middleware's option)."""
LOCAL_CACHE = 1000
MAX_AGE = 3600
"""Seconds: the session cookie's max_age in every variant."""
COUNTED = ("get", "pttl", "expire", "set")


def has_touch_after() -> bool:
    import fastsession

    return "touch_after" in inspect.signature(fastsession.SessionMiddleware).parameters


@dataclass(frozen=True)
class Variant:
    name: str
    local: bool = False
    touch_after: bool = False
    disable_touch: bool = False

    def available(self) -> bool:
        return not self.touch_after or has_touch_after()


VARIANTS = [
    Variant("plain"),
    Variant("local", local=True),
    Variant("touch_after", touch_after=True),
    Variant("local+touch_after", local=True, touch_after=True),
    Variant("local+disable_touch", local=True, disable_touch=True),
]


def build(protocol: str, variant: Variant, server: RedisServer) -> Any:
    import fastsession
    from fastsession.stores.redis import AsyncRedisStore, RedisStore

    store_options: dict[str, Any] = {"disable_touch": variant.disable_touch}
    if variant.local:
        store_options["local_cache"] = LOCAL_CACHE
    # A persistent cookie (max_age), as a site with logins has: touch_after reads the
    # last renewal from its expiry (a browser-session cookie is renewed every time).
    options: dict[str, Any] = {"secret": apps.SECRET, "cookie": {"max_age": MAX_AGE}}
    if variant.touch_after:
        options["touch_after"] = TOUCH_AFTER
    if protocol == "asgi":
        store: Any = AsyncRedisStore(server.async_client(), **store_options)
        return fastsession.SessionMiddleware(apps.session_asgi, store=store, **options)
    store = RedisStore(server.client(), **store_options)
    return fastsession.WSGISessionMiddleware(_wsgi_app, store=store, **options)


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session = environ["fastsession.session"]
    if environ["PATH_INFO"] == "/write":
        views = session["views"] = session.get("views", 0) + 1
    else:
        views = session.get("views")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(views).encode()]


class Reads:
    """Read requests of one existing session through one app."""

    def __init__(self, protocol: str, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.protocol, self.app, self.loop = protocol, app, loop
        first = self.call("/write", None)
        self.cookie = first.set_cookie()
        assert first.status == 200 and first.body == b"1" and self.cookie, first

    def call(self, path: str, cookie: str | None) -> apps.Response:
        if self.protocol == "wsgi":
            return apps.call_wsgi(self.app, path, cookie)
        return self.loop.run_until_complete(apps.call_asgi(self.app, path, cookie))

    def round(self) -> Callable[[], None]:
        if self.protocol == "wsgi":
            template = apps.wsgi_environ("/read", self.cookie)

            def run_wsgi() -> None:
                for _ in range(CALLS):
                    body = self.app(dict(template), apps.discard_start_response)
                    assert body == [b"1"]

            return run_wsgi
        scope = apps.asgi_scope("/read", self.cookie)

        async def batch() -> None:
            for _ in range(CALLS):
                await self.app(dict(scope), apps.receive, apps.discard)

        return lambda: self.loop.run_until_complete(batch())


def command_calls(server: RedisServer) -> dict[str, int]:
    with server.admin() as admin:
        stats = admin.info("commandstats")
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in COUNTED}


def measure(reads: Reads, server: RedisServer, rounds: int = 5) -> dict[str, float]:
    """Commands and round trips per read request, and the median µs per request."""
    run = reads.round()
    run()  # warm: the first read after the write fills the local copy
    before = command_calls(server)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / CALLS * 1e6)
    after = command_calls(server)
    per = {name: (after[name] - before[name]) / (CALLS * rounds) for name in COUNTED}
    round_trips = per["get"] + per["expire"] + per["set"]
    return {**per, "round_trips": round_trips, "us": statistics.median(times)}


@pytest.mark.parametrize("protocol", ["wsgi", "asgi"])
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_redis_local_reads(
    benchmark: BenchmarkFixture,
    server: RedisServer,
    loop: asyncio.AbstractEventLoop,
    protocol: str,
    variant: Variant,
) -> None:
    if not variant.available():
        pytest.skip("the middleware has no touch_after option in this version")
    reads = Reads(protocol, build(protocol, variant, server), loop)
    figures = measure(reads, server, rounds=1)
    benchmark.group = f"redis-local-{protocol}-read"
    benchmark.extra_info.update(
        contender=variant.name,
        reference=variant.name == "plain",  # ratios against no option
        calls=CALLS,
        protocol=protocol,
        **figures,
    )
    benchmark(reads.round())


def interleaved(server: RedisServer, rounds: int = 15) -> dict[tuple[str, str], dict[str, float]]:
    """Every (protocol, variant)'s figures, measured in rounds that visit the variants
    in a fresh random order each time, so that background load lands on all alike."""
    import random

    loop = asyncio.new_event_loop()
    try:
        runs: dict[tuple[str, str], Callable[[], None]] = {}
        for protocol in ("wsgi", "asgi"):
            for variant in VARIANTS:
                if variant.available():
                    reads = Reads(protocol, build(protocol, variant, server), loop)
                    runs[(protocol, variant.name)] = reads.round()
                    runs[(protocol, variant.name)]()  # warm
        counts = {key: dict.fromkeys(COUNTED, 0) for key in runs}
        times: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
        keys = list(runs)
        for _ in range(rounds):
            random.shuffle(keys)
            for key in keys:
                before = command_calls(server)
                start = time.perf_counter()
                runs[key]()
                times[key].append((time.perf_counter() - start) / CALLS * 1e6)
                after = command_calls(server)
                for name in COUNTED:
                    counts[key][name] += after[name] - before[name]
        figures = {}
        for key in runs:
            per = {name: counts[key][name] / (CALLS * rounds) for name in COUNTED}
            per["round_trips"] = per["get"] + per["expire"] + per["set"]
            figures[key] = {**per, "us": statistics.median(times[key])}
        return figures
    finally:
        loop.close()


def seen_after_another_write(server: RedisServer, protocol: str, variant: Variant) -> bool:
    """Whether a read through ``variant`` sees a write another Redis client made to
    its session after the local copy was filled (the copy dropped by the server's
    invalidation, which travels in well under the 50 ms a browser's next click takes)."""
    import json
    from urllib.parse import unquote

    loop = asyncio.new_event_loop()
    try:
        reads = Reads(protocol, build(protocol, variant, server), loop)
        assert reads.call("/read", reads.cookie).body == b"1"  # the copy is filled
        sid = unquote(reads.cookie.split("=", 1)[1]).removeprefix("s:").rsplit(".", 1)[0]
        with server.admin() as other:
            record = json.loads(other.get(f"sess:{sid}"))
            record["views"] = 41
            other.set(f"sess:{sid}", json.dumps(record), keepttl=True)
        time.sleep(0.05)
        return reads.call("/read", reads.cookie).body == b"41"
    finally:
        loop.close()


def main() -> None:
    server = RedisServer(Path(tempfile.mkdtemp(prefix="bench-redis-local-")))
    server.start()
    try:
        figures = interleaved(server)
        seen = {
            (protocol, variant.name): seen_after_another_write(server, protocol, variant)
            for protocol in ("wsgi", "asgi")
            for variant in VARIANTS
            if variant.local and variant.available()
        }
    finally:
        server.kill()
    print(f"{CALLS} read requests per round, 15 interleaved rounds; per request:")
    print(f"{'':5s} {'variant':20s} {'round trips':>11s} {'GET':>5s} {'PTTL':>5s} "
          f"{'EXPIRE':>6s} {'median µs':>9s}")  # fmt: skip
    for protocol in ("wsgi", "asgi"):
        for variant in VARIANTS:
            f = figures.get((protocol, variant.name))
            if f is None:
                print(f"{protocol:5s} {variant.name:20s} n/a: the middleware has no touch_after")
                continue
            print(f"{protocol:5s} {variant.name:20s} {f['round_trips']:11.2f} "
                  f"{f['get']:5.2f} {f['pttl']:5.2f} {f['expire']:6.2f} "
                  f"{f['us']:9.1f}")  # fmt: skip
    print("another client's write seen on the next read, through the local copy:")
    for (protocol, name), ok in seen.items():
        print(f"{protocol:5s} {name:20s} {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
