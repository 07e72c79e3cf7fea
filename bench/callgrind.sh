#!/usr/bin/env bash
# Instructions per request under callgrind, for the rows issue 13 sets targets on: the satchel
# library on axum (sealed, flask, memory and Redis stores) and its /plain route, the same work
# done by hand without the layer (/floor/counter, sealed and memory: the floor), the
# tower-sessions peer (MemoryStore, Redis store), `satchel serve` (sealed /counter and /healthz),
# the typed session's /typed/counter against the dict's /dict/counter (sealed, memory),
# and the other Rust peers, each /counter beside its own /plain (satchel on actix-web,
# actix-session, axum_session). Counts, not seconds: repeatable on this shared machine. Writes
# results/callgrind.json (one line a row) and results/callgrind.md. The Redis rows use a Redis
# of their own on REDIS_PORT (6390), started here; the PostgreSQL row needs POSTGRES_URL (the
# harness's default otherwise) and is skipped, saying so, when nothing answers there.
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
actix=target/release/satchel-actix-peer
actix_session=target/release/actix-session-peer
axum_session=target/release/axum-session-peer
redis_port=${REDIS_PORT:-6390}
redis="redis://127.0.0.1:$redis_port"
postgres=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/satchel_bench}
data=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no > "$data/redis.log" &
redis_pid=$!
trap 'kill "$redis_pid" 2> /dev/null; rm -rf "$data"' EXIT
until redis-cli -p "$redis_port" ping > /dev/null 2>&1; do
  kill -0 "$redis_pid" || { echo "redis-server on $redis_port did not start: $(cat "$data/redis.log")"; exit 1; }
  sleep 0.1
done

row() {  # row LABEL [callgrind_request.py flags...] -- SERVER...
  local label=$1; shift
  python3 ../scripts/callgrind_request.py --pool "$pool" --seconds "$secs" --label "$label" \
    --json "$json" "$@"
}
row lib-plain --path /plain --no-cookie -- "$lib" '{addr}' sealed
row lib-sealed-counter --path /counter -- "$lib" '{addr}' sealed
row lib-flask-counter --path /counter -- "$lib" '{addr}' flask
row lib-memory-counter --path /counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
row lib-redis-counter --path /counter -- "$lib" '{addr}' "$redis"
# TypedSession against the dict Session, on paths of the same shape (issue 26).
row lib-sealed-dict-counter --path /dict/counter -- "$lib" '{addr}' sealed
row lib-sealed-typed-counter --path /typed/counter -- "$lib" '{addr}' sealed
row lib-memory-dict-counter --path /dict/counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
row lib-memory-typed-counter --path /typed/counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
row floor-sealed-counter --path /floor/counter -- "$lib" '{addr}' sealed
row floor-memory-counter --path /floor/counter -- "$lib" '{addr}' 'memory?max_sessions=100000'
row tower-memory-counter --path /counter -- "$tower" '{addr}' memory
row tower-redis-counter --path /counter -- "$tower" '{addr}' "$redis"
row serve-sealed-counter --path /counter -- "$satchel" serve --addr '{addr}' --format sealed --data-dir "$data/serve"
row serve-healthz --path /healthz --no-cookie -- "$satchel" serve --addr '{addr}' --format sealed --data-dir "$data/serve"
row actix-plain --path /plain --no-cookie -- "$actix" '{addr}' sealed
row actix-sealed-counter --path /counter -- "$actix" '{addr}' sealed
row actix-memory-counter --path /counter -- "$actix" '{addr}' 'memory?max_sessions=100000'
row actix-redis-counter --path /counter -- "$actix" '{addr}' "$redis"
row actix-session-plain --path /plain --no-cookie -- "$actix_session" '{addr}' cookie
row actix-session-cookie-counter --path /counter -- "$actix_session" '{addr}' cookie
row actix-session-redis-counter --path /counter -- "$actix_session" '{addr}' "$redis"
row axum-session-plain --path /plain --no-cookie -- "$axum_session" '{addr}' "$redis"
row axum-session-redis-counter --path /counter -- "$axum_session" '{addr}' "$redis"
if psql "$postgres" -qAtc 'select 1' > /dev/null 2>&1; then
  row axum-session-postgres-counter --path /counter -- "$axum_session" '{addr}' "$postgres" "callgrind_axum_session_$(date +%s)"
else
  echo "axum-session-postgres-counter skipped: nothing answers at POSTGRES_URL ($postgres)"
fi
python3 callgrind_report.py "$json" > "$results/callgrind.md"
cat "$results/callgrind.md"
