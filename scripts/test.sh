#!/usr/bin/env bash
# Install fastsession with its test extras (compiling the extensions in place)
# and run the test suite. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[test]'
python -m pytest -q -p no:cacheprovider "$@"
