"""Pure-Python request kernel's log lines: the spec of src_c/_logs.pxi.

Everything goes to the ``fastsession`` logger: a store fault at ERROR (and
raised, as a `StoreError` naming the operation), a session found gone at
WARNING, and express-session's debug lines at DEBUG.
"""

from __future__ import annotations

import logging
from typing import Any

from .errors import SessionError, store_error

__all__ = ["debug", "gone", "load_failed", "logger", "store_failed"]

logger = logging.getLogger("fastsession")


def gone(sid: str) -> None:
    """A session the store no longer holds (destroyed or expired meanwhile, as
    by a logout in another tab): nothing written, no Set-Cookie."""
    logger.warning(
        "session %s is no longer in the store (destroyed or expired meanwhile): "
        "its changes are dropped and no cookie is set",
        sid,
    )


def load_failed(exc: Exception) -> SessionError:
    logger.error("cannot load session: store get() failed: %r", exc)
    return store_error("get", exc)


def store_failed(op: str, exc: Exception) -> SessionError:
    logger.error("cannot store session: store %s() failed: %r", op, exc)
    return store_error(op, exc)


def debug(msg: str, arg: Any) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(msg, arg)
