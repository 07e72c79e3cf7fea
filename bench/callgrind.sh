#!/usr/bin/env bash
# Instructions per request under callgrind, for the rows issue 13 sets targets on: the satchel
# library on axum (sealed, flask, memory store) and its /plain route, the typed session's
# /typed/counter against the dict's /dict/counter (sealed, memory), the same work done by hand
# without the layer (/floor/counter, sealed and memory: the floor), the tower-sessions peer, and
# `satchel serve` (sealed /counter and /healthz). Counts, not seconds: repeatable on this
# shared machine. Writes results/callgrind.json (one line a row) and results/callgrind.md.
#
#   bench/callgrind.sh                    # after bench/run's release builds (it calls this)
#   SECONDS_PER_ROW=8 POOL=2000 bench/callgrind.sh
set -euo pipefail
cd "$(dirname "$0")"
results=${RESULTS:-results}
mkdir -p "$results"
json="$results/callgrind.json"
: > "$json"
export SECRET_KEY="satchel-bench-only-not-a-secret-0123456789abcdef"
export ADMIN_PASSWORD="bench-only-password"
pool=${POOL:-1000}
secs=${SECONDS_PER_ROW:-4}
lib=target/release/satchel-axum-peer
tower=target/release/tower-sessions-peer
satchel=../target/release/satchel
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

row() {  # row LABEL [callgrind_request.py flags...] -- SERVER...
  local label=$1; shift
  python3 ../scripts/callgrind_request.py --pool "$pool" --seconds "$secs" --label "$label" \
    --json "$json" "$@"
}
row lib-plain --path /plain --no-cookie -- "$lib" '{addr}' sealed
row lib-sealed-counter --path /counter -- "$lib" '{addr}' sealed
row lib-flask-counter --path /counter -- "$lib" '{addr}' flask
row lib-memory-counter --path /counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
# TypedSession against the dict Session, on paths of the same shape (issue 26).
row lib-sealed-dict-counter --path /dict/counter -- "$lib" '{addr}' sealed
row lib-sealed-typed-counter --path /typed/counter -- "$lib" '{addr}' sealed
row lib-memory-dict-counter --path /dict/counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
row lib-memory-typed-counter --path /typed/counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
row floor-sealed-counter --path /floor/counter -- "$lib" '{addr}' sealed
row floor-memory-counter --path /floor/counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
row tower-memory-counter --path /counter -- "$tower" '{addr}' memory
row serve-sealed-counter --path /counter -- "$satchel" serve --addr '{addr}' --format sealed --data-dir "$data/serve"
row serve-healthz --path /healthz --no-cookie -- "$satchel" serve --addr '{addr}' --format sealed --data-dir "$data/serve"
python3 callgrind_report.py "$json" > "$results/callgrind.md"
cat "$results/callgrind.md"
