"""Requests per second over HTTP on 127.0.0.1: each session middleware against its bare app.

Starlette variants (benchmarks/apps.py) run under uvicorn, one worker, no access log,
uvloop and httptools when installed (the same for all); Express runs with and without
express-session when Node.js is present. Each server is driven by wrk (or, without wrk,
by benchmarks/load_client.py in its own process) for a bounded time on two kinds of
traffic: one existing session's cookie on every request, and ``--sessions`` (10,000)
sessions created by logins, visited in turn from a shuffled list (http_traffic.py).
Prints requests/s and the keep ratio: variant / bare of its framework, same traffic.

    python benchmarks/http_load.py [--duration 2] [--rounds 5] [--sessions 10000] [--json F]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.http_traffic import (  # noqa: E402
    SESSIONS,
    Cookies,
    drive,
    get,
    pinned,
    rotation,
    session_cookie,
)

EXPRESS_DIR = ROOT / "benchmarks" / "express"
HOST = "127.0.0.1"  # never anything else: this load stays on the loopback interface
SECRET = "benchmark-secret-0123456789abcdef-not-for-production"


@dataclass(frozen=True)
class Target:
    """One server process: a framework, a contender, and the operations measured on it."""

    framework: str
    contender: str
    ops: tuple[str, ...]

    @property
    def is_bare(self) -> bool:
        return self.contender == "bare"

    @property
    def has_session(self) -> bool:
        return not self.contender.startswith("bare")


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@dataclass(frozen=True)
class Sample:
    """One slice: requests/s, and the server's CPU seconds per request (None off Linux)."""

    rps: float
    cpu: float | None


@dataclass
class Measurement:
    """One contender's slices on one kind of traffic: ``cookies`` is 1 for the one
    replayed cookie, else the number of sessions visited in turn."""

    framework: str
    contender: str
    op: str
    cookies: int = 1
    rps: list[float] = field(default_factory=list)
    keeps: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    cpu_keeps: list[float] = field(default_factory=list)

    def add_bare(self, sample: Sample) -> None:
        self.rps.append(sample.rps)
        if sample.cpu:
            self.cpu.append(sample.cpu)

    def add(self, sample: Sample, before: Sample, after: Sample) -> None:
        """A contender's slice with the bare slices around it."""
        self.rps.append(sample.rps)
        self.keeps.append(2 * sample.rps / (before.rps + after.rps))
        if sample.cpu and before.cpu and after.cpu:
            self.cpu.append(sample.cpu)
            self.cpu_keeps.append((before.cpu + after.cpu) / 2 / sample.cpu)

    @property
    def cpu_keep(self) -> float | None:
        return statistics.median(self.cpu_keeps) if self.cpu_keeps else None

    @property
    def median(self) -> float:
        return statistics.median(self.rps) if self.rps else 0.0

    @property
    def keep(self) -> float | None:
        return statistics.median(self.keeps) if self.keeps else None


@dataclass
class Settings:
    duration: float
    warmup: float
    rounds: int
    connections: int
    pin: bool
    load: str
    loop: str
    http: str
    sessions: int = SESSIONS


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def targets(frameworks: Sequence[str], contenders: Sequence[str] | None = None) -> list[Target]:
    found = _all_targets(frameworks)
    if contenders:
        found = [t for t in found if not t.has_session or t.contender in contenders]
    return found


def _all_targets(frameworks: Sequence[str]) -> list[Target]:
    found: list[Target] = []
    if "starlette" in frameworks:
        found.append(Target("starlette", "bare", ("read",)))
        # A second bare server measured as a contender: its keep ratio is the noise floor.
        found.append(Target("starlette", "bare-control", ("read",)))
        for name in ("fastsession", "floor", "starlette", "starsessions"):
            found.append(Target("starlette", name, ("read", "write")))
    if "express" in frameworks and shutil.which("node"):
        found.append(Target("express", "bare", ("read",)))
        found.append(Target("express", "express-session", ("read", "write")))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(target: Target, port: int, settings: Settings) -> list[str]:
    if target.framework == "express":
        return ["node", str(EXPRESS_DIR / "server.js")]
    return [
        sys.executable,
        "-m",
        "benchmarks.http_load",
        "--serve",
        target.contender,
        "--port",
        str(port),
        "--loop",
        settings.loop,
        "--http",
        settings.http,
    ]


