#!/usr/bin/env bash
# Fuzz the REST API with schemathesis against its own OpenAPI schema, authenticated and anonymous.
#
# Starts gunicorn on a throwaway loopback port with a throwaway SQLite database seeded with real
# fixture data (manage.py seed_api), runs schemathesis twice (with a token, then without), and
# stops the server. Fails on any server error or any response that breaks the schema.
#
# Usage: bash .ci/schemathesis.sh            (PYTHON=/path/to/python to choose the interpreter)
# Tunables: SCHEMATHESIS_MAX_EXAMPLES (per operation and run, default 25), SCHEMATHESIS_WORKERS (1),
# LEAKLEDGER_FUZZ_DATABASE_URL (an empty database to fuzz on instead of a SQLite file, e.g. PostgreSQL).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The first interpreter that has the project's requirements: $PYTHON if it does, then the
# repository's .venv (what `make venv` builds and CI uses), then python3/python on PATH, /work/venv.
found=""
for candidate in "${PYTHON:-}" "$REPO/.venv/bin/python" "$(command -v python3 || true)" \
    "$(command -v python || true)" /work/venv/bin/python; do
    if [ -n "$candidate" ] && "$candidate" -c "import django, rest_framework, schemathesis, gunicorn" 2>/dev/null
    then found="$candidate"; break; fi
done
PYTHON="$found"
echo "python: ${PYTHON:-none}"
: "${PYTHON:?no Python with Django, DRF and schemathesis found: set PYTHON=/path/to/venv/bin/python}"
BIN="$(dirname "$PYTHON")"
SCHEMATHESIS="${SCHEMATHESIS:-$BIN/schemathesis}"
[ -x "$SCHEMATHESIS" ] || SCHEMATHESIS="$(command -v schemathesis)"
GUNICORN="$BIN/gunicorn"
[ -x "$GUNICORN" ] || GUNICORN="$(command -v gunicorn)"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
WORKERS="${SCHEMATHESIS_WORKERS:-1}"  # more workers trip a CPython 3.11 ast bug inside hypothesis

WORK="$(mktemp -d -t leakledger-fuzz-XXXXXX)"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=config.settings
export LEAKLEDGER_DATA_DIR="$WORK/data"
# An empty database to run on (LEAKLEDGER_FUZZ_DATABASE_URL, e.g. a PostgreSQL one); by default a SQLite file.
export DATABASE_URL="${LEAKLEDGER_FUZZ_DATABASE_URL:-sqlite:///$WORK/fuzz.sqlite3}"
export LEAKLEDGER_THROTTLE_ANON="1000000/minute"   # fuzzing is not abuse; throttling is tested in pytest
export LEAKLEDGER_THROTTLE_USER="1000000/minute"
export LEAKLEDGER_MAX_FILE_BYTES="${LEAKLEDGER_MAX_FILE_BYTES:-2000000}"
# Every query the fuzzing makes is also compiled by Django and compared with the cached statement
# (registry/db/compiled.py); a difference is a 500 with a traceback in the log, which fails the run.
export LEAKLEDGER_SQL_CACHE="${LEAKLEDGER_SQL_CACHE:-verify}"
unset CELERY_BROKER_URL                            # eager jobs: uploads and queries finish in the request
mkdir -p "$LEAKLEDGER_DATA_DIR"
cd "$REPO"

"$PYTHON" manage.py migrate --noinput -v 0
"$PYTHON" manage.py collectstatic --noinput -v 0   # HTML answers (browsable API) name hashed static files
"$PYTHON" manage.py seed_api --user fuzz-owner > "$WORK/seed.json"
TOKEN="$("$PYTHON" manage.py create_token fuzz-owner)"
echo "seeded: $(cat "$WORK/seed.json")"

"$GUNICORN" config.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --timeout 120 \
    --limit-request-line 0 --access-logfile /dev/null --error-logfile "$WORK/gunicorn.log" 2>>"$WORK/gunicorn.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if "$PYTHON" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$PORT/api/v1/schema/')" \
        2>/dev/null; then break; fi
    sleep 0.2
done

