"""The whole package on one twin of the request kernel, in this process.

The public classes subclass the kernel that fastsession._speedups chose at
import, so the middlewares cannot mix twins. `stack("c")` is the package as
imported (compiled kernels); `stack("py")` is a second copy of the package
(and of tests/harness.py over it) imported with FASTSESSION_NO_EXTENSIONS=1,
so a test can run the real middlewares on each twin in one run. Each copy is
consistent on its own: its errors, clock and MemoryStore are its own.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

_MODULES = ("harness", "fastsession")


@dataclass(frozen=True)
class Stack:
    tag: str
    fastsession: ModuleType
    harness: ModuleType  # tests/harness.py over this copy: Client, RecordingStore
    memory: ModuleType  # fastsession.stores.memory
    clock: ModuleType  # fastsession._clock (what tests freeze)
    lru: ModuleType  # fastsession._lru_py
    errors: ModuleType
    kernel: ModuleType  # the kernel twin the copy runs on

    def __repr__(self) -> str:
        return f"stack-{self.tag}"


def _ours(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _MODULES)


def _build() -> Stack:
    def mod(name: str) -> ModuleType:
        return importlib.import_module(name)

    # Every module and lazy name now, while this copy is the one in sys.modules
    # (the package's __getattr__ imports on first use).
    package = mod("fastsession")
    root = Path(package.__file__).parent
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        if not name.endswith(("__init__", "__main__")):
            mod(name)
    for name in package.__all__:
        getattr(package, name)
    speedups = mod("fastsession._speedups")
    return Stack(
        "c" if speedups.EXTENSIONS else "py",
        mod("fastsession"),
        mod("harness"),
        mod("fastsession.stores.memory"),
        mod("fastsession._clock"),
        mod("fastsession._lru_py"),
        mod("fastsession.errors"),
        mod("fastsession._kernel_c" if speedups.EXTENSIONS else "fastsession._kernel_py"),
    )


def _pure_copy() -> Stack:
    saved = {name: module for name, module in sys.modules.items() if _ours(name)}
    # The pure copy is asked for on purpose: REQUIRE (set in CI) must not refuse it.
    names = ("FASTSESSION_NO_EXTENSIONS", "FASTSESSION_REQUIRE_EXTENSIONS")
    env = {name: os.environ.get(name) for name in names}
    for name in saved:
        del sys.modules[name]
    os.environ["FASTSESSION_NO_EXTENSIONS"] = "1"
    os.environ.pop("FASTSESSION_REQUIRE_EXTENSIONS", None)
    try:
        return _build()
    finally:
        for name in [n for n in sys.modules if _ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_STACKS: dict[str, Stack] = {}


def stack(tag: str) -> Stack:
    """The package on twin ``tag`` ("c" or "py"); a missing compiled twin fails."""
    if tag not in _STACKS:
        here = _build()
        if here.tag == tag:
            _STACKS[tag] = here
        elif tag == "py":
            _STACKS[tag] = _pure_copy()
        else:
            raise ImportError(f"the compiled kernels are not in use: {here.fastsession!r}")
        assert _STACKS[tag].tag == tag
    return _STACKS[tag]


STACK_PARAMS = [
    pytest.param("c", id="c", marks=pytest.mark.c_extension),
    pytest.param("py", id="py"),
]
