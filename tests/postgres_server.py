"""A real PostgreSQL for the tests: initdb once per run, then servers on free
ports of 127.0.0.1 that can be stopped, crashed (immediate shutdown) and
restarted on the same port, each with its own data directory.

As root the server runs as the ``postgres`` user (``nobody`` without one):
PostgreSQL refuses to run as root. The binaries are found on PATH or in
Debian's /usr/lib/postgresql/<version>/bin. The fixtures skip when PostgreSQL
is missing, except under ``FASTSESSION_REQUIRE_SERVICES=1`` (CI), where they fail.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

try:
    from redis_server import HOST, free_port, require_service
except ImportError:  # imported as tests.postgres_server, by the benchmarks
    from tests.redis_server import HOST, free_port, require_service

# The server's own time zone is not UTC on purpose: connect-pg-simple's `expire` is
# a timestamp without time zone written in the connection's TimeZone, and every
# expiry test then shows that the store converts on the server, as it does.
TIMEZONE = "Asia/Kolkata"

# A role that may only use the session table, as docs/postgres.md advises: the store
# contract runs as it, and revoking its grants makes every store call fail.
APP_ROLE = "fastsession_app"
APP_GRANTS = f'GRANT SELECT, INSERT, UPDATE, DELETE ON "session" TO {APP_ROLE}'

# connect-pg-simple 10's table.sql, verbatim: the table the stores are tested on.
CONNECT_PG_SIMPLE_TABLE_SQL = """\
CREATE TABLE "session" (
  "sid" varchar NOT NULL COLLATE "default",
  "sess" json NOT NULL,
  "expire" timestamp(6) NOT NULL
)
WITH (OIDS=FALSE);

ALTER TABLE "session" ADD CONSTRAINT "session_pkey" PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE;

CREATE INDEX "IDX_session_expire" ON "session" ("expire");
"""  # noqa: E501


# What describe_table() reads: columns, constraints and indexes of one table.
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, coll.collname
  FROM pg_attribute a LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
 WHERE a.attrelid = to_regclass(%(t)s) AND a.attnum > 0 ORDER BY a.attnum
"""
_CONSTRAINTS = """
SELECT conname, contype, pg_get_constraintdef(oid), condeferrable, condeferred
  FROM pg_constraint WHERE conrelid = to_regclass(%(t)s) ORDER BY conname
"""
_INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(%(t)s) ORDER BY 1
"""


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The directory holding initdb and postgres, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version)
    return debian[-1].parent if debian else None


BINDIR = find_bindir()


def require_postgres() -> Path:
    require_service(
        BINDIR is not None and (BINDIR / "postgres").exists(),
        "PostgreSQL (initdb, postgres)",
        "apt-get install postgresql",
    )
    assert BINDIR is not None
    return BINDIR


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to an unprivileged user (none otherwise)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root with neither a postgres nor a nobody user")


def _owned_tempdir(prefix: str) -> Path:
    """A directory in the system temp dir the server's user owns (pytest's tmp_path
    is private to root, and the server cannot enter it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    user = _run_as()
    if user:
        os.chown(path, user["user"], user["group"])
    return path


_template: Path | None = None
_template_lock = threading.Lock()


