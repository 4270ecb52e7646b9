"""Several worker processes sharing one SQLite file, as real servers on 127.0.0.1:
the demo under uvicorn with 4 workers (`python -m fastsession demo --workers 4`), and
under gunicorn with 8 sync workers, hammered by concurrent clients, one worker
killed with SIGKILL mid-run. Every count is bounded, every server stopped."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

import fastsession
from fastsession.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="worker processes and signals")

HOST = "127.0.0.1"
PKG_PARENT = str(Path(fastsession.__file__).resolve().parent.parent)
SECRET = "workers test secret, thirty-two bytes or more"
VIEWS = re.compile(r"Views: (\d+)")
PID = re.compile(r"Served by process (\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def env(db: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FASTSESSION_DEMO")},
        "PYTHONPATH": PKG_PARENT,
        "FASTSESSION_DEMO_SECRET": SECRET,
        "FASTSESSION_DEMO_STORE": f"sqlite:{db}",
    }


class Server:
    """A server command in its own process group; `stop()` ends it and all its workers."""

    def __init__(self, argv: list[str], db: Path, port: int) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.output: list[str] = []
        self.process = subprocess.Popen(
            argv,
            env=env(db),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        stream = self.process.stdout
        threading.Thread(target=lambda: self.output.extend(stream), daemon=True).start()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "".join(self.output)
            try:
                if httpx.get(self.url + "/nowhere", timeout=2).status_code == 404:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"the server did not start in {timeout} s: {''.join(self.output)}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        # Workers left behind by a crash would hold the port: none may remain.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.process.returncode


def gunicorn(db: Path, workers: int) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind"]
    argv += [f"{HOST}:{port}", "--graceful-timeout", "5", "--log-level", "warning"]
    return Server([*argv, "fastsession.demo:app_from_env()"], db, port)


def fresh_client(url: str) -> httpx.Client:
    # A new connection per request: the kernel hands each to whichever worker accepts.
    return httpx.Client(base_url=url, timeout=30, headers={"Connection": "close"})


def sid_of(cookie: str) -> str:
    return unquote(cookie)[2:].rsplit(".", 1)[0]  # "s:<sid>.<signature>"


# -- uvicorn, 4 workers, through the demo command -------------------------------------


def test_a_session_follows_the_user_across_four_uvicorn_workers(tmp_path: Path) -> None:
    db, port = tmp_path / "s.db", free_port()
    argv = [sys.executable, "-u", "-m", "fastsession", "demo", "--port", str(port)]
    server = Server([*argv, "--store", f"sqlite:{db}", "--workers", "4"], db, port)
    try:
        server.wait_ready()
        assert f"on http://{HOST}:{port}/ with 4 workers" in "".join(server.output)
        pids: Counter[str] = Counter()
        with fresh_client(server.url) as client:
            login = client.post("/login", data={"user": "ann"})
            assert login.status_code == 302
            views = 0
            # Until all 4 workers have served this session twice: the kernel hands
            # new connections to workers unevenly, so allow many requests (bounded).
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and views < 5000:
                page = client.get("/").text
                views += 1
                assert "Hello, ann!" in page  # logged in on one worker, known to all
                assert VIEWS.search(page)[1] == str(views)  # type: ignore[index]
                pids[PID.search(page)[1]] += 1  # type: ignore[index]
                if len(pids) == 4 and min(pids.values()) >= 2:
                    break
        assert len(pids) == 4, pids
        assert min(pids.values()) >= 2, pids  # each read the others' update and wrote its own
        [record] = SQLiteStore(db).all().values()
        assert record["views"] == views and record["user"] == "ann"
    finally:
        code = server.stop(signal.SIGINT)  # Ctrl-C
    assert code == 0, "".join(server.output)
    assert "stopped" in "".join(server.output)


# -- gunicorn, 8 workers, hammered ----------------------------------------------------


@dataclass
class Tally:
    """Per session: requests sent, requests answered 200 (acknowledged), last views seen."""

    attempted: Counter[str] = field(default_factory=Counter)
    acknowledged: Counter[str] = field(default_factory=Counter)
    pids: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def hammer(
    url: str, sessions: int, rounds: int, clients: int, deadline: float, tally: Tally
) -> dict[str, str]:
    """Each client owns a share of the sessions and visits them in turn, one request at
    a time per session (a browser's pace); returns the cookie of each session."""
    cookies: dict[str, str] = {}
    work: queue.Queue[int] = queue.Queue()
    for n in range(sessions):
        work.put(n)

    def client_loop() -> None:
        mine: list[str] = []
        with fresh_client(url) as client:
            while True:
                try:
                    work.get_nowait()
                except queue.Empty:
                    break
                response = client.get("/")
                client.cookies.clear()  # the jar holds one session; the cookies dict holds all
                assert response.status_code == 200, response.status_code
                cookie = response.cookies["connect.sid"]
                sid = sid_of(cookie)
                with tally.lock:
                    cookies[sid] = cookie
                    tally.attempted[sid] += 1
                    tally.acknowledged[sid] += 1
                mine.append(sid)
            for _ in range(rounds):
                for sid in mine:
                    if time.monotonic() > deadline:
                        return
                    with tally.lock:
                        tally.attempted[sid] += 1
                    try:
                        cookie = {"Cookie": f"connect.sid={cookies[sid]}"}
                        response = client.get("/", headers=cookie)
                        client.cookies.clear()
                    except httpx.TransportError as exc:  # a killed worker: not acknowledged
                        with tally.lock:
                            tally.errors.append(repr(exc))
                        continue
                    if response.status_code != 200:
                        with tally.lock:
                            tally.errors.append(f"HTTP {response.status_code}")
                        continue
                    with tally.lock:
                        tally.acknowledged[sid] += 1
                        tally.pids.add(PID.search(response.text)[1])  # type: ignore[index]
                    # The count the worker reports is at least what was acknowledged.
                    shown = int(VIEWS.search(response.text)[1])  # type: ignore[index]
                    assert shown >= tally.acknowledged[sid], (sid, shown)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    failures: list[BaseException] = []

    def guarded(thread: threading.Thread) -> None:
        try:
            thread.run()
        except BaseException as exc:
            failures.append(exc)

    runners = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in threads]
    for r in runners:
        r.start()
    for r in runners:
        r.join(timeout=max(1.0, deadline - time.monotonic() + 60))
    assert not any(r.is_alive() for r in runners), "a client did not finish"
    if failures:
        raise failures[0]
    return cookies


