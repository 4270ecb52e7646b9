"""What PostgresStore and AsyncPostgresStore share: connect-pg-simple 10's table,
its SQL, its expiry rule, its options, and the prune schedule.

connect-pg-simple keeps one row per session: ``sid`` (the id), ``sess`` (the
record as ``json``) and ``expire`` (a ``timestamp`` without time zone, written
and compared through ``to_timestamp(epoch seconds)``, so in the connection's
``TimeZone``, exactly as connect-pg-simple does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .. import _clock
from .._types import Record, StorableSession
from ..errors import CorruptSessionError, StoreError
from ._users import UserKey

_json_loads: Callable[[bytes | str], Any]
try:
    from orjson import loads as _orjson_loads

    _json_loads = _orjson_loads
except ImportError:  # pragma: no cover - PyPy: orjson does not support it
    _json_loads = json.loads

logger = logging.getLogger("fastsession")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
ONE_DAY = 86_400
DEFAULT_PRUNE_INTERVAL = 15 * 60  # connect-pg-simple's DEFAULT_PRUNE_INTERVAL_IN_SECONDS

Seconds = int | float | timedelta
PruneInterval = Seconds | Literal[False] | None


def quote_ident(name: str) -> str:
    """connect-pg-simple's ``escapePgIdentifier``, with the quotes around it."""
    return '"' + name.replace('"', '""') + '"'


def _seconds(option: str, value: Seconds) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{option}: expected seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{option}: expected a positive number of seconds, got {value!r}")
    return float(value)


