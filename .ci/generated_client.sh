#!/usr/bin/env bash
# Generate a Python client from the live server's OpenAPI schema with openapi-python-client (pinned,
# in its own venv under var/) and run a whole workflow through it, with no hand edits: upload, poll
# the job, split, model, evaluation with scores, contamination report, overlap query by file, every
# citation format, Croissant, the FASTA download (.ci/generated_client_workflow.py).
#
# Usage: bash .ci/generated_client.sh        (PYTHON=/path/to/python: the server's interpreter)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
# .ci/run exports PYTHON=python3 for `make venv`: the server needs the interpreter that has the project.
if ! "$PYTHON" -c "import django" 2>/dev/null; then PYTHON="$REPO/.venv/bin/python"; fi
GUNICORN="$(dirname "$PYTHON")/gunicorn"
GENERATOR_VERSION="0.29.1"
GEN_VENV="$REPO/var/openapi-python-client-$GENERATOR_VERSION"
if [ ! -x "$GEN_VENV/bin/openapi-python-client" ]; then
    python3 -m venv "$GEN_VENV"
    "$GEN_VENV/bin/pip" install -q "openapi-python-client==$GENERATOR_VERSION"
fi

WORK="$(mktemp -d -t leakledger-genclient-XXXXXX)"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=config.settings
export LEAKLEDGER_DATA_DIR="$WORK/data"
export DATABASE_URL="sqlite:///$WORK/client.sqlite3"
unset CELERY_BROKER_URL   # eager jobs; the workflow still polls each job as it would with a worker
mkdir -p "$LEAKLEDGER_DATA_DIR/static"
cd "$REPO"
"$PYTHON" manage.py migrate --noinput -v 0
"$PYTHON" manage.py seed_api --user client-owner > /dev/null   # training sets for the query to meet
TOKEN="$("$PYTHON" manage.py create_token client-owner 2>/dev/null | tail -1)"

"$GUNICORN" config.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --timeout 120 \
    --access-logfile /dev/null --error-logfile "$WORK/gunicorn.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if "$PYTHON" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/api/v1/schema/')" 2>/dev/null
    then break; fi
    sleep 0.2
done

mkdir "$WORK/gen"
(cd "$WORK/gen" && "$GEN_VENV/bin/openapi-python-client" generate \
    --url "http://127.0.0.1:$PORT/api/v1/schema/" --meta none 2>&1 | grep -v "ruff is not in PATH\|Skipping Integration\|^$" \
    | tee "$WORK/generate.log")
if grep -q "Unable to\|Could not\|Unsupported" "$WORK/generate.log"; then
    echo "the generator skipped parts of the schema (above)"; exit 1
fi
# Every generated module must import as generated (upstream #1451 broke modules with two body types).
(cd "$WORK/gen" && "$GEN_VENV/bin/python" - <<'PY'
import importlib, pkgutil, leak_ledger_api_client as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(f"{len(names)} generated modules import")
PY
)
# --bearer: the generated AuthenticatedClient's default "Bearer" prefix, unchanged.
PYTHONPATH="$WORK/gen" "$GEN_VENV/bin/python" "$REPO/.ci/generated_client_workflow.py" \
    "http://127.0.0.1:$PORT" "$TOKEN" "$REPO"
if grep -q "Traceback" "$WORK/gunicorn.log"; then echo "server tracebacks:"; cat "$WORK/gunicorn.log"; exit 1; fi
