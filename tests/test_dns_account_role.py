"""Static checks of templates/dns-account-role.yaml, the role a user deploys in the
account that holds the hosted zones when the function runs in another one.

As in tests/test_template.py, each ``check_*`` returns a list of problems; the real
template has none, and every check flags at least one deliberately widened copy
(MUTATIONS). The Route 53 grants are compared with the function role's own in
template.yaml, resolved for the same scenario, so the two cannot drift apart.

Run: .venv/bin/python -m pytest tests/test_dns_account_role.py -q
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable

import pytest

from test_template import (
    ROOT,
    Resolver,
    as_list,
    check_no_wildcard_actions,
    check_wildcard_resources_commented,
    load,
    role_statements,
)

DNS_ROLE_PATH = ROOT / "templates" / "dns-account-role.yaml"
FUNCTION_ROLE = "arn:aws:iam::123456789012:role/dkim-FunctionRole-ABC123"
EXTERNAL_ID = "tenant-7"

SCENARIOS: dict[str, dict] = {
    "every zone": {},
    "two zones": {"HostedZoneIds": "ZONEA,ZONEB"},
    "govcloud, one zone": {"region": "us-gov-west-1", "partition": "aws-us-gov", "HostedZoneIds": "ZONEA"},
    "china, every zone": {"region": "cn-north-1", "partition": "aws-cn"},
    "MAIL FROM and DMARC on": {"MailFromSubdomain": "bounce", "DmarcPolicy": "none"},
    "DMARC only, one zone": {"DmarcPolicy": "reject", "HostedZoneIds": "ZONEA"},
}

ROLE_ARNS_ACCEPTED = [FUNCTION_ROLE, "arn:aws-us-gov:iam::123456789012:role/path/dkim-role"]
ROLE_ARNS_REFUSED = ["", "*", "arn:aws:iam::123456789012:root", "123456789012",
                     "arn:aws:iam::123456789012:user/dkim", "arn:aws:sts::123456789012:assumed-role/r/s"]


def dns_text() -> str:
    return DNS_ROLE_PATH.read_text()


def dns_template() -> dict:
    return load(dns_text())


def resolver(tpl: dict, **kw: Any) -> Resolver:
    return Resolver(tpl, **{"FunctionRoleArn": FUNCTION_ROLE, **kw})


def _key(st: dict) -> str:
    return json.dumps({k: (as_list(v) if k == "Resource" else v) for k, v in st.items()}, sort_keys=True)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def check_trust(tpl: dict) -> list[str]:
    """Only the function's role may assume it, with the external id when one is set."""
    problems = []
    roles = [n for n, r in tpl["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    if roles != ["DnsRole"]:
        return [f"IAM roles {roles}, want exactly DnsRole"]
    for external_id in ("", EXTERNAL_ID):
        res = resolver(tpl, ExternalId=external_id).resources()
        trust = res["DnsRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        want = {"Sid": "TrustDkimAutopilotFunctionRoleOnly", "Effect": "Allow",
                "Principal": {"AWS": FUNCTION_ROLE}, "Action": "sts:AssumeRole"}
        if external_id:
            want["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        if trust != [want]:
            problems.append(f"[ExternalId {external_id!r}] trust policy {trust!r}, want [{want!r}]")
    return problems


def check_permissions(tpl: dict) -> list[str]:
    """Exactly the function role's Route 53 statements (actions, resources and
    condition keys), for the same zones, and nothing else."""
    problems = []
    function_tpl = load()
    for scen, kw in SCENARIOS.items():
        res = resolver(tpl, **kw).resources()
        got = role_statements(res, "DnsRole")
        fn_res = Resolver(function_tpl, **kw).resources()
        want = [st for st in role_statements(fn_res, "FunctionRole")
                if all(a.startswith("route53:") for a in as_list(st.get("Action", [])))]
        sending = bool(kw.get("MailFromSubdomain")) or kw.get("DmarcPolicy", "off") != "off"
        expected = 7 if sending else 6
        if len(want) != expected:
            problems.append(f"[{scen}] template.yaml has {len(want)} Route 53 statements, expected {expected}")
        if sorted(map(_key, got)) != sorted(map(_key, want)):
            extra = sorted(set(map(_key, got)) - set(map(_key, want)))
            missing = sorted(set(map(_key, want)) - set(map(_key, got)))
            problems.append(f"[{scen}] DnsRole differs from the function role's Route 53 statements: "
                            f"extra {extra}, missing {missing}")
        if res["DnsRole"]["Properties"].get("ManagedPolicyArns"):
            problems.append(f"[{scen}] DnsRole has managed policies")
    return problems


def check_parameters(tpl: dict) -> list[str]:
    problems = []
    params = tpl["Parameters"]
    fn = params.get("FunctionRoleArn", {})
    if "Default" in fn:
        problems.append("FunctionRoleArn has a default; it must be given")
    pattern = fn.get("AllowedPattern", ".*")
    problems += [f"FunctionRoleArn refuses {v!r}" for v in ROLE_ARNS_ACCEPTED if not re.fullmatch(pattern, v)]
    problems += [f"FunctionRoleArn accepts {v!r}" for v in ROLE_ARNS_REFUSED if re.fullmatch(pattern, v)]
    ext = params.get("ExternalId", {})
    if (ext.get("Type"), ext.get("Default"), str(ext.get("NoEcho")).lower()) != ("String", "", "true"):
        problems.append(f"ExternalId {ext!r}, want an optional NoEcho String")
    zones = params.get("HostedZoneIds", {})
    if (zones.get("Type"), zones.get("Default")) != ("CommaDelimitedList", ""):
        problems.append(f"HostedZoneIds {zones!r}, want an optional CommaDelimitedList")
    outputs = tpl.get("Outputs", {})
    if outputs.get("RoleArn", {}).get("Value") != {"Fn::GetAtt": ["DnsRole", "Arn"]}:
        problems.append(f"output RoleArn {outputs.get('RoleArn')!r}")
    return problems


CHECKS: list[Callable[[dict], list[str]]] = [
    check_trust,
    check_permissions,
    check_parameters,
    check_no_wildcard_actions,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_dns_account_role(check):
    assert check(dns_template()) == []


def test_wildcard_resources_are_commented():
    assert check_wildcard_resources_commented(dns_text()) == []


def test_function_stack_outputs_the_role_the_dns_role_trusts():
    outputs = load()["Outputs"]
    assert outputs["FunctionRoleArn"]["Value"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}


# ---------------------------------------------------------------------------
# Every check must be able to fail.
# ---------------------------------------------------------------------------


def _statement(t: dict, sid: str) -> dict:
    for st in t["Resources"]["DnsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if st.get("Sid") == sid:
            return st
    raise KeyError(sid)


def _trust(t: dict) -> dict:
    return t["Resources"]["DnsRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]


def m_trust_whole_account(t):
    _trust(t)["Principal"] = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::123456789012:root"}}


def m_trust_anyone(t):
    _trust(t)["Principal"] = {"AWS": "*"}


def m_trust_ignores_external_id(t):
    del _trust(t)["Condition"]


def m_trust_a_service_too(t):
    _trust(t)["Principal"]["Service"] = "lambda.amazonaws.com"


def m_create_zones(t):
    _statement(t, "Route53ChangeDkimCnamesOnly")["Action"] = "route53:CreateHostedZone"


def m_any_record(t):
    del _statement(t, "Route53ChangeDkimCnamesOnly")["Condition"]["ForAllValues:StringLike"]


def m_txt_records(t):
    cond = _statement(t, "Route53ChangeDkimCnamesOnly")["Condition"]["ForAllValues:StringEquals"]
    cond["route53:ChangeResourceRecordSetsRecordTypes"] = ["CNAME", "TXT"]


def m_ignores_zone_ids(t):
    _statement(t, "Route53ListResourceRecordSets")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/*"}


def m_extra_ses(t):
    sts = t["Resources"]["DnsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    sts.append({"Sid": "Ses", "Effect": "Allow", "Action": "ses:VerifyDomainDkim", "Resource": "*"})


def m_managed_policy(t):
    t["Resources"]["DnsRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/AmazonRoute53FullAccess"]


def m_missing_tags_read(t):
    sts = t["Resources"]["DnsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    sts[:] = [st for st in sts if st.get("Sid") != "Route53ListTagsForResources"]


def m_route53_star(t):
    _statement(t, "Route53GetHostedZone")["Action"] = "route53:*"


def m_external_id_echoed(t):
    del t["Parameters"]["ExternalId"]["NoEcho"]


def m_function_role_any_arn(t):
    t["Parameters"]["FunctionRoleArn"]["AllowedPattern"] = ".*"


def m_function_role_default(t):
    t["Parameters"]["FunctionRoleArn"]["Default"] = "*"


def m_no_output(t):
    del t["Outputs"]["RoleArn"]


MUTATIONS: list[tuple[Callable, Callable]] = [
    (m_trust_whole_account, check_trust),
    (m_trust_anyone, check_trust),
    (m_trust_ignores_external_id, check_trust),
    (m_trust_a_service_too, check_trust),
    (m_create_zones, check_permissions),
    (m_any_record, check_permissions),
    (m_txt_records, check_permissions),
    (m_ignores_zone_ids, check_permissions),
    (m_extra_ses, check_permissions),
    (m_missing_tags_read, check_permissions),
    (m_managed_policy, check_permissions),
    (m_route53_star, check_no_wildcard_actions),
    (m_external_id_echoed, check_parameters),
    (m_function_role_any_arn, check_parameters),
    (m_function_role_default, check_parameters),
    (m_no_output, check_parameters),
]


@pytest.mark.parametrize("mutate,check", MUTATIONS, ids=[f"{m.__name__}->{c.__name__}" for m, c in MUTATIONS])
def test_check_flags_widened_copy(mutate, check):
    tpl = copy.deepcopy(dns_template())
    assert check(tpl) == [], "check must pass on the unmodified template"
    mutate(tpl)
    assert check(tpl) != [], f"{check.__name__} did not notice {mutate.__name__}"


def test_every_check_has_a_mutation():
    covered = {c for _, c in MUTATIONS}
    assert [c.__name__ for c in CHECKS if c not in covered] == []


def test_uncommented_wildcard_resource_is_flagged():
    text = dns_text()
    widened = re.sub(r"( *# [^\n]*\n)+( *Resource: \"\*\"\n)", r"\2", text, count=1)
    assert widened != text
    assert check_wildcard_resources_commented(widened) != []
