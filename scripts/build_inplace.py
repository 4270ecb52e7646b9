"""Build some or all compiled kernels in place (into fastsession/), for development.

python scripts/build_inplace.py            # all kernels
python scripts/build_inplace.py _lru_c     # just one
"""

import glob
import os
import sys

from setuptools import Extension, setup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
kernels = sys.argv[1:] or sorted(os.path.basename(p)[:-4] for p in glob.glob("src_c/_*_c.pyx"))
# Every header and included .pxi: a change to one rebuilds the kernels (as in setup.py).
depends = sorted(glob.glob("src_c/*.h") + glob.glob("src_c/*.pxi"))
sys.argv = [sys.argv[0], "build_ext", "--inplace", "-q"]
setup(
    name="fastsession-dev",
    py_modules=[],
    ext_modules=[
        Extension(
            f"fastsession.{k}",
            [f"src_c/{k}.pyx"],
            include_dirs=["src_c"],
            depends=depends,
            extra_compile_args=["-O3"],
        )
        for k in kernels
    ],
)
