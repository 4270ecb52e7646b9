"""Pure-Python response header edits: the spec of src_c/_headers.pxi.

What the request kernel adds to the app's response headers, never changing the
app's own message or list: the Set-Cookie line (ASGI; WSGI appends a pair), and
with ``cache_headers`` the edits that keep a shared cache from serving one
user's session to another (`cache_safe`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

__all__ = ["ASGI_WORDS", "WSGI_WORDS", "cache_safe", "with_set_cookie"]


def with_set_cookie(message: MutableMapping[str, Any], line: str) -> dict[str, Any]:
    """An ASGI start message with a Set-Cookie header added (the app's is not changed)."""
    message = dict(message)
    message["headers"] = [*message.get("headers", ()), (b"set-cookie", line.encode("latin-1"))]
    return message


# What `cache_safe` reads and writes: the names to match (lower case), the
# tokens, and the names to write; bytes for ASGI, str for WSGI.
_ASGI_WORDS = (
    b"vary", b"cache-control", b"set-cookie", b"cookie", b"*", b",",
    b"Cookie", b"private", b"vary", b"cache-control",
)  # fmt: skip
_WSGI_WORDS = (
    "vary", "cache-control", "set-cookie", "cookie", "*", ",",
    "Cookie", "private", "Vary", "Cache-Control",
)  # fmt: skip


def cache_safe(headers: list[Any], words: tuple[Any, ...]) -> list[Any]:
    """``headers`` (a list of the caller's, changed in place) made safe for
    shared caches: Cookie merged into the first Vary header, or a ``Vary:
    Cookie`` added (nothing when Vary names Cookie or is ``*``); and when a
    Set-Cookie is sent and there is no Cache-Control, ``Cache-Control: private``."""
    vary, control, set_cookie, cookie, star, comma, token, private, vary_out, control_out = words
    vary_at = -1
    varies = False
    controlled = False
    sets_cookie = False
    for i, (name, value) in enumerate(headers):
        name = name.lower()
        if name == vary:
            if vary_at < 0:
                vary_at = i
            for part in value.split(comma):
                part = part.strip().lower()
                if part == cookie or part == star:
                    varies = True
        elif name == control:
            controlled = True
        elif name == set_cookie:
            sets_cookie = True
    if not varies:
        if vary_at < 0:
            headers.append((vary_out, token))
        else:
            name, value = headers[vary_at]
            headers[vary_at] = (name, value + comma + token if value.strip() else token)
    if sets_cookie and not controlled:
        headers.append((control_out, private))
    return headers


ASGI_WORDS = _ASGI_WORDS
WSGI_WORDS = _WSGI_WORDS
