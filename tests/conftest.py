"""Shared fixtures: both twins of each kernel, a fake clock, the npm vectors."""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
_VECTOR_DIRS = [ROOT / "tests" / "data", ROOT.parent / "shared" / "vectors"]


def load_vector(name: str) -> Any:
    for d in _VECTOR_DIRS:
        p = d / name
        if p.exists():
            return json.loads(p.read_text(encoding="utf-8"))
    raise FileNotFoundError(name)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-c-extensions",
        action="store_true",
        default=os.environ.get("FASTSESSION_NO_EXTENSIONS", "") in ("1", "true"),
        help="deselect the tests of the compiled twins",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--no-c-extensions"):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("c_extension") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass(frozen=True)
class Impl:
    """One twin of one kernel: ``tag`` is "py" or "c"; ``module`` imports it.

    A missing compiled module is an import error in the test, not a skip.
    """

    kernel: str
    tag: str

    @cached_property
    def module(self) -> ModuleType:
        return importlib.import_module(f"fastsession._{self.kernel}_{self.tag}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def __repr__(self) -> str:
        return f"{self.kernel}-{self.tag}"


def impl_params(kernel: str) -> list[Any]:
    return [
        pytest.param(Impl(kernel, "c"), id="c", marks=pytest.mark.c_extension),
        pytest.param(Impl(kernel, "py"), id="py"),
    ]


@pytest.fixture(params=impl_params("signing"))
def signing_impl(request: pytest.FixtureRequest) -> Impl:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=impl_params("cookies"))
def cookies_impl(request: pytest.FixtureRequest) -> Impl:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=impl_params("lru"))
def lru_impl(request: pytest.FixtureRequest) -> Impl:
    return request.param  # type: ignore[no-any-return]


class FakeClock:
    """A clock that moves only when told (seconds)."""

    def __init__(self, now: float = 1893456000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
