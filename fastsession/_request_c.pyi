"""Stub of the compiled request kernel (src_c/_request_c.pyx); twin of _request_py."""

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, final

from typing_extensions import disjoint_base

__all__ = [
    "DESTROY",
    "EMPTY_DATA",
    "HEADERS_MAX",
    "HEADER_LEN_MAX",
    "LAYOUTS_MAX",
    "NOTHING",
    "SET",
    "TOUCH",
    "VERIFIED_MAX",
    "EngineCore",
    "MemoryCore",
    "RequestCore",
    "cookie_end",
]

NOTHING: int
SET: int
TOUCH: int
DESTROY: int
VERIFIED_MAX: int
HEADERS_MAX: int
HEADER_LEN_MAX: int
LAYOUTS_MAX: int
EMPTY_DATA: bytes

# Subclassed in fastsession._core; a compiled class is a disjoint base.
@disjoint_base
class EngineCore:
    name: Any
    lookup: Any
    unsign: Any
    verified: dict[str, str]
    headers: dict[str | bytes, str]
    layouts: dict[bytes, tuple[dict[str, Any], Any]]
    session_key: Any
    id_key: Any
    session_cls: Any
    session_base: Any
    cookie_cls: Any
    shape_of: Any
    resave: bool
    rolling: bool
    save_uninitialized: bool
    unset_destroy: bool
    has_touch: bool
    store_get: Any
    store_set: Any
    store_touch: Any
    store_destroy: Any
    memory: Any
    def __init__(self) -> None: ...
    def read_id(self, header: str | None) -> str | None: ...
    def read_asgi_id(self, headers: Iterable[Any] | None) -> str | None: ...
    def asgi_begin(
        self, cls: type[RequestCore], scope: MutableMapping[str, Any], options: Any, send: Any
    ) -> RequestCore: ...
    def wsgi_begin(
        self, cls: type[RequestCore], environ: dict[str, Any], options: Any, start_response: Any
    ) -> RequestCore: ...
    def set_cookie_line(self, sid: str, cookie: Any) -> str | None: ...
    def load_failed(self, exc: Exception) -> Exception: ...
    def store_failed(self, op: int, exc: Exception) -> Exception: ...

@disjoint_base
class RequestCore:
    engine: EngineCore
    conn: Any
    options: Any
    respond: Any
    _secure: bool | None
    cookie_id: Any
    original_id: Any
    original_data: Any
    saved_data: Any
    touched: bool
    destroyed: bool
    started: bool
    committed_id: Any
    committed_data: Any
    def __init__(
        self, engine: EngineCore, conn: MutableMapping[str, Any], options: Any
    ) -> None: ...
    def secure_scheme(self) -> bool: ...
    def generate(self) -> Any: ...
    def is_secure(self) -> bool: ...
    def begin(self, sid: str | None) -> Any: ...
    def inflate(self, sid: str, record: Any) -> Any: ...
    def inflate_raw(self, sid: str, raw: bytes) -> Any: ...
    def plan(self, final: bool) -> tuple[str | None, int, Any]: ...
    def commit(self, final: bool) -> str | None: ...
    def asgi_send(self, message: MutableMapping[str, Any]) -> Any: ...
    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any: ...

@final
class MemoryCore:
    lru: Any
    lock: Any
    ttl: Any
    clock: Any
    parse: Any
    splice: Any
    cookie_end: Any
    session_classes: tuple[type, ...]
    cookie_cls: Any
    def __init__(
        self,
        lru: Any,
        lock: Any,
        ttl: float,
        clock: Callable[[], float] | None,
        parse: Callable[[bytes], Any],
        splice: Callable[[bytes, bytes, Any], bytes],
        cookie_end: Callable[[bytes], int],
        session_classes: tuple[type, ...],
        cookie_cls: type[Any],
    ) -> None: ...
    def get_raw(self, sid: str) -> bytes | None: ...
    def get(self, sid: str) -> Any: ...
    def set(self, sid: str, session: Any) -> None: ...
    def touch(self, sid: str, session: Any) -> None: ...
    def deadline(self, session: Any) -> float: ...

def cookie_end(doc: bytes) -> int: ...
