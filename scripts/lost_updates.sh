#!/usr/bin/env bash
# Lost updates and 503s on ONE hot session: wrk drives /counter with a single session cookie on
# every connection, then the final counter is read back. lost = successful increments that the
# final counter does not show. Runs the memory store (one process) and Redis (one process, and
# two processes sharing it, each taking half the connections).
#
#   scripts/lost_updates.sh [SECONDS] [CONNECTIONS]     (default 5 s, 32 connections)
#
# Needs a release build (cargo build --release -p satchel-cli), wrk, and Redis on 127.0.0.1:6379.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-5}"
connections="${2:-32}"
satchel=target/release/satchel
export SECRET_KEY="lost-updates-script-key-0123456789abcdefghijkl" ADMIN_PASSWORD="not used here"
data=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$data"' EXIT

start() {  # start PORT STORE: a server in the background, polled until it answers
  "$satchel" serve --addr "127.0.0.1:$1" --store "$2" --data-dir "$data/$1" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.1; done
  echo "server on port $1 did not start" >&2; exit 1
}

successes() {  # successes WRK_OUTPUT: requests answered 2xx
  local total non2xx
  total=$(grep -Eo '^ +[0-9]+ requests in' "$1" | grep -Eo '[0-9]+')
  non2xx=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' "$1" | grep -Eo '[0-9]+$' || echo 0)
  echo $((total - non2xx)) "$non2xx"
}

run() {  # run LABEL STORE PORT...: one hot session across the given servers
  local label=$1 store=$2; shift 2
  for port in "$@"; do start "$port" "$store"; done
  local cookie
  cookie=$(curl -s -D - -o /dev/null "http://127.0.0.1:$1/counter" | grep -i '^set-cookie: session=' | sed -E 's/^[^:]+: ([^;]+).*/\1/')
  local per=$((connections / $#)) ok=0 busy=0 rps=0 i=0 drivers=()
  for port in "$@"; do
    wrk -t1 -c"$per" -d"${seconds}s" -H "Cookie: $cookie" "http://127.0.0.1:$port/counter" > "$data/wrk$i" &
    drivers+=($!)
    i=$((i + 1))
  done
  wait "${drivers[@]}"
  for ((j = 0; j < i; j++)); do
    read -r s b < <(successes "$data/wrk$j")
    ok=$((ok + s)); busy=$((busy + b))
    rps=$(awk -v a="$rps" -v b="$(grep -Eo 'Requests/sec: +[0-9.]+' "$data/wrk$j" | grep -Eo '[0-9.]+$')" 'BEGIN { printf "%.0f", a + b }')
  done
  local final
  final=$(curl -s -H "Cookie: $cookie" "http://127.0.0.1:$1/counter")
  # The first request set n = 1 and the read-back adds one: the increments wrk made are final - 2.
  local lost=$((ok - (final - 2)))
  printf '%-28s %9s req/s  %8s ok  %6s non-2xx  final n=%-8s lost=%s\n' "$label" "$rps" "$ok" "$busy" "$final" "$lost"
  kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=()
}

echo "one hot session, $connections connections, ${seconds}s, $(nproc) cores"
run "memory, 1 process" "memory" 5201
run "redis, 1 process" "redis://127.0.0.1:6379" 5202
run "redis, 2 processes" "redis://127.0.0.1:6379" 5203 5204
