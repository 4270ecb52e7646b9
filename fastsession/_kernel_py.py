"""The pure-Python request kernel, gathered: the twin of the compiled
``fastsession._kernel_c`` (src_c/_kernel_c.pyx), which is one C unit built from
one ``.pxi`` per module below, each mirroring it:

=====================  ======================  =================================
pure twin              compiled twin           what it owns
=====================  ======================  =================================
``_model_py.py``       ``src_c/_model.pxi``    CookieCore, SessionCore
``_sid_py.py``         ``src_c/_sid.pxi``      SidReader: Cookie header → id
``_memory_py.py``      ``src_c/_memory.pxi``   MemoryCore: MemoryStore's data
``_engine_py.py``      ``src_c/_engine.pxi``   EngineCore: a middleware's constants
``_load_py.py``        ``src_c/_load.pxi``     LoadCore: a request's session loaded
``_request_py.py``     ``src_c/_request.pxi``  RequestCore: decisions and the commit
``_headers_py.py``     ``src_c/_headers.pxi``  response headers: Set-Cookie, cache
``_logs_py.py``        ``src_c/_logs.pxi``     the kernel's log lines
=====================  ======================  =================================
"""

from ._engine_py import CREATED_KEY, EngineCore
from ._headers_py import cache_safe
from ._load_py import EMPTY_DATA, LoadCore
from ._memory_py import (
    MemoryCore,
    cookie_end,
    layout_of,
    parse_record,
    read_in_layout,
    with_cookie,
)
from ._model_py import CookieCore, CookieShape, SessionCore, cookie_from_fields, shape_of
from ._request_py import RequestCore, new_request, release
from ._sid_py import HEADER_LEN_MAX, HEADERS_MAX, VERIFIED_MAX, SidReader

__all__ = [
    "CREATED_KEY",
    "EMPTY_DATA",
    "HEADERS_MAX",
    "HEADER_LEN_MAX",
    "VERIFIED_MAX",
    "CookieCore",
    "CookieShape",
    "EngineCore",
    "LoadCore",
    "MemoryCore",
    "RequestCore",
    "SessionCore",
    "SidReader",
    "cache_safe",
    "cookie_end",
    "cookie_from_fields",
    "layout_of",
    "new_request",
    "parse_record",
    "read_in_layout",
    "release",
    "shape_of",
    "with_cookie",
]
