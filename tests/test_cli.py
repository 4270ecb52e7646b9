"""`python -m fastsession`: info in both modes, the demo served over HTTP, bench's errors."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import fastsession
from fastsession.__main__ import kernels

PKG_PARENT = str(Path(fastsession.__file__).resolve().parent.parent)


def _env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FASTSESSION_") and k != "CIBUILDWHEEL"
    }
    env["PYTHONPATH"] = PKG_PARENT
    env.update(overrides)
    return env


def fastsession_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastsession", *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        cwd=PKG_PARENT,
        timeout=120,
    )


def test_version() -> None:
    proc = fastsession_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"fastsession {fastsession.__version__}"


def test_no_command_is_a_usage_error() -> None:
    proc = fastsession_cli()
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


@pytest.mark.c_extension
def test_info_compiled() -> None:
    proc = fastsession_cli("info")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith(f"fastsession {fastsession.__version__}\n")
    assert "implementation: compiled (EXTENSIONS=True)" in out
    assert "reason: compiled extensions loaded" in out
    assert {"signing", "cookies", "lru"} <= set(kernels())
    for kernel in kernels():
        line = next(x for x in out.splitlines() if f"fastsession._{kernel}_c:" in x)
        assert line.rstrip().endswith((".so", ".pyd")), line
    assert f"python: {'.'.join(map(str, sys.version_info[:3]))}" in out
    assert "compiled modules on disk" not in out
    from fastsession import _signing_c

    in_use = "sha-256: SHA-NI" if _signing_c._sha_ni_supported() else "sha-256: portable C"
    assert in_use in out


@pytest.mark.c_extension
def test_info_names_the_forced_portable_sha256() -> None:
    proc = fastsession_cli("info", FASTSESSION_SHA256_PORTABLE="1")
    assert proc.returncode == 0, proc.stderr
    assert "sha-256: portable C" in proc.stdout


def test_info_pure() -> None:
    proc = fastsession_cli("info", FASTSESSION_NO_EXTENSIONS="1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "implementation: pure Python (EXTENSIONS=False)" in out
    assert "reason: disabled by FASTSESSION_NO_EXTENSIONS" in out
    for kernel in kernels():
        line = next(x for x in out.splitlines() if f"fastsession._{kernel}_py:" in x)
        assert line.rstrip().endswith(f"_{kernel}_py.py"), line
    # Tells whether the compiled modules are absent or only switched off.
    assert "compiled modules on disk:" in out
    assert "sha-256: hashlib" in out


# -- bench ------------------------------------------------------------------------------


def test_bench_without_benchmarks_is_a_clear_error(tmp_path: Path) -> None:
    proc = fastsession_cli("bench", "--path", str(tmp_path))
    assert proc.returncode == 2
    assert "no benchmarks/report.py" in proc.stderr
    assert "source checkout" in proc.stderr
    assert proc.stdout == ""


RECORDER = """
import json, os, sys
with open(os.environ["RECORD_TO"], "w") as f:
    json.dump({"argv": sys.argv[1:], "executable": sys.executable, "cwd": os.getcwd()}, f)
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


def test_bench_runs_report_with_the_same_interpreter(tmp_path: Path) -> None:
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "report.py").write_text(RECORDER)
    record = tmp_path / "record.json"
    out = tmp_path / "out"
    proc = fastsession_cli(
        "bench",
        "--path",
        str(bench),
        "--quick",
        "--out",
        str(out),
        "--",
        "--no-http",
        "-k",
        "lru",
        RECORD_TO=str(record),
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["--quick", "--out", str(out), "--no-http", "-k", "lru"]
    assert os.path.samefile(seen["executable"], sys.executable)
    assert os.path.samefile(seen["cwd"], tmp_path)  # the checkout root, beside benchmarks/


def test_bench_passes_on_the_report_exit_code(tmp_path: Path) -> None:
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "report.py").write_text(RECORDER)
    proc = fastsession_cli(
        "bench", "--path", str(bench), RECORD_TO=str(tmp_path / "r.json"), EXIT_WITH="3"
    )
    assert proc.returncode == 3
    assert json.loads((tmp_path / "r.json").read_text())["argv"] == []


# -- demo -------------------------------------------------------------------------------


@pytest.fixture
def demo_url() -> Iterator[str]:
    """`python -m fastsession demo --port 0` in a subprocess; yields the URL it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "fastsession", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=PKG_PARENT,
    )
    stdout, stderr = proc.stdout, proc.stderr
    assert stdout is not None and stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []  # the request log; drained so a full pipe never blocks the server

    def read_stdout() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read_stdout, daemon=True).start()
    threading.Thread(target=lambda: log.extend(stderr), daemon=True).start()
    try:
        first = lines.get(timeout=60)
    except queue.Empty:
        proc.kill()
        pytest.fail("the demo printed nothing")
    assert first.startswith("fastsession demo on http://127.0.0.1:"), first
    url = first.split()[3]
    assert "secret: random" in lines.get(timeout=10)
    try:
        yield url
    finally:
        if os.name == "nt":
            proc.terminate()
            proc.wait(timeout=30)
        else:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert proc.wait(timeout=30) == 0, "".join(log)
            assert lines.get(timeout=10).strip() == "stopped"


def test_demo_counts_views_logs_in_and_out(demo_url: str) -> None:
    with httpx.Client(base_url=demo_url, timeout=30) as client:
        first = client.get("/")
        assert first.status_code == 200
        assert "Views: 1" in first.text
        assert "The cookie expires in 3600 s" in first.text or "expires in 3599 s" in first.text
        assert 'action="/login"' in first.text
        sid = client.cookies["connect.sid"]
        assert sid.startswith("s%3A")
        assert "Views: 2" in client.get("/").text
        assert client.cookies["connect.sid"] == sid

        # A username that would be markup if it were not escaped.
        login = client.post("/login", data={"user": "<b>ann</b> & co"})
        assert login.status_code == 302
        assert login.headers["location"] == "/"
        logged_in_sid = client.cookies["connect.sid"]
        assert logged_in_sid != sid  # regenerated against session fixation
        page = client.get("/").text
        assert "Hello, &lt;b&gt;ann&lt;/b&gt; &amp; co!" in page
        assert "<b>ann" not in page
        assert "Views: 1" in page  # regenerate() starts from empty data
        assert 'action="/login"' not in page

        logout = client.get("/logout")
        assert logout.status_code == 302
        assert client.cookies["connect.sid"] != logged_in_sid
        page = client.get("/").text
        assert "ann" not in page
        assert 'action="/login"' in page

        # A second browser has its own session.
        with httpx.Client(base_url=demo_url, timeout=30) as other:
            assert "Views: 1" in other.get("/").text


def test_demo_rejects_a_bad_login(demo_url: str) -> None:
    with httpx.Client(base_url=demo_url, timeout=30) as client:
        assert client.post("/login", data={"user": "  "}).status_code == 400
        assert client.post("/login", data={"user": "x" * 65}).status_code == 400
        assert client.get("/nowhere").status_code == 404
        assert client.put("/").status_code == 405
