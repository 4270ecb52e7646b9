#!/usr/bin/env bash
# Build the compiled kernels with AddressSanitizer and UndefinedBehaviorSanitizer
# in a temporary copy of the tree (the in-place build is left alone), then run the
# kernel tests and a short fuzz under them. Fails on any sanitizer report.
#
#   bash scripts/build_sanitized.sh            # fuzz budget 30 s
#   FUZZ_SECONDS=120 bash scripts/build_sanitized.sh
#   KEEP=1 bash scripts/build_sanitized.sh     # keep the copy (its path is printed)
#
# Needs gcc with libasan/libubsan (Debian: gcc, libasan8, libubsan1) and the
# test extras installed in the Python that runs it (an active venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fastsession-asan.XXXXXX")
cleanup() { [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

echo "== copy of the tree in $WORK"
# Tracked and new files, none of the in-place build's products.
git ls-files -z --cached --others --exclude-standard | tar -C "$ROOT" --null -T - -cf - \
  | tar -C "$WORK" -xf -
cd "$WORK"
find fastsession -name '*.so' -delete

echo "== build with -fsanitize=address,undefined"
# The build needs Cython, which an editable install's isolated build does not leave behind.
CYTHON_REQ=$(grep -o '"[Cc]ython[^"]*"' pyproject.toml | head -1 | tr -d '"')
"$PY" -c "import Cython" 2>/dev/null || "$PY" -m pip install -q "${CYTHON_REQ:-cython>=3}"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# pyproject.toml is set aside for the build: it needs only setuptools and Cython, and an
# older setuptools in a venv rejects the project's metadata. -O1 -g rather than the
# release -O3: a quicker build and readable stacks.
mv pyproject.toml pyproject.toml.aside
CC=${CC:-gcc} CFLAGS="$SAN" LDFLAGS="$SAN" "$PY" - >build.log 2>&1 <<'EOF' \
  || { tail -50 build.log; exit 1; }
import glob, os
from setuptools import Extension, setup
kernels = sorted(os.path.basename(p)[:-4] for p in glob.glob("src_c/_*_c.pyx"))
setup(
    name="fastsession-sanitized",
    py_modules=[],
    script_args=["build_ext", "--inplace", "-q", "-j", "2"],
    ext_modules=[
        Extension(f"fastsession.{k}", [f"src_c/{k}.pyx"], include_dirs=["src_c"],
                  extra_compile_args=["-O1", "-g"])
        for k in kernels
    ],
)
EOF
mv pyproject.toml.aside pyproject.toml

LIBASAN=$(${CC:-gcc} -print-file-name=libasan.so)
[ -e "$LIBASAN" ] || { echo "libasan not found ($LIBASAN)" >&2; exit 1; }
export LD_PRELOAD=$LIBASAN
# CPython leaks by design at exit; every other report stops the run.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87
# Objects straight from malloc, so ASan sees their bounds (pymalloc pools hide them).
export PYTHONMALLOC=malloc
export PYTHONPATH=$WORK FASTSESSION_REQUIRE_EXTENSIONS=1
unset FASTSESSION_NO_EXTENSIONS

"$PY" - <<EOF
import fastsession._kernel_c as k, fastsession._speedups as s
assert k.__file__.startswith("$WORK"), k.__file__
assert s.EXTENSIONS, s.REASON
print("sanitized kernels:", k.__file__)
EOF
for so in fastsession/*.so; do
  syms=$(nm -D --undefined-only "$so")
  grep -q __asan_report <<<"$syms" || { echo "$so is not instrumented by ASan" >&2; exit 1; }
  grep -q __ubsan_handle <<<"$syms" || { echo "$so is not instrumented by UBSan" >&2; exit 1; }
done

LOG=$WORK/sanitizer.log
run() {
  # Output kept for the report check below; a sanitizer stop is a non-zero exit.
  "$@" 2>&1 | tee -a "$LOG"
  return "${PIPESTATUS[0]}"
}

echo "== kernel tests under the sanitizers (two processes)"
PYTEST=("$PY" -m pytest -q -p no:cacheprovider -x --durations=5)
run "${PYTEST[@]}" tests/test_kernel.py tests/test_kernel_fast_paths.py \
  tests/test_kernel_properties.py tests/test_sha256.py tests/test_fuzz_regressions.py &
first=$!
run "${PYTEST[@]}" tests/test_kernel_middleware.py tests/test_kernel_request.py \
  tests/test_cookies.py tests/test_signing.py tests/test_lru.py tests/test_lru_properties.py \
  tests/test_dates.py tests/test_parity.py
wait "$first"

echo "== fuzz for ${FUZZ_SECONDS} s under the sanitizers"
run "$PY" scripts/fuzz.py --engine hypothesis --seconds "$FUZZ_SECONDS"

if grep -E "ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer" \
  "$LOG" >/dev/null; then
  echo "sanitizer reports found (see above)" >&2
  exit 1
fi
echo "no sanitizer reports"
