# Shared by scripts/test.sh and scripts/demo.sh: the project-local virtualenv and
# the emulator. Source it; it defines functions and changes nothing by itself.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$PROJECT_ROOT/.venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Create .venv and install the pinned test requirements (no-op when satisfied).
ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "==> creating $VENV" >&2
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.requirements.sha256"
    local want
    want=$(cat "$PROJECT_ROOT/requirements-test.txt" "$PROJECT_ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        echo "==> installing pinned test requirements into .venv" >&2
        "$VENV/bin/pip" install --quiet -r "$PROJECT_ROOT/requirements-test.txt" -c "$PROJECT_ROOT/constraints.txt"
        echo "$want" > "$stamp"
    fi
}

# Start the emulator (moto with the project's SES patch) on a free loopback port.
# Sets EMULATOR_PID and exports AWS_ENDPOINT_URL and dummy credentials.
start_emulator() {
    local log="${EMULATOR_LOG:-$PROJECT_ROOT/target/emulator.log}"
    mkdir -p "$(dirname "$log")"
    local fifo
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    # EMULATOR_WRAPPER: a command the emulator runs under (the clock-ahead guard's faketime).
    local wrapper=()
    read -r -a wrapper <<<"${EMULATOR_WRAPPER:-}"
    "${wrapper[@]}" "$VENV/bin/python" "$PROJECT_ROOT/scripts/moto_server.py" --host 127.0.0.1 --port 0 >"$fifo" 2>"$log" &
    EMULATOR_PID=$!
    local line=""
    if ! read -r -t 30 line <"$fifo" || [[ "$line" != READY* ]]; then
        echo "emulator did not start; see $log" >&2
        rm -f "$fifo"
        return 1
    fi
    rm -f "$fifo"
    export AWS_ENDPOINT_URL="${line#READY }"
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=
    unset AWS_SESSION_TOKEN AWS_PROFILE
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    echo "==> emulator at $AWS_ENDPOINT_URL (pid $EMULATOR_PID, log $log)" >&2
}

stop_emulator() {
    if [[ -n "${EMULATOR_PID:-}" ]]; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
        EMULATOR_PID=
    fi
}

# libfaketime from Debian, pinned, for the clock-ahead guard (scripts/test-clock-ahead.sh).
FAKETIME_VERSION="0.9.10-2.1"
ensure_faketime() {
    if command -v faketime >/dev/null 2>&1 \
        && dpkg-query -W -f='${Version}' faketime 2>/dev/null | grep -qx "$FAKETIME_VERSION"; then
        return 0
    fi
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "==> installing faketime $FAKETIME_VERSION (Debian)" >&2
    local packages=("faketime=$FAKETIME_VERSION" "libfaketime=$FAKETIME_VERSION")
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >&2; then
        "${sudo[@]}" apt-get update -q >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >&2
    fi
}