def _name(option: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{option}: expected str, got {type(value).__name__}")
    if not value or "\x00" in value:
        raise ValueError(f"{option}: expected a non-empty name without NUL, got {value!r}")
    return value


class PostgresOptions:
    """connect-pg-simple's options with Python names, and the SQL they give."""

    def __init__(
        self,
        *,
        schema_name: str | None,
        table_name: str | None,
        ttl: Seconds | None,
        disable_touch: bool,
        prune_session_interval: PruneInterval,
        create_table_if_missing: bool,
    ) -> None:
        self.schema_name = None if schema_name is None else _name("schema_name", schema_name)
        self.table_name = "session" if table_name is None else _name("table_name", table_name)
        # `this.ttl || ONE_DAY`: 0 and None mean one day, as in connect-pg-simple.
        self.ttl = (0.0 if ttl is None else _seconds("ttl", ttl)) or float(ONE_DAY)
        self.disable_touch = bool(disable_touch)
        self.create_table_if_missing = bool(create_table_if_missing)
        self.prune_interval: float | None
        if prune_session_interval is False:
            self.prune_interval = None
        elif prune_session_interval is True:
            raise TypeError("prune_session_interval: expected seconds or False, got True")
        else:
            interval = prune_session_interval
            seconds = 0.0 if interval is None else _seconds("prune_session_interval", interval)
            self.prune_interval = seconds or float(DEFAULT_PRUNE_INTERVAL)

        table = quote_ident(self.table_name)
        if self.schema_name is not None:
            table = quote_ident(self.schema_name) + "." + table
        self.quoted_table = table
        # Identifiers may hold '%', which psycopg reads as a placeholder in queries with
        # parameters; DDL runs without parameters and takes the name as it is.
        t = table.replace("%", "%%")
        self.sql_get = f"SELECT sess::text FROM {t} WHERE sid = %s AND expire >= to_timestamp(%s)"
        # connect-pg-simple: INSERT ... SELECT $1, to_timestamp($2), $3 ON CONFLICT (sid)
        # DO UPDATE SET sess=$1, expire=to_timestamp($2): the same upsert.
        self.sql_set = (
            f"INSERT INTO {t} (sess, expire, sid) VALUES (%s::json, to_timestamp(%s), %s) "
            "ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire"
        )
        # connect-pg-simple's touch updates only `expire`; the stored cookie keeps its old
        # `expires`. Unlike it, a row that has already expired is not brought back.
        self.sql_touch = (
            f"UPDATE {t} SET expire = to_timestamp(%s) "
            "WHERE sid = %s AND expire >= to_timestamp(%s)"
        )
        # replace: the upsert's update, only while the row is stored and not expired.
        self.sql_replace = (
            f"UPDATE {t} SET sess = %s::json, expire = to_timestamp(%s) "
            "WHERE sid = %s AND expire >= to_timestamp(%s)"
        )
        self.sql_destroy = f"DELETE FROM {t} WHERE sid = %s"
        self.sql_all = f"SELECT sid, sess::text FROM {t} WHERE expire >= to_timestamp(%s)"
        self.sql_length = f"SELECT count(*) FROM {t} WHERE expire >= to_timestamp(%s)"
        self.sql_clear = f"DELETE FROM {t}"
        self.sql_prune = f"DELETE FROM {t} WHERE expire < to_timestamp(%s)"
        # table.sql of connect-pg-simple 10. It names the key "session_pkey" and the index
        # "IDX_session_expire" whatever the table; other tables get their own names here,
        # so that two session tables can live in one schema.
        base = self.table_name
        self.ddl = [
            f'CREATE TABLE {table} ("sid" varchar NOT NULL COLLATE "default", '
            '"sess" json NOT NULL, "expire" timestamp(6) NOT NULL) WITH (OIDS=FALSE)',
            f"ALTER TABLE {table} ADD CONSTRAINT {quote_ident(base + '_pkey')} "
            'PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE',
            f'CREATE INDEX {quote_ident("IDX_" + base + "_expire")} ON {table} ("expire")',
        ]
        digest = hashlib.sha256(b"fastsession table " + table.encode()).digest()
        # One advisory lock per table: concurrent creators wait for each other.
        self.create_lock_key = int.from_bytes(digest[:8], "big", signed=True)


def now_seconds() -> int:
    """connect-pg-simple's ``currentTimestamp()``: epoch seconds, rounded up."""
    return math.ceil(_clock.now())


def expire_for(session: StorableSession, ttl: float) -> int:
    """connect-pg-simple's ``getExpireTime``: the cookie's expiry in epoch seconds
    rounded up, or now + ttl (rounded up) for a browser-session cookie."""
    expires = session.cookie.expires
    if expires is not None:
        # Whole milliseconds, as a JavaScript Date holds them, then rounded up.
        expires_ms = (expires - _EPOCH) // _MS
        return -(-expires_ms // 1000)
    return math.ceil(_clock.now() + ttl)


def json_text(session: StorableSession) -> str:
    """The record for the ``json`` column: express-session's JSON text, as pg sends it."""
    return session.to_json().decode("utf-8")


def load_record(text: str) -> Record:
    try:
        record = _json_loads(text)
    except ValueError as exc:  # pragma: no cover - the json column holds valid JSON
        raise CorruptSessionError(f"stored session is not valid: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("cookie"), dict):
        raise CorruptSessionError("stored session has no cookie object")
    return record


def store_error(operation: str, exc: BaseException) -> StoreError:
    return StoreError(f"PostgreSQL {operation} failed: {type(exc).__name__}: {exc}")


class PruneSchedule:
    """When the next prune is due, claimed by one caller at a time.

    There is no timer: the first store call after the interval has elapsed runs
    the prune, after its own statement. Nothing then outlives a call (no thread
    to stop at shutdown, none lost in a forked worker), and the prune's cost
    lands on one request per interval and process. The delay is randomized
    between 50 % and 150 % of the interval, as connect-pg-simple does, so that
    many processes started together do not prune together.
    """

    def __init__(self, interval: float | None) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._due = math.inf if interval is None else time.monotonic() + self._delay()

    def _delay(self) -> float:
        assert self.interval is not None
        return self.interval / 2 + self.interval * random.random()

    def claim(self) -> bool:
        """True for the one caller that should prune now."""
        now = time.monotonic()
        if now < self._due:
            return False
        with self._lock:
            if now < self._due:
                return False
            self._due = now + self._delay()
            return True


def log_no_user_index(ddl: str, exc: BaseException) -> None:
    # Only the table's owner may index it: the index is then the owner's to make.
    # The queries stay right without it, only slower (a scan of the table).
    logger.warning(
        "no index for user_key (%s): sessions_of and destroy_user scan the table. "
        "Have the table's owner run: %s",
        exc,
        ddl,
    )


def log_prune_failure(exc: BaseException) -> None:
    # connect-pg-simple logs "Failed to prune sessions" and carries on; so does this.
    logger.warning("failed to prune expired sessions: %r", exc)


# The pool a store opens for a conninfo string: autocommit (one round trip per
# statement) and a bounded wait for a connection when the server is away.
OWNED_POOL: dict[str, Any] = {"min_size": 1, "max_size": 10, "timeout": 5.0}


def checked_conninfo(conninfo: str) -> str:
    try:
        conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"conn: not a valid PostgreSQL conninfo: {exc}") from exc
    return conninfo


class PostgresStoreBase(UserKey):
    """The options and prune schedule both stores hold, and the user index's SQL."""

    def __init__(
        self,
        *,
        schema_name: str | None,
        table_name: str | None,
        ttl: Seconds | None,
        disable_touch: bool,
        prune_session_interval: PruneInterval,
        create_table_if_missing: bool,
        user_key: str | None = None,
    ) -> None:
        self.options = PostgresOptions(
            schema_name=schema_name,
            table_name=table_name,
            ttl=ttl,
            disable_touch=disable_touch,
            prune_session_interval=prune_session_interval,
            create_table_if_missing=create_table_if_missing,
        )
        self._prune = PruneSchedule(self.options.prune_interval)
        self._table_ready = not self.options.create_table_if_missing
        self._owns_pool = False
        self.user_index_ddl: str | None = None
        self.user_index_name = ""
        self.sql_of_user = self.sql_destroy_user = ""
        if user_key is not None:
            self.index_users(user_key)

    def index_users(self, key: str) -> None:
        """Index the sessions by the data key ``key`` (the middleware's ``user_key``).

        An index on ``(sess ->> key)`` beside connect-pg-simple's own (the table
        is unchanged, so Express reads and writes it as before), created if
        missing by the store's first call; PostgreSQL keeps it on every write.
        """
        if not self._claim_user_key(key):
            return
        table = self.options.quoted_table
        t = table.replace("%", "%%")
        member = f"(sess ->> '{key}')"
        # A string, or an integer's digits (not a float, bool or object): str(user).
        of_user = (
            f"{member} = %s AND (json_typeof(sess -> '{key}') = 'string' OR "
            f"(json_typeof(sess -> '{key}') = 'number' AND {member} ~ '^-?[0-9]+$')) "
            "AND expire >= to_timestamp(%s)"
        )
        self.sql_of_user = f"SELECT sid, sess::text FROM {t} WHERE {of_user}"
        self.sql_destroy_user = f"DELETE FROM {t} WHERE sid IS DISTINCT FROM %s AND {of_user}"
        name = quote_ident(f"IDX_{self.options.table_name}_user_{key}")
        schema = self.options.schema_name
        self.user_index_name = name if schema is None else quote_ident(schema) + "." + name
        self.user_index_ddl = f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({member})"
        self._table_ready = False  # the first call creates the index

    @property
    def quoted_table(self) -> str:
        """The table the sessions are in, quoted as in SQL (``"schema"."session"``)."""
        return self.options.quoted_table

    def __repr__(self) -> str:
        return f"{type(self).__name__}(table={self.options.quoted_table})"


__all__ = [
    "OWNED_POOL",
    "PostgresOptions",
    "PostgresStoreBase",
    "PruneInterval",
    "PruneSchedule",
    "Seconds",
    "checked_conninfo",
    "expire_for",
    "json_text",
    "load_record",
    "log_no_user_index",
    "log_prune_failure",
    "now_seconds",
    "quote_ident",
    "store_error",
]
