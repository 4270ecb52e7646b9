"""The compiled twins of the hot paths; all metadata lives in pyproject.toml.

The extensions are optional (no compiler means the pure-Python package, with a
warning) except where CIBUILDWHEEL or FASTSESSION_REQUIRE_EXTENSIONS is set.
"""

import glob
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError, CompileError


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


NO = _flag("FASTSESSION_NO_EXTENSIONS") or sys.implementation.name != "cpython"
REQUIRE = _flag("FASTSESSION_REQUIRE_EXTENSIONS") or _flag("CIBUILDWHEEL")
DEBUG = _flag("FASTSESSION_DEBUG_BUILD")

# Every src_c/_<kernel>_c.pyx is built as fastsession._<kernel>_c.
KERNELS = sorted(os.path.basename(p)[:-4] for p in glob.glob("src_c/_*_c.pyx"))
# The C headers and the Cython files the kernels `include`: a change to one rebuilds them.
DEPENDS = sorted(glob.glob("src_c/*.h") + glob.glob("src_c/*.pxi"))

if DEBUG:
    cflags = ["-O0", "-g3", "-UNDEBUG"]
    macros = [("CYTHON_TRACE", "1")]
elif sys.platform == "win32":
    cflags, macros = ["/O2"], []
else:
    # -g0: debug info would be four fifths of each module in the wheel.
    cflags, macros = ["-O3", "-g0"], []


class BuildExt(build_ext):
    """setuptools' build_ext, loud about an optional extension that failed.

    setuptools skips a failed optional extension with a one-line warning lost in
    the compiler output; say plainly that the result is the pure-Python package.
    """

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except (CCompilerError, CompileError, BaseError) as exc:
            reason = " ".join(str(exc).split())  # a compiler command line can be long
            if len(reason) > 120:
                reason = reason[:117] + "..."
            self.failed.append(f"{ext.name}: {reason}")
            if not ext.optional:
                _banner(
                    f"building {ext.name} failed and the compiled kernels are required here "
                    "(CIBUILDWHEEL or FASTSESSION_REQUIRE_EXTENSIONS is set)."
                )
            raise  # setuptools skips an optional extension and stops on a required one

    def run(self) -> None:
        self.failed: list[str] = []
        super().run()
        if self.failed:
            _banner(
                "the compiled kernels could not be built:\n  "
                + "\n  ".join(self.failed)
                + "\nInstalling the pure-Python implementation: same results, slower.\n"
                "Check with `python -m fastsession info`; set FASTSESSION_REQUIRE_EXTENSIONS=1\n"
                "to make this an error, or FASTSESSION_NO_EXTENSIONS=1 to skip the attempt."
            )


def _banner(text: str) -> None:
    rule = "=" * 78
    print(f"\n{rule}\nWARNING fastsession: {text}\n{rule}\n", file=sys.stderr, flush=True)


ext_modules = (
    []
    if NO
    else [
        Extension(
            f"fastsession.{k}",
            [f"src_c/{k}.pyx"],
            include_dirs=["src_c"],
            depends=DEPENDS,
            optional=not REQUIRE,
            extra_compile_args=cflags,
            define_macros=macros,
        )
        for k in KERNELS
    ]
)

setup(ext_modules=ext_modules, cmdclass={"build_ext": BuildExt})
