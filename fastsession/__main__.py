"""The `fastsession` command: `info`, `demo` and `bench` (argparse, stdlib only)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _source_tree, _speedups
from ._version import __version__


def kernels() -> list[str]:
    """The kernels the selector chooses between (fastsession._<kernel>_py / _c)."""
    return list(_speedups.KERNELS)


def _module_file(name: str) -> str:
    spec = importlib.util.find_spec(name)
    return spec.origin if spec is not None and spec.origin else "(not found)"


def sha256_path() -> str:
    """Which SHA-256 signs cookies: the compiled compression in use, or hashlib's."""
    if not _speedups.EXTENSIONS:
        return "hashlib (pure Python kernels)"
    from . import _signing_c

    if _signing_c._compression() == "sha-ni":
        return "SHA-NI (x86-64 SHA extensions)"
    if _signing_c._sha_ni_supported():
        return "portable C (forced by FASTSESSION_SHA256_PORTABLE; the CPU has SHA-NI)"
    return "portable C (this CPU has no SHA extensions)"


def cmd_info(args: argparse.Namespace) -> int:
    active = "compiled" if _speedups.EXTENSIONS else "pure Python"
    tag = "c" if _speedups.EXTENSIONS else "py"
    names = kernels()
    lines = [
        f"fastsession {__version__}",
        f"implementation: {active} (EXTENSIONS={_speedups.EXTENSIONS})",
        f"reason: {_speedups.REASON}",
        f"sha-256: {sha256_path()}",
        "kernels in use:",
        *(f"  fastsession._{k}_{tag}: {_module_file(f'fastsession._{k}_{tag}')}" for k in names),
    ]
    if not _speedups.EXTENSIONS:
        # Says whether the .so files are absent or present but switched off.
        lines.append("compiled modules on disk:")
        lines += [f"  fastsession._{k}_c: {_module_file(f'fastsession._{k}_c')}" for k in names]
        found = _source_tree.diagnosis()
        if found is not None:
            why, fix = found
            lines += [f"why pure Python: {why}", f"fix: {fix}"]
    rerun_from = os.environ.get(_source_tree.RERUN_ENV)
    if rerun_from:
        lines.append(
            f"note: started from the source tree {rerun_from}, which has no compiled kernels; "
            "re-ran with the installed copy"
        )
    lines += [
        f"package: {Path(__file__).resolve().parent}",
        f"python: {platform.python_version()} ({sys.implementation.name}) {sys.executable}",
        f"platform: {platform.platform()} {platform.machine()}",
    ]
    print("\n".join(lines))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import serve
    from .errors import StoreError

    try:
        serve(args.host, args.port, store=args.store, workers=args.workers)
    except (StoreError, ValueError) as exc:
        print(f"fastsession demo: {exc}", file=sys.stderr)
        return 2
    return 0


def _store_spec(value: str) -> str:
    if value == "memory" or (value.startswith("sqlite:") and len(value) > len("sqlite:")):
        return value
    raise argparse.ArgumentTypeError(f"expected memory or sqlite:PATH, got {value!r}")


def _workers(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return n


def find_benchmarks(path: str | None) -> Path | None:
    """The benchmarks/ directory holding report.py: --path, else next to the package."""
    base = Path(path) if path else Path(__file__).resolve().parent.parent / "benchmarks"
    return base if (base / "report.py").is_file() else None


def cmd_bench(args: argparse.Namespace) -> int:
    bench = find_benchmarks(args.path)
    if bench is None:
        where = args.path or Path(__file__).resolve().parent.parent / "benchmarks"
        print(
            f"fastsession bench: no benchmarks/report.py at {where}.\n"
            "The benchmarks ship with the source checkout, not with the wheel: clone the\n"
            "repository and run `python -m fastsession bench` there, or pass --path DIR.",
            file=sys.stderr,
        )
        return 2
    cmd = [sys.executable, str(bench / "report.py")]
    if args.quick:
        cmd.append("--quick")
    if args.out:
        cmd += ["--out", os.path.abspath(args.out)]
    cmd += args.report_args
    # From the checkout root, so the benchmarks import the fastsession next to them.
    return subprocess.call(cmd, cwd=bench.parent)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastsession", description="express-session for Python (ASGI and WSGI)."
    )
    parser.add_argument("--version", action="version", version=f"fastsession {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="version and which implementation is active, and why")
    info.set_defaults(func=cmd_info)

    demo = sub.add_parser("demo", help="serve the demo app (view counter and login)")
    demo.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port, 0 for any (default: 8000)")
    demo.add_argument(
        "--store",
        type=_store_spec,
        default="memory",
        metavar="STORE",
        help="memory (default) or sqlite:PATH, a file the workers share",
    )
    demo.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="worker processes (uvicorn) when more than 1; needs --store sqlite:PATH",
    )
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="run the benchmark comparison (source checkout)")
    bench.add_argument("--quick", action="store_true", help="fewer rounds")
    bench.add_argument("--out", help="directory for the results and the chart")
    bench.add_argument("--path", help="the benchmarks/ directory (default: next to the package)")
    bench.add_argument(
        "report_args", nargs="*", help="more arguments for report.py, after --: -- --no-http"
    )
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


def rerun_installed(argv: list[str]) -> int | None:
    """Run the installed copy instead, when `python -m fastsession` from a clone
    imported the clone's uncompiled source tree (see fastsession._source_tree)."""
    cmd = _source_tree.rerun_command(argv)
    if cmd is None:
        return None
    env = dict(os.environ)
    env[_source_tree.RERUN_ENV] = str(_source_tree.PACKAGE)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(cmd[0], cmd, env)  # the same process: signals and exit code as before
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    code = rerun_installed(sys.argv[1:])
    sys.exit(main() if code is None else code)
