"""scripts/soak.py on a tiny budget, so that it does not rot: real servers and a real
redis-server on 127.0.0.1, 8 clients, 200 sessions, 5 seconds, one fault; on each twin.
And the negative control: Redis without persistence, restarted, must be reported as
lost writes with a failing exit code (the comparison can fail, so its zero means something).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from redis_server import require_redis

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(sys.platform != "linux", reason="the soak script reads /proc"),
]

SOAK = Path(__file__).resolve().parent.parent / "scripts" / "soak.py"
TWINS = [pytest.param("c", id="c", marks=pytest.mark.c_extension), pytest.param("py", id="py")]


def soak(tmp_path: Path, twin: str, *args: str) -> tuple[int, dict[str, Any], str]:
    require_redis()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTSESSION_")}
    if twin == "py":
        env["FASTSESSION_NO_EXTENSIONS"] = "1"
    out = tmp_path / "soak.json"
    argv = [sys.executable, str(SOAK), "--seconds", "5", "--clients", "8", "--sessions", "200"]
    argv += ["--fault-every", "100", "--logout-every", "20", "--json", str(out), *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)
    assert out.exists(), proc.stdout + proc.stderr
    [result] = json.loads(out.read_text())
    return proc.returncode, result, proc.stdout + proc.stderr


def check_common(code: int, result: dict[str, Any], output: str, twin: str) -> None:
    assert result["extensions"] is (twin == "c")
    assert code == (1 if result["failures"] else 0), output
    assert result["requests"] > 200 and result["ok"] > 0, output
    assert result["sessions_checked"] > 0
    # Sessions were visited again: their counters went past 1.
    assert result["acknowledged_increments"] > result["sessions_checked"], output
    assert result["lost_writes"] == 0, output
    assert result["phantom_writes"] == 0, output
    assert result["5xx_outside_fault_windows"] == 0, output
    assert result["logged_out"] > 0, output
    # A logout racing increments of its session never writes it back (replace()).
    assert result["resurrected"] == 0, output
    assert result["latency_ms"]["p50"] > 0
    assert all(start is not None or end is not None for start, end in result["rss_mib"].values())


@pytest.mark.parametrize("twin", TWINS)
def test_redis_restart_under_gunicorn_loses_no_acknowledged_write(
    tmp_path: Path, twin: str
) -> None:
    code, result, output = soak(
        tmp_path, twin, "--config", "gunicorn-redis", "--faults", "redis-restart"
    )
    check_common(code, result, output, twin)
    [fault] = result["faults"]
    assert fault.startswith("redis-restart"), fault
    # The request sent while Redis was down was answered with an error, not a 200.
    assert result["store_down_probes"] == 1 and result["store_down_2xx"] == 0
    assert "probe 500" in fault


@pytest.mark.parametrize("twin", TWINS)
def test_a_killed_uvicorn_worker_loses_no_acknowledged_write(tmp_path: Path, twin: str) -> None:
    code, result, output = soak(
        tmp_path, twin, "--config", "uvicorn-redis", "--faults", "worker-kill"
    )
    check_common(code, result, output, twin)
    [fault] = result["faults"]
    assert fault.startswith("worker-kill"), fault
    # Four workers at the start, one killed and replaced: five pids measured.
    assert len(result["rss_mib"]) == 5, result["rss_mib"]
    assert sum(end is None for _, end in result["rss_mib"].values()) == 1


def test_a_restart_without_persistence_is_reported_as_lost_writes(tmp_path: Path) -> None:
    # The checker itself, not a twin: the pure twin alone is enough.
    code, result, output = soak(
        tmp_path, "py", "--config", "gunicorn-redis", "--faults", "redis-restart",
        "--no-persistence", "--logout-every", "0",
    )  # fmt: skip
    assert code == 1, output
    assert "lost_writes" in result["failures"]
    assert result["lost_writes"] > 0 and result["sessions_with_lost_writes"] > 0
    # The clients saw it too: their cookies were answered with new sessions.
    assert result["renewed_sessions"] > 0
