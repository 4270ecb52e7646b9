"""fastsession: express-session for Python (ASGI and WSGI)."""

from ._version import __version__

__all__ = ["__version__"]
