"""The errors fastsession raises."""


class SessionError(Exception):
    """Base of the errors fastsession raises."""


class StoreError(SessionError):
    """A store could not do what was asked (unreachable, timed out, refused)."""


class CorruptSessionError(SessionError):
    """A stored record that is not a session (no ``cookie`` object, not JSON)."""


class SessionNotFoundError(SessionError):
    """`reload()` or `save()` of a session that is no longer in the store."""


class SerializationError(SessionError, TypeError):
    """Session data that JSON cannot hold; the message names the key."""


def check_record(record: object) -> dict[str, object]:
    """The cookie object of a stored record; anything else is `CorruptSessionError`.

    The one check every path that reads a record makes: express-session
    treats a record without a cookie object as unusable, and so do we,
    loudly, rather than as a fresh session.
    """
    if not isinstance(record, dict):
        raise CorruptSessionError(f"stored session is a {type(record).__name__}, not an object")
    cookie = record.get("cookie")
    if not isinstance(cookie, dict):
        raise CorruptSessionError("stored session has no cookie object")
    return cookie


def store_error(op: str, exc: BaseException) -> SessionError:
    """A store failure as a `SessionError` naming the operation (cause chained by
    the caller's ``raise ... from exc``); a `SessionError` is kept as it is."""
    if isinstance(exc, SessionError):
        return exc
    return StoreError(f"session store {op}() failed: {exc!r}")