def _template_cluster() -> Path:
    """One initdb per test run; every server starts from a copy of it."""
    global _template
    with _template_lock:
        if _template is None:
            bindir = require_postgres()
            root = _owned_tempdir("fastsession-pg-template-")
            data = root / "data"
            subprocess.run(
                [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--no-locale", "--no-sync"],
                check=True, capture_output=True, timeout=120, cwd=root, **_run_as(),
            )  # fmt: skip
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            _template = data
        return _template


class PostgresServer:
    """One PostgreSQL server on 127.0.0.1, restartable on the same port."""

    def __init__(self) -> None:
        self.bindir = require_postgres()
        template = _template_cluster()
        self.root = _owned_tempdir("fastsession-pg-")
        self.datadir = self.root / "data"
        subprocess.run(["cp", "-a", str(template), str(self.datadir)], check=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.root / "server.log"
        self._started = False

    @property
    def conninfo(self) -> str:
        return f"host={HOST} port={self.port} user=postgres dbname=postgres"

    @property
    def app_conninfo(self) -> str:
        """As APP_ROLE, which create_session_table() grants the session table's use."""
        return f"host={HOST} port={self.port} user={APP_ROLE} dbname=postgres"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def start(self, timeout: float = 30.0) -> None:
        for attempt in range(3):
            if self._start_once(timeout):
                self._started = True
                return
            # Exited at once: most likely the port was taken since it was picked.
            # A restart keeps its port: clients must find the server where it was.
            if self._started or attempt == 2:
                break
            self.port = free_port()
        raise RuntimeError(f"PostgreSQL failed to start: {self.log_tail()}")

    def _start_once(self, timeout: float) -> bool:
        argv = [
            str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
            "-c", f"listen_addresses={HOST}",
            "-c", f"unix_socket_directories={self.root}",
            "-c", f"timezone={TIMEZONE}",
            "-c", "fsync=off", "-c", "full_page_writes=off",
            "-c", "shared_buffers=32MB", "-c", "max_connections=100",
            "-c", "log_min_messages=warning", "-c", "logging_collector=off",
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, **_run_as()
            )
        self.process = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.process = None
                return False
            try:
                with psycopg.connect(self.conninfo, connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"PostgreSQL on port {self.port} did not accept connections")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def _signal_and_wait(self, signum: int) -> None:
        if self.process is None:
            return
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Fast shutdown (SIGINT): sessions are ended, then the server exits cleanly."""
        self._signal_and_wait(signal.SIGINT)

    def kill(self) -> None:
        """Immediate shutdown (SIGQUIT), as a crash: no checkpoint, recovery on start."""
        self._signal_and_wait(signal.SIGQUIT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A side connection (autocommit) for setup and inspection."""
        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)

    def create_session_table(self, schema: str | None = None) -> None:
        """connect-pg-simple's table.sql, in ``schema`` (made anew) or in public."""
        with self.admin() as admin:
            if schema is None:
                admin.execute('DROP TABLE IF EXISTS "session"')
            else:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                admin.execute(f'CREATE SCHEMA "{schema}"')
                admin.execute(f'SET search_path TO "{schema}"')
            for statement in CONNECT_PG_SIMPLE_TABLE_SQL.split(";"):
                if statement.strip():
                    admin.execute(statement)
            role = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            if role.fetchone() is None:
                admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
            if schema is not None:
                admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {APP_ROLE}')
            admin.execute(APP_GRANTS)

    def empty_session_table(self) -> None:
        """The table of create_session_table(), emptied (made if it is not there yet)."""
        with self.admin() as admin:
            row = admin.execute("SELECT to_regclass('public.session')").fetchone()
            if row is not None and row[0] is not None:
                admin.execute('TRUNCATE "session"')
                admin.execute(APP_GRANTS)
                return
        self.create_session_table()

    @contextmanager
    def grants_revoked(self) -> Iterator[type[BaseException]]:
        """APP_ROLE may not touch the session table while the block runs."""
        with self.admin() as admin:
            admin.execute(f'REVOKE ALL ON "session" FROM {APP_ROLE}')
        try:
            yield psycopg.errors.InsufficientPrivilege
        finally:
            with self.admin() as admin:
                admin.execute(APP_GRANTS)

    def describe_table(self, table: str, schema: str) -> list[Any]:
        """Columns, constraints and indexes of ``table`` (a quoted, qualified name), with
        ``schema`` taken out of the index definitions, to compare two tables' shapes."""
        with self.admin() as admin:
            found = [admin.execute(q, {"t": table}).fetchall() for q in (_COLUMNS, _CONSTRAINTS)]
            indexes = admin.execute(_INDEXES, {"t": table}).fetchall()
        prefixes = (f'"{schema}".', f"{schema}.")
        unqualified = [(n, d.replace(prefixes[0], "").replace(prefixes[1], "")) for n, d in indexes]
        return [*found, unqualified]

    def shift_expiry(self, seconds: float, table: str = '"session"') -> None:
        """Make ``seconds`` pass for every session's expiry, without sleeping."""
        with self.admin() as admin:
            admin.execute(
                f"UPDATE {table} SET expire = expire - make_interval(secs => %s)",
                (seconds,),
            )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server shared by the tests that do not disturb it."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> PostgresServer:
    """The shared server with an empty connect-pg-simple table in public."""
    postgres_server.empty_session_table()
    return postgres_server


@pytest.fixture
def fault_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own, free to be stopped, crashed or restarted."""
    server = PostgresServer()
    server.start()
    server.create_session_table()
    yield server
    server.remove()


__all__ = [
    "APP_ROLE",
    "CONNECT_PG_SIMPLE_TABLE_SQL",
    "TIMEZONE",
    "PostgresServer",
    "fault_postgres",
    "find_bindir",
    "postgres_db",
    "postgres_server",
    "require_postgres",
]
