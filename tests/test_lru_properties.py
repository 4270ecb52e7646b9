"""The LRU twins against a plain dict model (Hypothesis), and under threads."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import FakeClock
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

RECLAIM = 2
Log = list[tuple[str, str, bytes]]


class Model:
    """The contract in a dict kept in use order (least recent first)."""

    def __init__(self, max_entries: int, clock: FakeClock, log: Log) -> None:
        self.max, self.clock, self.log = max_entries, clock, log
        self.d: dict[str, tuple[bytes, float]] = {}

    def _find(self, key: str) -> tuple[bytes, float] | None:
        entry = self.d.get(key)
        if entry is not None and entry[1] <= self.clock():
            self.log.append(("expire", key, self.d.pop(key)[0]))
            return None
        return entry

    def get(self, key: str) -> bytes | None:
        entry = self._find(key)
        if entry is not None:
            self.d[key] = self.d.pop(key)
        return None if entry is None else entry[0]

    def peek(self, key: str) -> bytes | None:
        entry = self._find(key)
        return None if entry is None else entry[0]

    def set(self, key: str, value: bytes, deadline: float) -> None:
        if deadline != deadline:
            raise ValueError("deadline must be a number, not NaN")
        self.d.pop(key, None)
        self.d[key] = (value, deadline)
        self._make_room(key)

    def touch(self, key: str, deadline: float) -> bool:
        if deadline != deadline:
            raise ValueError("deadline must be a number, not NaN")
        entry = self._find(key)
        if entry is None:
            return False
        del self.d[key]
        self.d[key] = (entry[0], deadline)
        self._make_room(key)
        return True

    def swap(self, key: str, expected: bytes, value: bytes, deadline: float) -> bool:
        if deadline != deadline:
            raise ValueError("deadline must be a number, not NaN")
        entry = self.d.get(key)
        if entry is None or entry[0] != expected:
            return False
        if self._find(key) is None:
            return False
        del self.d[key]
        self.d[key] = (value, deadline)
        self._make_room(key)
        return True

    def _make_room(self, written: str) -> None:
        reclaimed = 0
        for key, (value, deadline) in list(self.d.items()):
            expired = deadline <= self.clock()
            if key == written or not (expired or len(self.d) > self.max):
                break
            if expired and reclaimed >= RECLAIM and len(self.d) <= self.max:
                break
            reclaimed += expired
            del self.d[key]
            self.log.append(("expire" if expired else "evict", key, value))

    def delete(self, key: str) -> bool:
        return self.d.pop(key, None) is not None

    def items(self) -> list[tuple[str, bytes]]:
        for key in [k for k, (_, dl) in self.d.items() if dl <= self.clock()]:
            self.log.append(("expire", key, self.d.pop(key)[0]))
        return [(k, v) for k, (v, _) in self.d.items()]

    def sweep(self, limit: int) -> int:
        doomed = [k for k, (_, dl) in self.d.items() if dl <= self.clock()][: max(limit, 0)]
        for key in doomed:
            self.log.append(("expire", key, self.d.pop(key)[0]))
        return len(doomed)

    def clear(self) -> None:
        self.d.clear()

    def __len__(self) -> int:
        return len(self.d)


def _twin(tag: str) -> Callable[..., Any]:
    if tag == "c":
        from fastsession._lru_c import LRUCache as C

        return C
    from fastsession._lru_py import LRUCache as P

    return P


KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])
VALUES = st.binary(max_size=6)
OFFSETS = st.integers(min_value=-2, max_value=8)  # whole seconds, so "exactly now" is common
# Now and then a deadline that is no time at all, never, or always past.
SPECIAL = st.sampled_from([None] * 6 + [float("nan"), float("inf"), float("-inf")])


def outcome(call: Callable[[], Any]) -> Any:
    """The result, or the exception's type and message."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return ("raised", type(exc), str(exc))


