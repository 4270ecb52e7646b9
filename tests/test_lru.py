"""The LRU+TTL container contract, run against both twins with a fake clock."""

from __future__ import annotations

import gc
import sys
from typing import Any

import pytest
from conftest import FakeClock, Impl

T0 = FakeClock().now


class Recorder:
    """Collects callbacks as (kind, key, value)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bytes]] = []

    def expire(self, key: str, value: bytes) -> None:
        self.calls.append(("expire", key, value))

    def evict(self, key: str, value: bytes) -> None:
        self.calls.append(("evict", key, value))


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make(impl: Impl, clock: FakeClock, rec: Recorder | None = None, n: int = 10) -> Any:
    if rec is None:
        return impl.LRUCache(n, clock)
    return impl.LRUCache(n, clock, on_expire=rec.expire, on_evict=rec.evict)


def keys(cache: Any) -> list[str]:
    return [k for k, _ in cache.items()]


# -- construction ------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1])
def test_max_entries_must_be_positive(lru_impl: Impl, bad: int) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        lru_impl.LRUCache(bad)


@pytest.mark.parametrize("bad", [1.5, "10", None, True])
def test_max_entries_must_be_int(lru_impl: Impl, bad: object) -> None:
    with pytest.raises(TypeError, match="max_entries"):
        lru_impl.LRUCache(bad)


def test_default_clock_is_wall_time(lru_impl: Impl) -> None:
    import time

    cache = lru_impl.LRUCache(4)
    cache.set("live", b"1", time.time() + 3600)
    cache.set("dead", b"2", time.time() - 1)
    assert cache.get("live") == b"1"
    assert cache.get("dead") is None


def test_default_clock_is_exact_near_deadlines(lru_impl: Impl) -> None:
    # Deadlines a millisecond away are decided by the exact wall clock, not a
    # coarse one that may lag it by a few ms (the compiled twin's shortcut).
    import time

    expired: list[str] = []
    cache = lru_impl.LRUCache(3, on_expire=lambda k, v: expired.append(k))
    for op in ("get", "peek", "touch"):
        cache.set(op, b"v", time.time() - 0.001)
        if op == "touch":
            assert cache.touch(op, time.time() + 60) is False
        else:
            assert getattr(cache, op)(op) is None
    assert expired == ["get", "peek", "touch"]
    cache.set("a", b"v", time.time() - 0.001)
    cache.set("b", b"v", time.time() + 60)
    cache.set("c", b"v", time.time() + 60)
    cache.set("d", b"v", time.time() + 60)  # over the bound: "a" goes as expired
    assert expired[-1] == "a"
    assert cache.get("b") == b"v"


def test_clock_none_follows_the_library_clock(
    lru_impl: Impl, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import fastsession._clock

    cache = lru_impl.LRUCache(4, None)
    cache.set("wall", b"1", time.time() - 0.001)
    assert cache.get("wall") is None  # fastsession._clock.now is time.time
    cache.set("a", b"1", T0 + 10)
    monkeypatch.setattr(fastsession._clock, "now", clock)  # frozen after construction
    assert cache.get("a") == b"1"
    clock.advance(10)
    assert cache.get("a") is None
    assert cache.touch("a", T0 + 100) is False


def test_clock_must_be_callable(lru_impl: Impl) -> None:
    with pytest.raises(TypeError, match="clock"):
        lru_impl.LRUCache(4, 5.0)


def test_keys_and_values_are_typed(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    with pytest.raises(TypeError):
        cache.set(1, b"x", T0 + 1)
    with pytest.raises(TypeError):
        cache.set("k", "text", T0 + 1)
    with pytest.raises(TypeError):
        cache.set("k", bytearray(b"x"), T0 + 1)
    assert len(cache) == 0


def test_str_and_bytes_subclasses_are_stored_as_plain_values(
    lru_impl: Impl, clock: FakeClock
) -> None:
    class S(str):
        pass

    class B(bytes):
        pass

    cache = make(lru_impl, clock)
    cache.set(S("k"), B(b"v"), T0 + 1)
    assert cache.get("k") == b"v"
    assert keys(cache) == ["k"]


# -- basic operations ----------------------------------------------------------


def test_get_set_roundtrip(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    assert cache.get("a") is None
    cache.set("a", b"1", T0 + 10)
    assert cache.get("a") == b"1"
    assert cache.peek("a") == b"1"
    assert len(cache) == 1


def test_set_replaces_value_and_deadline(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 10)
    cache.set("a", b"2", T0 + 100)
    assert len(cache) == 1
    clock.advance(50)
    assert cache.get("a") == b"2"
    assert rec.calls == []


def test_deadline_accepts_int(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    cache.set("a", b"1", int(T0) + 10)
    assert cache.touch("a", int(T0) + 20)
    clock.advance(15)
    assert cache.get("a") == b"1"


def test_a_nan_deadline_is_refused_and_changes_nothing(
    lru_impl: Impl, clock: FakeClock, rec: Recorder
) -> None:
    cache = make(lru_impl, clock, rec, n=2)
    cache.set("a", b"1", T0 + 10)
    cache.set("b", b"2", T0 + 10)
    nan = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        cache.set("a", b"new", nan)
    with pytest.raises(ValueError, match="NaN"):
        cache.set("c", b"3", nan)  # would have evicted "a"
    with pytest.raises(ValueError, match="NaN"):
        cache.touch("a", nan)
    with pytest.raises(ValueError, match="NaN"):
        cache.touch("missing", nan)
    assert cache.items() == [("a", b"1"), ("b", b"2")]  # same values, same order
    assert rec.calls == []
    clock.advance(10)
    assert cache.get("a") is None  # the old deadline still holds


def test_infinite_deadlines_are_ordinary(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("never", b"1", float("inf"))
    cache.set("past", b"2", float("-inf"))
    clock.advance(10**12)
    assert cache.get("never") == b"1"
    assert cache.get("past") is None
    assert cache.touch("never", float("-inf")) is True
    assert cache.peek("never") is None
    assert rec.calls == [("expire", "past", b"2"), ("expire", "never", b"1")]


def test_delete(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 10)
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    assert cache.get("a") is None
    assert len(cache) == 0
    assert rec.calls == []


def test_delete_of_expired_entry_is_silent(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 1)
    clock.advance(5)
    assert cache.delete("a") is True
    assert rec.calls == []


def test_clear(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    for i in range(5):
        cache.set(f"k{i}", b"v", T0 + 10)
    cache.clear()
    assert len(cache) == 0
    assert cache.items() == []
    assert cache.get("k1") is None
    cache.set("k1", b"again", T0 + 10)
    assert cache.items() == [("k1", b"again")]
    assert rec.calls == []


def test_missing_keys_of_other_types(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    cache.set("1", b"v", T0 + 10)
    assert cache.get(1) is None
    assert cache.peek(1) is None
    assert cache.touch(1, T0 + 20) is False
    assert cache.delete(1) is False


def test_unhashable_key_raises(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    with pytest.raises(TypeError):
        cache.get([])


# -- recency --------------------------------------------------------------------


def test_items_in_use_order(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    for k in "abcd":
        cache.set(k, k.encode(), T0 + 10)
    assert keys(cache) == ["a", "b", "c", "d"]
    cache.get("b")
    assert keys(cache) == ["a", "c", "d", "b"]
    cache.touch("a", T0 + 20)
    assert keys(cache) == ["c", "d", "b", "a"]
    cache.set("d", b"new", T0 + 10)
    assert keys(cache) == ["c", "b", "a", "d"]
    cache.peek("c")
    assert keys(cache) == ["c", "b", "a", "d"]
    assert cache.items()[-1] == ("d", b"new")


def test_miss_does_not_change_order(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    for k in "abc":
        cache.set(k, b"v", T0 + 10)
    cache.get("zz")
    cache.touch("zz", T0 + 100)
    assert keys(cache) == ["a", "b", "c"]


# -- bound and eviction ----------------------------------------------------------


def test_eviction_at_bound(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec, n=3)
    for k in "abc":
        cache.set(k, k.encode(), T0 + 10)
    cache.get("a")
    cache.set("d", b"d", T0 + 10)
    assert keys(cache) == ["c", "a", "d"]
    assert rec.calls == [("evict", "b", b"b")]
    cache.set("a", b"A", T0 + 10)  # an update never evicts
    assert len(cache) == 3
    assert rec.calls == [("evict", "b", b"b")]


def test_bound_of_one(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec, n=1)
    cache.set("a", b"1", T0 + 10)
    cache.set("b", b"2", T0 + 10)
    assert cache.items() == [("b", b"2")]
    assert rec.calls == [("evict", "a", b"1")]


def test_expired_victim_reports_expire_not_evict(
    lru_impl: Impl, clock: FakeClock, rec: Recorder
) -> None:
    cache = make(lru_impl, clock, rec, n=2)
    cache.set("old", b"1", T0 + 1)
    cache.set("live", b"2", T0 + 100)
    clock.advance(5)
    cache.set("new", b"3", T0 + 100)
    assert rec.calls == [("expire", "old", b"1")]
    assert keys(cache) == ["live", "new"]


def test_eviction_without_callbacks(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock, n=2)
    for k in "abcde":
        cache.set(k, b"v", T0 + 10)
    assert keys(cache) == ["d", "e"]


def test_only_evict_callback(lru_impl: Impl, clock: FakeClock) -> None:
    evicted: list[str] = []
    cache = lru_impl.LRUCache(1, clock, on_evict=lambda k, v: evicted.append(k))
    cache.set("a", b"1", T0 + 1)
    clock.advance(2)
    cache.set("b", b"2", T0 + 100)  # "a" expired: no evict report
    cache.set("c", b"3", T0 + 100)
    assert evicted == ["b"]


# -- expiry ---------------------------------------------------------------------


def test_expiry_exactly_at_now(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 10)
    clock.now = T0 + 9.999
    assert cache.get("a") == b"1"
    clock.now = T0 + 10
    assert cache.get("a") is None
    assert rec.calls == [("expire", "a", b"1")]
    assert len(cache) == 0


@pytest.mark.parametrize("op", ["get", "peek", "touch"])
def test_reads_drop_expired(lru_impl: Impl, clock: FakeClock, rec: Recorder, op: str) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 1)
    cache.set("b", b"2", T0 + 100)
    clock.advance(1)
    if op == "touch":
        assert cache.touch("a", T0 + 1000) is False
    else:
        assert getattr(cache, op)("a") is None
    assert rec.calls == [("expire", "a", b"1")]
    assert keys(cache) == ["b"]
    assert cache.get("a") is None
    assert rec.calls == [("expire", "a", b"1")]


def test_touch_extends(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 10)
    assert cache.touch("a", T0 + 100) is True
    clock.advance(50)
    assert cache.get("a") == b"1"
    assert cache.touch("a", T0 + 40) is True  # a deadline may also move earlier
    assert cache.get("a") is None
    assert rec.calls == [("expire", "a", b"1")]


def test_touch_missing(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    assert cache.touch("nope", T0 + 10) is False
    assert len(cache) == 0


def test_swap_writes_only_over_the_expected_value(
    lru_impl: Impl, clock: FakeClock, rec: Recorder
) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 10)
    cache.set("b", b"x", T0 + 10)
    assert cache.swap("a", b"2", b"3", T0 + 20) is False  # another value: nothing
    assert cache.peek("a") == b"1"
    assert cache.swap("a", b"1", b"2", T0 + 20) is True  # equal bytes will do
    assert keys(cache) == ["b", "a"]  # counts as use
    clock.advance(15)
    assert cache.peek("a") == b"2"  # the new deadline
    assert cache.swap("missing", b"1", b"2", T0 + 20) is False
    assert "missing" not in keys(cache)
    clock.advance(10)
    assert cache.swap("a", b"2", b"3", T0 + 100) is False  # expired: reclaimed, not revived
    assert cache.peek("a") is None
    assert ("expire", "a", b"2") in rec.calls


def test_swap_checks_its_arguments(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    cache.set("a", b"1", T0 + 10)
    with pytest.raises(ValueError, match="NaN"):
        cache.swap("a", b"1", b"2", float("nan"))
    with pytest.raises(TypeError):
        cache.swap("a", "1", b"2", T0 + 10)
    with pytest.raises(TypeError):
        cache.swap("a", b"1", "2", T0 + 10)
    assert cache.peek("a") == b"1"


def test_set_with_past_deadline_is_held_until_read(
    lru_impl: Impl, clock: FakeClock, rec: Recorder
) -> None:
    # As express-session's MemoryStore: stored, and expired on the next read.
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0)
    assert len(cache) == 1
    assert rec.calls == []
    assert cache.get("a") is None
    assert rec.calls == [("expire", "a", b"1")]


def test_set_replaces_an_expired_entry_silently(
    lru_impl: Impl, clock: FakeClock, rec: Recorder
) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 1)
    clock.advance(2)
    cache.set("a", b"2", T0 + 100)
    assert cache.get("a") == b"2"
    assert rec.calls == []


def test_items_drops_expired(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    cache.set("a", b"1", T0 + 5)
    cache.set("b", b"2", T0 + 50)
    cache.set("c", b"3", T0 + 5)
    cache.set("d", b"4", T0 + 50)
    clock.advance(10)
    assert cache.items() == [("b", b"2"), ("d", b"4")]
    assert rec.calls == [("expire", "a", b"1"), ("expire", "c", b"3")]
    assert len(cache) == 2


def test_len_counts_expired_until_reclaimed(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    cache.set("a", b"1", T0 + 1)
    cache.set("b", b"2", T0 + 100)
    clock.advance(5)
    assert len(cache) == 2
    assert cache.sweep(10) == 1
    assert len(cache) == 1


def test_sweep_limit_and_order(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    cache = make(lru_impl, clock, rec)
    for i in range(6):
        cache.set(f"k{i}", b"%d" % i, T0 + (1 if i % 2 else 100))
    clock.advance(2)
    assert cache.sweep(0) == 0
    assert cache.sweep(-3) == 0
    assert cache.sweep(2) == 2
    assert rec.calls == [("expire", "k1", b"1"), ("expire", "k3", b"3")]
    assert cache.sweep(10) == 1
    assert cache.sweep(10) == 0
    assert keys(cache) == ["k0", "k2", "k4"]


def test_write_reclaims_expired_entries_at_the_lru_end(
    lru_impl: Impl, clock: FakeClock, rec: Recorder
) -> None:
    cache = make(lru_impl, clock, rec, n=100)
    for i in range(5):
        cache.set(f"old{i}", b"o", T0 + 1)
    clock.advance(2)
    cache.set("new", b"n", T0 + 100)
    assert [k for _, k, _ in rec.calls] == ["old0", "old1"]
    assert len(cache) == 4
    assert cache.touch("new", T0 + 200)
    assert [k for _, k, _ in rec.calls] == ["old0", "old1", "old2", "old3"]
    assert len(cache) == 2


def test_write_stops_reclaiming_at_a_live_entry(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock, n=100)
    cache.set("live", b"l", T0 + 100)
    cache.set("dead", b"d", T0 + 1)
    clock.advance(2)
    cache.set("new", b"n", T0 + 100)
    assert len(cache) == 3  # "dead" is behind a live entry: left to a read or sweep()
    assert cache.sweep(10) == 1


def test_write_never_reclaims_the_entry_it_wrote(lru_impl: Impl, clock: FakeClock) -> None:
    cache = make(lru_impl, clock)
    cache.set("a", b"1", T0 - 5)
    cache.set("a", b"2", T0 - 5)
    assert len(cache) == 1


def test_amortised_reclaiming_keeps_held_count_bounded(lru_impl: Impl, clock: FakeClock) -> None:
    # Sessions of one lifetime under churn: what expired is reclaimed by later
    # writes without any read or sweep.
    cache = make(lru_impl, clock, n=1_000_000)
    for step in range(50):
        for i in range(200):
            cache.set(f"s{step}-{i}", b"v", clock.now + 10)
        clock.advance(1)
        assert len(cache) <= 10 * 200 + 200
    assert len(cache) <= 10 * 200 + 200
    assert len(cache.items()) == 9 * 200  # steps 41..49 are still live at +50 s


def test_large_count(lru_impl: Impl, clock: FakeClock, rec: Recorder) -> None:
    n = 20_000
    cache = make(lru_impl, clock, rec, n=n)
    for i in range(2 * n):
        cache.set(f"k{i}", b"%d" % i, T0 + 10)
    assert len(cache) == n
    assert len(rec.calls) == n
    assert rec.calls[0] == ("evict", "k0", b"0")
    assert rec.calls[-1] == ("evict", f"k{n - 1}", b"%d" % (n - 1))
    items = cache.items()
    assert items[0] == (f"k{n}", b"%d" % n)
    assert items[-1] == (f"k{2 * n - 1}", b"%d" % (2 * n - 1))
    clock.advance(20)
    assert cache.items() == []
    assert len(cache) == 0


# -- callbacks --------------------------------------------------------------------


def test_callback_exception_propagates_after_the_change(lru_impl: Impl, clock: FakeClock) -> None:
    def boom(key: str, value: bytes) -> None:
        raise RuntimeError(f"boom {key}")

    cache = lru_impl.LRUCache(2, clock, on_expire=boom, on_evict=boom)
    cache.set("a", b"1", T0 + 1)
    cache.set("b", b"2", T0 + 100)
    clock.advance(2)
    with pytest.raises(RuntimeError, match="boom a"):
        cache.get("a")
    assert keys(cache) == ["b"]
    cache.set("c", b"3", T0 + 100)
    with pytest.raises(RuntimeError, match="boom b"):
        cache.set("d", b"4", T0 + 100)
    assert cache.items() == [("c", b"3"), ("d", b"4")]
    assert len(cache) == 2


def test_all_callbacks_run_and_the_first_error_is_raised(lru_impl: Impl, clock: FakeClock) -> None:
    seen: list[str] = []

    def cb(key: str, value: bytes) -> None:
        seen.append(key)
        raise ValueError(key)

    cache = lru_impl.LRUCache(10, clock, on_expire=cb)
    for k in "abc":
        cache.set(k, b"v", T0 + 1)
    clock.advance(2)
    with pytest.raises(ValueError, match="^a$"):
        cache.items()
    assert seen == ["a", "b", "c"]
    assert len(cache) == 0


def test_callback_sees_the_finished_state_and_may_reenter(lru_impl: Impl, clock: FakeClock) -> None:
    cache: Any = None
    seen: list[tuple[str, int, bytes | None]] = []

    def on_evict(key: str, value: bytes) -> None:
        seen.append((key, len(cache), cache.peek("new")))
        if key == "a":
            cache.set("a-again", value, T0 + 100)  # re-entrant write: evicts "b"

    cache = lru_impl.LRUCache(2, clock, on_evict=on_evict)
    cache.set("a", b"1", T0 + 100)
    cache.set("b", b"2", T0 + 100)
    cache.set("new", b"3", T0 + 100)
    assert seen == [("a", 2, b"3"), ("b", 2, b"3")]
    assert cache.items() == [("new", b"3"), ("a-again", b"1")]


def test_clock_exception_leaves_cache_unchanged(lru_impl: Impl) -> None:
    now = [T0]

    def clock() -> float:
        if now[0] < 0:
            raise OSError("no clock")
        return now[0]

    cache = lru_impl.LRUCache(4, clock)
    cache.set("a", b"1", T0 + 10)
    now[0] = -1.0
    for call in (
        lambda: cache.get("a"),
        lambda: cache.set("b", b"2", T0 + 10),
        lambda: cache.touch("a", T0 + 20),
        cache.items,
    ):
        with pytest.raises(OSError):
            call()
    now[0] = T0
    assert cache.items() == [("a", b"1")]


def test_no_reference_leaks(lru_impl: Impl, clock: FakeClock) -> None:
    value = b"x" * 100
    key = "k" * 50
    cache = make(lru_impl, clock, n=2)
    before = sys.getrefcount(value)
    for i in range(1000):
        cache.set(key if i % 3 == 0 else f"{key}{i}", value, T0 + (i % 2))
        cache.get(key)
        cache.touch(key, T0 + 5)
        cache.items()
        cache.sweep(5)
        clock.advance(0.5)
    cache.clear()
    gc.collect()
    assert sys.getrefcount(value) == before
