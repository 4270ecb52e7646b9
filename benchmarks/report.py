"""One command, one run, one table of ratios: every bench_*.py plus the HTTP load.

    python benchmarks/report.py [--quick] [--out DIR] [--no-http]

Runs pytest-benchmark over all benchmarks/bench_*.py (bench_redis.py only when a
redis-server can run), then benchmarks/http_load.py, and prints one Markdown table of
ratios from that run; writes it as report.md, the chart as report.svg and the raw
results as JSON to --out (default .benchmarks/report/). Every middleware figure comes
twice: with one replayed cookie, and on real traffic (--sessions stored sessions
in-process, --http-sessions over HTTP, visited in turn).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
if __package__ in (None, ""):  # run as a script: make `benchmarks` and `fastsession` importable
    sys.path.insert(0, str(ROOT))

from benchmarks import chart, ratios, tables  # noqa: E402
from benchmarks.http_traffic import SESSIONS as HTTP_SESSIONS  # noqa: E402
from benchmarks.traffic import SESSIONS, SESSIONS_ENV  # noqa: E402

# pytest-benchmark budgets: seconds per benchmark and at least this many rounds.
BUDGET = {"quick": ("0.15", "5"), "full": ("1.0", "15")}
HTTP = {"quick": ["--duration", "1", "--rounds", "2", "--warmup", "0.5"], "full": []}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine() -> dict[str, str]:
    info = {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    try:
        from fastsession import _speedups

        info["fastsession.EXTENSIONS"] = f"{_speedups.EXTENSIONS} ({_speedups.REASON})"
    except Exception as exc:  # the report still runs, and says why
        info["fastsession.EXTENSIONS"] = f"unknown: {exc!r}"
    return info


def redis_can_run() -> bool:
    return shutil.which("redis-server") is not None


def bench_files() -> tuple[list[Path], list[str]]:
    """The bench_*.py files to run, and a note for each one left out."""
    files, notes = [], []
    for path in sorted(BENCH.glob("bench_*.py")):
        if path.name.startswith("bench_redis") and not redis_can_run():
            notes.append(f"{path.name} left out: no redis-server on this machine")
            continue
        files.append(path)
    return files, notes


def run_pytest(
    files: Sequence[Path], mode: str, out_json: Path, extra: Sequence[str] = (), sessions: int = 0
) -> int:
    max_time, min_rounds = BUDGET[mode]
    # Files named explicitly: pytest would not collect bench_*.py from a directory.
    command = [
        sys.executable,
        "-m",
        "pytest",
        *map(str, files),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--benchmark-json={out_json}",
        f"--benchmark-max-time={max_time}",
        f"--benchmark-min-rounds={min_rounds}",
        "--benchmark-columns=median,iqr,rounds",
        "--benchmark-sort=name",
        # One broken bench file must not cost the others their numbers.
        "--continue-on-collection-errors",
        *extra,
    ]
    env = dict(os.environ)
    if sessions:  # bench_traffic.py's session count
        env[SESSIONS_ENV] = str(sessions)
    print("$", " ".join(command[2:]), flush=True)
    return subprocess.call(command, cwd=ROOT, env=env)


def run_http(mode: str, out_json: Path, sessions: int) -> int:
    command = [
        sys.executable,
        "-m",
        "benchmarks.http_load",
        "--json",
        str(out_json),
        "--sessions",
        str(sessions),
        *HTTP[mode],
    ]
    print("$", " ".join(command[2:]), flush=True)
    return subprocess.call(command, cwd=ROOT)


def build(
    data: dict[str, Any], http: dict[str, Any] | None, notes: Sequence[str]
) -> tuple[str, str]:
    """The Markdown report and the SVG chart of one run's results."""
    info = machine()
    groups = ratios.grouped(ratios.entries(data))
    text = tables.markdown(info, groups, http, notes)
    subtitle = (
        f"{info['CPU']}, {info['cores']} cores, {info['Python']}, "
        f"EXTENSIONS {info['fastsession.EXTENSIONS'].split(' ')[0]}"
    )
    picture = chart.svg(chart.panels(groups, (http or {}).get("rows", [])), subtitle)
    return text, picture


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short budgets (about a minute)")
    parser.add_argument("--out", type=Path, default=ROOT / ".benchmarks" / "report")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP load")
    parser.add_argument("-k", dest="select", help="pytest -k expression (a partial report)")
    parser.add_argument(
        "--sessions",
        type=int,
        default=SESSIONS,
        help=f"sessions created and visited at random in-process (default {SESSIONS:,})",
    )
    parser.add_argument(
        "--http-sessions",
        type=int,
        default=HTTP_SESSIONS,
        help=f"sessions visited in turn over HTTP, 0 for one cookie only ({HTTP_SESSIONS:,})",
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="rebuild the report from a saved results.json, running nothing",
    )
    args = parser.parse_args(argv)
    if not (1 <= args.sessions <= 1_000_000 and 0 <= args.http_sessions <= 1_000_000):
        parser.error("--sessions must be in [1, 1000000], --http-sessions in [0, 1000000]")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.source:
        saved = json.loads(args.source.read_text())
        return write(
            args.out, *build(saved["pytest"], saved.get("http"), saved.get("notes", [])), saved
        )
    mode = "quick" if args.quick else "full"
    files, notes = bench_files()
    # Other work on the machine inflates every figure: say how busy it was.
    notes.append(f"load average (1, 5, 15 min) at the start: {load_average()}")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        bench_json = Path(tmp) / "bench.json"
        extra = ["-k", args.select] if args.select else []
        code = run_pytest(files, mode, bench_json, extra, args.sessions)
        if code != 0:
            failures.append(f"pytest exited with {code}: the failed benchmarks are missing below")
        data = json.loads(bench_json.read_text()) if bench_json.exists() else {"benchmarks": []}
        http = None
        if not args.no_http:
            http_json = Path(tmp) / "http.json"
            code = run_http(mode, http_json, args.http_sessions)
            if code != 0 or not http_json.exists():
                failures.append(f"HTTP load exited with {code}: no HTTP table")
            else:
                http = json.loads(http_json.read_text())
    all_notes = [*notes, f"load average at the end: {load_average()}", *failures]
    text, picture = build(data, http, all_notes)
    code = write(args.out, text, picture, {"pytest": data, "http": http, "notes": all_notes})
    return 1 if failures else code


def write(out: Path, text: str, picture: str, results: dict[str, Any]) -> int:
    (out / "report.md").write_text(text + "\n")
    (out / "report.svg").write_text(picture)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print()
    print(text)
    print(f"\nwritten: {out / 'report.md'}, {out / 'report.svg'}, {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
