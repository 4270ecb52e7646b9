"""Soak test under faults: real servers on 127.0.0.1, many clients, every write counted.

    python scripts/soak.py --config uvicorn-redis --seconds 120
    python scripts/soak.py --config all --seconds 120 --json soak.json

Configurations: ``uvicorn-redis`` (uvicorn, 4 workers, AsyncRedisStore),
``gunicorn-redis`` (gunicorn gthread, 2 workers x 8 threads, RedisStore),
``gunicorn-memory`` (gunicorn gthread, ONE worker x 16 threads, MemoryStore: a
killed worker would take its sessions with it by design, so that run freezes the
worker instead of killing it). Faults on a schedule: ``redis-restart`` (SIGKILL
or SIGTERM, then a restart on the same port: the append-only file with
``appendfsync always`` keeps every acknowledged write), ``redis-pause`` (``CLIENT
PAUSE 1500 ALL``), ``worker-kill`` (SIGKILL of one worker; the master starts a new
one), ``server-pause`` (SIGSTOP of a worker for a second).

At the end each session's stored counter is compared with what the clients saw:
a 200 acknowledged value the store no longer holds is a lost write; a counter
above the increments sent is a phantom write; a logged-out session still stored
is a resurrection. The exit code is 1 when any of those, a 5xx outside the fault
windows, or a 2xx while Redis was down is above zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from soak_client import Connection, Ledger, Traffic, percentile
from soak_procs import HOST, RedisProc, ServerProc, rss_mib

CONFIGS: dict[str, dict[str, Any]] = {
    "uvicorn-redis": {"server": "uvicorn", "app": "soak_app:asgi_app", "store": "redis",
                      "workers": 4, "threads": 1,
                      "faults": ("redis-restart", "redis-pause", "worker-kill")},
    "gunicorn-redis": {"server": "gunicorn", "app": "soak_app:wsgi_app", "store": "redis",
                       "workers": 2, "threads": 8,
                       "faults": ("redis-restart", "redis-pause", "worker-kill")},
    "gunicorn-memory": {"server": "gunicorn", "app": "soak_app:wsgi_app", "store": "memory",
                        "workers": 1, "threads": 16, "faults": ("server-pause",)},
}  # fmt: skip
GRACE = 2.0  # seconds after a fault's end still counted as inside its window
PAUSE_MS = 1500


@dataclass
class Fault:
    kind: str
    start: float
    end: float = 0.0
    detail: str = ""


class Faults:
    """Injects the configured faults in turn, every ``every`` seconds, from a thread."""

    def __init__(self, kinds: list[str], every: float, redis: RedisProc | None,
                 server: ServerProc, workers: int) -> None:  # fmt: skip
        self.kinds, self.every = kinds, every
        self.redis, self.server, self.workers = redis, server, workers
        self.done: list[Fault] = []
        self.down_2xx = self.down_probes = 0
        self.random = random.Random(7)
        self.stop = threading.Event()

    def run(self, first: float, last: float) -> None:
        at, n = first, 0
        while self.kinds and not self.stop.wait(max(0.0, at - time.monotonic())):
            if time.monotonic() > last:
                return
            fault = Fault(self.kinds[n % len(self.kinds)], time.monotonic())
            getattr(self, "_" + fault.kind.replace("-", "_"))(fault, n)
            fault.end = time.monotonic()
            self.done.append(fault)
            n += 1
            at = fault.start + self.every

    def _redis_restart(self, fault: Fault, n: int) -> None:
        assert self.redis is not None
        sig = signal.SIGKILL if (n // len(self.kinds)) % 2 == 0 else signal.SIGTERM
        self.redis.stop(sig)
        # While Redis is down the app must answer an error, never a 200.
        self.down_probes += 1
        status = _probe(self.server.port)
        self.down_2xx += 200 <= status < 300
        time.sleep(1.0)
        self.redis.start()
        fault.detail = f"{sig.name}, down {time.monotonic() - fault.start:.1f} s, probe {status}"

    def _redis_pause(self, fault: Fault, n: int) -> None:
        assert self.redis is not None
        self.redis.pause(PAUSE_MS)
        time.sleep(PAUSE_MS / 1000)
        fault.detail = f"CLIENT PAUSE {PAUSE_MS} ALL"

    def _worker_kill(self, fault: Fault, n: int) -> None:
        before = self.server.workers()
        victim = self.random.choice(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = self.server.workers()
            if victim not in now and len(now) >= self.workers:
                break
            time.sleep(0.1)
        fault.detail = (
            f"SIGKILL worker {victim}, replaced in {time.monotonic() - fault.start:.1f} s"
        )

    def _server_pause(self, fault: Fault, n: int) -> None:
        victim = self.random.choice(self.server.workers())
        os.kill(victim, signal.SIGSTOP)
        time.sleep(1.0)
        os.kill(victim, signal.SIGCONT)
        fault.detail = f"SIGSTOP worker {victim} for 1 s"


def _probe(port: int) -> int:
    """A new session's request: its save must fail while the store is down."""
    conn = HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", "/inc")
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def stored_counters(store: str, redis: RedisProc | None, port: int, sids: set[str]) -> dict:
    """{sid: n} for the given sessions still in the store, read from the store itself."""
    if store == "memory":

        async def dump() -> dict[str, int]:
            conn = Connection(HOST, port)
            status, _, body = await conn.request("/dump", None)
            conn.close()
            assert status == 200, status
            return {k: v for k, v in json.loads(body).items() if k in sids}

        return asyncio.run(dump())
    import redis as redis_py

    assert redis is not None
    client = redis_py.Redis(host=HOST, port=redis.port, socket_timeout=30)
    found: dict[str, int] = {}
    ordered = sorted(sids)
    for i in range(0, len(ordered), 1000):
        chunk = ordered[i : i + 1000]
        for sid, raw in zip(chunk, client.mget([f"sess:{s}" for s in chunk]), strict=True):
            if raw is not None:
                found[sid] = int(json.loads(raw).get("n", 0))
    client.close()
    return found


