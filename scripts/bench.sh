#!/usr/bin/env bash
# Benchmarks (numbers, not pass/fail): init time, invocation latency and peak memory
# of the release binary, through the Lambda Runtime API against the emulator.
#   scripts/bench.sh            builds target/release/dkim-autopilot (several minutes cold)
#   BENCH_ROUNDS=100 scripts/bench.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"
ensure_venv
cargo build --locked --release --bin dkim-autopilot
export DKIM_AUTOPILOT_BIN="${DKIM_AUTOPILOT_BIN:-$PROJECT_ROOT/target/release/dkim-autopilot}"
EMULATOR_LOG="$PROJECT_ROOT/target/bench-emulator.log" start_emulator
trap stop_emulator EXIT
"$VENV/bin/python" scripts/bench.py
