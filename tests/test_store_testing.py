"""fastsession.testing as a third party uses it: the example store in examples/ passes the
contract; a broken store fails it; the fault tests exist exactly where a store can fail,
which every store shipped here that does I/O can; and the module says plainly that it
needs pytest."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import store_contract

import fastsession
import fastsession.testing
from fastsession.testing import AsyncStoreContract, StoreContract

ROOT = Path(__file__).resolve().parent.parent
FAULT_TEST = "test_faults_are_store_errors_with_their_cause"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dict_store = load(ROOT / "examples" / "dict_store.py", "example_dict_store")


class TestDictStoreContract(StoreContract):
    """The example of examples/dict_store.py, exactly as its docstring shows."""

    USER_INDEX = False  # no per-user index (index_users, sessions_of, destroy_user)

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        self.now_ = 2_000_000_000.0
        yield dict_store.DictStore(ttl=self.TTL, clock=lambda: self.now_)

    def now(self) -> float:
        return self.now_

    def advance(self, store: Any, seconds: float) -> None:
        self.now_ += seconds


def test_the_old_test_module_re_exports_the_suite() -> None:
    assert store_contract.StoreContract is StoreContract
    assert set(store_contract.__all__) == set(fastsession.testing.__all__)
    assert {"StoreContract", "AsyncStoreContract", "StandInSession"} <= set(store_contract.__all__)


def test_fault_tests_exist_only_with_the_hook() -> None:
    assert TestDictStoreContract.test_faults_are_store_errors_with_their_cause is None  # type: ignore[comparison-overlap]

    class WithHook(TestDictStoreContract):
        def store_fault(self, store: Any) -> Any:
            raise AssertionError("not run here")

    class Again(WithHook):  # inherited by a further subclass
        pass

    assert callable(getattr(WithHook, FAULT_TEST))
    assert callable(getattr(Again, FAULT_TEST))
    assert getattr(AsyncStoreContract, FAULT_TEST) is None


def test_index_tests_exist_only_for_a_store_with_an_index() -> None:
    name = "test_destroy_user_keeps_the_current_session"
    assert getattr(TestDictStoreContract, name) is None

    class Indexed(TestDictStoreContract):
        USER_INDEX = True

    assert callable(getattr(Indexed, name))
    assert callable(getattr(StoreContract, name)) and callable(getattr(AsyncStoreContract, name))


def test_every_shipped_store_that_does_io_runs_the_fault_tests() -> None:
    import test_redis_contract
    import test_sqlite_store

    contracts = [
        cls
        for module in (test_sqlite_store, test_redis_contract)
        for name, cls in vars(module).items()
        if name.startswith("Test") and isinstance(cls, type) and issubclass(cls, StoreContract)
    ]
    assert len(contracts) >= 10
    for cls in contracts:
        assert callable(getattr(cls, FAULT_TEST)), cls.__name__


BROKEN = textwrap.dedent(
    """
    import pytest
    from dict_store import DictStore
    from fastsession.testing import StoreContract

    class ForgetfulClock(DictStore):
        def _live(self, sid):  # never expires anything
            item = self._data.get(sid)
            return None if item is None else item[1]

    class TouchRewrites(DictStore):
        def touch(self, sid, session):
            self.set(sid, session)

    class Base(StoreContract):
        store_class = DictStore
        USER_INDEX = False

        @pytest.fixture
        def store(self):
            self.now_ = 2e9
            yield self.store_class(ttl=self.TTL, clock=lambda: self.now_)

        def now(self):
            return self.now_

        def advance(self, store, seconds):
            self.now_ += seconds

    class TestForgetful(Base):
        store_class = ForgetfulClock

    class TestTouchRewrites(Base):
        store_class = TouchRewrites
    """
)


def test_a_broken_store_fails_the_contract(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text(BROKEN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "examples"), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", "test_broken.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = {
        line.split("::")[-1].split()[0]
        for line in proc.stdout.splitlines()
        if line.startswith("FAILED")
    }
    assert {
        "test_expiry_follows_the_cookie",
        "test_browser_session_cookie_lives_for_the_store_ttl",
    } <= failed
    assert "test_touch_keeps_the_stored_data" in failed
    assert "test_round_trip_of_the_exact_record" not in failed


def test_importing_without_pytest_is_a_clear_error() -> None:
    code = "import sys; sys.modules['pytest'] = None; import fastsession.testing"
    env = {**os.environ, "PYTHONPATH": str(Path(fastsession.__file__).resolve().parent.parent)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 1
    assert "ImportError: fastsession.testing is a pytest suite and needs pytest" in proc.stderr
    assert "pip install pytest" in proc.stderr
