"""Which kernels the import selects, checked in fresh interpreters.

Each probe runs ``python -I -W error`` with the directory holding the fastsession
under test (the checkout, or site-packages for an installed wheel) first on
sys.path, so it sees exactly what users import, and no stray warning passes.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fastsession
from fastsession import _speedups
from fastsession.__main__ import kernels

PKG_PARENT = str(Path(fastsession.__file__).resolve().parent.parent)
KERNELS = tuple(kernels())


def _bound_names() -> dict[str, str]:
    """Each kernel name _speedups binds, with the kernel whose pure twin defines it."""
    twins = {k: importlib.import_module(f"fastsession._{k}_py") for k in KERNELS}
    bound = {}
    for name in _speedups.__all__:
        value = getattr(_speedups, name)
        if not callable(value):
            continue  # EXTENSIONS, KERNELS, REASON
        owners = [k for k, mod in twins.items() if name in getattr(mod, "__all__", ())]
        assert len(owners) == 1, (name, owners)
        bound[name] = owners[0]
    return bound


BOUND = _bound_names()
ALLOWLIST = Path(__file__).resolve().parent / "stubtest-allowlist.txt"

# Makes the named compiled modules unimportable, as if they had not been built.
BLOCKER = """
import importlib.abc
class _NotBuilt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _NotBuilt())
"""

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
{prelude}
import fastsession
from fastsession import _speedups as s
print(json.dumps({{
    "extensions": fastsession.EXTENSIONS,
    "selector_extensions": s.EXTENSIONS,
    "reason": s.REASON,
    "modules": {{n: getattr(s, n).__module__ for n in {names!r}}},
    "loaded_c": sorted(m for m in sys.modules if m.startswith("fastsession._") and m[-2:] == "_c"),
}}))
"""


def _env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FASTSESSION_") and k != "CIBUILDWHEEL"
    }
    env.update(overrides)
    return env


def _run(blocked: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    prelude = BLOCKER.format(blocked=set(blocked)) if blocked else ""
    code = PROBE.format(root=PKG_PARENT, prelude=prelude, names=sorted(BOUND))
    return subprocess.run(
        [sys.executable, "-I", "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=_env(**env),
        cwd=PKG_PARENT,
        timeout=120,
    )


def _probe(blocked: tuple[str, ...] = (), **env: str) -> dict[str, Any]:
    proc = _run(blocked, **env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    result: dict[str, Any] = json.loads(proc.stdout)
    assert result["extensions"] is result["selector_extensions"]
    return result


def _assert_kernels(result: dict[str, Any], tag: str) -> None:
    # A pure twin may gather its names from the modules it is made of
    # (fastsession._kernel_py); the compiled twin is one module.
    expected = {
        name: getattr(importlib.import_module(f"fastsession._{kernel}_py"), name).__module__
        if tag == "py"
        else f"fastsession._{kernel}_c"
        for name, kernel in BOUND.items()
    }
    assert result["modules"] == expected


@pytest.mark.c_extension
def test_compiled_kernels_are_the_default() -> None:
    result = _probe()
    assert result["extensions"] is True, result["reason"]
    _assert_kernels(result, "c")
    assert result["loaded_c"] == [f"fastsession._{k}_c" for k in sorted(KERNELS)]


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes"])
def test_no_extensions_forces_pure_python(value: str) -> None:
    result = _probe(FASTSESSION_NO_EXTENSIONS=value)
    assert result["extensions"] is False
    assert "FASTSESSION_NO_EXTENSIONS" in result["reason"]
    _assert_kernels(result, "py")
    assert result["loaded_c"] == []  # not even imported


@pytest.mark.c_extension
@pytest.mark.parametrize("value", ["0", "", "false", "no"])
def test_no_extensions_set_to_off_keeps_compiled(value: str) -> None:
    # The "0" gotcha: bool(os.environ.get(...)) would read "0" as on.
    result = _probe(FASTSESSION_NO_EXTENSIONS=value)
    assert result["extensions"] is True, result["reason"]
    _assert_kernels(result, "c")


@pytest.mark.c_extension
def test_require_extensions_passes_when_they_are_built() -> None:
    result = _probe(FASTSESSION_REQUIRE_EXTENSIONS="1")
    assert result["extensions"] is True
    _assert_kernels(result, "c")


def test_require_extensions_fails_loudly_when_not_built() -> None:
    proc = _run(tuple(f"fastsession._{k}_c" for k in KERNELS), FASTSESSION_REQUIRE_EXTENSIONS="1")
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "FASTSESSION_REQUIRE_EXTENSIONS" in proc.stderr
    assert "_cookies_c" in proc.stderr  # the reason, naming the module, travels with the error


def test_require_extensions_loses_to_no_extensions() -> None:
    # Asking for both is a contradiction; the import must not pretend.
    proc = _run(FASTSESSION_REQUIRE_EXTENSIONS="1", FASTSESSION_NO_EXTENSIONS="1")
    assert proc.returncode != 0
    assert "FASTSESSION_NO_EXTENSIONS" in proc.stderr


def test_not_built_falls_back_to_pure_python_and_says_why() -> None:
    result = _probe(tuple(f"fastsession._{k}_c" for k in KERNELS))
    assert result["extensions"] is False
    assert result["reason"].startswith("ImportError")
    _assert_kernels(result, "py")


@pytest.mark.parametrize("missing", KERNELS)
def test_one_missing_kernel_means_all_pure(missing: str) -> None:
    # All or nothing, so EXTENSIONS is one honest bool.
    result = _probe((f"fastsession._{missing}_c",))
    assert result["extensions"] is False
    assert result["reason"].startswith("ImportError")
    _assert_kernels(result, "py")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def test_extensions_flag_tells_the_truth_here() -> None:
    """In this very process: where wheels are built and tested, compiled is mandatory.

    simplejson's TestMissingSpeedups: a wheel built without its .so fails here.
    """
    if _flag("CIBUILDWHEEL") or _flag("FASTSESSION_REQUIRE_EXTENSIONS"):
        assert fastsession.EXTENSIONS is True, _speedups.REASON
    tag = "c" if fastsession.EXTENSIONS else "py"
    for name, kernel in BOUND.items():
        module = sys.modules[f"fastsession._{kernel}_{tag}"]
        assert getattr(_speedups, name) is getattr(module, name)
    assert fastsession.EXTENSIONS is _speedups.EXTENSIONS


@pytest.mark.c_extension
def test_stubs_match_the_compiled_modules(tmp_path: Path) -> None:
    """mypy.stubtest: each .pyi says what its compiled module really exports.

    Run from an empty directory: mypy takes the working directory as a source root,
    and site-packages (an installed wheel's PKG_PARENT) holds modules that shadow
    mypy's own.
    """
    # stubtest passes a module that has no stub at all, so look for each one first.
    package = Path(fastsession.__file__).resolve().parent
    assert [k for k in KERNELS if not (package / f"_{k}_c.pyi").is_file()] == []
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            *(f"fastsession._{k}_c" for k in KERNELS),
            "--allowlist",
            str(ALLOWLIST),
        ],
        capture_output=True,
        text=True,
        env=_env(PYTHONPATH=PKG_PARENT),
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
