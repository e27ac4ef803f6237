#!/usr/bin/env bash
# What a new user does, outside the repository, in fresh virtualenvs (dependencies from the package
# index, nothing from the repository's .venv):
#   1. the README's install line (dedup and the client, from the checkout) installs their own
#      dependencies only (no Django); `python -m dedup overlap` and `leakledger check` run there;
#   2. the demo server runs (make demo's data, from the checkout) and the README's training-script
#      example, run in that venv, prints what the README shows; the README's CI step exits 3;
#   3. the built wheels (server, client, dedup) install together and `leakledger-server check` passes.
# Run by .ci/run; needs the checkout's .venv for the demo server (make venv).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
PY=${PY:-.venv/bin/python}
# The venvs hold ~20,000 files: in memory (/dev/shm) they are made and removed in seconds, on a busy
# disk in minutes.
scratch=/tmp
[ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt 4000000 ] && scratch=/dev/shm
work=$(mktemp -d "$scratch/leakledger-install.XXXXXX")
server_pid=""
wheels_pid=""
cleanup() {
  if [ -n "$wheels_pid" ]; then wait "$wheels_pid" 2>/dev/null || true; fi  # an install: it ends on its own
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf -- "-- %s (%ss)\n" "$*" "$SECONDS"; }

say "build the wheels"
PY=$PY bash dist-src/build_wheels.sh "$work/wheels"
# Step 3's virtualenv is made and the wheels installed into it while steps 1 and 2 run (pip spends most
# of its time unpacking and waiting on the index); its checks run in step 3, in order.
W="$work/venv-wheels/bin"
("${PYTHON:-python3}" -m venv "$work/venv-wheels" \
  && "$W/pip" install --quiet --quiet --find-links "$work/wheels" leakledger leakledger-client) \
  >"$work/venv-wheels.log" 2>&1 &
wheels_pid=$!

say "1. fresh venv: the README's install line, from the checkout (dependencies from the index)"
"${PYTHON:-python3}" -m venv "$work/venv"
V="$work/venv/bin"
line=$(grep -m1 -E '^pip install \./dist-src/dedup \./client' README.md | sed 's/ *#.*//')
echo "$line"
(PATH="$V:$PATH" && $line --quiet --quiet)
rm -rf build dist-src/dedup/build client/build ./*.egg-info dist-src/dedup/*.egg-info client/*.egg-info
cd "$work"
"$V/python" - <<'PY'
import importlib.util
import dedup, leakledger_client
assert importlib.util.find_spec("django") is None, "Django must not be installed with dedup and the client"
assert "site-packages" in dedup.__file__ and "site-packages" in leakledger_client.__file__, (dedup.__file__,)
print("dedup", dedup.__version__, "and leakledger_client", leakledger_client.__version__, "import without Django")
from dedup import _kernels, _native
if _native.possible():  # numba is not installed here: the kernels run as the C port, built from the wheel's source
    assert (_kernels.compiled_backend() or "").startswith("c "), _native.status()
print("kernels:", _kernels.compiled_backend() or "numpy and Biopython (no C compiler, no numba)")
PY
cp "$repo/fixtures/flip_bind_split/test.fasta" "$repo/fixtures/flip_bind_split/train.fasta" "$work/"
"$V/python" -m dedup overlap test.fasta train.fasta --identity 0.9 --coverage 0.8 | tee "$work/dedup.out"
grep -Eq '^ +exact +13 ' "$work/dedup.out" || { echo "expected 13 exact overlaps (FLIP bind)"; exit 1; }
set +e
"$V/leakledger" --url http://127.0.0.1:9 check test.fasta --against train.fasta --fail-above 0.01 --top 3
rc=$?
set -e
[ "$rc" = 3 ] || { echo "leakledger check --fail-above (local files): expected exit 3, got $rc"; exit 1; }
cd "$repo"

say "2. the demo server, and the README's example in the fresh venv"
export LEAKLEDGER_DATA_DIR="$work/demo"
env -u DATABASE_URL -u CELERY_BROKER_URL "$PY" manage.py demo --fresh >"$work/demo.log" 2>&1 || { tail -30 "$work/demo.log"; exit 1; }
token=$(env -u DATABASE_URL "$PY" manage.py create_token alice --create-user | tail -1)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -u DATABASE_URL -u CELERY_BROKER_URL "$PY" -m gunicorn config.wsgi --bind "127.0.0.1:$port" --workers 2 \
  >"$work/server.log" 2>&1 &
server_pid=$!
"$PY" - "http://127.0.0.1:$port/api/v1/" <<'PY'
import sys, time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("the demo server did not start")
PY
mkdir -p "$work/script/fixtures" "$work/script/data"
cp -r fixtures/flip_bind_split "$work/script/fixtures/"
cp fixtures/flip_bind_split/test.fasta "$work/script/data/benchmark.fasta"
"$PY" - "$work/script" <<'PY'
import pathlib, sys
sys.path.insert(0, ".")
from tests.client.test_readme import blocks, readme_section
out = pathlib.Path(sys.argv[1])
section = readme_section()
(out / "train_script.py").write_text(blocks(section, "python")[0])
(out / "expected.txt").write_text(blocks(section, "")[0])
PY
cd "$work/script"
export LEAKLEDGER_URL="http://127.0.0.1:$port" LEAKLEDGER_TOKEN="$token" LEAKLEDGER_CONFIG=/dev/null
"$V/python" train_script.py | tee actual.txt
diff expected.txt actual.txt && echo "the README example prints what the README shows"
set +e
"$V/leakledger" check data/benchmark.fasta --against-model my-model@1 --fail-above 0.01 --identity 0.9 --top 3
rc=$?
set -e
[ "$rc" = 3 ] || { echo "the README's CI step: expected exit 3, got $rc"; exit 1; }
unset LEAKLEDGER_URL LEAKLEDGER_TOKEN LEAKLEDGER_CONFIG LEAKLEDGER_DATA_DIR
cd "$repo"

say "3. fresh venv: the three wheels (server, client, dedup)"
wait "$wheels_pid" || { cat "$work/venv-wheels.log"; echo "installing the wheels failed"; exit 1; }
cat "$work/venv-wheels.log"
(cd "$work" && LEAKLEDGER_DATA_DIR="$work/server-var" "$W/leakledger-server" check)
"$W/leakledger" --version
say "install checks passed"
