"""fastsession: express-session for Python (ASGI and WSGI).

A signed session-id cookie, the data kept server-side in a store, and every
express-session option and method. The public names are loaded on first use,
so importing one kernel or submodule does not import the rest.

- `SessionMiddleware` (ASGI) and `WSGISessionMiddleware` (WSGI): the
  middlewares, with the same options;
- `AsyncSession` and `Session`: the session an ASGI or WSGI app sees;
  `Cookie`: its cookie (``session.cookie``);
- `CookieParams` (a `TypedDict`) and `CookieOptions`: the ``cookie=`` option;
- `Store`, `AsyncStore`: the bases of stores; `StorableSession`: what a store's
  ``set()`` and ``touch()`` receive; `MemoryStore`: the default store;
- `flash` and `get_flashed_messages`: Flask's flash messages over any
  session, shared with a Flask app through the store (`fastsession.flash`);
- `SessionError`: the base of fastsession's errors (`fastsession.errors`);
- `EXTENSIONS`: True when the compiled kernels are in use
  (``python -m fastsession info`` says why not);
- `__version__`: the version, a string;
- submodules: `fastsession.starlette` (``get_session``), `fastsession.fastapi`
  (``SessionDep``), `fastsession.signing`, `fastsession.cookies`,
  `fastsession.stores`, `fastsession.testing` (the store contract suite).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from . import cookies, signing
    from ._speedups import EXTENSIONS
    from ._types import StorableSession
    from .asgi import SessionMiddleware
    from .cookie_options import CookieOptions
    from .errors import SessionError
    from .flash import flash, get_flashed_messages
    from .params import CookieParams
    from .session import AsyncSession, Session
    from .session_cookie import Cookie
    from .stores import AsyncStore, Store
    from .stores.memory import MemoryStore
    from .wsgi import WSGISessionMiddleware

_LAZY = {
    "SessionMiddleware": ".asgi",
    "WSGISessionMiddleware": ".wsgi",
    "Session": ".session",
    "AsyncSession": ".session",
    "Cookie": ".session_cookie",
    "CookieOptions": ".cookie_options",
    "CookieParams": ".params",
    "StorableSession": "._types",
    "Store": ".stores",
    "AsyncStore": ".stores",
    "MemoryStore": ".stores.memory",
    "SessionError": ".errors",
    "flash": ".flash",
    "get_flashed_messages": ".flash",
    "EXTENSIONS": "._speedups",
}
_SUBMODULES = ("signing", "cookies", "stores", "errors")

__all__ = [
    "EXTENSIONS",
    "AsyncSession",
    "AsyncStore",
    "Cookie",
    "CookieOptions",
    "CookieParams",
    "MemoryStore",
    "Session",
    "SessionError",
    "SessionMiddleware",
    "StorableSession",
    "Store",
    "WSGISessionMiddleware",
    "__version__",
    "cookies",
    "flash",
    "get_flashed_messages",
    "signing",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'fastsession' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))