def ensure_express() -> None:
    if not (EXPRESS_DIR / "node_modules" / "express-session").is_dir():
        print("installing the Express benchmark's npm packages (npm ci)", flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=EXPRESS_DIR,
            check=True,
            timeout=300,
        )


@contextmanager
def running(target: Target, settings: Settings) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "VARIANT": target.contender, "SECRET": SECRET}
    command = pinned(0, server_command(target, port, settings), settings)
    # A file, not a pipe: a chatty server must never block on a full pipe mid-run.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise RuntimeError(f"{target} exited with {proc.returncode}: {err[-2000:]}")
            try:
                get(port, "/read")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not answer on port {port}") from None
                time.sleep(0.1)
        yield Server(port, proc.pid)  # taskset execs the server: the pid is the server's
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def cpu_seconds(pid: int) -> float | None:
    """CPU time the process has run, all threads (Linux schedstat, ns), or None."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def measure(target: Target, op: str, server: Server, cookies: Cookies, s: Settings) -> Sample:
    # CPU time per request barely moves when other work shares the machine, where
    # requests/s does: it gives the keep ratio an idle machine would show.
    expect = op if target.has_session else "bare"
    cpu_before = cpu_seconds(server.pid)
    rps, errors, requests = drive(server.port, f"/{op}", cookies, expect, s.duration, s)
    cpu_after = cpu_seconds(server.pid)
    if errors:
        raise RuntimeError(
            f"{target.framework} {target.contender} /{op} ({cookies.count} cookies): {errors} "
            "errors (non-2xx responses, timeouts, or visits that missed their session)"
        )
    cpu = None
    if cpu_before is not None and cpu_after is not None and requests:
        cpu = (cpu_after - cpu_before) / requests
    return Sample(rps, cpu)


def loads(
    stack: ExitStack, chosen: Sequence[Target], servers: dict[Target, Server], s: Settings
) -> dict[Target, list[Cookies]]:
    """Each server's traffic: one replayed cookie, then (with ``--sessions``) its own
    sessions in turn. The files live as long as ``stack``."""
    found = {t: [Cookies(session_cookie(t, servers[t].port))] for t in chosen}
    if s.sessions:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for t in chosen:
            name = f"{t.framework}-{t.contender}"
            print(f"{name}: creating {s.sessions} sessions", flush=True)
            found[t].append(rotation(t.has_session, servers[t].port, s.sessions, folder, name))
    return found


def run(
    settings: Settings, frameworks: Sequence[str], contenders: Sequence[str] | None = None
) -> list[Measurement]:
    """Slices of ``duration`` seconds, each variant between two bare slices of the same
    traffic: its keep ratio is taken against their mean, so a burst of background load
    on this shared machine hits a pair, not the whole comparison. The median over rounds
    is kept. A contender's one-cookie and many-sessions slices run back to back, so the
    two figures of a row see the same machine."""
    chosen = targets(frameworks, contenders)
    if any(t.framework == "express" for t in chosen):
        ensure_express()
    results: dict[tuple[str, str, str, int], Measurement] = {}

    def slices(t: Target, op: str, cookies: Cookies) -> Measurement:
        key = (t.framework, t.contender, op, cookies.count)
        return results.setdefault(key, Measurement(*key))

    def bare_slice(bare: Target, cookies: Cookies) -> Sample:
        sample = measure(bare, "read", servers[bare], cookies, settings)
        slices(bare, "read", cookies).add_bare(sample)
        return sample

    with ExitStack() as stack:
        # All servers up at once (idle ones cost nothing) so slices can alternate.
        servers = {t: stack.enter_context(running(t, settings)) for t in chosen}
        traffic = loads(stack, chosen, servers, settings)
        for t in chosen:
            for op in t.ops:
                for cookies in traffic[t]:
                    expect = op if t.has_session else "bare"
                    drive(servers[t].port, f"/{op}", cookies, expect, settings.warmup, settings)
        for round_no in range(settings.rounds):
            for bare in [t for t in chosen if t.is_bare]:
                before = {c.count: bare_slice(bare, c) for c in traffic[bare]}
                for t in chosen:
                    if t.framework != bare.framework or t.is_bare:
                        continue
                    for op in t.ops:
                        for cookies, bare_cookies in zip(traffic[t], traffic[bare], strict=True):
                            m = slices(t, op, cookies)
                            sample = measure(t, op, servers[t], cookies, settings)
                            after = bare_slice(bare, bare_cookies)
                            m.add(sample, before[cookies.count], after)
                            before[cookies.count] = after
                            cpu = f", CPU keep {m.cpu_keeps[-1]:.0%}" if m.cpu_keeps else ""
                            print(
                                f"round {round_no + 1}/{settings.rounds} {t.framework:9} "
                                f"{t.contender:16} {op:5} {cookies.count:>6} cookies "
                                f"{sample.rps:8.0f} req/s, keep {m.keeps[-1]:.0%}{cpu}",
                                flush=True,
                            )
    return list(results.values())


def keep_ratios(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """One row per measurement: median req/s, median keep ratios (bare: 1) and the
    median CPU µs per request."""
    rows: list[dict[str, Any]] = []
    for m in measurements:
        bare = m.contender == "bare"
        rows.append(
            {
                **asdict(m),
                "median": m.median,
                "keep": 1.0 if bare else m.keep,
                "cpu_keep": (1.0 if m.cpu else None) if bare else m.cpu_keep,
                "cpu_us": statistics.median(m.cpu) * 1e6 if m.cpu else None,
            }
        )
    return rows


def serve(contender: str, port: int, loop: str, http_impl: str) -> None:
    """The server side: one Starlette variant under uvicorn, until terminated."""
    import uvicorn

    from benchmarks import apps

    app = apps.STARLETTE_VARIANTS[contender].build()
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        loop=loop,
        http=http_impl,
        access_log=False,
        log_level="warning",
        workers=1,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per slice")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds driven first, unmeasured"
    )
    parser.add_argument("--rounds", type=int, default=5, help="slices per variant; median kept")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--sessions",
        type=int,
        default=SESSIONS,
        help="sessions created and visited in turn per server (0: the one-cookie load only)",
    )
    parser.add_argument("--frameworks", default="starlette,express")
    parser.add_argument("--contenders", help="comma-separated subset (bare always runs)")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and load")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--loop", default="uvloop" if installed("uvloop") else "asyncio")
    parser.add_argument("--http", default="httptools" if installed("httptools") else "h11")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.loop, args.http)
        return 0
    if not (0 < args.duration <= 600 and 0 < args.rounds <= 20 and 0 < args.connections <= 1024):
        parser.error("duration must be in (0, 600], rounds in [1, 20], connections in [1, 1024]")
    if not 0 <= args.sessions <= 1_000_000:
        parser.error("sessions must be in [0, 1000000]")
    load = args.load if args.load != "auto" else ("wrk" if shutil.which("wrk") else "python")
    settings = Settings(
        args.duration,
        args.warmup,
        args.rounds,
        args.connections,
        not args.no_pin,
        load,
        args.loop,
        args.http,
        args.sessions,
    )
    print(
        f"load: {load}, {settings.connections} connections, {settings.duration:g} s x "
        f"{settings.rounds} rounds, {settings.sessions} sessions in turn beside one cookie; "
        f"uvicorn --loop {settings.loop} --http {settings.http}",
        flush=True,
    )
    contenders = args.contenders.split(",") if args.contenders else None
    rows = keep_ratios(run(settings, args.frameworks.split(","), contenders))
    from benchmarks import tables

    print("\n".join(tables.http_table(rows)))
    if args.json:
        args.json.write_text(json.dumps({"settings": asdict(settings), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
