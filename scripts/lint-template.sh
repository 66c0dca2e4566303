#!/usr/bin/env bash
# Lint template.yaml and templates/dns-account-role.yaml offline.
#
#   scripts/lint-template.sh                 cfn-lint on both (must print nothing)
#   DKIM_LINT_SAM=1 scripts/lint-template.sh also `sam validate --lint`
#   DKIM_LINT_CHECKOV=1 ...                  also checkov: no finding may stand
#                                            without a suppression and its reason
#
# cfn-lint runs from the project venv .venv (created if missing, shared with the
# moto-based tests; pins in requirements-lint.txt). The SAM CLI lives in its own
# venv .venv-sam (requirements-sam.txt) so its pins cannot disturb .venv.
# Packages are installed only when a pin is not already satisfied, so repeated
# runs need no network. Neither tool needs AWS credentials.
set -euo pipefail

cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

# ensure_venv DIR REQUIREMENTS [PIP ARGS...]: create DIR, install REQUIREMENTS if needed.
ensure_venv() {
    local venv=$1 requirements=$2
    shift 2
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "lint-template: creating $venv" >&2
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python" - "$requirements" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

missing = []
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        have = version(name.split("[", 1)[0])
    except PackageNotFoundError:
        have = None
    if have != want:
        missing.append(f"{name} {have} != {want}")
sys.exit(1 if missing else 0)
PY
    then
        echo "lint-template: installing $requirements into $venv" >&2
        "$venv/bin/python" -m pip install --quiet -r "$requirements" "$@"
    fi
}

# constraints.txt (the project's pip freeze) pins cfn-lint's dependencies too.
constraints=()
[[ -f constraints.txt ]] && constraints=(-c constraints.txt)
ensure_venv .venv requirements-lint.txt "${constraints[@]}"
echo "lint-template: cfn-lint $(.venv/bin/cfn-lint --version | awk '{print $2}') template.yaml templates/dns-account-role.yaml" >&2
# No rule is suppressed: warnings fail the run just like errors (exit code != 0).
.venv/bin/cfn-lint template.yaml templates/dns-account-role.yaml

if [[ "${DKIM_LINT_SAM:-0}" == "1" ]]; then
    # constraints-sam.txt: the pip freeze of a working .venv-sam.
    ensure_venv .venv-sam requirements-sam.txt -c constraints-sam.txt
    # sam validate translates the template locally; it only needs a Region name.
    # Telemetry off so nothing tries to reach the network.
    export SAM_CLI_TELEMETRY=0
    export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
    echo "lint-template: $(.venv-sam/bin/sam --version) validate --lint" >&2
    .venv-sam/bin/sam validate --lint --template-file template.yaml
fi

if [[ "${DKIM_LINT_CHECKOV:-0}" == "1" ]]; then
    ensure_venv .venv-checkov requirements-checkov.txt -c constraints-checkov.txt
    echo "lint-template: checkov $(.venv-checkov/bin/checkov --version) --framework cloudformation" >&2
    # Offline, checkov's guideline download fails with a traceback on stderr that is only
    # a warning: kept in target/checkov.log, shown when a check fails.
    mkdir -p target
    if ! .venv-checkov/bin/checkov --quiet --compact --framework cloudformation \
        -f template.yaml -f templates/dns-account-role.yaml 2>target/checkov.log; then
        cat target/checkov.log >&2
        exit 1
    fi
fi
