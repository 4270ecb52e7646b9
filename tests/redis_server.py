"""A real redis-server for the tests: start, stop, kill, restart on the same
port, freeze, DEBUG SLEEP, CLIENT PAUSE; a MONITOR log; a small cluster.

The fixtures skip when redis-server is missing, except under
``FASTSESSION_REQUIRE_SERVICES=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
HOST = "127.0.0.1"


def require_service(available: bool, what: str, how: str) -> None:
    """Skip (or, when FASTSESSION_REQUIRE_SERVICES=1, fail) without ``what``."""
    if available:
        return
    message = f"{what} is not available; to run these tests: {how}"
    if os.environ.get("FASTSESSION_REQUIRE_SERVICES", "") in ("1", "true"):
        pytest.fail(message + " (required: FASTSESSION_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def require_redis() -> str:
    require_service(REDIS_SERVER is not None, "redis-server", "apt-get install redis-server")
    assert REDIS_SERVER is not None
    return REDIS_SERVER


def free_port(highest: int = 65535) -> int:
    """A port nobody listens on now (a cluster node needs port + 10000 free too)."""
    if highest == 65535:
        with socket.socket() as s:
            s.bind((HOST, 0))
            return int(s.getsockname()[1])
    while True:
        port = random.randint(20000, highest)
        if _bindable(port) and _bindable(port + 10000):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


def _pings(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process on 127.0.0.1, restartable on the same port."""

    def __init__(
        self, workdir: Path, *, extra_args: Sequence[str] = (), highest_port: int = 65535
    ) -> None:
        self.binary = require_redis()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.extra_args = list(extra_args)
        self.highest_port = highest_port
        self.port = free_port(highest_port)
        self.process: subprocess.Popen[bytes] | None = None
        self._frozen = False
        self._started = False

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _argv(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", "",
            # DEBUG SLEEP simulates a stalled server (disabled by default since Redis 7).
            "--enable-debug-command", "local",
            *self.extra_args,
        ]  # fmt: skip

    def start(self, timeout: float = 10.0) -> None:
        for attempt in range(3):
            log = open(self.workdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115
            self.process = subprocess.Popen(
                self._argv(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if _pings(self.port):
                    self._started = True
                    return
                time.sleep(0.02)
            else:
                self.kill()
                raise RuntimeError(f"redis-server on port {self.port} did not answer PING")
            # Exited at once: most likely the port was taken since we picked it.
            # A restart keeps its port: clients must find the server where it was.
            if attempt < 2 and not self._started:
                self.port = free_port(self.highest_port)
                continue
        raise RuntimeError(f"redis-server failed to start: {self.log_tail()}")

    def log_tail(self) -> str:
        p = self.workdir / f"redis-{self.port}.log"
        return p.read_text(errors="replace")[-2000:] if p.exists() else ""

    def _wait_exit(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def stop(self) -> None:
        """Orderly shutdown (SIGTERM: no save, since persistence is off)."""
        if self.process is not None:
            self.thaw()
            self.process.terminate()
            self._wait_exit()

    def kill(self) -> None:
        """Crash: SIGKILL, open connections are cut without a reply."""
        if self.process is not None:
            self.process.kill()
            self._frozen = False
            self._wait_exit()

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel but never answered."""
        if self.process is not None and not self._frozen:
            self.process.send_signal(signal.SIGSTOP)
            self._frozen = True

    def thaw(self) -> None:
        if self.process is not None and self._frozen:
            self.process.send_signal(signal.SIGCONT)
            self._frozen = False

    def admin(self) -> redis.Redis:
        """A side client without retries, for setup and inspection."""
        return redis.Redis(host=HOST, port=self.port, socket_timeout=5, retry=Retry(NoBackoff(), 0))

    def client(self, **options: Any) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, **options)

    def async_client(self, **options: Any) -> redis.asyncio.Redis:
        return redis.asyncio.Redis(host=HOST, port=self.port, **options)

    def debug_sleep(self, seconds: float) -> threading.Thread:
        """Block the whole server for ``seconds`` (DEBUG SLEEP, sent from a thread)."""

        def run() -> None:
            with self.admin() as side:
                side.execute_command("DEBUG", "SLEEP", str(seconds))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        # DEBUG SLEEP is only in effect once the server has read it.
        deadline = time.monotonic() + 5
        while _pings(self.port, timeout=0.05) and time.monotonic() < deadline:
            time.sleep(0.01)
        return thread

    def client_pause(self, milliseconds: int) -> None:
        """CLIENT PAUSE ... ALL: every client command waits until the pause ends."""
        with self.admin() as side:
            side.execute_command("CLIENT", "PAUSE", str(milliseconds), "ALL")

    def reload_slowly(self, keys: int = 1000, per_key_us: int = 1000) -> threading.Thread:
        """DEBUG RELOAD of a padded dataset, slowed so the server answers -LOADING
        for about ``keys * per_key_us`` microseconds; returns once loading has begun."""
        with self.admin() as admin:
            admin.execute_command("DEBUG", "POPULATE", str(keys), "fastsession-pad")
            # Hidden test settings of redis-server: delay per key, answer often while loading.
            admin.config_set("key-load-delay", per_key_us)
            admin.config_set("loading-process-events-interval-bytes", 1024)

        def run() -> None:
            with self.admin() as side:
                side.execute_command("DEBUG", "RELOAD")

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        with self.admin() as admin:
            while admin.info("persistence")["loading"] != 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server never started loading")
                time.sleep(0.01)
        return thread

    def flush(self) -> None:
        with self.admin() as side:
            side.flushall()


_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unrepr(token: bytes) -> bytes:
    """Undo Redis's ``sdscatrepr`` quoting of one MONITOR argument."""
    out = bytearray()
    i = 0
    while i < len(token):
        c = token[i : i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = token[i + 1 : i + 2]
        if nxt == b"x":
            out.append(int(token[i + 2 : i + 4], 16))
            i += 4
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


class CommandLog:
    """The commands the server receives, read from MONITOR, exact to the byte."""

    IGNORED = frozenset({"CLIENT", "HELLO", "PING", "SELECT", "INFO", "AUTH", "COMMAND"})

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        # A raw socket: MONITOR replies are simple-string lines, escaped by the server.
        self._sock = socket.create_connection((HOST, server.port), timeout=5)
        self._lines = self._sock.makefile("rb")
        self._sock.sendall(b"MONITOR\r\n")
        assert self._lines.readline() == b"+OK\r\n"

    def take(self) -> list[list[str]]:
        """Every command since the last call, as ``[NAME, arg, ...]`` strings."""
        marker = f"end-{uuid.uuid4().hex}"
        with self.server.admin() as side:
            side.echo(marker)
        commands: list[list[str]] = []
        while True:
            line = self._lines.readline()
            assert line.startswith(b"+"), line
            args = [_unrepr(t).decode("utf-8", "surrogateescape") for t in _QUOTED.findall(line)]
            if args[:2] == ["ECHO", marker] or args[:2] == ["echo", marker]:
                return commands
            args[0] = args[0].upper()
            if args[0] not in self.IGNORED:
                commands.append(args)

    def close(self) -> None:
        self._lines.close()
        self._sock.close()


class RedisClusterServers:
    """Three primaries with cluster mode on, no replicas: enough for slot routing."""

    def __init__(self, workdir: Path) -> None:
        require_service(REDIS_CLI is not None, "redis-cli", "apt-get install redis-tools")
        self.nodes = [
            RedisServer(
                workdir / f"node{i}",
                extra_args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "2000"],
                highest_port=55535,
            )
            for i in range(3)
        ]  # fmt: skip

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        assert REDIS_CLI is not None
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *(f"{HOST}:{n.port}" for n in self.nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(self._state_ok(n) for n in self.nodes):
                return
            time.sleep(0.05)
        raise RuntimeError("the cluster did not reach cluster_state:ok")

    @staticmethod
    def _state_ok(node: RedisServer) -> bool:
        with node.admin() as side:
            info = side.execute_command("CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server shared by the tests that do not disturb it."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_db(redis_server: RedisServer) -> RedisServer:
    """The shared server, emptied for this test."""
    redis_server.flush()
    return redis_server


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """Three primaries in cluster mode, shared by a module's tests."""
    servers = RedisClusterServers(tmp_path_factory.mktemp("cluster"))
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
def fault_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, free to be stopped, killed or frozen."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.thaw()
    server.kill()


__all__ = [
    "CommandLog",
    "RedisClusterServers",
    "RedisServer",
    "fault_redis",
    "free_port",
    "redis_cluster",
    "redis_db",
    "redis_server",
    "require_redis",
    "require_service",
]
