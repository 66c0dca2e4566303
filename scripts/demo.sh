#!/usr/bin/env bash
# The demo: onboard one domain end to end against the local emulator, through the
# Lambda Runtime API, and follow it to "DKIM verified"; then a reconcile onboards a
# zone no event named, and the next one heals a DKIM record deleted after verification;
# last, dkimctl shows the fleet.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"

ensure_venv
echo "==> building the function and dkimctl" >&2
# The `cli` feature builds dkimctl; with the same features as scripts/test.sh, one build serves both.
cargo build --locked --quiet --features cli --bin dkim-autopilot --bin dkimctl
export DKIM_AUTOPILOT_BIN="$PROJECT_ROOT/target/debug/dkim-autopilot"
export DKIMCTL_BIN="$PROJECT_ROOT/target/debug/dkimctl"
EMULATOR_LOG="$PROJECT_ROOT/target/demo-emulator.log" start_emulator
trap stop_emulator EXIT
"$VENV/bin/python" scripts/demo.py
