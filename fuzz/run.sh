#!/usr/bin/env bash
# Runs every fuzz target for 1 000 000 executions or 20 minutes, whichever comes first, two
# at a time (the CSV target, the slowest, beside the others in turn). Logs go to
# fuzz/logs/<target>.log; crashes to fuzz/artifacts/<target>/. See FUZZING.md.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
RUNS=${RUNS:-1000000}
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-1200}
mkdir -p logs
[ -d corpus ] || cargo run -q --manifest-path ../Cargo.toml -p conflux-testkit --example fuzz_seeds -- corpus
cargo fuzz build -a
run() {
    cargo fuzz run -a "$1" -- -runs="$RUNS" -max_total_time="$SECONDS_PER_TARGET" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 > "logs/$1.log" 2>&1 || true
    echo "$1: $(grep -E '^Done|^stat::number_of_executed_units' "logs/$1.log" | tr '\n' ' ')"
}
run csv &
for t in onnx json_model safetensors method_spec; do run "$t"; done
wait
if find artifacts -type f 2>/dev/null | grep -q .; then
    find artifacts -type f
    echo "crashes found (above)"
    exit 1
fi
echo "no crashes"
