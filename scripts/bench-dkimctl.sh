#!/usr/bin/env bash
# What `dkimctl status` costs for a fleet, under AWS's rate limits (emulator throttling):
#   scripts/bench-dkimctl.sh                 100 verified zones (debug build)
#   BENCH_FLEET=300 BENCH_SHARES=50 scripts/bench-dkimctl.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"
ensure_venv
cargo build --locked --quiet --features cli --bin dkimctl
export DKIMCTL_BIN="$PROJECT_ROOT/target/debug/dkimctl"
EMULATOR_LOG="$PROJECT_ROOT/target/bench-emulator.log" start_emulator
trap stop_emulator EXIT
"$VENV/bin/python" scripts/bench_dkimctl.py
