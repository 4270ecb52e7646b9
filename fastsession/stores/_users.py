"""The per-user index's shared rules: which data key, what a user is, how it is keyed.

A store that indexes users (``index_users(key)``) maps the value of the data
key ``key`` to the ids of the sessions holding it. A user is a str or an int
(not a bool) and is keyed by ``str()``: the sessions of ``42`` and of ``"42"``
are the same user's. Any other value (missing, None, a bool, a float, a list)
means the session has no user and is in no user's index.
"""

from __future__ import annotations

import re
from typing import Any

from .._types import Record, StorableSession

# A JavaScript-style identifier: safe inside a SQL JSON path and a Redis key.
_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,62}")


def check_user_key(key: Any) -> str:
    """``key`` if it can name the user in the session data; else a clear error."""
    if not isinstance(key, str):
        raise TypeError(f"user_key: expected a str (a data key), got {type(key).__name__}")
    if not _KEY.fullmatch(key) or key == "cookie":
        raise ValueError(
            "user_key: expected a data key made of letters, digits, _ and $ "
            f"(not starting with a digit, not 'cookie'), got {key!r}"
        )
    return key


def user_value(value: Any) -> str | None:
    """The index key of a data value: a str as it is, an int as ``str()``, else None."""
    if type(value) is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):  # a str subclass
        return str.__str__(value)
    return None


def check_user(user: Any) -> str:
    """The argument of ``sessions_of``/``destroy_user``, keyed; a TypeError if no user."""
    key = user_value(user)
    if key is None:
        raise TypeError(f"user: expected a str or an int, got {type(user).__name__}")
    return key


def check_keep(keep: Any) -> str | None:
    if keep is not None and not isinstance(keep, str):
        raise TypeError(f"keep: expected a session id (str) or None, got {type(keep).__name__}")
    return keep


def user_of(session: StorableSession, key: str) -> str | None:
    """The user a session being stored belongs to (its data's ``key``)."""
    if isinstance(session, dict):  # Session: the data is the dict itself
        return user_value(dict.get(session, key))
    data = getattr(session, "data", None)
    if isinstance(data, dict):
        return user_value(data.get(key))
    return user_value(session.to_record().get(key))


def user_of_record(record: Record, key: str) -> str | None:
    """The user a stored record belongs to."""
    return user_value(record.get(key))


class UserKey:
    """The ``user_key`` a store indexes, set once (constructor or ``index_users``)."""

    user_key: str | None = None

    def _claim_user_key(self, key: Any) -> bool:
        """Record ``key``; True if newly set, False if already this key."""
        key = check_user_key(key)
        if self.user_key is not None:
            if self.user_key != key:
                raise ValueError(
                    f"{type(self).__name__} already indexes its sessions by {self.user_key!r}, "
                    f"not {key!r}: one store keeps one user index"
                )
            return False
        self.user_key = key
        return True

    def _indexing(self) -> str:
        if self.user_key is None:
            raise TypeError(
                f"{type(self).__name__} keeps no user index: pass user_key= to the store "
                "or to the middleware"
            )
        return self.user_key


__all__ = [
    "UserKey",
    "check_keep",
    "check_user",
    "check_user_key",
    "user_of",
    "user_of_record",
    "user_value",
]
