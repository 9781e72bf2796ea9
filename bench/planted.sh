#!/usr/bin/env bash
# Plants each bug of issue 16 in a copy of the tree and runs the tests that name it; see bench/planted.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/planted.py "$@"