def inside(event: tuple[float, float, str], windows: list[tuple[float, float]]) -> bool:
    start, end, _ = event
    return any(start <= w_end + GRACE and end >= w_start for w_start, w_end in windows)


def compare(ledger: Ledger, stored: dict[str, int]) -> dict[str, int]:
    counted = [s for s in ledger.sent if s not in ledger.raced]
    lost = sum(max(0, ledger.top.get(s, 0) - stored.get(s, 0)) for s in counted)
    return {
        "sessions_checked": len(counted),
        "acknowledged_increments": sum(ledger.acked[s] for s in counted),
        "stored_increments": sum(stored.get(s, 0) for s in counted),
        "lost_writes": lost,
        "sessions_with_lost_writes": sum(stored.get(s, 0) < ledger.top.get(s, 0) for s in counted),
        "below_acked_count": sum(stored.get(s, 0) < ledger.acked[s] for s in counted),
        "phantom_writes": sum(stored.get(s, 0) > ledger.sent[s] for s in counted),
        "logged_out": len(ledger.logged_out),
        "resurrected": sum(s in stored for s in ledger.logged_out),
    }


def run_config(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    config = CONFIGS[name]
    workdir.mkdir(parents=True, exist_ok=True)
    redis = None
    if config["store"] == "redis":
        redis = RedisProc(workdir / "redis", persistent=not args.no_persistence)
    if redis is not None:
        redis.start()
    env = {**os.environ, "SOAK_STORE": redis.url if redis else "memory"}
    server = ServerProc(config["server"], config["app"], env, workdir / f"{name}.log",
                        workers=config["workers"], threads=config["threads"])  # fmt: skip
    kinds = [k for k in args.faults.split(",") if k] if args.faults else list(config["faults"])
    faults = Faults(kinds, args.fault_every, redis, server, config["workers"])
    try:
        server.wait_ready(config["workers"])
        rss_start = {pid: rss_mib(pid) for pid in server.workers()}
        traffic = Traffic(HOST, server.port, clients=args.clients, sessions=args.sessions,
                          logout_every=args.logout_every, seed=args.seed)  # fmt: skip
        began = time.monotonic()
        deadline = began + args.seconds
        first = began + min(3.0, args.seconds / 4)
        injector = threading.Thread(target=faults.run, args=(first, deadline - 3.0))
        injector.start()
        ledger = asyncio.run(traffic.run(deadline))
        faults.stop.set()
        injector.join()
        elapsed = time.monotonic() - began
        rss_end = {pid: rss_mib(pid) for pid in server.workers()}
        stored = stored_counters(config["store"], redis, server.port,
                                 set(ledger.sent) | ledger.logged_out)  # fmt: skip
    finally:
        faults.stop.set()
        server.stop()
        if redis is not None:
            redis.stop()
    return report(name, config, args, ledger, stored, faults, elapsed, rss_start, rss_end)


Rss = dict[int, float | None]


def report(name: str, config: dict[str, Any], args: argparse.Namespace, ledger: Ledger,
           stored: dict[str, int], faults: Faults, elapsed: float,
           rss_start: Rss, rss_end: Rss) -> dict[str, Any]:  # fmt: skip
    windows = [(f.start, f.end) for f in faults.done]
    errors_in: Counter[str] = Counter()
    errors_out: Counter[str] = Counter()
    for event in ledger.events:
        if event[2] != "2xx":
            (errors_in if inside(event, windows) else errors_out)[event[2]] += 1
    result: dict[str, Any] = {
        "config": name,
        "server": f"{config['server']} {config['workers']} worker(s) x {config['threads']} "
        f"thread(s), {config['store']} store",
        "extensions": os.environ.get("FASTSESSION_NO_EXTENSIONS", "") not in ("1", "true"),
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "sessions_target": args.sessions,
        "sessions_created": ledger.sessions,
        "requests": ledger.requests,
        "requests_per_second": round(ledger.requests / elapsed),
        "ok": len(ledger.latency),
        "errors_in_fault_windows": dict(errors_in),
        "errors_outside_fault_windows": dict(errors_out),
        "5xx_outside_fault_windows": sum(v for k, v in errors_out.items() if k.startswith("5")),
        "faults": [f"{f.kind} at {f.start - ledger.events[0][0]:.1f} s: {f.detail}"
                   for f in faults.done] if ledger.events else [],  # fmt: skip
        "store_down_probes": faults.down_probes,
        "store_down_2xx": faults.down_2xx,
        "renewed_sessions": ledger.renewed,
        "regressed_values": ledger.regressed,
        "uncookied": ledger.uncookied,
        **compare(ledger, stored),
        "latency_ms": {"p50": round(percentile(ledger.latency, 0.5) * 1000, 2),
                       "p99": round(percentile(ledger.latency, 0.99) * 1000, 2),
                       "max": round(max(ledger.latency, default=0) * 1000, 1)},
        "rss_mib": {str(pid): [_mib(rss_start.get(pid)), _mib(rss_end.get(pid))]
                    for pid in sorted(set(rss_start) | set(rss_end))},
    }  # fmt: skip
    gates = ("lost_writes", "phantom_writes", "resurrected", "5xx_outside_fault_windows",
             "store_down_2xx")  # fmt: skip
    result["failures"] = [k for k in gates if result[k]]
    return result


def _mib(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def show(result: dict[str, Any]) -> None:
    print(f"== {result['config']}: {result['server']}, {result['seconds']} s")
    for key, value in result.items():
        if key in ("config", "server", "seconds", "faults"):
            continue
        print(f"  {key}: {value}")
    print("  faults injected:")
    for line in result["faults"]:
        print(f"    {line}")
    verdict = "FAIL: " + ", ".join(result["failures"]) if result["failures"] else "ok"
    print(f"  verdict: {verdict}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--fault-every", type=float, default=10.0, help="seconds between faults")
    parser.add_argument("--faults", help="comma-separated kinds (default: all of the config's)")
    parser.add_argument(
        "--logout-every",
        type=int,
        default=100,
        help="on average one logout race per this many requests (0: none)",
    )
    parser.add_argument(
        "--no-persistence",
        action="store_true",
        help="Redis without its append-only file: a restart loses every "
        "session, which the comparison must report as lost writes",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.sessions < args.clients:
        parser.error("--sessions must be at least --clients, which must be at least 1")
    names = list(CONFIGS) if args.config == "all" else [args.config]
    results = []
    with tempfile.TemporaryDirectory(prefix="fastsession-soak-") as tmp:
        for name in names:
            results.append(run_config(name, args, Path(tmp) / name))
            show(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
