#!/usr/bin/env bash
# Benchmarks (numbers, not pass/fail): init time, invocation latency, sequential round
# trips, bursts under AWS's rate limits (emulator throttling) and peak memory of the
# release binary, through the Lambda Runtime API against the emulator.
#   scripts/bench.sh            builds target/release/dkim-autopilot (several minutes cold)
#   BENCH_BURST=10 scripts/bench.sh                   a quick run (default 100 domains a burst)
#   BENCH_ROUNDS=100 BENCH_CONCURRENCY=1,2,3 BENCH_LATENCY=0.05 scripts/bench.sh
#   DKIM_AUTOPILOT_BIN=target/debug/dkim-autopilot scripts/bench.sh   no build, that binary
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"
ensure_venv
if [[ -z "${DKIM_AUTOPILOT_BIN:-}" ]]; then
    cargo build --locked --release --bin dkim-autopilot
    DKIM_AUTOPILOT_BIN="$PROJECT_ROOT/target/release/dkim-autopilot"
fi
export DKIM_AUTOPILOT_BIN
EMULATOR_LOG="$PROJECT_ROOT/target/bench-emulator.log" start_emulator
trap stop_emulator EXIT
"$VENV/bin/python" scripts/bench.py
