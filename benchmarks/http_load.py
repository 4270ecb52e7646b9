"""Requests per second over HTTP on 127.0.0.1: each session middleware against its bare app.

Starlette variants (benchmarks/apps.py) run under uvicorn, one worker, no access log,
uvloop and httptools when installed (the same for all); Express runs with and without
express-session when Node.js is present. Each server gets an existing session's cookie
and is driven by wrk (or, without wrk, by benchmarks/load_client.py in its own process)
for a bounded time. Prints requests/s and the keep ratio: variant / bare of its framework.

    python benchmarks/http_load.py [--duration 2] [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import re
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
    framework: str
    contender: str
    op: str
    rps: list[float] = field(default_factory=list)
    keeps: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    cpu_keeps: list[float] = field(default_factory=list)

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
        for name in ("fastsession", "starlette", "starsessions"):
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


def pinned(cpu: int, command: list[str], settings: Settings) -> list[str]:
    # Server on one core, load generator on the other: less noise on a 2-core machine.
    if settings.pin and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *command]
    return command


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


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, str | None, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        set_cookie = response.getheader("set-cookie")
        return response.status, set_cookie, response.read()
    finally:
        conn.close()


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


def session_cookie(target: Target, port: int) -> str | None:
    """The cookie of a session holding views == 1, checked to be found when replayed."""
    if not target.has_session:
        return None
    status, set_cookie, body = get(port, "/write")
    if status != 200 or body != b"1" or not set_cookie:
        raise RuntimeError(f"{target}: first write gave {status} {set_cookie!r} {body!r}")
    cookie = set_cookie.split(";", 1)[0].strip()
    status, _, body = get(port, "/read", cookie)
    if body != b"1":
        raise RuntimeError(f"{target}: replaying {cookie!r} read {body!r}, not 1")
    return cookie


def cpu_seconds(pid: int) -> float | None:
    """CPU time the process has run, all threads (Linux schedstat, ns), or None."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


WRK_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
WRK_REQUESTS = re.compile(r"(\d+) requests in")
WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*?timeout (\d+)")


def parse_wrk(output: str) -> tuple[float, int, int]:
    """Requests/s, the error count (non-2xx responses, timeouts) and the requests of a
    wrk run."""
    found = WRK_RPS.search(output)
    count = WRK_REQUESTS.search(output)
    if found is None or count is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{output}")
    errors = sum(int(a or b or 0) for a, b in WRK_ERRORS.findall(output))
    return float(found.group(1)), errors, int(count.group(1))


def drive(
    port: int, path: str, cookie: str | None, seconds: float, settings: Settings
) -> tuple[float, int, int]:
    """Requests/s, errors and requests of one bounded run of the load generator."""
    url = f"http://{HOST}:{port}{path}"
    if settings.load == "wrk":
        command = [
            "wrk",
            "-t1",
            f"-c{settings.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            url,
        ]
        if cookie:
            command[1:1] = ["-H", f"Cookie: {cookie}"]
        done = subprocess.run(
            pinned(1, command, settings),
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
        return parse_wrk(done.stdout)
    command = [
        sys.executable,
        "-m",
        "benchmarks.load_client",
        "--port",
        str(port),
        "--path",
        path,
        "--seconds",
        str(seconds),
        "--connections",
        str(settings.connections),
    ]
    if cookie:
        command += ["--cookie", cookie]
    done = subprocess.run(
        pinned(1, command, settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    result = json.loads(done.stdout)
    return float(result["rps"]), int(result["errors"]), int(result["requests"])


def measure(target: Target, op: str, server: Server, cookie: str | None, s: Settings) -> Sample:
    # CPU time per request barely moves when other work shares the machine, where
    # requests/s does: it gives the keep ratio an idle machine would show.
    cpu_before = cpu_seconds(server.pid)
    rps, errors, requests = drive(server.port, f"/{op}", cookie, s.duration, s)
    cpu_after = cpu_seconds(server.pid)
    if errors:
        raise RuntimeError(f"{target.framework} {target.contender} /{op}: {errors} errors")
    cpu = None
    if cpu_before is not None and cpu_after is not None and requests:
        cpu = (cpu_after - cpu_before) / requests
    return Sample(rps, cpu)


def run(
    settings: Settings, frameworks: Sequence[str], contenders: Sequence[str] | None = None
) -> list[Measurement]:
    """Slices of ``duration`` seconds, each variant between two bare slices: its keep
    ratio is taken against their mean, so a burst of background load on this shared
    machine hits a pair, not the whole comparison. The median over rounds is kept."""
    chosen = targets(frameworks, contenders)
    if any(t.framework == "express" for t in chosen):
        ensure_express()
    results: dict[tuple[str, str, str], Measurement] = {}
    with ExitStack() as stack:
        # All servers up at once (idle ones cost nothing) so slices can alternate.
        servers = {t: stack.enter_context(running(t, settings)) for t in chosen}
        cookies = {t: session_cookie(t, servers[t].port) for t in chosen}
        for t in chosen:
            for op in t.ops:
                drive(servers[t].port, f"/{op}", cookies[t], settings.warmup, settings)
        for round_no in range(settings.rounds):
            for bare in [t for t in chosen if t.is_bare]:
                base = results.setdefault(
                    (bare.framework, "bare", "read"), Measurement(bare.framework, "bare", "read")
                )
                before = measure(bare, "read", servers[bare], None, settings)
                base.rps.append(before.rps)
                if before.cpu:
                    base.cpu.append(before.cpu)
                for t in chosen:
                    if t.framework != bare.framework or t.is_bare:
                        continue
                    for op in t.ops:
                        key = (t.framework, t.contender, op)
                        m = results.setdefault(key, Measurement(*key))
                        sample = measure(t, op, servers[t], cookies[t], settings)
                        after = measure(bare, "read", servers[bare], None, settings)
                        base.rps.append(after.rps)
                        if after.cpu:
                            base.cpu.append(after.cpu)
                        m.add(sample, before, after)
                        before = after
                        cpu = f", CPU keep {m.cpu_keeps[-1]:.0%}" if m.cpu_keeps else ""
                        print(
                            f"round {round_no + 1}/{settings.rounds} {t.framework:9} "
                            f"{t.contender:16} {op:5} {sample.rps:8.0f} req/s, "
                            f"keep {m.keeps[-1]:.0%}{cpu}",
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
    )
    print(
        f"load: {load}, {settings.connections} connections, {settings.duration:g} s x "
        f"{settings.rounds} rounds; uvicorn --loop {settings.loop} --http {settings.http}",
        flush=True,
    )
    contenders = args.contenders.split(",") if args.contenders else None
    rows = keep_ratios(run(settings, args.frameworks.split(","), contenders))
    from benchmarks import ratios  # here: a script run has only now put the root on sys.path

    print("\n".join(ratios.http_table(rows)))
    if args.json:
        args.json.write_text(json.dumps({"settings": asdict(settings), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
