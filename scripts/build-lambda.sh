#!/usr/bin/env bash
# Build the Lambda artifact the way `sam build` (BuildMethod: rust-cargolambda) does:
#   cargo lambda build --release --arm64
# cargo-lambda and Zig (the cross-linker) come pinned from PyPI into .venv-build.
# Needs the Rust target: rustup target add aarch64-unknown-linux-gnu
# Prints the artifact's path and size. Pass --x86-64 to build for x86_64 instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [[ ! -x .venv-build/bin/cargo-lambda ]]; then
    python3 -m venv .venv-build
    .venv-build/bin/pip install --quiet -r requirements-build.txt
fi
export PATH="$PWD/.venv-build/bin:$PATH"
arch=--arm64
[[ "${1:-}" == "--x86-64" ]] && arch=--x86-64
start=$(date +%s)
cargo lambda build --release "$arch" --locked
end=$(date +%s)
bootstrap=target/lambda/dkim-autopilot/bootstrap
echo "built $bootstrap in $((end - start)) s: $(stat -c %s "$bootstrap") bytes ($(file -b "$bootstrap" | cut -d, -f1-2))"
