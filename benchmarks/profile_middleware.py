"""Where one middleware request's time goes: cProfile over many in-process requests.

    python benchmarks/profile_middleware.py [asgi|wsgi] [read|write] [VARIANT] [--calls N]

Drives the variant exactly as bench_middleware.py does (same app, cookie and rounds) and
prints each function's own time per request (tottime / requests), largest first. cProfile
inflates tiny functions, so read the shares, not the absolute µs; for undistorted
absolute numbers use bench_middleware.py, or sample this script with py-spy:
``py-spy record --native -o profile.svg -- python benchmarks/profile_middleware.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import apps  # noqa: E402
from benchmarks.bench_middleware import CALLS, asgi_round, check_path, wsgi_round  # noqa: E402


def per_request(stats: pstats.Stats, requests: int, top: int) -> list[str]:
    """The `top` functions by own time, as µs per request and share of the total."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines = [f"{'µs/req':>8} {'share':>6} {'calls/req':>9}  function"]
    for (path, line, name), (_, ncalls, tottime, _cum, _) in rows:
        where = f"{Path(path).name}:{line}" if line else path
        lines.append(
            f"{tottime / requests * 1e6:8.3f} {tottime / total:6.1%} "
            f"{ncalls / requests:9.2f}  {name} ({where})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("protocol", nargs="?", choices=("asgi", "wsgi"), default="asgi")
    parser.add_argument("op", nargs="?", choices=("read", "write"), default="read")
    parser.add_argument("variant", nargs="?", default="fastsession")
    parser.add_argument("--calls", type=int, default=20_000, help="requests profiled")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true", help="just run (for py-spy)")
    args = parser.parse_args(argv)
    registry = apps.ASGI_VARIANTS if args.protocol == "asgi" else apps.WSGI_VARIANTS
    variant = registry[args.variant]
    app = variant.build()
    cookie = apps.existing_session(variant, app)
    check_path(variant, app, args.op, cookie)
    loop = asyncio.new_event_loop()
    if variant.protocol == "asgi":
        run = asgi_round(loop, app, f"/{args.op}", cookie)
    else:
        run = wsgi_round(app, f"/{args.op}", cookie)
    rounds = max(1, min(args.calls, 10_000_000) // CALLS)
    for _ in range(max(1, rounds // 10)):  # warm caches and the allocator first
        run()
    profiler = None if args.no_profile else cProfile.Profile()
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    for _ in range(rounds):
        run()
    elapsed = time.perf_counter() - started
    if not profiler:
        print(
            f"{variant.protocol} {args.op} {variant.name}: {rounds * CALLS} requests, "
            f"{elapsed / (rounds * CALLS) * 1e6:.2f} µs each (wall, app included)"
        )
    if profiler:
        profiler.disable()
        stats = pstats.Stats(profiler)
        print(f"{variant.protocol} {args.op} {variant.name}: {rounds * CALLS} requests")
        print("\n".join(per_request(stats, rounds * CALLS, args.top)))
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
