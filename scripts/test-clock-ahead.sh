#!/usr/bin/env bash
# The clock-ahead guard: every Rust test (unit, emulator, Runtime API, faults) and the
# emulator's harness tests, run with the clock moved ahead (CLOCK_AHEAD, a libfaketime
# offset, default +365d) for every process that reads it: the test processes (which
# make sample instants relative to now and send Lambda's deadline header), the
# function binary they start, and the emulator. A test that holds only before or
# after some calendar date fails here first, not on the day it breaks.
#
# cargo and pip run on the real clock; only the built test binaries, the emulator and
# pytest run under faketime. The function has no code path of its own for this: it
# reads the same clock call, which libfaketime answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"

ahead="${CLOCK_AHEAD:-+365d}"
ensure_venv
ensure_faketime

echo "==> building the tests (real clock)" >&2
mapfile -t binaries < <(
    cargo test --locked --features cli --no-run --message-format=json 2>/dev/null |
        "$VENV/bin/python" -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])
'
)
[[ ${#binaries[@]} -gt 0 ]] || { echo "no test binaries were built" >&2; exit 1; }

# libfaketime shifts the monotonic clock by the same offset (it runs at the same
# rate, so timers and pacers are unaffected); sparing it with
# FAKETIME_DONT_FAKE_MONOTONIC breaks Python's time.sleep (EINVAL) in 0.9.10.
EMULATOR_WRAPPER="faketime -f $ahead" EMULATOR_LOG="$PROJECT_ROOT/target/clock-ahead-emulator.log" start_emulator
trap stop_emulator EXIT

# The emulator's clock, read from the real one: proof that the offset took.
"$VENV/bin/python" - "$ahead" <<'PY'
import email.utils, os, re, sys, time, urllib.request
want = sys.argv[1]
m = re.fullmatch(r"([+-]\d+)d", want)
with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_harness/throttle") as r:
    seen = email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp()
days = (seen - time.time()) / 86400
print(f"==> emulator clock is {days:+.2f} days from the real one ({r.headers['Date']})", file=sys.stderr)
if m and abs(days - int(m.group(1))) > 0.01:
    sys.exit(f"the emulator's clock is {days:+.2f} days off, not {want}")
PY

log="$PROJECT_ROOT/target/clock-ahead-output.log"
: >"$log"
status=0
for binary in "${binaries[@]}"; do
    echo "==> $ahead: $(basename "$binary")" >&2
    faketime -f "$ahead" "$binary" 2>&1 | tee -a "$log" || status=1
done
echo "==> $ahead: pytest tests/harness" >&2
faketime -f "$ahead" "$VENV/bin/python" -m pytest -q tests/harness 2>&1 | tee -a "$log" || status=1

passed=$(grep -hoE '([0-9]+) passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -hoE '([0-9]+) failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "clock $ahead: $passed passed, $failed failed" | tee "$PROJECT_ROOT/target/clock-ahead-summary.txt"
exit $status
