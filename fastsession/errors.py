"""The errors fastsession raises."""


class SessionError(Exception):
    """Base of the errors fastsession raises."""


class StoreError(SessionError):
    """A store could not do what was asked (unreachable, timed out, refused)."""


class CorruptSessionError(SessionError):
    """A stored record that is not a session (no ``cookie`` object, not JSON)."""


class SessionNotFoundError(SessionError):
    """`reload()` of a session that is no longer in the store."""


class SerializationError(SessionError, TypeError):
    """Session data that JSON cannot hold; the message names the key."""
