"""dkimctl beside the function: its defaults are the template's, and what only it
needs never enters the Lambda binary.

Run after `cargo test --features cli` has built target/debug/dkimctl
(scripts/test.sh does): .venv/bin/python -m pytest tests/test_packaging.py -q
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parent.parent
DKIMCTL = ROOT / "target" / "debug" / "dkimctl"
CLI_ONLY = {"clap", "indicatif", "aws-sdk-lambda", "aws-sdk-sso", "aws-sdk-ssooidc"}


def cli_defaults(subcommand: str) -> dict[str, str]:
    assert DKIMCTL.exists(), f"{DKIMCTL} is missing: build it with `cargo test --features cli`"
    text = subprocess.run(
        [str(DKIMCTL), subcommand, "--help"], check=True, capture_output=True, text=True
    ).stdout
    defaults = {}
    for flag, default in re.findall(r"--([a-z-]+)[^\n]*(?:\n(?!\s*-)[^\n]*)*?\[default: ([^\]]+)\]", text):
        defaults[flag] = default
    return defaults


def template_default(parameter: str) -> str:
    template, matches = decode_str((ROOT / "template.yaml").read_text())
    assert not matches, matches
    return str(template["Parameters"][parameter]["Default"])


def test_requests_go_where_the_template_listens_by_default():
    for subcommand in ["onboard", "offboard", "reconcile"]:
        defaults = cli_defaults(subcommand)
        assert defaults.get("bus") == template_default("InboundEventBusName"), (subcommand, defaults)
        assert defaults.get("source") == template_default("CustomEventSource"), (subcommand, defaults)


def test_the_parser_of_help_finds_defaults():
    # So that the test above cannot pass on an empty parse.
    assert cli_defaults("status").get("budget-share") == "50"


def packages(*features: str) -> set[str]:
    out = subprocess.run(
        ["cargo", "tree", "--locked", "-e", "normal", "--prefix", "none", *features],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return {line.split(" ")[0] for line in out.splitlines() if line.strip()}


def test_the_function_is_built_without_what_only_dkimctl_needs():
    function = packages()
    with_cli = packages("--features", "cli")
    assert not function & CLI_ONLY, function & CLI_ONLY
    # And the check looks at names that exist: with the feature, they are there.
    assert {"clap", "indicatif", "aws-sdk-lambda"} <= with_cli


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_declared_rust_version_is_what_the_locked_dependencies_need():
    out = subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1", "--all-features"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    packages = json.loads(out)["packages"]
    ours = next(p for p in packages if p["name"] == "dkim-autopilot")
    needed = max((_version(p["rust_version"]), p["name"]) for p in packages
                 if p.get("rust_version") and p["name"] != "dkim-autopilot")
    assert _version(ours["rust_version"]) >= needed[0], (
        f"Cargo.toml says rust-version {ours['rust_version']}, but {needed[1]} needs "
        f"{'.'.join(map(str, needed[0]))}")
