"""The twins of each kernel export the same names with the same call signatures.

A renamed parameter, a changed default or a missing method in one twin fails here,
before any behaviour test runs.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any

import pytest

from fastsession import _speedups

KERNELS = _speedups.KERNELS

pytestmark = pytest.mark.c_extension


def twins(kernel: str) -> tuple[ModuleType, ModuleType]:
    return (
        importlib.import_module(f"fastsession._{kernel}_py"),
        importlib.import_module(f"fastsession._{kernel}_c"),
    )


def exported(module: ModuleType) -> set[str]:
    """``__all__``, or the public names the module defines itself (not its imports)."""
    if hasattr(module, "__all__"):
        return set(module.__all__)
    names = set()
    for name, obj in vars(module).items():
        if name.startswith("_") or isinstance(obj, ModuleType):
            continue
        if callable(obj) and getattr(obj, "__module__", None) != module.__name__:
            continue
        names.add(name)
    return names


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


@pytest.mark.parametrize("kernel", KERNELS)
def test_same_names(kernel: str) -> None:
    py, c = twins(kernel)
    assert exported(py) == exported(c)
    assert exported(py), "a kernel exports something"


@pytest.mark.parametrize("kernel", KERNELS)
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
    # The comparison is not vacuous: different parameter names, kinds or defaults differ.
    def f(value: str, secret: bytes) -> None: ...

    def g(value: str, key: bytes) -> None: ...

    def h(value: str, /, secret: bytes = b"") -> None: ...

    assert parameters(f) != parameters(g)
    assert parameters(f) != parameters(h)