class LRUMachine(RuleBasedStateMachine):
    """Drives the model and the twins named in ``tags`` with the same calls."""

    tags: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.caches: list[Any] = []
        self.logs: list[Log] = []

    @initialize(max_entries=st.integers(min_value=1, max_value=5))
    def start(self, max_entries: int) -> None:
        self.logs = [[] for _ in range(len(self.tags) + 1)]
        self.caches = [Model(max_entries, self.clock, self.logs[0])]
        for tag, log in zip(self.tags, self.logs[1:], strict=True):
            self.caches.append(
                _twin(tag)(
                    max_entries,
                    self.clock,
                    on_expire=lambda k, v, log=log: log.append(("expire", k, v)),
                    on_evict=lambda k, v, log=log: log.append(("evict", k, v)),
                )
            )

    def same(self, call: Callable[[Any], Any]) -> Any:
        results = [outcome(lambda c=c: call(c)) for c in self.caches]
        for name, result in zip(("model", *self.tags), results, strict=True):
            assert result == results[0], f"{name}: {result!r} != model {results[0]!r}"
        return results[0]

    def deadline(self, offset: int, special: float | None) -> float:
        return self.clock.now + offset if special is None else special

    @rule(key=KEYS, value=VALUES, offset=OFFSETS, special=SPECIAL)
    def set(self, key: str, value: bytes, offset: int, special: float | None) -> None:
        self.same(lambda c: c.set(key, value, self.deadline(offset, special)))

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        self.same(lambda c: c.get(key))

    @rule(key=KEYS)
    def peek(self, key: str) -> None:
        self.same(lambda c: c.peek(key))

    @rule(key=KEYS, offset=OFFSETS, special=SPECIAL)
    def touch(self, key: str, offset: int, special: float | None) -> None:
        self.same(lambda c: c.touch(key, self.deadline(offset, special)))

    @rule(key=KEYS, expected=VALUES, value=VALUES, offset=OFFSETS, special=SPECIAL)
    def swap(
        self, key: str, expected: bytes, value: bytes, offset: int, special: float | None
    ) -> None:
        self.same(lambda c: c.swap(key, expected, value, self.deadline(offset, special)))

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        self.same(lambda c: c.delete(key))

    @rule(seconds=st.sampled_from([0.5, 1, 1, 2, 5]))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def items(self) -> None:
        self.same(lambda c: c.items())

    @rule(limit=st.integers(min_value=-1, max_value=4))
    def sweep(self, limit: int) -> None:
        self.same(lambda c: c.sweep(limit))

    @precondition(lambda self: len(self.caches[0]) > 3)
    @rule()
    def clear(self) -> None:
        self.same(lambda c: c.clear())

    @invariant()
    def agree(self) -> None:
        if not self.caches:
            return
        self.same(len)
        assert all(log == self.logs[0] for log in self.logs), self.logs
        # Everything held, expired or not, in order: read at a time before any
        # deadline so that looking changes nothing.
        now, self.clock.now = self.clock.now, -1e18
        try:
            self.same(lambda c: c.items())
        finally:
            self.clock.now = now
        assert len(self.caches[0]) <= self.caches[0].max


_SETTINGS = settings(max_examples=150, stateful_step_count=60, deadline=None)


@_SETTINGS
class PyMachine(LRUMachine):
    tags = ("py",)


@_SETTINGS
class PyCMachine(LRUMachine):
    tags = ("py", "c")


TestPyAgainstModel = pytest.mark.hypothesis(PyMachine.TestCase)
TestPyAndCAgainstModel = pytest.mark.c_extension(pytest.mark.hypothesis(PyCMachine.TestCase))


# -- threads ------------------------------------------------------------------------


@pytest.fixture
def fast_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _python_clock() -> float:
    # A Python-level clock gives other threads a chance to run inside each call.
    return time.time()


@pytest.mark.parametrize("clock", [time.time, _python_clock], ids=["wallclock", "pyclock"])
def test_threads_hammering_shared_keys(
    lru_impl: Any, clock: Callable[[], float], fast_switching: None
) -> None:
    max_entries = 50
    removed: list[tuple[str, str, bytes]] = []
    lock = threading.Lock()

    def record(kind: str) -> Callable[[str, bytes], None]:
        def cb(key: str, value: bytes) -> None:
            with lock:
                removed.append((kind, key, value))
            # Allocation in the callback invites the cyclic GC to run.
            [[key] for _ in range(3)]

        return cb

    cache = lru_impl.LRUCache(
        max_entries, clock, on_expire=record("expire"), on_evict=record("evict")
    )
    keys = [f"k{i}" for i in range(80)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(6000):
                key = rnd.choice(keys)
                op = rnd.random()
                if op < 0.35:
                    cache.set(key, f"{key}:{seed}".encode(), time.time() + rnd.uniform(-0.01, 0.05))
                elif op < 0.6:
                    value = cache.get(key)
                    assert value is None or value.startswith(f"{key}:".encode())
                elif op < 0.75:
                    cache.touch(key, time.time() + rnd.uniform(-0.01, 0.05))
                elif op < 0.85:
                    cache.delete(key)
                elif op < 0.9:
                    value = cache.peek(key)
                    assert value is None or value.startswith(f"{key}:".encode())
                elif op < 0.95:
                    held = cache.items()
                    assert len({k for k, _ in held}) == len(held) <= max_entries
                else:
                    cache.sweep(rnd.randint(1, 10))
                assert len(cache) <= max_entries
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) <= max_entries
    held = cache.items()
    assert len({k for k, _ in held}) == len(held) <= max_entries
    assert all(v.startswith(f"{k}:".encode()) for k, v in held)
    assert all(v.startswith(f"{k}:".encode()) for _, k, v in removed)
    assert {kind for kind, _, _ in removed} <= {"expire", "evict"}
    assert any(kind == "evict" for kind, _, _ in removed)
    # The structure is still whole: it keeps working as a plain LRU.
    cache.clear()
    for k in keys[:max_entries]:
        cache.set(k, b"x", time.time() + 60)
    assert [k for k, _ in cache.items()] == keys[:max_entries]
