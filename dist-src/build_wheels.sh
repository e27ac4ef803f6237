#!/usr/bin/env bash
# Build the three wheels into dist/ (or $1): leakledger-dedup (the top-level dedup/ package, through
# dist-src/dedup), leakledger-client (client/) and leakledger (the server: config/, registry/, api/).
# Build folders are removed first: setuptools would otherwise reuse build/lib and ship stale files.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
PY=${PY:-.venv/bin/python}
rm -rf build dist-src/dedup/build client/build ./*.egg-info dist-src/dedup/*.egg-info client/*.egg-info
mkdir -p "$out"
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$out" ./dist-src/dedup ./client .
rm -rf build dist-src/dedup/build client/build ./*.egg-info dist-src/dedup/*.egg-info client/*.egg-info
ls "$out"/*.whl
