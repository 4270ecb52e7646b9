"""MemoryStore after a fork: one warning per process on the "fastsession" logger, and
the `forked` flag; a store made in the child, or the parent's own, never warns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastsession
from fastsession.stores.memory import MemoryStore

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork")

PKG_PARENT = str(Path(fastsession.__file__).resolve().parent.parent)

SCRIPT = textwrap.dedent(
    """
    import json, logging, os, sys, threading
    from fastsession.stores.memory import MemoryStore
    from fastsession.testing import StandInSession

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s|%(message)s")
    before = MemoryStore()
    before.set("a", StandInSession("a", {"v": 1}, now=2e9))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        after = MemoryStore()
        report = {"forked": before.forked, "after_forked": after.forked}
        report["record"] = before.get("a")["v"]  # the copy the child inherited
        before.set("b", StandInSession("b", {"v": 2}, now=2e9))
        threads = [threading.Thread(target=before.length) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        before.all(); before.touch("a", StandInSession("a", {}, now=2e9)); before.destroy("b")
        after.set("c", StandInSession("c", {"v": 3}, now=2e9)); after.get("c")
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child = json.loads(os.read(read, 4096))
    before.get("a"); before.set("d", StandInSession("d", {}, now=2e9))
    print(json.dumps({"status": status, "child": child, "parent_forked": before.forked}))
    """
)


def test_a_store_used_after_a_fork_warns_once_in_the_child() -> None:
    env = {**os.environ, "PYTHONPATH": PKG_PARENT}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == 0
    assert out["child"] == {"forked": True, "after_forked": False, "record": 1}
    assert out["parent_forked"] is False
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("fastsession|")]
    assert len(warnings) == 1, proc.stderr  # once, though 13 calls and 8 threads used it
    assert "MemoryStore made in process" in warnings[0]
    assert "SQLiteStore" in warnings[0]


def test_warn_if_forked_is_silent_in_the_creating_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    assert store.forked is False
    store.warn_if_forked()
    store.length()
    assert caplog.records == []


def test_warn_if_forked_logs_once_when_marked(caplog: pytest.LogCaptureFixture) -> None:
    # What the fork handler does in a child, done here so the logging is captured.
    store = MemoryStore()
    store.forked = True
    with caplog.at_level("WARNING", logger="fastsession"):
        store.warn_if_forked()
        store.get("x")
        store.warn_if_forked()
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert caplog.records[0].name == "fastsession"
