#!/usr/bin/env bash
# Fuzzes every decoder, the Cookie header through the layer and the store id (the cargo-fuzz
# targets in fuzz/: five, so CI's 30 s each is 2.5 min) for a bounded time each, and fails if
# any target finds a crash. Crashing inputs land in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                 # 30 s per target
#   scripts/fuzz.sh 300             # 5 minutes per target
#   scripts/fuzz.sh 60 tagged_json  # one target
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 86400 cookie_header
#                                   # stop at 10 M executions (or the time bound, first)
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

failed=()
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    if ! cargo +nightly fuzz run "$target" -- \
        -max_total_time="$seconds" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} \
        -max_len=8192 -timeout=10 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: crash found in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: no crash in ${targets[*]} (${seconds}s each)"
