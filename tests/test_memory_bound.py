"""MemoryStore's bound under churn: ``MemoryStore(max_entries=N)`` with N = 10,000 behind
the WSGI middleware, called directly (no server) as fast as it goes, by clients holding
10 x N sessions: first each of the 10 x N once, then half the requests go to N / 2
sessions that stay hot, half to any of the 10 x N, so sessions are created and evicted
all the time.

What must hold: the entry count never exceeds N (read every 1,000 requests), and the
process's RSS stays flat: at the end, and at every sample after the warm-up, it is
within RSS_MARGIN_MIB (4 MiB) of its value once the store was full and warmed (all
10 x N sessions made, then a tenth of the requests more). Measured here: within
0.5 MiB. Some 600,000 evictions would overrun 4 MiB if each leaked even 8 bytes.

1,000,000 requests on the compiled twin (about 10 s of CPU); the pure twin, some three
times slower, runs 300,000 (200,000 after the fill) with the same checks, to keep the
suite's time. The workload runs in a child process of its own, so its RSS is its own.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ENTRIES = 10_000
REQUESTS = {"c": 1_000_000, "py": 300_000}
RSS_MARGIN_MIB = 4.0
COUNT_EVERY = 1_000  # store.length() sweeps the store: O(N)
SAMPLE_EVERY = 10_000
TWINS = [pytest.param("c", id="c", marks=pytest.mark.c_extension), pytest.param("py", id="py")]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no RSS reading without /proc")


def rss_mib() -> float:
    """This process's resident set: /proc where there is one, else the peak (a stricter
    reading: the peak at the end can only exceed the warm value by what was added)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes / KiB


def workload(entries: int, requests: int) -> dict[str, Any]:
    import fastsession
    from fastsession import MemoryStore, WSGISessionMiddleware

    evicted = 0

    def on_evict(sid: str, record: Any) -> None:
        nonlocal evicted
        evicted += 1

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ["fastsession.session"]
        n = session.get("n", 0) + 1
        session["n"] = n
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d" % n]

    store = MemoryStore(max_entries=entries, on_evict=on_evict)
    middleware = WSGISessionMiddleware(
        app, secret="memory bound test secret, long enough", store=store
    )
    cookies: list[str | None] = [None] * (10 * entries)
    hot = entries // 2
    rnd = random.Random(5)
    got: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        for name, value in headers:
            if name == "Set-Cookie":
                got.append(value[: value.index(";")].split("=", 1)[1])
        return None

    base = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/",
            "wsgi.url_scheme": "http", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80"}  # fmt: skip
    most = hits = created = 0
    # First every one of the 10 x N sessions once, in order (the clients' own cookie
    # list is then full size too), then the mix; warm once the mix has run a while.
    fill = len(cookies)
    warm_at = fill + requests // 10
    rss_warm = 0.0
    samples: list[float] = []
    began = time.perf_counter()
    for i in range(requests):
        if i < fill:
            slot = i
        else:
            slot = rnd.randrange(hot) if i & 1 else rnd.randrange(fill)
        environ = dict(base)
        cookie = cookies[slot]
        if cookie is not None:
            environ["HTTP_COOKIE"] = "connect.sid=" + cookie
        body = b"".join(middleware(environ, start_response))
        if got:
            cookies[slot] = got.pop()
            created += 1
        if body != b"1":
            hits += 1
        if i % COUNT_EVERY == 0:
            most = max(most, store.length())
        if i % SAMPLE_EVERY == 0 and i >= warm_at:
            samples.append(rss_mib())
            rss_warm = rss_warm or samples[-1]
    elapsed = time.perf_counter() - began
    most = max(most, store.length())
    return {
        "extensions": fastsession.EXTENSIONS,
        "requests": requests,
        "seconds": round(elapsed, 1),
        "max_entries": entries,
        "most_entries": most,
        "final_entries": store.length(),
        "created": created,
        "evicted": evicted,
        "hits": hits,
        "rss_warm_mib": round(rss_warm, 2),
        "rss_end_mib": round(rss_mib(), 2),
        "rss_max_mib": round(max(samples), 2),
        "rss_samples": [round(s, 1) for s in samples[:: len(samples) // 8 or 1]],
    }


@pytest.mark.parametrize("twin", TWINS)
def test_memory_store_stays_bounded_and_rss_flat_under_churn(twin: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTSESSION_")}
    if twin == "py":
        env["FASTSESSION_NO_EXTENSIONS"] = "1"
    requests = REQUESTS[twin]
    proc = subprocess.run(
        [sys.executable, __file__, str(ENTRIES), str(requests)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    print(result)
    assert result["extensions"] is (twin == "c")
    assert result["requests"] == requests
    assert 0 < result["most_entries"] <= ENTRIES
    assert result["final_entries"] == ENTRIES  # full, and never more
    # The churn happened: most sessions were made and evicted, some came back often.
    assert result["created"] > 0.8 * requests / 2
    assert result["evicted"] == result["created"] - ENTRIES
    assert result["hits"] > (requests - 10 * ENTRIES) / 4
    # Flat: neither the end nor any sample after the warm-up above the margin.
    assert result["rss_end_mib"] - result["rss_warm_mib"] <= RSS_MARGIN_MIB, result
    assert result["rss_max_mib"] - result["rss_warm_mib"] <= RSS_MARGIN_MIB, result


if __name__ == "__main__":
    print(json.dumps(workload(int(sys.argv[1]), int(sys.argv[2]))))
