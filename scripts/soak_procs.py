"""The processes of a soak run, all on 127.0.0.1: a redis-server that keeps every
acknowledged write across a crash, and an HTTP server (uvicorn or gunicorn) whose
workers can be listed, measured, frozen and killed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
SCRIPTS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _send(port: int, command: bytes, timeout: float = 0.5) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(command)
        return s.recv(256)


class RedisProc:
    """redis-server with ``appendonly yes`` and ``appendfsync always``: it answers a
    write only once the write is on disk, so a SIGKILL loses nothing acknowledged.
    Without ``persistent`` a restart starts empty: every session is lost."""

    def __init__(self, workdir: Path, *, persistent: bool = True) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server not found (apt-get install redis-server)")
        self.binary = binary
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.persistent = persistent

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        aof = ["--appendonly", "yes", "--appendfsync", "always"]
        argv = [self.binary, "--port", str(self.port), "--bind", HOST, "--save", "",
                *(aof if self.persistent else ["--appendonly", "no"]), "--dir", str(self.workdir),
                "--daemonize", "no", "--loglevel", "warning",
                "--logfile", str(self.workdir / "redis.log")]  # fmt: skip
        self.process = subprocess.Popen(argv, cwd=self.workdir)
        deadline = time.monotonic() + 30  # a restart replays the whole append-only file
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_tail()}")
            try:
                if _send(self.port, b"PING\r\n").startswith(b"+PONG"):
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING")

    def log_tail(self) -> str:
        log = self.workdir / "redis.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None:
            self.process.send_signal(sig)
            self.process.wait(30)
            self.process = None

    def pause(self, milliseconds: int) -> None:
        """CLIENT PAUSE ... ALL: every client's commands wait until the pause ends."""
        reply = _send(self.port, f"CLIENT PAUSE {milliseconds} ALL\r\n".encode(), timeout=5)
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"CLIENT PAUSE: {reply!r}")


class ServerProc:
    """An HTTP server command in its own process group; ``stop()`` ends it and its workers."""

    def __init__(self, kind: str, app: str, env: dict[str, str], logfile: Path, **size: int):
        self.kind = kind
        self.port = free_port()
        bind = ["--host", HOST, "--port", str(self.port)]
        if kind == "uvicorn":
            argv = ["-m", "uvicorn", app, *bind, "--workers", str(size["workers"]),
                    "--lifespan", "off", "--log-level", "warning", "--no-access-log"]  # fmt: skip
        elif kind == "gunicorn":
            argv = ["-m", "gunicorn", "--worker-class", "gthread", "--bind",
                    f"{HOST}:{self.port}", "--workers", str(size["workers"]),
                    "--threads", str(size["threads"]), "--graceful-timeout", "5",
                    "--log-level", "warning", *_no_control_socket(), app]  # fmt: skip
        else:
            raise ValueError(f"unknown server {kind!r}")
        path = os.pathsep.join([str(SCRIPTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.log = open(logfile, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            env={**env, "PYTHONPATH": path},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.logfile = logfile

    def wait_ready(self, workers: int, timeout: float = 120) -> None:
        """Until every worker is up and the server answers (404 on an unknown path)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.logfile.read_text()[-2000:]}")
            try:
                reply = _send(self.port, b"GET /nowhere HTTP/1.0\r\n\r\n", timeout=5)
                if reply.split(b" ", 2)[1:2] == [b"404"] and len(self.workers()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not start: {self.logfile.read_text()[-2000:]}")

    def workers(self) -> list[int]:
        """The worker processes: the master's children (uvicorn's are spawned)."""
        found = []
        for pid in _children(self.process.pid):
            if self.kind == "uvicorn" and b"spawn_main" not in _cmdline(pid):
                continue  # multiprocessing's resource tracker
            found.append(pid)
        return sorted(found)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                pass
        try:  # nothing of the group may outlive the run and hold the port
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


def _no_control_socket() -> list[str]:
    """gunicorn 24+ opens a control socket at one fixed path per user: not for a test run."""
    from gunicorn.config import KNOWN_SETTINGS  # type: ignore[import-untyped]

    known = {s.name for s in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in known else []


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces: split after it.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mib(pid: int) -> float | None:
    """Resident set size in MiB (psutil when installed, else /proc), None once gone."""
    try:
        import psutil  # type: ignore[import-untyped]

        try:
            return float(psutil.Process(pid).memory_info().rss) / 2**20
        except psutil.Error:
            return None
    except ImportError:
        pass
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
