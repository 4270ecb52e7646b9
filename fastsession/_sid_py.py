"""Pure-Python session-id reader: the spec of src_c/_sid.pxi.

The Cookie header(s) of a request → the verified id in the first cookie with
the session's name (express's ``getcookie``), or None.

Invariants: an id is returned only for a value whose signature verified with
one of the secrets. Verified values (at most `VERIFIED_MAX`) and the headers
that held them (at most `HEADERS_MAX`, each at most `HEADER_LEN_MAX` long) are
remembered per reader, and forgotten all at once when full, so a returning
browser costs a dict lookup while a forged value always reaches the signer's
constant-time check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["HEADERS_MAX", "HEADER_LEN_MAX", "VERIFIED_MAX", "SidReader"]

VERIFIED_MAX = 4096
HEADERS_MAX = 1024
HEADER_LEN_MAX = 1024


class SidReader:
    """Reads the session id from Cookie headers, for one cookie name and signer."""

    __slots__ = ("name", "lookup", "unsign", "verified", "headers")

    def __init__(
        self,
        name: str,
        lookup: Callable[[str, str], str | None],
        unsign: Callable[[str], str | None],
    ) -> None:
        self.name = name
        self.lookup = lookup
        self.unsign = unsign
        self.verified: dict[str, str] = {}
        self.headers: dict[str | bytes, str] = {}

    def read(self, header: str | None) -> str | None:
        """The verified id in one Cookie header (WSGI's ``HTTP_COOKIE``)."""
        if not header:
            return None
        sid = self.headers.get(header)
        if sid is None:
            sid = self.verify(header)
            if sid is not None:
                self.remember(header, sid)
        return sid

    def read_asgi(self, headers: Iterable[Any] | None) -> str | None:
        """The verified id in an ASGI scope's headers: every ``cookie`` header,
        joined with "; " as a server folding them would."""
        found: list[bytes] = []
        for name, value in headers or ():
            if name == b"cookie":
                found.append(value)
        if not found:
            return None
        if len(found) == 1:
            single = found[0]
            if not single:
                return None
            # A single header is remembered as it came, with no decoding.
            sid = self.headers.get(single)
            if sid is None:
                sid = self.verify(bytes(single).decode("latin-1"))
                if sid is not None:
                    self.remember(bytes(single), sid)
            return sid
        return self.read("; ".join(bytes(v).decode("latin-1") for v in found))

    def verify(self, header: str) -> str | None:
        """The id in ``s:<id>.<signature>``, if the signature verifies."""
        value = self.lookup(header, self.name)
        if value is None:
            return None
        verified = self.verified
        sid = verified.get(value)
        if sid is None:
            if not value.startswith("s:"):
                return None
            sid = self.unsign(value[2:])
            if not sid:
                return None
            if len(verified) >= VERIFIED_MAX:
                verified.clear()
            verified[value] = sid
        return sid

    def remember(self, header: str | bytes, sid: str) -> None:
        if len(header) <= HEADER_LEN_MAX:
            headers = self.headers
            if len(headers) >= HEADERS_MAX:
                headers.clear()
            headers[header] = sid
