#!/usr/bin/env bash
# Fuzzes every decoder, the Cookie header through the layer, the store id and the client
# address behind trusted proxies (the cargo-fuzz targets in fuzz/: six, so CI's 30 s each is
# 3 min) for a bounded time each, and fails if any target finds a crash. Crashing inputs land
# in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                 # 30 s per target
#   scripts/fuzz.sh 300             # 5 minutes per target
#   scripts/fuzz.sh 60 tagged_json  # one target
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 86400 cookie_header
#                                   # stop at 10 M executions (or the time bound, first)
#
# Exit status: 0 no crash, 1 a crash (its input is in fuzz/artifacts/), 3 a target stopped early
# without a crash (interrupted, or it did not build).
#
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). The committed seeds
# (fuzz/corpus/<target>/seed-*) are the starting corpus; what a run adds stays untracked.
set -euo pipefail

seconds="${1:-30}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi

cd "$(dirname "$0")/../fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# libFuzzer writes every crash, leak, timeout or out-of-memory input to fuzz/artifacts/<target>/
# and exits non-zero; an interrupted run (Ctrl-C, a killed job) also exits non-zero but writes
# nothing. Only a new artifact counts as a crash; any other failure is reported as such.
artifacts_of() {
    if [ -d "artifacts/$1" ]; then
        find "artifacts/$1" -type f | sort
    fi
}

crashed=()
broken=()
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s${FUZZ_RUNS:+ or $FUZZ_RUNS executions}"
    before="$(artifacts_of "$target")"
    status=0
    cargo +nightly fuzz run "$target" -- \
        -max_total_time="$seconds" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} \
        -max_len=8192 -timeout=10 -print_final_stats=1 || status=$?
    new="$(comm -13 <(printf '%s\n' "$before") <(artifacts_of "$target") | sed '/^$/d')"
    if [ -n "$new" ]; then
        echo "fuzz: $target crashed; inputs:" >&2
        printf '  %s\n' $new >&2
        crashed+=("$target")
    elif [ "$status" -ne 0 ]; then
        echo "fuzz: $target stopped with status $status and no crash input (interrupted, or it did not build)" >&2
        broken+=("$target")
    fi
done

if [ "${#crashed[@]}" -gt 0 ]; then
    echo "fuzz: crash found in: ${crashed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
if [ "${#broken[@]}" -gt 0 ]; then
    echo "fuzz: no crash, but these did not finish: ${broken[*]}" >&2
    exit 3
fi
echo "fuzz: no crash in ${targets[*]} (${seconds}s each${FUZZ_RUNS:+ or $FUZZ_RUNS executions})"
