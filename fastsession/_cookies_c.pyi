"""Stub of the compiled cookie kernel (src_c/_cookies_c.pyx); twin of _cookies_py."""

from typing import Self, final

__all__ = ["CookieTemplate", "encode", "lookup", "parse", "serialize"]

def parse(header: str) -> dict[str, str]: ...
def lookup(header: str, name: str) -> str | None: ...
def encode(value: str) -> str: ...
def serialize(
    name: str,
    value: str,
    max_age: int | None,
    domain: str | None,
    path: str | None,
    expires: float | None,
    http_only: bool,
    secure: bool,
    partitioned: bool,
    priority: str | None,
    same_site: str | None,
) -> str: ...

# The texts are prepared in __cinit__, so the arguments belong to __new__.
@final
class CookieTemplate:
    def __new__(
        cls,
        name: str,
        domain: str | None,
        path: str | None,
        http_only: bool,
        secure: bool,
        partitioned: bool,
        priority: str | None,
        same_site: str | None,
    ) -> Self: ...
    def render(self, value: str, expires: float | None) -> str: ...