def final_views(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return {sid: record["views"] for sid, record in SQLiteStore(db).all().items()}


def test_eight_gunicorn_workers_lose_no_increment(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    server = gunicorn(db, workers=8)
    tally = Tally()
    try:
        server.wait_ready()
        deadline = time.monotonic() + 90
        cookies = hammer(server.url, 1000, rounds=2, clients=8, deadline=deadline, tally=tally)
    finally:
        server.stop()
    assert len(cookies) == 1000
    assert tally.errors == []
    assert len(tally.pids) >= 4, tally.pids  # the load really was spread over workers
    assert sum(tally.acknowledged.values()) >= 2000
    assert final_views(db) == dict(tally.acknowledged)  # not one increment lost


def test_a_worker_killed_mid_run_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    server = gunicorn(db, workers=4)
    tally = Tally()
    killed: list[int] = []

    def kill_a_worker() -> None:
        # Once the load runs, SIGKILL a worker that has been answering.
        while not tally.pids and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        with tally.lock:
            pid = int(sorted(tally.pids)[0])
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    try:
        server.wait_ready()
        deadline = time.monotonic() + 60
        killer = threading.Thread(target=kill_a_worker, daemon=True)
        killer.start()
        hammer(server.url, 200, rounds=8, clients=6, deadline=deadline, tally=tally)
        killer.join(timeout=30)
    finally:
        server.stop()
    assert killed, "no worker was killed"
    served_after = {int(p) for p in tally.pids} - set(killed)
    assert served_after, "no worker served"
    found = final_views(db)
    assert set(found) == set(tally.acknowledged)
    for sid, acked in tally.acknowledged.items():
        # Every acknowledged increment is there; one cut off by the kill may be too.
        assert acked <= found[sid] <= tally.attempted[sid], (sid, acked, found[sid])


# -- the demo command's options -------------------------------------------------------


def demo_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastsession", "demo", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": PKG_PARENT},
        timeout=60,
    )


def test_several_workers_need_a_shared_store() -> None:
    proc = demo_cli("--workers", "2", "--port", "0")
    assert proc.returncode == 2
    assert "--workers needs a store the workers share" in proc.stderr
    assert "sqlite:PATH" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "redis:x"], "expected memory or sqlite:PATH"),
        (["--store", "sqlite:"], "expected memory or sqlite:PATH"),
        (["--workers", "0"], "expected a positive number"),
        (["--workers", "many"], "expected a positive number"),
    ],
)
def test_bad_demo_options_are_usage_errors(args: list[str], message: str) -> None:
    proc = demo_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "usage:" in proc.stderr


def test_a_store_file_that_cannot_be_opened_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"plain text, not SQLite" * 200)
    proc = demo_cli("--store", f"sqlite:{bad}", "--port", "0")
    assert proc.returncode == 2
    assert "fastsession demo: SQLite open failed" in proc.stderr
