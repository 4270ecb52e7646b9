"""Kept for the tests' imports: the store contract now lives in fastsession.testing."""

from fastsession.testing import *  # noqa: F403
from fastsession.testing import __all__  # noqa: F401
