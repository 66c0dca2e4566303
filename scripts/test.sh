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

echo "==> cargo test" >&2
cargo test --locked

echo "==> pytest (emulator harness, template IAM shape)" >&2
"$VENV/bin/python" -m pytest -q tests

echo "==> cfn-lint template.yaml" >&2
"$VENV/bin/cfn-lint" template.yaml
echo "cfn-lint: template.yaml clean" >&2
