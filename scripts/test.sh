#!/usr/bin/env bash
# Install what the tests need and run them all:
#   unit tests, emulator-backed integration tests, Lambda Runtime API tests (cargo),
#   the emulator harness and template tests (pytest), and cfn-lint on template.yaml.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"

ensure_venv
start_emulator
trap stop_emulator EXIT

log="$PROJECT_ROOT/target/test-output.log"
mkdir -p "$(dirname "$log")"
echo "==> cargo test" >&2
# `cli`: dkimctl and its tests (tests/dkimctl.rs); the function never builds with it.
cargo test --locked --features cli 2>&1 | tee "$log"

echo "==> pytest (emulator harness, template IAM shape)" >&2
"$VENV/bin/python" -m pytest -q tests 2>&1 | tee -a "$log"

echo "==> cfn-lint template.yaml templates/dns-account-role.yaml" >&2
"$VENV/bin/cfn-lint" template.yaml templates/dns-account-role.yaml
echo "cfn-lint: template.yaml and templates/dns-account-role.yaml clean" >&2

# One closing line for the whole run, from the runners' own counts.
passed=$(grep -hoE '([0-9]+) passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -hoE '([0-9]+) failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "$passed passed, $failed failed" | tee "$PROJECT_ROOT/target/test-summary.txt"
