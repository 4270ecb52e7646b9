#!/usr/bin/env python3
"""Fuzz the cookie parser, serialize, signing and both middlewares on both twins.

    python scripts/fuzz.py --seconds 60            # every target, 60 s in all
    python scripts/fuzz.py --runs 5000 asgi wsgi   # 5000 inputs per named target
    python scripts/fuzz.py --replay fuzz/crashes/asgi-1a2b...   # one saved input

Each target (fuzz/kernels.py, fuzz/middleware.py) takes raw bytes and checks
the compiled and the pure twin in the same call. The engine is atheris
(libFuzzer, coverage-guided over the pure twins) when it imports, else a
Hypothesis loop; both start from the seed corpus in fuzz/corpus/<target>/.
An input that crashes or breaks an invariant is saved in fuzz/crashes/ and
the run fails. At the end the count of inputs run per target is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
CRASHES = ROOT / "fuzz" / "crashes"
sys.path.insert(0, str(ROOT))

NAMES = ("cookies", "serialize", "signing", "asgi", "wsgi")


def targets() -> dict[str, Callable[[bytes], None]]:
    from fuzz import kernels, middleware

    return {
        "cookies": kernels.fuzz_cookies,
        "serialize": kernels.fuzz_serialize,
        "signing": kernels.fuzz_signing,
        "asgi": middleware.fuzz_asgi,
        "wsgi": middleware.fuzz_wsgi,
    }


def seeds(name: str) -> list[bytes]:
    folder = CORPUS / name
    return [p.read_bytes() for p in sorted(folder.iterdir())] if folder.is_dir() else []


def save_crash(name: str, data: bytes) -> Path:
    CRASHES.mkdir(exist_ok=True)
    path = CRASHES / f"{name}-{hashlib.sha1(data).hexdigest()[:16]}"
    path.write_bytes(data)
    return path


# -- Hypothesis ---------------------------------------------------------------------------------


def run_hypothesis(name: str, fn: Callable[[bytes], None], seconds: float, runs: int) -> int:
    """Run ``fn`` on the seeds, then on Hypothesis's bytes and mutated seeds, within budget."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    corpus = seeds(name) or [b""]
    count = 0
    for data in corpus:
        fn(data)
        count += 1
    deadline = time.monotonic() + seconds

    def mutate(args: tuple[bytes, list[tuple[int, bytes]]]) -> bytes:
        data, edits = args
        for at, chunk in edits:
            at = at % (len(data) + 1)
            data = data[:at] + chunk + data[at + len(chunk) // 2 :]
        return data

    inputs = st.one_of(
        st.binary(max_size=2048),
        st.tuples(
            st.sampled_from(corpus),
            st.lists(st.tuples(st.integers(0, 4096), st.binary(max_size=8))),
        ).map(mutate),
    )
    failing: list[bytes] = []

    @settings(
        database=None,
        deadline=None,
        max_examples=50,  # a short call: the budget is checked between calls
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(inputs)
    def one(data: bytes) -> None:
        nonlocal count
        count += 1
        try:
            fn(data)
        except BaseException:
            failing[:] = [data]
            raise

    while time.monotonic() < deadline and (runs <= 0 or count < runs):
        try:
            one()
        except Exception:
            path = save_crash(name, failing[0])
            traceback.print_exc()
            print(f"FAIL {name}: input saved in {path}", flush=True)
            raise SystemExit(1) from None
    return count


# -- atheris ------------------------------------------------------------------------------------


def atheris_child(name: str, seconds: float, runs: int) -> None:
    """This process becomes libFuzzer on one target (it exits when the budget is spent)."""
    import atheris

    with atheris.instrument_imports(include=["fastsession", "fuzz"]):
        fn = targets()[name]
        if name in ("asgi", "wsgi"):
            from fuzz import middleware

            middleware.twins()  # the pure copy of the package is imported here: instrumented
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    CRASHES.mkdir(exist_ok=True)
    (CORPUS / name).mkdir(parents=True, exist_ok=True)
    args = [
        sys.argv[0],
        f"-max_total_time={max(1, int(seconds))}",
        f"-artifact_prefix={CRASHES}/{name}-",
        "-max_len=4096",
        "-rss_limit_mb=4096",
        "-print_final_stats=1",
        str(work),
        str(CORPUS / name),
    ]
    if runs > 0:
        args.insert(1, f"-runs={runs}")
    atheris.Setup(args, fn)
    atheris.Fuzz()


def run_atheris(name: str, seconds: float, runs: int) -> int:
    cmd = [sys.executable, __file__, "--atheris-child", name, f"--seconds={seconds}"]
    cmd.append(f"--runs={runs}")
    proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, errors="replace", check=False)
    done = re.findall(r"Done (\d+) runs", proc.stderr) or re.findall(
        r"stat::number_of_executed_units: (\d+)", proc.stderr
    )
    if proc.returncode != 0 or not done:
        sys.stderr.write(proc.stderr[-20000:])
        print(f"FAIL {name}: libFuzzer exited {proc.returncode}; see fuzz/crashes/", flush=True)
        raise SystemExit(1)
    return int(done[-1])


def has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--seconds", type=float, default=60.0, help="budget for all targets")
    parser.add_argument("--runs", type=int, default=0, help="inputs per target (0: no limit)")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument("--replay", type=Path, help="run one saved input (name-prefixed file)")
    parser.add_argument("--atheris-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.atheris_child:
        atheris_child(args.atheris_child, args.seconds, args.runs)
        return
    if args.replay:
        name = args.replay.name.split("-", 1)[0]
        targets()[name](args.replay.read_bytes())
        print(f"{name}: {args.replay} passes")
        return
    names = args.targets or list(NAMES)
    unknown = set(names) - set(NAMES)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(NAMES)}")
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if has_atheris() else "hypothesis"
    share = args.seconds / len(names)
    print(f"fuzzing {', '.join(names)} with {engine}, {share:.0f} s each, both twins", flush=True)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    counts: dict[str, tuple[int, float]] = {}
    for name in names:
        start = time.monotonic()
        if engine == "atheris":
            count = run_atheris(name, share, args.runs)
        else:
            count = run_hypothesis(name, targets()[name], share, args.runs)
        counts[name] = (count, time.monotonic() - start)
    print("inputs run per target (each on both twins):")
    for name, (count, spent) in counts.items():
        print(f"  {name:10} {count:9d} inputs  {spent:6.1f} s  {count / max(spent, 1e-9):8.0f}/s")


if __name__ == "__main__":
    main()
