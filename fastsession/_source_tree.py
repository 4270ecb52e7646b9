"""Why the kernels are pure Python, and the installed copy a source tree shadows.

``pip install . && python -m fastsession demo`` from a clone: ``pip install .``
compiles the kernels into the installed package, but ``python -m`` puts the
current directory first on ``sys.path``, so the clone's ``fastsession/`` (no
compiled modules in it) is imported instead. `installed_twin` finds the
installed copy that has them; ``python -m fastsession`` then runs again with it
(``python -P``: without the current directory), and `diagnosis` says the rest.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
import sys
from pathlib import Path

from . import _speedups

PACKAGE = Path(__file__).resolve().parent
RERUN_ENV = "FASTSESSION_RERUN_FROM"
"""Set for the second run: the source tree it came from (also a guard against a loop)."""


def compiled_on_disk(package: Path) -> list[Path]:
    """The compiled kernel modules in ``package`` (``_<kernel>_c`` + an extension suffix)."""
    found = []
    for kernel in _speedups.KERNELS:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = package / f"_{kernel}_c{suffix}"
            if path.is_file():
                found.append(path)
                break
    return found


def _complete(package: Path) -> bool:
    return len(compiled_on_disk(package)) == len(_speedups.KERNELS)


def is_source_tree(package: Path = PACKAGE) -> bool:
    """Whether ``package`` is the ``fastsession/`` of a clone (setup.py beside it)."""
    return (package.parent / "setup.py").is_file() and (package.parent / "src_c").is_dir()


def installed_twin(package: Path = PACKAGE) -> Path | None:
    """Another ``fastsession`` package on ``sys.path`` (or the installed distribution's)
    with every compiled kernel, when ``package`` has none; else None."""
    if compiled_on_disk(package):
        return None
    candidates = []
    for entry in sys.path:
        candidates.append(Path(entry or os.getcwd()) / "fastsession")
    try:
        dist = importlib.metadata.distribution("fastsession-express")
        candidates.append(Path(str(dist.locate_file("fastsession"))))
    except importlib.metadata.PackageNotFoundError:
        pass
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
        except OSError:
            continue
        if resolved != package and (resolved / "__init__.py").is_file() and _complete(resolved):
            return resolved
    return None


def rerun_command(argv: list[str]) -> list[str] | None:
    """The command that runs ``python -m fastsession argv`` with the installed copy,
    when this run imported a source tree without compiled kernels; else None."""
    if _speedups.EXTENSIONS or os.environ.get(RERUN_ENV) or sys.implementation.name != "cpython":
        return None
    if not _speedups.REASON.startswith("ImportError") or not is_source_tree():
        return None
    if installed_twin() is None:
        return None
    # -P (Python 3.11+): no current directory on sys.path, so the installed copy is found.
    return [sys.executable, "-P", "-m", "fastsession", *argv]


def diagnosis() -> tuple[str, str] | None:
    """(why, fix) when the kernels are pure Python; None when they are compiled."""
    if _speedups.EXTENSIONS:
        return None
    reason = _speedups.REASON
    if reason.startswith("disabled by"):
        return (
            "FASTSESSION_NO_EXTENSIONS is set in the environment",
            "unset FASTSESSION_NO_EXTENSIONS to use the compiled kernels",
        )
    if not reason.startswith("ImportError"):
        return (
            f"{reason}: the compiled kernels are CPython extension modules",
            "none needed: this interpreter runs the pure-Python kernels, which give "
            "identical results",
        )
    if compiled_on_disk(PACKAGE):
        return (
            f"the compiled modules are in {PACKAGE} but do not load ({reason}); "
            "they were built for another Python or platform",
            "reinstall for this interpreter: python -m pip install --force-reinstall "
            "fastsession-express (from a clone: python -m pip install -e .)",
        )
    if is_source_tree():
        twin = installed_twin()
        where = (
            f"the installed copy at {twin} has them, but "
            if twin is not None
            else "no installed copy has them either; "
        )
        return (
            f"fastsession was imported from the source tree {PACKAGE}, which has no compiled "
            f"kernels: {where}Python puts the current directory first on sys.path",
            "run from another directory, or python -P -m fastsession (no current directory "
            "on sys.path), or compile the kernels in the tree: python -m pip install -e ."
            + ("" if twin is not None else " (first pip install . for the installed copy)"),
        )
    return (
        "the package was installed without its compiled kernels (no wheel for this "
        "platform, and no C compiler when it was built)",
        "install a C compiler (apt-get install build-essential python3-dev) and run "
        "FASTSESSION_REQUIRE_EXTENSIONS=1 python -m pip install --force-reinstall "
        "--no-binary fastsession-express fastsession-express (pip install -v shows the build)",
    )


__all__ = [
    "RERUN_ENV",
    "compiled_on_disk",
    "diagnosis",
    "installed_twin",
    "is_source_tree",
    "rerun_command",
]
