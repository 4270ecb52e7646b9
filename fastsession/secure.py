"""Whether a request came over TLS, as express-session's ``issecure`` decides.

``proxy=True``: the first ``X-Forwarded-Proto`` value, lowercased and trimmed
as JavaScript's ``trim()`` trims (not as ``str.strip``, which also removes
the control characters 0x1c-0x1f). Otherwise the scheme the server reports,
which is where ASGI and WSGI servers apply their own proxy trust.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["asgi_secure_of", "forwarded_https", "js_trim", "wsgi_secure_of"]

# ECMAScript WhiteSpace and LineTerminator: what String.prototype.trim removes.
_JS_SPACE = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(text: str) -> str:
    return text.strip(_JS_SPACE)


def forwarded_https(header: str) -> bool:
    """express: ``header.split(",")[0].toLowerCase().trim() === "https"``."""
    return js_trim(header.split(",", 1)[0].lower()) == "https"


def asgi_secure_of(proxy: bool | None) -> Callable[[Any], bool]:
    if proxy is True:

        def forwarded(scope: Any) -> bool:
            for name, value in scope.get("headers") or ():
                if name == b"x-forwarded-proto":
                    return forwarded_https(bytes(value).decode("latin-1"))
            return False

        return forwarded

    def scheme(scope: Any) -> bool:
        return bool(scope.get("scheme") in ("https", "wss"))

    return scheme


def wsgi_secure_of(proxy: bool | None) -> Callable[[Any], bool]:
    if proxy is True:

        def forwarded(environ: Any) -> bool:
            return forwarded_https(environ.get("HTTP_X_FORWARDED_PROTO", ""))

        return forwarded

    def scheme(environ: Any) -> bool:
        return bool(environ.get("wsgi.url_scheme") == "https")

    return scheme
