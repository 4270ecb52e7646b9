"""The one place that chooses the compiled or the pure-Python kernels.

All the compiled twins are used, or none (so `EXTENSIONS` is one honest
bool); `REASON` says why. Decided once, at import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._types import CookieTemplateLike, LRUFactory, SignerLike


def _flag(name: str) -> bool:
    # "0" and "" mean off: bool(os.environ.get(...)) would read "0" as on.
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


REQUIRE = _flag("FASTSESSION_REQUIRE_EXTENSIONS")

KERNELS = ("cookies", "dates", "kernel", "lru", "signing")
"""Each kernel is a pure module fastsession._<name>_py and its compiled twin
fastsession._<name>_c, built from src_c/_<name>_c.pyx."""

# Classes are nominal: the names are declared by the protocols both twins meet.
LRUCache: LRUFactory
Signer: Callable[[tuple[bytes, ...]], SignerLike]
CookieTemplate: Callable[
    [str, str | None, str | None, bool, bool, bool, str | None, str | None], CookieTemplateLike
]

if _flag("FASTSESSION_NO_EXTENSIONS"):
    EXTENSIONS, REASON = False, "disabled by FASTSESSION_NO_EXTENSIONS"
elif sys.implementation.name != "cpython":
    EXTENSIONS, REASON = False, f"not CPython ({sys.implementation.name})"
else:
    try:
        from . import _cookies_c, _dates_c, _kernel_c, _lru_c, _signing_c  # noqa: F401
    except ImportError as exc:  # pragma: no cover
        EXTENSIONS, REASON = False, f"ImportError: {exc}"
    else:
        EXTENSIONS, REASON = True, "compiled extensions loaded"

if REQUIRE and not EXTENSIONS:
    raise ImportError(
        f"FASTSESSION_REQUIRE_EXTENSIONS is set but the compiled kernels are not in use: {REASON}"
    )

if EXTENSIONS:
    from ._cookies_c import CookieTemplate, encode, lookup, parse, serialize
    from ._dates_c import format_iso, parse_iso
    from ._lru_c import LRUCache
    from ._signing_c import Signer, sign, unsign
else:  # pragma: no cover
    from ._cookies_py import CookieTemplate, encode, lookup, parse, serialize
    from ._dates_py import format_iso, parse_iso
    from ._lru_py import LRUCache
    from ._signing_py import Signer, sign, unsign

# The request kernel's classes are subclassed (Cookie, Session, MemoryStore),
# so typed as the pure twin's classes; the compiled twin's stub, checked by
# stubtest, declares the same.
if TYPE_CHECKING or not EXTENSIONS:
    from ._kernel_py import (
        CookieCore,
        EngineCore,
        MemoryCore,
        RequestCore,
        SessionCore,
        SidReader,
        cookie_end,
        cookie_from_fields,
        new_request,
        parse_record,
        release,
    )
else:
    from ._kernel_c import (
        CookieCore,
        EngineCore,
        MemoryCore,
        RequestCore,
        SessionCore,
        SidReader,
        cookie_end,
        cookie_from_fields,
        new_request,
        parse_record,
        release,
    )

__all__ = [
    "EXTENSIONS",
    "KERNELS",
    "REASON",
    "CookieCore",
    "CookieTemplate",
    "EngineCore",
    "LRUCache",
    "MemoryCore",
    "RequestCore",
    "SessionCore",
    "SidReader",
    "Signer",
    "cookie_end",
    "cookie_from_fields",
    "encode",
    "format_iso",
    "lookup",
    "new_request",
    "parse",
    "parse_iso",
    "parse_record",
    "release",
    "serialize",
    "sign",
    "unsign",
]