BASE="http://127.0.0.1:$PORT/api/v1/schema/"
status=0
# Speed is measured in benchmarks/, never limited in a test: an answer may take up to the request timeout
# (60 s, not schemathesis's default 10 s: without a worker a split's verification runs in the request).
# Every check runs except positive_data_acceptance, which expects 2xx for any input the schema
# allows: this API also rejects inputs on meaning, by design and with the documented error shape
# (a reference to nothing is 404, a file that is not sequences is 400 naming the line, an upload
# to someone else's dataset is 403), and no schema can say which names exist.
run() {
    local label="$1"; shift
    echo "== schemathesis: $label"
    local config=()
    if [ "${1:-}" = "--config-file" ]; then config=(--config-file "$2"); shift 2; fi
    "$SCHEMATHESIS" "${config[@]}" run "$BASE" \
        --checks all \
        --exclude-checks positive_data_acceptance \
        --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing}" \
        --max-examples "$MAX_EXAMPLES" \
        --workers "$WORKERS" \
        --seed 20261125 \
        --request-timeout 60 \
        --max-response-time 60 \
        --suppress-health-check too_slow,filter_too_much \
        --report ndjson --report-ndjson-path "$WORK/$label.ndjson" \
        "$@" || status=1
    "$PYTHON" - "$WORK/$label.ndjson" <<'PY'
import json, sys
requests = 0
for line in open(sys.argv[1]):
    event = json.loads(line)
    for key in ("ScenarioFinished",):
        if key in event:
            recorder = event[key].get("recorder", {})
            requests += sum(len(v) for v in recorder.get("interactions", {}).values()) if isinstance(
                recorder.get("interactions"), dict) else 0
print(f"HTTP interactions recorded: {requests}")
PY
}
# The authenticated run also reaches the seeded objects (path parameters bound to real names and
# UUIDs), so that 200 answers of every detail operation are checked against the schema; the
# anonymous run keeps every path parameter free, for the 404 paths.
"$PYTHON" - "$WORK/seed.json" > "$WORK/schemathesis.toml" <<'PY'
import json, sys
seed = json.load(open(sys.argv[1]))
bindings = [
    (r"^/api/v1/datasets/\{name\}", {"name": "flip-bind"}),
    (r"^/api/v1/versions/\{ref\}", {"ref": "flip-bind@1"}),
    (r"^/api/v1/models/\{name\}", {"name": "binder"}),
    (r"^/api/v1/model-versions/\{ref\}", {"ref": "binder@2"}),
    (r"^/api/v1/evaluations/\{uuid\}", {"uuid": seed["evaluation"]}),
    (r"^/api/v1/splits/\{uuid\}", {"uuid": seed["split"]}),
    (r"^/api/v1/parts/\{uuid\}", {"uuid": seed["part"]}),
    (r"^/api/v1/overlap-reports/\{uuid\}", {"uuid": seed["overlap_report"]}),
    (r"^/api/v1/jobs/\{uuid\}", {"uuid": seed["job"]}),
]
for regex, values in bindings:
    if None in values.values():
        continue
    print("[[operations]]")
    print(f"include-path-regex = {json.dumps(regex)}")
    print("parameters = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items()) + " }")
    print()
PY
# The authenticated run is the only one that writes (the anonymous run is refused every write, the
# hostile runs are GET only) and the longest: the three read-only runs go on beside it, one after
# another, against the same server (its two workers answer one request of each at a time; SQLite in WAL
# mode serves readers while the writer writes). Each run's output is printed whole when both are done.
writer() {
    run authenticated --config-file "$WORK/schemathesis.toml" -H "Authorization: Token $TOKEN"
    return $status
}
readers() {
    run anonymous
    # Hostile data: negative data only, strings with NUL characters, and cursors that decode but carry a
    # position of the wrong type (.ci/schemathesis_hooks.py), on the read operations. Unknown query
    # parameters are ignored, as DRF does, so negative_data_rejection (which wants them refused) is off
    # here: this run is about 500s, the error shape and the schema of every answer.
    SCHEMATHESIS_HOOKS="$REPO/.ci/schemathesis_hooks.py" run hostile --config-file "$WORK/schemathesis.toml" \
        -H "Authorization: Token $TOKEN" --mode negative --generation-allow-x00 true --include-method GET \
        --exclude-checks positive_data_acceptance,negative_data_rejection
    SCHEMATHESIS_HOOKS="$REPO/.ci/schemathesis_hooks.py" run hostile-cursors --config-file "$WORK/schemathesis.toml" \
        --mode positive --generation-allow-x00 true --include-method GET
    return $status
}
writer > "$WORK/writer.out" 2>&1 &
writer_pid=$!
readers > "$WORK/readers.out" 2>&1 &
readers_pid=$!
wait "$writer_pid" || status=1
wait "$readers_pid" || status=1
cat "$WORK/writer.out" "$WORK/readers.out"
if grep -q "Traceback\|Internal Server Error" "$WORK/gunicorn.log"; then
    echo "server tracebacks:"; cat "$WORK/gunicorn.log"; status=1
fi
exit $status
