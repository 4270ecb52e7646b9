"""The twins of each kernel export the same names with the same call signatures.

Every kernel is found by globbing (src_c/_<kernel>_c.pyx in a checkout, the built
fastsession/_<kernel>_c modules in an installed wheel, fastsession/_<kernel>_py.py),
so a new kernel is compared without touching this file. A renamed parameter, a
changed default, a missing method or a name exported by one twin only fails here,
before any behaviour test runs.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import fastsession
from fastsession import _speedups

pytestmark = pytest.mark.c_extension

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(fastsession.__file__).resolve().parent

# Pairs not compared yet, each with the reason; nothing belongs here for long.
PENDING: dict[str, str] = {}


def compiled_kernels() -> set[str]:
    """Kernels with a compiled twin: their .pyx sources, or else their built modules."""
    sources = {p.name[1 : -len("_c.pyx")] for p in (ROOT / "src_c").glob("_*_c.pyx")}
    if sources:
        return sources
    built = set()
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        built |= {p.name[1 : -len("_c" + suffix)] for p in PACKAGE.glob(f"_*_c{suffix}")}
    return built


def pure_kernels() -> set[str]:
    """Kernels with a pure twin (a pure twin may gather its names from the
    modules it is made of: fastsession/_kernel_py.py)."""
    return {k for k in _speedups.KERNELS if (PACKAGE / f"_{k}_py.py").is_file()}


KERNELS = sorted(_speedups.KERNELS)
COMPARED = [k for k in KERNELS if k not in PENDING]


def twins(kernel: str) -> tuple[ModuleType, ModuleType]:
    return (
        importlib.import_module(f"fastsession._{kernel}_py"),
        importlib.import_module(f"fastsession._{kernel}_c"),
    )


def public_attributes(module: ModuleType) -> set[str]:
    """The public names a module defines itself (not its imports)."""
    names = set()
    for name, obj in vars(module).items():
        if name.startswith("_") or isinstance(obj, ModuleType) or name == "annotations":
            continue
        if callable(obj) and getattr(obj, "__module__", None) != module.__name__:
            continue
        names.add(name)
    return names


def exported(module: ModuleType) -> set[str]:
    """``__all__``, or the public attributes when there is none."""
    if hasattr(module, "__all__"):
        return set(module.__all__)
    return public_attributes(module)


def signature(obj: Any) -> inspect.Signature:
    try:
        return inspect.signature(obj)
    except ValueError:
        # A compiled class whose defaults are not literals (``clock=time.time``) cannot
        # have a __text_signature__; Cython's embedsignature then leaves the signature
        # as the docstring's first line, "Name(params)". Read it with the module's names.
        line = (getattr(obj, "__doc__", None) or "").partition("\n")[0]
        if not (isinstance(obj, type) and line.startswith(obj.__name__ + "(")):
            raise
        namespace = dict(vars(importlib.import_module(obj.__module__)))
        exec(f"def _signature{line[len(obj.__name__) :]}: pass", namespace)
        return inspect.signature(namespace["_signature"])


def parameters(obj: Any) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter. Annotations are left out: a compiled
    twin may lack them, and its .pyi stub is what mypy.stubtest checks."""
    return [(p.name, p.kind, p.default) for p in signature(obj).parameters.values()]


def methods(cls: type) -> set[str]:
    """The public methods the class itself defines (not those of a builtin base)."""
    inherited = {n for base in cls.__mro__[1:] if base.__module__ == "builtins" for n in dir(base)}
    return {
        n
        for n in dir(cls)
        if not n.startswith("_") and n not in inherited and callable(getattr(cls, n))
    }


def test_the_kernels_are_found() -> None:
    assert {"cookies", "dates", "lru", "signing"} <= set(KERNELS)
    assert set(COMPARED) | set(PENDING) == set(KERNELS)


def test_every_kernel_has_both_twins() -> None:
    assert compiled_kernels() == pure_kernels() == set(KERNELS)
    for kernel in KERNELS:
        twins(kernel)


def test_pending_names_only_real_kernels() -> None:
    # An entry outliving its kernel (or a typo) would hide nothing, but it would rot.
    assert set(PENDING) <= set(KERNELS)


@pytest.mark.parametrize("kernel", COMPARED)
def test_same_names(kernel: str) -> None:
    py, c = twins(kernel)
    assert hasattr(py, "__all__") == hasattr(c, "__all__"), "both twins have __all__, or neither"
    assert exported(py) == exported(c)
    assert exported(py), "a kernel exports something"
    for module in (py, c):
        missing = sorted(n for n in exported(module) if not hasattr(module, n))
        assert missing == [], f"{module.__name__}.__all__ names what it lacks"


@pytest.mark.parametrize("kernel", COMPARED)
def test_same_signatures(kernel: str) -> None:
    py, c = twins(kernel)
    for name in sorted(exported(py) & exported(c)):
        a, b = getattr(py, name), getattr(c, name)
        if isinstance(a, type):
            assert isinstance(b, type), name
            # A class that keeps its base's constructor (SessionCore keeps dict's)
            # has no signature to read on either twin.
            sigs = []
            for t in (a, b):
                try:
                    sigs.append(parameters(t))
                except ValueError:
                    sigs.append(None)
            assert sigs[0] == sigs[1], f"{name}()"
            assert methods(a) == methods(b), name
            for method in sorted(methods(a)):
                # self is positional-only on a compiled method without arguments.
                left, right = getattr(a, method), getattr(b, method)
                assert parameters(left)[1:] == parameters(right)[1:], f"{name}.{method}()"
                assert parameters(left)[0][0] == parameters(right)[0][0] == "self"
        elif callable(a):
            assert callable(b) and not isinstance(b, type), name
            assert parameters(a) == parameters(b), f"{name}()"
        else:
            assert a == b, name


def test_the_check_sees_a_difference() -> None:
    # The comparison is not vacuous: different parameter names, kinds or defaults differ,
    # and a name defined by one module only shows.
    def f(value: str, secret: bytes) -> None: ...

    def g(value: str, key: bytes) -> None: ...

    def h(value: str, /, secret: bytes = b"") -> None: ...

    assert parameters(f) != parameters(g)
    assert parameters(f) != parameters(h)
    left, right = ModuleType("fastsession._x_py"), ModuleType("fastsession._x_c")
    left.sign = right.sign = f  # type: ignore[attr-defined]
    left.unsign = g  # type: ignore[attr-defined]
    f.__module__ = g.__module__ = "fastsession._x_py"
    assert public_attributes(left) == {"sign", "unsign"}
    assert public_attributes(right) == set()  # imported from elsewhere: not its own
