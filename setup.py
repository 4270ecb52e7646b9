"""The compiled twins of the hot paths; all metadata lives in pyproject.toml.

The extensions are optional (no compiler means the pure-Python package, with a
warning) except where CIBUILDWHEEL or FASTSESSION_REQUIRE_EXTENSIONS is set.
"""

import os
import sys

from setuptools import Extension, setup


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


NO = _flag("FASTSESSION_NO_EXTENSIONS") or sys.implementation.name != "cpython"
REQUIRE = _flag("FASTSESSION_REQUIRE_EXTENSIONS") or _flag("CIBUILDWHEEL")
DEBUG = _flag("FASTSESSION_DEBUG_BUILD")

KERNELS = ("_signing_c", "_cookies_c", "_lru_c")

if DEBUG:
    cflags = ["-O0", "-g3", "-UNDEBUG"]
    macros = [("CYTHON_TRACE", "1")]
elif sys.platform == "win32":
    cflags, macros = ["/O2"], []
else:
    cflags, macros = ["-O3"], []

ext_modules = (
    []
    if NO
    else [
        Extension(
            f"fastsession.{k}",
            [f"src_c/{k}.pyx"],
            optional=not REQUIRE,
            extra_compile_args=cflags,
            define_macros=macros,
        )
        for k in KERNELS
    ]
)

setup(ext_modules=ext_modules)
