"""Static checks of the SAM template's IAM shape, event rules, recurring
reconcile, failure handling and alarms, and of the docs that describe them.

Each ``check_*`` function returns a list of problems (empty = fine). The tests
assert that the real template.yaml has none, and - so that no check can pass
vacuously - that every check flags at least one deliberately widened or broken
copy of the template (see MUTATIONS at the bottom).

The template is parsed with cfn-lint's decoder (it understands !Ref, !Sub,
!GetAtt, ... and keeps line numbers), and intrinsic functions are evaluated by
a small resolver for a few deployment scenarios, so the checks compare concrete
ARNs rather than template syntax.

Run: .venv/bin/python -m pytest tests/test_template.py -q
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

STACK = "dkim"
ACCOUNT = "123456789012"
FUNCTION_NAME = f"{STACK}-dkim-autopilot"

# Granted only when SesReplicaRegions is set (DEED replicas); the delete only when
# offboarding deletes identities too.
REPLICA_ACTIONS = {"ses:ReplicateEmailIdentityDKIMSigningKey", "ses:CreateEmailIdentity",
                   "ses:DeleteEmailIdentity", "ses:ListEmailIdentities"}
# Replica statements: (Sid, action); the create, read and delete are held to the
# listed Regions, the key's replication to the parent's identities.
REPLICA_STATEMENTS = [
    ("SesCreateReplicaIdentities", "ses:CreateEmailIdentity"),
    ("SesGetReplicaIdentities", "ses:GetEmailIdentity"),
    ("SesDeleteReplicaIdentities", "ses:DeleteEmailIdentity"),
    ("SesListReplicaIdentities", "ses:ListEmailIdentities"),
]

# The function role's complete action set: one statement per action.
EXPECTED_FUNCTION_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ses:VerifyDomainDkim",
    "ses:GetIdentityDkimAttributes",
    "ses:ListIdentities",
    "ses:DeleteIdentity",
    "route53:GetHostedZone",
    "route53:ListHostedZonesByName",
    "route53:ListHostedZones",
    "route53:ListResourceRecordSets",
    "route53:ListTagsForResources",
    "route53:ChangeResourceRecordSets",
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
    "scheduler:ListSchedules",
    "iam:PassRole",
    "events:PutEvents",
    "sqs:SendMessage",
    "ses:SetIdentityMailFromDomain",
    "ses:GetIdentityMailFromDomainAttributes",
    "ses:GetEmailIdentity",
    "ses:PutEmailIdentityDkimSigningAttributes",
    "ses:TagResource",
} | REPLICA_ACTIONS

# Granted only when DkimKeyLength is not keep.
KEY_LENGTH_ACTIONS = {"ses:PutEmailIdentityDkimSigningAttributes", "ses:TagResource"}

# Granted only when MailFromSubdomain is set.
MAIL_FROM_ACTIONS = {"ses:SetIdentityMailFromDomain", "ses:GetIdentityMailFromDomainAttributes"}

# Granted only when a setting lets the function delete SES identities.
DELETE_IDENTITY_SETTINGS = ("DeleteIdentityOnOffboard", "DeleteOrphanedIdentities")

# Actions that have no resource-level permissions (no resource type in the Service
# Authorization Reference), so "*" is the only option.
STAR_RESOURCE_ALLOWED = {
    "ses:VerifyDomainDkim",
    "ses:GetIdentityDkimAttributes",
    "ses:ListIdentities",
    "ses:ListEmailIdentities",
    "ses:DeleteIdentity",
    "route53:ListHostedZonesByName",
    "route53:ListHostedZones",
    "scheduler:ListSchedules",
    "ses:SetIdentityMailFromDomain",
    "ses:GetIdentityMailFromDomainAttributes",
}

# Route 53 actions that name hosted zones: all on the same zones (HostedZoneIds or any).
ROUTE53_ZONE_ACTIONS = (
    "route53:ChangeResourceRecordSets",
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "route53:ListTagsForResources",
)

EXPECTED_ENV = {
    "SCHEDULER_ROLE_ARN",
    "SCHEDULE_GROUP",
    "DKIM_RECORD_TTL",
    "SES_REGION",
    "SES_REPLICA_REGIONS",
    "FIRST_CHECK_DELAY_MINUTES",
    "DKIM_RECORD_DOMAIN",
    "DKIM_KEY_LENGTH",
    "EVENT_BUS_NAME",
    "SCHEDULER_DEAD_LETTER_ARN",
    "VERIFICATION_DEADLINE_HOURS",
    "MAX_VERIFICATION_RESTARTS",
    "RESERVED_CONCURRENCY",
    "SES_CALLS_PER_SECOND",
    "ROUTE53_CALLS_PER_SECOND",
    "MAX_DEFERRALS",
    "DOMAIN_INCLUDE",
    "DOMAIN_EXCLUDE",
    "DELETE_IDENTITY_ON_OFFBOARD",
    "DELETE_ORPHANED_IDENTITIES",
    "RECONCILE_PAGE_SIZE",
    "HOSTED_ZONE_IDS",
    "ROUTE53_ROLE_ARN",
    "ROUTE53_EXTERNAL_ID",
    "DEFAULT_DNS_MODE",
    "MAIL_FROM_SUBDOMAIN",
    "MAIL_FROM_BEHAVIOR_ON_MX_FAILURE",
    "DMARC_POLICY",
    "DMARC_RUA",
}

# Settings the stack takes as a parameter and hands to the function: the env var,
# the parameter. The range the cold start accepts (so CloudFormation refuses what
# it would refuse) and the default are read from src/config/table.rs.
SETTINGS_FROM_PARAMETERS = {
    "DKIM_RECORD_TTL": "DkimRecordTtl",
    "FIRST_CHECK_DELAY_MINUTES": "FirstCheckDelayMinutes",
    "VERIFICATION_DEADLINE_HOURS": "VerificationDeadlineHours",
    "MAX_VERIFICATION_RESTARTS": "MaxVerificationRestarts",
    "RESERVED_CONCURRENCY": "ReservedConcurrency",
    "SES_CALLS_PER_SECOND": "SesCallsPerSecond",
    "ROUTE53_CALLS_PER_SECOND": "Route53CallsPerSecond",
    "MAX_DEFERRALS": "MaxDeferrals",
    "RECONCILE_PAGE_SIZE": "ReconcilePageSize",
}
# Their range and default are not written here again: they are read from the one
# definition of each setting, src/config/table.rs.
SETTINGS_TABLE = ROOT / "src" / "config" / "table.rs"
_NUMBER_RE = re.compile(
    r'pub const (\w+): Number =\s*number\(\s*"(\w+)",\s*([\d_ *]+),\s*([\d_ *]+),\s*([\d_ *]+),',
)


def _whole(expr: str) -> int:
    """A Rust integer expression of the table: digits, `_` separators and `*`."""
    product = 1
    for factor in expr.replace("_", "").split("*"):
        product *= int(factor.strip())
    return product


def table_numbers(text: str) -> dict[str, tuple[int, int, int]]:
    """Each number setting of src/config/table.rs: (min, max, default)."""
    out = {}
    for const, name, default, low, high in _NUMBER_RE.findall(text):
        assert const == name, f"{const} defines {name}"
        out[name] = (_whole(low), _whole(high), _whole(default))
    return out

# The same for settings that are text: the parameter, its default, and its allowed
# values (None: free text, checked by a pattern below).
TEXT_SETTINGS_FROM_PARAMETERS = {
    "DOMAIN_INCLUDE": ("DomainInclude", "", None),
    "DOMAIN_EXCLUDE": ("DomainExclude", "", None),
    "DELETE_IDENTITY_ON_OFFBOARD": ("DeleteIdentityOnOffboard", "true", ["true", "false"]),
    "DELETE_ORPHANED_IDENTITIES": ("DeleteOrphanedIdentities", "false", ["true", "false"]),
    "DEFAULT_DNS_MODE": ("DefaultDnsMode", "route53", ["route53", "external", "auto"]),
    "DKIM_KEY_LENGTH": ("DkimKeyLength", "2048", ["2048", "1024", "keep"]),
    "MAIL_FROM_BEHAVIOR_ON_MX_FAILURE": ("MailFromBehaviorOnMxFailure", "UseDefaultValue",
                                         ["UseDefaultValue", "RejectMessage"]),
    "DMARC_POLICY": ("DmarcPolicy", "off", ["off", "none", "quarantine", "reject"]),
}
# Free-text sending settings: what src/core/sending accepts must pass the parameter's
# pattern, and what it refuses should be stopped at deploy time already.
PATTERNED_SETTINGS = {
    # src/core/records.rs SigningZone::parse: what SES may name, and the fallback.
    "DKIM_RECORD_DOMAIN": ("DkimRecordDomain",
                           ["", "dkim.amazonses.com", "dkim-c7.us-east-1.amazonses.com",
                            "dkim.eu-south-1.amazonses.com"],
                           ["amazonses", "dkim..amazonses.com", "-dkim.amazonses.com",
                            "dkim-.amazonses.com", "dkim amazonses.com", "dkim_x.amazonses.com"]),
    "MAIL_FROM_SUBDOMAIN": ("MailFromSubdomain", ["", "bounce", "mail-from", "m1"],
                            ["Bounce", "mail.from", "-bounce", "bounce-", "bo_unce", "a" * 64]),
    "DMARC_RUA": ("DmarcRua", ["", "mailto:d@example.com", "mailto:d@example.com,MAILTO:e@example.net!10m"],
                  ["d@example.com", "mailto:d@example.com;x", "mailto:a b@example.com"]),
}
# Suffix lists src/core/scope.rs accepts, and ones it never does: the parameter's
# pattern must let the first through and may stop the second at deploy time.
SUFFIX_LISTS_ACCEPTED = ["", "example.com", "example.com, co.uk", "Bücher.de.,old.example.com"]
SUFFIX_LISTS_REFUSED = ["*.example.com", "_dmarc.example.com", "https://example.com"]

# The Outcome dimension values the function's metrics use (src/core/metrics.rs).
OUTCOME_VALUES = {
    "published", "retryLater", "verified", "waiting", "restarted", "verificationFailed",
    "timedOut", "rejected", "ignored", "deferred", "deferralsExhausted", "failedInvocation",
    "skipped", "removed", "reconcileContinues", "reconcileFinished",
    "handedOver", "awaitingRecords", "awaitingMailFrom", "readyToSend", "notReadyToSend",
}

# The outcome events' detail-types (src/core/outcome.rs).
OUTCOME_DETAIL_TYPES = [
    "DKIM Records Published", "DKIM Verified", "DKIM Verification Failed",
    "DKIM Verification Timed Out", "Domain Rejected", "Domain Skipped",
    "DKIM Drift Repaired", "Domain Orphaned", "DKIM Removed", "Reconcile Finished",
    "DKIM Records Required", "DKIM Records Pending", "Domain Ready to Send",
    "Domain Not Ready to Send", "Domain Records Conflict", "DKIM Key Upgraded",
]

# The recurring reconcile: the payload src/core/reconcile.rs reads (runId is the
# Scheduler context attribute it fills in).
RECONCILE_INPUT = {
    "schema": "dkim-autopilot/reconcile",
    "version": 1,
    "dryRun": False,
    "runId": "<aws.scheduler.scheduled-time>",
}
RECONCILE_EXPRESSIONS_ACCEPTED = ["rate(1 day)", "rate(6 hours)", "rate(30 minutes)", "cron(0 3 * * ? *)"]
RECONCILE_EXPRESSIONS_REFUSED = ["at(2026-11-28T00:00:00)", "rate(0 days)", "rate(1 week)", "daily", ""]
# Scheduler's limit on schedule names, and the longest stack name the docs allow.
SCHEDULE_NAME_MAX = 64
STACK_NAME_MAX = 49

# Every alarm: namespace, metric, statistic and dimensions (as resolved).
FUNCTION_DIMENSION = {"FunctionName": "<Ref DkimAutopilotFunction>"}
EXPECTED_ALARMS = {
    "EventRuleDeadLetterQueueAlarm": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum",
        {"QueueName": "<GetAtt EventRuleDeadLetterQueue.QueueName>"}),
    "AsyncFailureQueueAlarm": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum",
        {"QueueName": "<GetAtt AsyncFailureQueue.QueueName>"}),
    "SchedulerDeadLetterQueueAlarm": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum",
        {"QueueName": "<GetAtt SchedulerDeadLetterQueue.QueueName>"}),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", "Sum", FUNCTION_DIMENSION),
    "VerificationFailedAlarm": (
        "DkimAutopilot", "Outcomes", "Sum", {**FUNCTION_DIMENSION, "Outcome": "verificationFailed"}),
    "VerificationTimedOutAlarm": (
        "DkimAutopilot", "Outcomes", "Sum", {**FUNCTION_DIMENSION, "Outcome": "timedOut"}),
    "DeferralsExhaustedAlarm": (
        "DkimAutopilot", "Outcomes", "Sum", {**FUNCTION_DIMENSION, "Outcome": "deferralsExhausted"}),
}
ALARM_TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:dkim-alarms"

ROUTE53_CONDITION = {
    "ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"],
        "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
    },
    "ForAllValues:StringLike": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["*._domainkey.*"],
    },
    "Null": {
        "route53:ChangeResourceRecordSetsRecordTypes": "false",
        "route53:ChangeResourceRecordSetsActions": "false",
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": "false",
    },
}

ROUTE53_PATTERN = {
    "source": ["aws.route53"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["route53.amazonaws.com"],
        "eventName": ["CreateHostedZone"],
    },
}
ROUTE53_DOMAINS_PATTERN = {
    "source": ["aws.route53domains"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["route53domains.amazonaws.com"],
        # CloudTrail writes Route 53 Domains event names lowercase-first.
        "eventName": ["registerDomain", "deleteDomain"],
    },
}

# The custom rules, by kind: their detail-type, and the parameter that switches
# each one (the AWS-source rules' switches as well).
CUSTOM_RULE_DETAIL_TYPES = {
    "custom": "Domain Registered",
    "deregistered": "Domain Deregistered",
    "reconcile": "Reconcile Requested",
}
RULE_SWITCHES = {
    "custom": "EnableCustomEventRule",
    "deregistered": "EnableDeregisteredRule",
    "reconcile": "EnableReconcileRequestedRule",
    "route53": "EnableRoute53HostedZoneRule",
    "route53domains": "EnableRoute53DomainsRule",
}


# ---------------------------------------------------------------------------
# Loading and a small intrinsic-function resolver
# ---------------------------------------------------------------------------


def template_text() -> str:
    return TEMPLATE_PATH.read_text()


def load_nodes(text: str) -> dict:
    """Template as cfn-lint nodes (dict/str subclasses with line marks)."""
    tpl, matches = decode_str(text)
    assert not matches, [str(m) for m in matches]
    assert tpl is not None
    return tpl


def load(text: str | None = None) -> dict:
    """Template as plain JSON-like data."""
    return json.loads(json.dumps(load_nodes(template_text() if text is None else text)))


NO_VALUE = object()


class Resolver:
    """Evaluates the intrinsic functions this template uses for one scenario."""

    def __init__(self, tpl: dict, region: str = "us-east-1", partition: str = "aws", **params: Any):
        self.tpl = tpl
        self.pseudo = {
            "AWS::Region": region,
            "AWS::Partition": partition,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.params: dict[str, Any] = {}
        for name, spec in tpl.get("Parameters", {}).items():
            value = params.get(name, spec.get("Default"))
            if spec.get("Type") == "CommaDelimitedList":
                if isinstance(value, str):
                    value = value.split(",") if value else [""]
            elif value is not None:
                value = str(value)
            self.params[name] = value

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.tpl["Conditions"][name]))

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.params:
            return self.params[name]
        if name in self.tpl["Resources"]:
            return f"<Ref {name}>"
        raise KeyError(f"unknown Ref {name}")

    def sub(self, text: str, variables: dict) -> str:
        def repl(m: re.Match) -> str:
            key = m.group(1)
            if key in variables:
                return str(variables[key])
            if "." in key:
                logical, attr = key.split(".", 1)
                return f"<GetAtt {logical}.{attr}>"
            return str(self.ref(key))

        return re.sub(r"\$\{([^}!]+)\}", repl, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            out = [self.resolve(n) for n in node]
            return [o for o in out if o is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                text, variables = arg
                return self.sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return f"<GetAtt {logical}.{attr}>"
            if fn == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if fn == "Fn::Join":
                delim, items = arg
                return delim.join(str(i) for i in self.resolve(items))
            if fn == "Fn::Split":
                delim, text = arg
                return self.resolve(text).split(delim)
            if fn == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self.resolve(arg[0])
            if fn == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if fn == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if fn == "Condition":
                return self.condition(arg)
        return {k: self.resolve(v) for k, v in node.items() if self.resolve(v) is not NO_VALUE}

    def resources(self) -> dict:
        """Resources that exist in this scenario, with properties resolved."""
        out = {}
        for name, res in self.tpl["Resources"].items():
            if "Condition" in res and not self.condition(res["Condition"]):
                continue
            out[name] = {
                "Type": res["Type"],
                "Properties": self.resolve(res.get("Properties", {})),
                "Metadata": res.get("Metadata", {}),
                "Condition": res.get("Condition"),
            }
        return out


# Deployment scenarios every semantic check runs under.
SCENARIOS: dict[str, dict] = {
    "us-east-1 defaults": {"region": "us-east-1"},
    "eu-west-1 defaults": {"region": "eu-west-1"},
    "us-east-1 hosted zones + custom bus": {
        "region": "us-east-1",
        "HostedZoneIds": "ZONEA,ZONEB",
        "InboundEventBusName": "onboarding",
        "OutcomeEventBusName": "dkim-outcomes",
    },
    "govcloud hosted zones": {"region": "us-gov-west-1", "partition": "aws-us-gov", "HostedZoneIds": "ZONEA"},
    "eu-west-1, SES in eu-central-1, identities kept": {
        "region": "eu-west-1",
        "SesRegion": "eu-central-1",
        "DeleteIdentityOnOffboard": "false",
    },
    "us-east-1, only orphans deleted": {
        "region": "us-east-1",
        "DeleteIdentityOnOffboard": "false",
        "DeleteOrphanedIdentities": "true",
    },
    "eu-west-1, zones in a DNS account": {
        "region": "eu-west-1",
        "Route53RoleArn": "arn:aws:iam::210987654321:role/dkim-autopilot-dns",
        "Route53ExternalId": "tenant-7",
    },
    "us-east-1, MAIL FROM and DMARC on": {
        "region": "us-east-1",
        "MailFromSubdomain": "bounce",
        "DmarcPolicy": "none",
        "DmarcRua": "mailto:dmarc@example.com",
    },
    "eu-west-1, DMARC only, zones listed": {
        "region": "eu-west-1",
        "DmarcPolicy": "reject",
        "HostedZoneIds": "ZONEA",
    },
    "us-east-1, MAIL FROM only": {"region": "us-east-1", "MailFromSubdomain": "mail"},
    "us-east-1, replicas in us-west-2 and eu-west-1": {
        "region": "us-east-1",
        "SesReplicaRegions": "us-west-2,eu-west-1",
    },
    "us-east-1, key length kept, one replica": {
        "region": "us-east-1",
        "DkimKeyLength": "keep",
        "SesReplicaRegions": "us-west-2",
    },
    "eu-west-1, SES in eu-central-1, one replica, identities kept": {
        "region": "eu-west-1",
        "SesRegion": "eu-central-1",
        "SesReplicaRegions": "us-east-1",
        "DeleteIdentityOnOffboard": "false",
    },
}


def as_list(x: Any) -> list:
    return x if isinstance(x, list) else [x]


def policy_documents(node: Any, path: str = "") -> list[tuple[str, dict]]:
    """Every IAM policy document (anything with a Statement) below node."""
    found = []
    if isinstance(node, dict):
        if "Statement" in node:
            found.append((path, node))
        for k, v in node.items():
            found.extend(policy_documents(v, f"{path}/{k}"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found.extend(policy_documents(v, f"{path}/{i}"))
    return found


def statements(doc: dict) -> list[dict]:
    """The statements of a policy document; a statement behind !If counts with
    both its branches, so no check can miss a conditional one."""
    out = []
    for st in as_list(doc["Statement"]):
        out.extend(_branches(st))
    return out


def _branches(st: Any) -> list[dict]:
    if isinstance(st, dict) and list(st) == ["Fn::If"]:
        _, yes, no = st["Fn::If"]
        return _branches(yes) + _branches(no)
    if st == {"Ref": "AWS::NoValue"}:
        return []
    return [st]


def may_delete_identities(r: "Resolver") -> bool:
    return any(r.params[p] == "true" for p in DELETE_IDENTITY_SETTINGS)


def expected_actions(r: "Resolver") -> set[str]:
    actions = EXPECTED_FUNCTION_ACTIONS - (set() if may_delete_identities(r) else {"ses:DeleteIdentity"})
    actions -= set() if r.params["MailFromSubdomain"] else MAIL_FROM_ACTIONS
    actions -= set() if r.params["DkimKeyLength"] != "keep" else KEY_LENGTH_ACTIONS
    if r.params["SesReplicaRegions"]:
        actions |= {"ses:TagResource"}  # a domain's own replica Regions, kept on the identity
    if not r.params["SesReplicaRegions"]:
        actions -= REPLICA_ACTIONS
    elif r.params["DeleteIdentityOnOffboard"] != "true":
        actions -= {"ses:DeleteEmailIdentity"}
    return actions | ({"sts:AssumeRole"} if r.params["Route53RoleArn"] else set())


def role_statements(resources: dict, role: str) -> list[dict]:
    props = resources[role]["Properties"]
    out = []
    for policy in props.get("Policies", []):
        out.extend(statements(policy["PolicyDocument"]))
    return out


def fn_arn(r: Resolver) -> str:
    p = r.pseudo
    return f"arn:{p['AWS::Partition']}:lambda:{p['AWS::Region']}:{ACCOUNT}:function:{FUNCTION_NAME}"


# ---------------------------------------------------------------------------
# Checks. Each takes the plain template (and the text where needed) and
# returns a list of problems.
# ---------------------------------------------------------------------------


def check_no_wildcard_actions(tpl: dict) -> list[str]:
    """No "*" action, no "svc:*" or "svc:Prefix*", no NotAction - anywhere."""
    problems = []
    for path, doc in policy_documents(tpl["Resources"]):
        for st in statements(doc):
            if "NotAction" in st:
                problems.append(f"{path}: NotAction used")
            for action in as_list(st.get("Action", [])):
                if not isinstance(action, str) or "*" in action or "?" in action:
                    problems.append(f"{path}: wildcard/non-literal action {action!r}")
    for name, res in tpl["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function" and "Policies" in res.get("Properties", {}):
            problems.append(f"{name}: SAM Policies used instead of the explicit role")
        if res["Type"] == "AWS::IAM::Role" and res.get("Properties", {}).get("ManagedPolicyArns"):
            problems.append(f"{name}: managed policies attached")
    return problems


def check_function_role(tpl: dict) -> list[str]:
    """Exact action set, one action and a unique Sid per statement, Allow only,
    "*" resources only for actions without resource-level permissions."""
    problems = []
    fn = tpl["Resources"]["DkimAutopilotFunction"]["Properties"]
    if fn.get("Role") != {"Fn::GetAtt": ["FunctionRole", "Arn"]}:
        problems.append(f"function does not use FunctionRole: {fn.get('Role')!r}")
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        sts = role_statements(r.resources(), "FunctionRole")
        actions = [a for st in sts for a in as_list(st.get("Action", []))]
        want = expected_actions(r)
        if set(actions) != want:
            problems.append(
                f"[{scen}] action set differs: extra {sorted(set(actions) - want)}, "
                f"missing {sorted(want - set(actions))}"
            )
        sids = [st.get("Sid") for st in sts]
        if None in sids or len(set(sids)) != len(sids):
            problems.append(f"[{scen}] every statement needs a unique Sid: {sids}")
        for st in sts:
            acts = as_list(st.get("Action", []))
            if len(acts) != 1:
                problems.append(f"[{scen}] {st.get('Sid')}: {len(acts)} actions in one statement")
            if st.get("Effect") != "Allow":
                problems.append(f"[{scen}] {st.get('Sid')}: Effect {st.get('Effect')}")
            if "NotResource" in st:
                problems.append(f"[{scen}] {st.get('Sid')}: NotResource used")
            for res in as_list(st.get("Resource", [])):
                if res == "*" and not set(acts) <= STAR_RESOURCE_ALLOWED:
                    problems.append(f"[{scen}] {st.get('Sid')}: Resource '*' for {acts}")
                if "*" in res and res != "*":
                    region, account = r.pseudo["AWS::Region"], ACCOUNT
                    if acts[0].startswith(("logs:", "scheduler:")) and f":{region}:{account}:" not in res:
                        problems.append(f"[{scen}] {st.get('Sid')}: wildcard resource not pinned to region/account: {res}")
    return problems


def _statement_for(sts: list[dict], action: str) -> list[dict]:
    return [st for st in sts if action in as_list(st.get("Action", []))]


def check_logs_scoped(tpl: dict) -> list[str]:
    problems = []
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        sts = role_statements(r.resources(), "FunctionRole")
        p = r.pseudo
        want = f"arn:{p['AWS::Partition']}:logs:{p['AWS::Region']}:{ACCOUNT}:log-group:<Ref FunctionLogGroup>:*"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            for st in _statement_for(sts, action):
                if as_list(st["Resource"]) != [want]:
                    problems.append(f"[{scen}] {action} on {st['Resource']!r}, want {want}")
    group = tpl["Resources"]["FunctionLogGroup"]["Properties"]
    if group.get("LogGroupName") != {"Fn::Sub": "/aws/lambda/${AWS::StackName}-dkim-autopilot"}:
        problems.append(f"log group name {group.get('LogGroupName')!r}")
    if group.get("RetentionInDays") != {"Ref": "LogRetentionDays"}:
        problems.append("log group retention is not the LogRetentionDays parameter")
    return problems


def check_route53(tpl: dict) -> list[str]:
    problems = []
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        sts = role_statements(r.resources(), "FunctionRole")
        part = r.pseudo["AWS::Partition"]
        zones = [z for z in r.params["HostedZoneIds"] if z]
        want = (
            [f"arn:{part}:route53:::hostedzone/{z}" for z in zones]
            if zones
            else [f"arn:{part}:route53:::hostedzone/*"]
        )
        change = _statement_for(sts, "route53:ChangeResourceRecordSets")
        dkim = [st for st in change if st.get("Sid") == "Route53ChangeDkimCnamesOnly"]
        want_count = 2 if sending_on(r) else 1
        if len(dkim) != 1 or len(change) != want_count:
            problems.append(f"[{scen}] {len(change)} ChangeResourceRecordSets statements, want {want_count}")
        for st in dkim:
            # Exactly today's statement, whatever the sending settings.
            if st.get("Condition") != ROUTE53_CONDITION:
                problems.append(f"[{scen}] ChangeResourceRecordSets condition is {st.get('Condition')!r}")
        for st in change:
            if st not in dkim and st.get("Condition") != sending_condition(r):
                problems.append(f"[{scen}] sending records condition is {st.get('Condition')!r}, "
                                f"want {sending_condition(r)!r}")
        for action in ROUTE53_ZONE_ACTIONS:
            for st in _statement_for(sts, action):
                if as_list(st["Resource"]) != want:
                    problems.append(f"[{scen}] {action} on {st['Resource']!r}, want {want}")
    return problems


def sending_on(r: "Resolver") -> bool:
    return bool(r.params["MailFromSubdomain"]) or r.params["DmarcPolicy"] != "off"


def sending_condition(r: "Resolver") -> dict:
    """The condition the sending records statement must have in this scenario:
    widened only as far as the settings need."""
    mail_from, dmarc = r.params["MailFromSubdomain"], r.params["DmarcPolicy"] != "off"
    return {
        "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsRecordTypes": (["MX"] if mail_from else []) + ["TXT"],
            "route53:ChangeResourceRecordSetsActions": ["CREATE", "DELETE"],
        },
        "ForAllValues:StringLike": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames":
                ([f"{mail_from}.*"] if mail_from else []) + (["_dmarc.*"] if dmarc else []),
        },
        "Null": ROUTE53_CONDITION["Null"],
    }


_BATCH_KEYS = {
    "route53:ChangeResourceRecordSetsActions": 0,
    "route53:ChangeResourceRecordSetsRecordTypes": 1,
    "route53:ChangeResourceRecordSetsNormalizedRecordNames": 2,
}


def statement_allows(st: dict, batch: list[tuple[str, str, str]]) -> bool:
    """Whether one statement allows a ChangeResourceRecordSets batch of (action,
    type, name) changes, as IAM evaluates it: each key's values are the whole
    batch's, ForAllValues means every value matches, Null "false" means present."""
    import fnmatch

    for op, keys in st.get("Condition", {}).items():
        for key, allowed in keys.items():
            values = {change[_BATCH_KEYS[key]] for change in batch}
            allowed = as_list(allowed)
            if op == "ForAllValues:StringEquals":
                ok = values <= set(allowed)
            elif op == "ForAllValues:StringLike":
                ok = all(any(fnmatch.fnmatchcase(v, p) for p in allowed) for v in values)
            elif op == "Null":
                ok = (allowed == ["false"]) == bool(values)
            else:
                raise ValueError(f"unknown condition operator {op}")
            if not ok:
                return False
    return True


def batch_allowed(sts: list[dict], batch: list[tuple[str, str, str]]) -> bool:
    """IAM evaluates each statement alone: some one statement must allow the batch."""
    return any(statement_allows(st, batch) for st in _statement_for(sts, "route53:ChangeResourceRecordSets"))


def check_sending_batches(tpl: dict) -> list[str]:
    """Every batch the function sends is allowed, and what it never sends is not:
    DKIM CNAMEs alone; the sending records alone (they never share a batch with the
    CNAMEs); nothing at other names, of other types, or as UPSERT. The one leftover
    of checking keys independently (an MX at _dmarc.* with both features on) is
    documented in docs/deploy.md and held here so that it cannot grow unnoticed."""
    problems = []
    d = "example.com"
    dkim = [("UPSERT", "CNAME", f"t1._domainkey.{d}"), ("DELETE", "CNAME", f"t0._domainkey.{d}")]
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        sts = role_statements(r.resources(), "FunctionRole")
        label = r.params["MailFromSubdomain"]
        dmarc = r.params["DmarcPolicy"] != "off"
        mx = ("CREATE", "MX", f"{label}.{d}")
        spf = [("DELETE", "TXT", f"{label}.{d}"), ("CREATE", "TXT", f"{label}.{d}")]
        dmarc_txt = ("CREATE", "TXT", f"_dmarc.{d}")
        sent = [dkim]
        if label:
            sent += [[mx], spf, [mx, *spf]]
        if dmarc:
            sent += [[dmarc_txt]]
        if label and dmarc:
            sent += [[mx, *spf, dmarc_txt]]
        never = [
            [("UPSERT", "MX", f"{label or 'bounce'}.{d}")],
            [("CREATE", "TXT", f"www.{d}")],
            [("CREATE", "TXT", f"t1._domainkey.{d}")],
            [("CREATE", "CNAME", f"{label or 'bounce'}.{d}")],
            [("CREATE", "MX", d)],
            [("CREATE", "A", f"_dmarc.{d}")],
            dkim + [mx],
        ]
        if not label:
            never += [[mx]]
        if not dmarc:
            never += [[dmarc_txt]]
        for batch in sent:
            if not batch_allowed(sts, batch):
                problems.append(f"[{scen}] a batch the function sends is denied: {batch}")
        for batch in never:
            if batch_allowed(sts, batch):
                problems.append(f"[{scen}] a batch the function never sends is allowed: {batch}")
        leftover = [("CREATE", "MX", f"_dmarc.{d}")]
        if label and dmarc and not batch_allowed(sts, leftover):
            problems.append(f"[{scen}] the documented leftover changed; update docs/deploy.md")
    return problems


def check_sending_settings(tpl: dict) -> list[str]:
    """The free-text sending parameters reach the function, accept what it accepts
    and refuse the obvious mistakes at deploy time; DmarcRua needs a policy."""
    problems = []
    env = tpl["Resources"]["DkimAutopilotFunction"]["Properties"].get("Environment", {}).get("Variables", {})
    for var, (param, accepted, refused) in PATTERNED_SETTINGS.items():
        if env.get(var) != {"Ref": param}:
            problems.append(f"env {var}={env.get(var)!r}, want a Ref to parameter {param}")
        spec = tpl["Parameters"].get(param, {})
        if (spec.get("Type"), spec.get("Default")) != ("String", ""):
            problems.append(f"parameter {param} must be an optional String, empty by default")
        pattern = spec.get("AllowedPattern", ".*")
        problems += [f"parameter {param} refuses {v!r}" for v in accepted if not re.fullmatch(pattern, v)]
        problems += [f"parameter {param} accepts {v!r}" for v in refused if re.fullmatch(pattern, v)]
    rule = tpl.get("Rules", {}).get("DmarcRuaNeedsPolicy", {})
    want = {"Fn::Not": [{"Fn::Equals": [{"Ref": "DmarcPolicy"}, "off"]}]}
    if [a.get("Assert") for a in rule.get("Assertions", [])] != [want]:
        problems.append(f"rule DmarcRuaNeedsPolicy {rule!r}")
    return problems


METRICS_SOURCE = ROOT / "src" / "core" / "metrics.rs"
# What AWS documents for the two other namespaces the dashboard shows
# (Lambda: "Working with Lambda function metrics"; SQS: "Available CloudWatch
# metrics for Amazon SQS"), and the one dimension each widget uses.
LAMBDA_METRICS = {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions",
                  "DeadLetterErrors", "DestinationDeliveryFailures", "AsyncEventAge",
                  "AsyncEventsReceived", "AsyncEventsDropped"}
SQS_METRICS = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage",
               "ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible",
               "NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted",
               "NumberOfEmptyReceives", "SentMessageSize"}


def emitted_metrics() -> tuple[set[str], set[frozenset[str]]]:
    """The metric names and dimension sets the function writes (src/core/metrics.rs)."""
    text = METRICS_SOURCE.read_text()
    names = set(re.findall(r'metric\("(\w+)"', text)) | set(re.findall(r'\("(Reconcile\w+)", counts', text))
    dims = {frozenset(re.findall(r'"(\w+)"', group)) for group in re.findall(r'json!\(\[("[^\]]*)\]\)', text)}
    return names, dims


def dashboard_body(res: dict) -> Any:
    props = res["Dashboard"]["Properties"]
    return json.loads(props["DashboardBody"])


def check_dashboard(tpl: dict) -> list[str]:
    """The dashboard exists unless turned off, is made by scripts/dashboard.py, parses
    as a dashboard, and shows only metrics that exist: the function's own (held
    against src/core/metrics.rs, dimensions included) and documented AWS ones, of
    this stack's function and queues."""
    problems = []
    names, dim_sets = emitted_metrics()
    for flag in ("true", "false"):
        r = Resolver(tpl, EnableDashboard=flag)
        res = r.resources()
        if (flag == "true") != ("Dashboard" in res):
            problems.append(f"EnableDashboard={flag}: dashboard {'missing' if flag == 'true' else 'created'}")
    r = Resolver(tpl)
    res = r.resources()
    if "Dashboard" not in res:
        return problems + ["no dashboard by default"]
    try:
        body = dashboard_body(res)
    except (json.JSONDecodeError, TypeError, KeyError) as err:
        return problems + [f"dashboard body does not parse: {err}"]
    widgets = body.get("widgets") if isinstance(body, dict) else None
    if not isinstance(widgets, list) or not widgets:
        return problems + ["dashboard body has no widgets list"]
    function = f"{STACK}-dkim-autopilot"
    queues = {f"<GetAtt {n}.QueueName>" for n, rr in res.items() if rr["Type"] == "AWS::SQS::Queue"}
    shown_queues = set()
    for i, w in enumerate(widgets):
        if not isinstance(w, dict) or "type" not in w or not isinstance(w.get("properties"), dict):
            problems.append(f"widget {i} lacks a type or properties")
            continue
        for m in w["properties"].get("metrics", []):
            if isinstance(m[0], dict):
                expression = m[0].get("expression", "")
                found = re.findall(r'\{(\w+),([\w,]+)\} MetricName=\\?"(\w+)\\?"', expression)
                if not found:
                    problems.append(f"widget {i}: expression without a metric: {expression!r}")
                for ns, dims, name in found:
                    if ns != "DkimAutopilot" or name not in names or frozenset(dims.split(",")) not in dim_sets:
                        problems.append(f"widget {i}: {ns} {name} by {dims} is not emitted")
                    if f'FunctionName=\"{function}\"' not in expression and f'FunctionName="{function}"' not in expression:
                        problems.append(f"widget {i}: expression not held to this function: {expression!r}")
                continue
            ns, name = m[0], m[1]
            pairs = [x for x in m[2:] if not isinstance(x, dict)]
            dims = dict(zip(pairs[::2], pairs[1::2]))
            if ns == "DkimAutopilot":
                if name not in names:
                    problems.append(f"widget {i}: DkimAutopilot metric {name} is not emitted")
                if frozenset(dims) not in dim_sets:
                    problems.append(f"widget {i}: {name} by {sorted(dims)} is not a dimension set emitted")
                if dims.get("FunctionName") != function:
                    problems.append(f"widget {i}: {name} of {dims.get('FunctionName')!r}, not this function")
            elif ns == "AWS/Lambda":
                if name not in LAMBDA_METRICS or dims != {"FunctionName": function}:
                    problems.append(f"widget {i}: AWS/Lambda {name} by {dims} is not this function's documented metric")
            elif ns == "AWS/SQS":
                if name not in SQS_METRICS or set(dims) != {"QueueName"} or dims["QueueName"] not in queues:
                    problems.append(f"widget {i}: AWS/SQS {name} by {dims} is not a documented metric of a stack queue")
                shown_queues.add(dims.get("QueueName"))
            else:
                problems.append(f"widget {i}: namespace {ns}")
    if queues - shown_queues:
        problems.append(f"queues not on the dashboard: {sorted(queues - shown_queues)}")
    return problems


# checkov's findings on this template, each suppressed in its resource's Metadata
# with the reason (scripts/lint-template.sh runs checkov in CI; docs/deploy.md
# explains each). A suppression added or dropped must be added or dropped here too.
CHECKOV_SUPPRESSIONS = {
    ("EventRuleDeadLetterQueue", "CKV_AWS_27"),
    ("AsyncFailureQueue", "CKV_AWS_27"),
    ("SchedulerDeadLetterQueue", "CKV_AWS_27"),
    ("FunctionLogGroup", "CKV_AWS_158"),
    ("DkimAutopilotFunction", "CKV_AWS_116"),
    ("DkimAutopilotFunction", "CKV_AWS_117"),
    ("DkimAutopilotFunction", "CKV_AWS_173"),
}


def check_scanner_suppressions(tpl: dict) -> list[str]:
    """Every checkov suppression names a check and says why in a sentence, and the
    suppressions are exactly the reviewed ones."""
    problems = []
    found = set()
    for name, res in tpl["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            cid, comment = skip.get("id", ""), str(skip.get("comment", "")).strip()
            found.add((name, cid))
            if not re.fullmatch(r"CKV2?_AWS_\d+", cid):
                problems.append(f"{name}: suppression id {cid!r}")
            if len(comment) < 60:
                problems.append(f"{name}: {cid} suppressed without a reason ({comment!r})")
    if found != CHECKOV_SUPPRESSIONS:
        problems.append(f"suppressions: new {sorted(found - CHECKOV_SUPPRESSIONS)}, "
                        f"gone {sorted(CHECKOV_SUPPRESSIONS - found)}")
    return problems


def check_dashboard_generated(text: str) -> list[str]:
    """The body in template.yaml is exactly what scripts/dashboard.py makes."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import dashboard  # noqa: E402

    found = dashboard.current(text)
    if found is None:
        return ["template.yaml has no dashboard body markers"]
    return [] if found == dashboard.block() else ["dashboard body differs from scripts/dashboard.py: run it with --write"]


def check_scheduler_scoped(tpl: dict) -> list[str]:
    problems = []
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        sts = role_statements(r.resources(), "FunctionRole")
        p = r.pseudo
        in_group = f"arn:{p['AWS::Partition']}:scheduler:{p['AWS::Region']}:{ACCOUNT}:schedule/<Ref ScheduleGroup>/*"
        actions = set()
        for st in sts:
            for a in as_list(st.get("Action", [])):
                if a.startswith("scheduler:"):
                    actions.add(a)
                    # ListSchedules has no resource type: "*" and nothing else.
                    want = "*" if a == "scheduler:ListSchedules" else in_group
                    if as_list(st["Resource"]) != [want]:
                        problems.append(f"[{scen}] {a} on {st['Resource']!r}, want {want}")
        if actions != {"scheduler:CreateSchedule", "scheduler:DeleteSchedule",
                       "scheduler:GetSchedule", "scheduler:ListSchedules"}:
            problems.append(f"[{scen}] scheduler actions {sorted(actions)}")
    group = tpl["Resources"].get("ScheduleGroup", {})
    if group.get("Type") != "AWS::Scheduler::ScheduleGroup":
        problems.append("no AWS::Scheduler::ScheduleGroup named ScheduleGroup")
    return problems


def check_pass_role(tpl: dict) -> list[str]:
    problems = []
    r = Resolver(tpl)
    sts = _statement_for(role_statements(r.resources(), "FunctionRole"), "iam:PassRole")
    if len(sts) != 1:
        return [f"{len(sts)} iam:PassRole statements"]
    st = sts[0]
    if as_list(st["Resource"]) != ["<GetAtt SchedulerInvokeRole.Arn>"]:
        problems.append(f"PassRole on {st['Resource']!r}")
    if st.get("Condition") != {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}:
        problems.append(f"PassRole condition {st.get('Condition')!r}")
    return problems


def check_put_events(tpl: dict) -> list[str]:
    problems = []
    if tpl["Parameters"]["OutcomeEventBusName"].get("Default") != "default":
        problems.append("OutcomeEventBusName default is not 'default'")
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        res = r.resources()
        p = r.pseudo
        bus = r.params["OutcomeEventBusName"]
        want = f"arn:{p['AWS::Partition']}:events:{p['AWS::Region']}:{ACCOUNT}:event-bus/{bus}"
        sts = _statement_for(role_statements(res, "FunctionRole"), "events:PutEvents")
        if [as_list(st["Resource"]) for st in sts] != [[want]]:
            problems.append(f"[{scen}] PutEvents on {[st['Resource'] for st in sts]!r}, want {want}")
        env = res["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]
        if env.get("EVENT_BUS_NAME") != bus:
            problems.append(f"[{scen}] EVENT_BUS_NAME={env.get('EVENT_BUS_NAME')!r} but policy allows bus {bus!r}")
    return problems


def check_on_failure_destination(tpl: dict) -> list[str]:
    problems = []
    r = Resolver(tpl)
    res = r.resources()
    cfg = res["DkimAutopilotFunction"]["Properties"].get("EventInvokeConfig", {})
    retries = cfg.get("MaximumRetryAttempts")
    age = cfg.get("MaximumEventAgeInSeconds")
    if not isinstance(retries, int) or not 0 <= retries <= 2:
        problems.append(f"EventInvokeConfig.MaximumRetryAttempts={retries!r}")
    if not isinstance(age, int) or not 60 <= age <= 21600:
        problems.append(f"EventInvokeConfig.MaximumEventAgeInSeconds={age!r}")
    on_failure = cfg.get("DestinationConfig", {}).get("OnFailure", {})
    dest = on_failure.get("Destination")
    if on_failure.get("Type") != "SQS" or not (isinstance(dest, str) and dest.startswith("<GetAtt ")):
        problems.append(f"OnFailure destination {on_failure!r}")
    else:
        queue = dest[len("<GetAtt "):-len(".Arn>")]
        if res.get(queue, {}).get("Type") != "AWS::SQS::Queue":
            problems.append(f"OnFailure destination {queue} is not an SQS queue of this stack")
        sts = _statement_for(role_statements(res, "FunctionRole"), "sqs:SendMessage")
        if [as_list(st["Resource"]) for st in sts] != [[dest]]:
            problems.append(f"function may SendMessage to {[st['Resource'] for st in sts]!r}, want only {dest}")
    return problems


def check_scheduler_role(tpl: dict) -> list[str]:
    problems = []
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        res = r.resources()
        role = res["SchedulerInvokeRole"]["Properties"]
        if role.get("ManagedPolicyArns"):
            problems.append(f"[{scen}] Scheduler role has managed policies")
        trust = statements(role["AssumeRolePolicyDocument"])
        want_trust = [{
            "Sid": "TrustSchedulerFromThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }]
        if trust != want_trust:
            problems.append(f"[{scen}] Scheduler trust policy {trust!r}")
        granted = {}
        for st in role_statements(res, "SchedulerInvokeRole"):
            if st.get("Effect") != "Allow" or "Condition" in st and st["Condition"]:
                problems.append(f"[{scen}] unexpected statement shape {st!r}")
            for a in as_list(st.get("Action", [])):
                granted.setdefault(a, []).extend(as_list(st.get("Resource", [])))
        want = {
            "lambda:InvokeFunction": [fn_arn(r), fn_arn(r) + ":*"],
            "sqs:SendMessage": ["<GetAtt SchedulerDeadLetterQueue.Arn>"],
        }
        if granted != want:
            problems.append(f"[{scen}] Scheduler role grants {granted!r}, want {want!r}")
        fn = res["DkimAutopilotFunction"]["Properties"]
        if fn.get("FunctionName") != FUNCTION_NAME:
            problems.append(f"[{scen}] function name {fn.get('FunctionName')!r} != {FUNCTION_NAME}")
        env = fn["Environment"]["Variables"]
        if env.get("SCHEDULER_ROLE_ARN") != "<GetAtt SchedulerInvokeRole.Arn>":
            problems.append(f"[{scen}] SCHEDULER_ROLE_ARN={env.get('SCHEDULER_ROLE_ARN')!r}")
        if env.get("SCHEDULER_DEAD_LETTER_ARN") != "<GetAtt SchedulerDeadLetterQueue.Arn>":
            problems.append(f"[{scen}] SCHEDULER_DEAD_LETTER_ARN={env.get('SCHEDULER_DEAD_LETTER_ARN')!r}")
        if env.get("SCHEDULE_GROUP") != "<Ref ScheduleGroup>":
            problems.append(f"[{scen}] SCHEDULE_GROUP={env.get('SCHEDULE_GROUP')!r}")
    return problems


def _rules_by_pattern(res: dict) -> dict[str, str]:
    """Map each kind of rule ('custom', 'deregistered', 'reconcile', 'route53',
    'route53domains') to the rule's logical id; a rule matching several custom
    detail-types, or none of them, is its own kind so the set comparison sees it."""
    out = {}
    by_detail_type = {v: k for k, v in CUSTOM_RULE_DETAIL_TYPES.items()}
    for name, rr in res.items():
        if rr["Type"] != "AWS::Events::Rule":
            continue
        pattern = rr["Properties"].get("EventPattern", {})
        source = pattern.get("source", [None])[0]
        kind = {"aws.route53": "route53", "aws.route53domains": "route53domains"}.get(source)
        if kind is None:
            types = pattern.get("detail-type", [])
            kind = by_detail_type.get(types[0]) if len(types) == 1 else None
            kind = kind or f"custom {types!r}"
        out[kind] = name
    return out


def check_rules(tpl: dict) -> list[str]:
    problems = []
    raw = tpl["Resources"]
    for scen, kw in SCENARIOS.items():
        r = Resolver(tpl, **kw)
        res = r.resources()
        rules = _rules_by_pattern(res)
        expected_kinds = set(CUSTOM_RULE_DETAIL_TYPES) | (
            {"route53", "route53domains"} if kw["region"] == "us-east-1" else set())
        if set(rules) != expected_kinds:
            problems.append(f"[{scen}] rules created: {sorted(rules)}, want {sorted(expected_kinds)}")
        perms = {
            rr["Properties"].get("SourceArn"): (name, rr)
            for name, rr in res.items()
            if rr["Type"] == "AWS::Lambda::Permission"
        }
        dlq_policy = res["EventRuleDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
        allowed_sources = [
            s for st in statements(dlq_policy)
            for s in as_list(st.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn", []))
        ]
        for kind, name in rules.items():
            props = res[name]["Properties"]
            pattern = props.get("EventPattern")
            if kind in CUSTOM_RULE_DETAIL_TYPES:
                want_pattern = {"source": [r.params["CustomEventSource"]],
                                "detail-type": [CUSTOM_RULE_DETAIL_TYPES[kind]]}
                if props.get("EventBusName") != r.params["InboundEventBusName"]:
                    problems.append(f"[{scen}] {name} on bus {props.get('EventBusName')!r}")
            elif kind in RULE_SWITCHES:
                want_pattern = ROUTE53_PATTERN if kind == "route53" else ROUTE53_DOMAINS_PATTERN
                if props.get("EventBusName", "default") != "default":
                    problems.append(f"[{scen}] {name}: AWS events only reach the default bus")
            else:  # a rule of no known kind: already reported by the set comparison
                continue
            if pattern != want_pattern:
                problems.append(f"[{scen}] {name} pattern {pattern!r}, want {want_pattern!r}")
            if not raw[name].get("Condition"):
                problems.append(f"{name} is not switchable (no Condition)")
            targets = props.get("Targets", [])
            if len(targets) != 1:
                problems.append(f"[{scen}] {name} has {len(targets)} targets")
            for t in targets:
                if t.get("Arn") != "<GetAtt DkimAutopilotFunction.Arn>":
                    problems.append(f"[{scen}] {name} target {t.get('Arn')!r}")
                dlq = t.get("DeadLetterConfig", {}).get("Arn", "")
                if not (isinstance(dlq, str) and dlq.startswith("<GetAtt ")
                        and res.get(dlq[8:-5], {}).get("Type") == "AWS::SQS::Queue"):
                    problems.append(f"[{scen}] {name} target DeadLetterConfig {t.get('DeadLetterConfig')!r}")
                rp = t.get("RetryPolicy", {})
                if not (isinstance(rp.get("MaximumRetryAttempts"), int) and 0 <= rp["MaximumRetryAttempts"] <= 185):
                    problems.append(f"[{scen}] {name} RetryPolicy.MaximumRetryAttempts {rp.get('MaximumRetryAttempts')!r}")
                if not (isinstance(rp.get("MaximumEventAgeInSeconds"), int) and 60 <= rp["MaximumEventAgeInSeconds"] <= 86400):
                    problems.append(f"[{scen}] {name} RetryPolicy.MaximumEventAgeInSeconds {rp.get('MaximumEventAgeInSeconds')!r}")
            perm = perms.get(f"<GetAtt {name}.Arn>")
            if perm is None:
                problems.append(f"[{scen}] no Lambda::Permission with SourceArn = {name}")
            else:
                pname, pr = perm
                pp = pr["Properties"]
                if (pp.get("Principal"), pp.get("Action"), pp.get("FunctionName")) != (
                    "events.amazonaws.com", "lambda:InvokeFunction", "<Ref DkimAutopilotFunction>"
                ):
                    problems.append(f"[{scen}] permission {pname} is {pp!r}")
                if raw[pname].get("Condition") != raw[name].get("Condition"):
                    problems.append(f"{pname} and {name} have different Conditions")
            # The DLQ policy must let EventBridge write for this rule.
            p = r.pseudo
            rule_name = props.get("Name")
            prefix = f"arn:{p['AWS::Partition']}:events:{p['AWS::Region']}:{ACCOUNT}:rule/"
            bus = props.get("EventBusName", "default")
            want_arn = prefix + (rule_name if bus == "default" else f"{bus}/{rule_name}")
            if want_arn not in allowed_sources:
                problems.append(f"[{scen}] DLQ policy does not allow {want_arn}")
        # Every Lambda::Permission must be tied to one rule (no open invokes).
        for src, (pname, _) in perms.items():
            if not (isinstance(src, str) and src[8:-5] in rules.values()):
                problems.append(f"[{scen}] permission {pname} has SourceArn {src!r}")
    # Each rule has its own switch: turning one off removes that rule and no other.
    for kind, param in RULE_SWITCHES.items():
        for value in ("true", "false"):
            kinds = set(_rules_by_pattern(Resolver(tpl, region="us-east-1", **{param: value}).resources()))
            want = set(RULE_SWITCHES) - ({kind} if value == "false" else set())
            if kinds != want:
                problems.append(f"{param}={value}: rules {sorted(kinds)}, want {sorted(want)}")
    # The AWS-source rules exist only in us-east-1, whatever their parameter says.
    conds = tpl["Conditions"]
    if conds.get("IsUsEast1") != {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}:
        problems.append(f"IsUsEast1 is {conds.get('IsUsEast1')!r}")
    for cond in ("CreateRoute53HostedZoneRule", "CreateRoute53DomainsRule"):
        parts = conds.get(cond, {}).get("Fn::And", [])
        if {"Condition": "IsUsEast1"} not in parts:
            problems.append(f"{cond} does not require IsUsEast1")
    return problems


def check_function(tpl: dict) -> list[str]:
    problems = []
    fn = tpl["Resources"]["DkimAutopilotFunction"]
    props = fn["Properties"]
    want = {
        "Runtime": "provided.al2023",
        "Architectures": ["arm64"],
        "Handler": "bootstrap",
        "CodeUri": ".",
        "MemorySize": {"Ref": "MemorySize"},
        "Timeout": {"Ref": "Timeout"},
        "ReservedConcurrentExecutions": {"Ref": "ReservedConcurrency"},
        "FunctionName": {"Fn::Sub": "${AWS::StackName}-dkim-autopilot"},
    }
    for k, v in want.items():
        if props.get(k) != v:
            problems.append(f"function {k}={props.get(k)!r}, want {v!r}")
    build = {k: v for k, v in fn.get("Metadata", {}).items() if k != "checkov"}
    if build != {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": "dkim-autopilot"}}:
        problems.append(f"function Metadata {fn.get('Metadata')!r}")
    log = props.get("LoggingConfig", {})
    if log.get("LogFormat") != "JSON" or "ApplicationLogLevel" not in log or "SystemLogLevel" not in log:
        problems.append(f"LoggingConfig {log!r}")
    params = tpl["Parameters"]
    defaults = {"MemorySize": 256, "Timeout": 60, "ReservedConcurrency": 1, "DkimRecordTtl": 1800,
                "FirstCheckDelayMinutes": 5, "VerificationDeadlineHours": 72, "MaxVerificationRestarts": 3,
                "CustomEventSource": "my.saas.onboarding", "InboundEventBusName": "default",
                "SesCallsPerSecond": 1, "Route53CallsPerSecond": 5, "MaxDeferrals": 6, "AlarmTopicArn": "",
                "EnableCustomEventRule": "true", "EnableDeregisteredRule": "true",
                "EnableReconcileRequestedRule": "true", "EnableReconcileSchedule": "true",
                "ReconcileScheduleExpression": "rate(1 day)"}
    for name, value in defaults.items():
        if str(params.get(name, {}).get("Default")) != str(value):
            problems.append(f"parameter {name} default {params.get(name, {}).get('Default')!r}, want {value!r}")
    description = params.get("ReservedConcurrency", {}).get("Description", "")
    for words in ("VerifyDomainDkim", "1/N", "RESERVED_CONCURRENCY", "deferred"):
        if words not in description:
            problems.append(f"ReservedConcurrency description does not explain the pacing trade-off ({words!r})")
    env = props.get("Environment", {}).get("Variables", {})
    if set(env) != EXPECTED_ENV:
        problems.append(f"env vars: extra {sorted(set(env) - EXPECTED_ENV)}, missing {sorted(EXPECTED_ENV - set(env))}")
    return problems


def check_queues(tpl: dict) -> list[str]:
    problems = []
    queues = {n: r for n, r in tpl["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    if len(queues) < 2:
        problems.append(f"only {len(queues)} SQS queues")
    for name, q in queues.items():
        p = q.get("Properties", {})
        if p.get("SqsManagedSseEnabled") is not True and "KmsMasterKeyId" not in p:
            problems.append(f"{name}: no server-side encryption")
        if p.get("MessageRetentionPeriod") != 1209600:
            problems.append(f"{name}: retention {p.get('MessageRetentionPeriod')!r}, want 14 days")
    return problems


def check_settings(tpl: dict) -> list[str]:
    """Each setting the stack owns reaches the function as a Ref to its
    parameter, and the parameter's range and default are the function's."""
    problems = []
    env = tpl["Resources"]["DkimAutopilotFunction"]["Properties"].get("Environment", {}).get("Variables", {})
    numbers = table_numbers(SETTINGS_TABLE.read_text())
    for var, param in SETTINGS_FROM_PARAMETERS.items():
        if var not in numbers:
            problems.append(f"{var} is no number setting of {SETTINGS_TABLE.name}")
            continue
        low, high, default = numbers[var]
        if env.get(var) != {"Ref": param}:
            problems.append(f"env {var}={env.get(var)!r}, want a Ref to parameter {param}")
        spec = tpl["Parameters"].get(param, {})
        got = (spec.get("Type"), spec.get("MinValue"), spec.get("MaxValue"), spec.get("Default"))
        if tuple(str(x) for x in got) != tuple(str(x) for x in ("Number", low, high, default)):
            problems.append(f"parameter {param} (Type, MinValue, MaxValue, Default) = {got!r}, "
                            f"want ('Number', {low}, {high}, {default})")
    for var, (param, default, allowed) in TEXT_SETTINGS_FROM_PARAMETERS.items():
        if env.get(var) != {"Ref": param}:
            problems.append(f"env {var}={env.get(var)!r}, want a Ref to parameter {param}")
        spec = tpl["Parameters"].get(param, {})
        got = (spec.get("Type"), spec.get("Default"), spec.get("AllowedValues"))
        if got != ("String", default, allowed):
            problems.append(f"parameter {param} (Type, Default, AllowedValues) = {got!r}, "
                            f"want ('String', {default!r}, {allowed!r})")
        if allowed is None:  # a suffix list
            pattern = spec.get("AllowedPattern")
            if not pattern:
                problems.append(f"parameter {param} has no AllowedPattern")
                continue
            problems += [f"parameter {param} refuses {v!r}, which the function accepts"
                         for v in SUFFIX_LISTS_ACCEPTED if not re.fullmatch(pattern, v)]
            problems += [f"parameter {param} accepts {v!r}, which is no domain suffix"
                         for v in SUFFIX_LISTS_REFUSED if re.fullmatch(pattern, v)]
    return problems


def check_delete_identity(tpl: dict) -> list[str]:
    """ses:DeleteIdentity, the one destructive SES permission: granted only when a
    setting lets the function delete identities, and only in the SES Region."""
    problems = []
    for scen, kw in SCENARIOS.items():
        for settings in (("true", "false"), ("false", "true"), ("false", "false"), ("true", "true")):
            params = dict(zip(DELETE_IDENTITY_SETTINGS, settings))
            r = Resolver(tpl, **{**kw, **params})
            sts = _statement_for(role_statements(r.resources(), "FunctionRole"), "ses:DeleteIdentity")
            want_count = 1 if "true" in settings else 0
            if len(sts) != want_count:
                problems.append(f"[{scen}, {params}] {len(sts)} ses:DeleteIdentity statements, want {want_count}")
            ses_region = r.params["SesRegion"] or r.pseudo["AWS::Region"]
            want = {"StringEquals": {"aws:RequestedRegion": ses_region}}
            for st in sts:
                if st.get("Condition") != want:
                    problems.append(f"[{scen}, {params}] DeleteIdentity condition {st.get('Condition')!r}, want {want!r}")
                if as_list(st.get("Resource")) != ["*"]:
                    problems.append(f"[{scen}, {params}] DeleteIdentity on {st.get('Resource')!r}")
    return problems


def check_get_email_identity(tpl: dict) -> list[str]:
    """ses:GetEmailIdentity (SES v2, read-only): the account's identities in the SES
    Region and nothing wider, in every scenario."""
    problems = []
    for scen, kw in SCENARIOS.items():
        for ses_region in ("", "eu-west-1"):
            r = Resolver(tpl, **{**kw, "SesRegion": ses_region})
            sts = [st for st in _statement_for(role_statements(r.resources(), "FunctionRole"),
                                               "ses:GetEmailIdentity")
                   if st.get("Sid") != "SesGetReplicaIdentities"]
            region = ses_region or r.pseudo["AWS::Region"]
            want = [f"arn:{r.pseudo['AWS::Partition']}:ses:{region}:{ACCOUNT}:identity/*"]
            if len(sts) != 1:
                problems.append(f"[{scen}, SesRegion={ses_region!r}] {len(sts)} GetEmailIdentity statements")
            for st in sts:
                if as_list(st.get("Resource")) != want or "Condition" in st:
                    problems.append(f"[{scen}, SesRegion={ses_region!r}] GetEmailIdentity on "
                                    f"{st.get('Resource')!r}, want {want}")
    return problems


def check_key_length(tpl: dict) -> list[str]:
    """ses:PutEmailIdentityDkimSigningAttributes and ses:TagResource (SES v2): one
    statement, on the account's identities in the SES Region, only when DkimKeyLength
    is not keep; and DKIM_KEY_LENGTH is the parameter."""
    problems = []
    for scen, kw in SCENARIOS.items():
        for length in ("2048", "1024", "keep"):
            for ses_region in ("", "eu-west-1"):
                where = f"[{scen}, DkimKeyLength={length}, SesRegion={ses_region!r}]"
                r = Resolver(tpl, **{**kw, "SesRegion": ses_region, "DkimKeyLength": length})
                sts = role_statements(r.resources(), "FunctionRole")
                env = r.resources()["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]
                if env.get("DKIM_KEY_LENGTH") != length:
                    problems.append(f"{where} DKIM_KEY_LENGTH={env.get('DKIM_KEY_LENGTH')!r}")
                for action in sorted(KEY_LENGTH_ACTIONS):
                    found = _statement_for(sts, action)
                    tags_regions = action == "ses:TagResource" and bool(r.params["SesReplicaRegions"])
                    want = 0 if length == "keep" and not tags_regions else 1
                    if len(found) != want:
                        problems.append(f"{where} {len(found)} statements allow {action}, want {want}")
                    region = ses_region or r.pseudo["AWS::Region"]
                    arn = [f"arn:{r.pseudo['AWS::Partition']}:ses:{region}:{ACCOUNT}:identity/*"]
                    for st in found:
                        if as_list(st.get("Resource")) != arn or "Condition" in st:
                            problems.append(f"{where} {action} on {st.get('Resource')!r}, want {arn}")
    return problems


def check_replicas(tpl: dict) -> list[str]:
    """DEED replicas: only when SesReplicaRegions is set; the parent lends its key to
    the listed Regions only (ForAllValues ses:ReplicaRegion), on the account's
    identities in the SES Region; replicas are created, read and (only when offboarding
    deletes identities) deleted in the listed Regions only; SES_REPLICA_REGIONS is the
    parameter."""
    problems = []
    spec = tpl["Parameters"].get("SesReplicaRegions", {})
    pattern = spec.get("AllowedPattern", "")
    for ok in ("", "us-west-2", "us-west-2,eu-west-1", "us-gov-west-1"):
        if not re.fullmatch(pattern, ok):
            problems.append(f"SesReplicaRegions refuses {ok!r}")
    for bad in ("us-west-2, eu-west-1", "us-west-2,", ",us-west-2", "US-WEST-2", "*"):
        if re.fullmatch(pattern, bad):
            problems.append(f"SesReplicaRegions accepts {bad!r}")
    for scen, kw in SCENARIOS.items():
        for replicas in ("", "us-west-2,eu-west-1"):
            for delete in ("true", "false"):
                params = {**kw, "SesReplicaRegions": replicas, "DeleteIdentityOnOffboard": delete}
                where = f"[{scen}, SesReplicaRegions={replicas!r}, DeleteIdentityOnOffboard={delete}]"
                r = Resolver(tpl, **params)
                sts = role_statements(r.resources(), "FunctionRole")
                env = r.resources()["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]
                if env.get("SES_REPLICA_REGIONS") != replicas:
                    problems.append(f"{where} SES_REPLICA_REGIONS={env.get('SES_REPLICA_REGIONS')!r}")
                listed = replicas.split(",") if replicas else []
                partition = r.pseudo["AWS::Partition"]
                replicate = _statement_for(sts, "ses:ReplicateEmailIdentityDKIMSigningKey")
                if len(replicate) != (1 if listed else 0):
                    problems.append(f"{where} {len(replicate)} ReplicateEmailIdentityDKIMSigningKey statements")
                ses_region = params.get("SesRegion") or r.pseudo["AWS::Region"]
                parent_arn = [f"arn:{partition}:ses:{ses_region}:{ACCOUNT}:identity/*"]
                for st in replicate:
                    if as_list(st.get("Resource")) != parent_arn:
                        problems.append(f"{where} key replication on {st.get('Resource')!r}, want {parent_arn}")
                    cond = st.get("Condition", {})
                    if list(cond) != ["ForAllValues:StringEquals"] or \
                            cond["ForAllValues:StringEquals"] != {"ses:ReplicaRegion": listed}:
                        problems.append(f"{where} key replication condition {cond!r}, want ses:ReplicaRegion {listed}")
                for sid, action in REPLICA_STATEMENTS:
                    want = 1 if listed and (action != "ses:DeleteEmailIdentity" or delete == "true") else 0
                    found = [st for st in sts if st.get("Sid") == sid]
                    if len(found) != want or any(as_list(st.get("Action")) != [action] for st in found):
                        problems.append(f"{where} {sid}: {found!r}, want {want} statement of {action}")
                    for st in found:
                        # A list action has no resource type: "*", held by the Regions.
                        arn = ["*"] if action == "ses:ListEmailIdentities" else \
                            [f"arn:{partition}:ses:*:{ACCOUNT}:identity/*"]
                        if as_list(st.get("Resource")) != arn:
                            problems.append(f"{where} {sid} on {st.get('Resource')!r}, want {arn}")
                        if st.get("Condition") != {"StringEquals": {"aws:RequestedRegion": listed}}:
                            problems.append(f"{where} {sid} condition {st.get('Condition')!r}, want the listed Regions")
    return problems


def check_reconcile_schedule(tpl: dict) -> list[str]:
    """The recurring reconcile: always there (switched by its State), its rate a
    parameter, outside the group the function may write, invoking the function with
    the versioned payload through the Scheduler role, retried and dead-lettered."""
    problems = []
    raw = tpl["Resources"]
    schedules = [n for n, r in raw.items() if r["Type"] == "AWS::Scheduler::Schedule"]
    if schedules != ["ReconcileSchedule"]:
        return [f"schedules in the template: {schedules}, want ['ReconcileSchedule']"]
    if raw["ReconcileSchedule"].get("Condition"):
        problems.append("ReconcileSchedule has a Condition: turning it off must keep it, DISABLED")
    props = raw["ReconcileSchedule"]["Properties"]
    if props.get("ScheduleExpression") != {"Ref": "ReconcileScheduleExpression"}:
        problems.append(f"ScheduleExpression {props.get('ScheduleExpression')!r}, want the parameter")
    spec = tpl["Parameters"].get("ReconcileScheduleExpression", {})
    if spec.get("Default") != "rate(1 day)":
        problems.append(f"ReconcileScheduleExpression default {spec.get('Default')!r}, want 'rate(1 day)'")
    pattern = spec.get("AllowedPattern", "")
    problems += [f"ReconcileScheduleExpression refuses {e!r}" for e in RECONCILE_EXPRESSIONS_ACCEPTED
                 if not re.fullmatch(pattern, e)]
    problems += [f"ReconcileScheduleExpression accepts {e!r}" for e in RECONCILE_EXPRESSIONS_REFUSED
                 if re.fullmatch(pattern, e)]
    if tpl["Parameters"].get("EnableReconcileSchedule", {}).get("Default") != "true":
        problems.append("EnableReconcileSchedule does not default to true")
    for scen, kw in SCENARIOS.items():
        for enabled, state in (("true", "ENABLED"), ("false", "DISABLED")):
            r = Resolver(tpl, **{**kw, "EnableReconcileSchedule": enabled})
            got = r.resources().get("ReconcileSchedule", {}).get("Properties", {})
            if got.get("State") != state:
                problems.append(f"[{scen}] EnableReconcileSchedule={enabled}: State {got.get('State')!r}, want {state}")
        r = Resolver(tpl, **kw)
        got = r.resources()["ReconcileSchedule"]["Properties"]
        # The function may write schedules only in ScheduleGroup: keep its trigger out of it.
        if got.get("GroupName", "default") != "default":
            problems.append(f"[{scen}] ReconcileSchedule in group {got.get('GroupName')!r}, want the default group")
        name = got.get("Name", "")
        if not name.startswith(STACK) or len(name) - len(STACK) + STACK_NAME_MAX > SCHEDULE_NAME_MAX:
            problems.append(f"[{scen}] schedule name {name!r} must carry the stack name and fit "
                            f"{SCHEDULE_NAME_MAX} characters for a {STACK_NAME_MAX}-character stack")
        if got.get("FlexibleTimeWindow") != {"Mode": "OFF"}:
            problems.append(f"[{scen}] FlexibleTimeWindow {got.get('FlexibleTimeWindow')!r}")
        if "ActionAfterCompletion" in got and got["ActionAfterCompletion"] != "NONE":
            problems.append(f"[{scen}] a recurring schedule with ActionAfterCompletion {got['ActionAfterCompletion']!r}")
        target = got.get("Target", {})
        want_target = {
            "Arn": "<GetAtt DkimAutopilotFunction.Arn>",
            "RoleArn": "<GetAtt SchedulerInvokeRole.Arn>",
            "DeadLetterConfig": {"Arn": "<GetAtt SchedulerDeadLetterQueue.Arn>"},
        }
        for key, value in want_target.items():
            if target.get(key) != value:
                problems.append(f"[{scen}] ReconcileSchedule Target.{key} {target.get(key)!r}, want {value!r}")
        try:
            payload = json.loads(target.get("Input", ""))
        except ValueError:
            payload = target.get("Input")
        if payload != RECONCILE_INPUT:
            problems.append(f"[{scen}] ReconcileSchedule input {payload!r}, want {RECONCILE_INPUT!r}")
        rp = target.get("RetryPolicy", {})
        if not (isinstance(rp.get("MaximumRetryAttempts"), int) and 0 <= rp["MaximumRetryAttempts"] <= 185
                and isinstance(rp.get("MaximumEventAgeInSeconds"), int)
                and 60 <= rp["MaximumEventAgeInSeconds"] <= 86400):
            problems.append(f"[{scen}] ReconcileSchedule RetryPolicy {rp!r}")
    return problems


def check_parameter_groups(tpl: dict) -> list[str]:
    """The console groups every parameter exactly once, and only parameters."""
    groups = tpl.get("Metadata", {}).get("AWS::CloudFormation::Interface", {}).get("ParameterGroups", [])
    listed = [p for g in groups for p in g.get("Parameters", [])]
    problems = [f"parameter {p} is in {listed.count(p)} parameter groups"
                for p in tpl["Parameters"] if listed.count(p) != 1]
    problems += [f"parameter group lists unknown parameter {p}" for p in listed if p not in tpl["Parameters"]]
    return problems


def _alarms(res: dict) -> dict[str, dict]:
    return {n: r["Properties"] for n, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def check_alarms(tpl: dict) -> list[str]:
    """The alarms of docs/operations.md: right metric, namespace, dimensions,
    statistic and threshold, and one on every queue of the stack."""
    problems = []
    for scen, kw in SCENARIOS.items():
        res = Resolver(tpl, **kw).resources()
        alarms = _alarms(res)
        if set(alarms) != set(EXPECTED_ALARMS):
            problems.append(f"[{scen}] alarms: extra {sorted(set(alarms) - set(EXPECTED_ALARMS))}, "
                            f"missing {sorted(set(EXPECTED_ALARMS) - set(alarms))}")
        for name, props in alarms.items():
            dims = {d.get("Name"): d.get("Value") for d in props.get("Dimensions", [])}
            got = (props.get("Namespace"), props.get("MetricName"), props.get("Statistic"), dims)
            want = EXPECTED_ALARMS.get(name)
            if want is not None and got != want:
                problems.append(f"[{scen}] {name} watches {got!r}, want {want!r}")
            shape = (str(props.get("ComparisonOperator")), str(props.get("Threshold")),
                     str(props.get("EvaluationPeriods")), str(props.get("TreatMissingData")))
            if shape not in {("GreaterThanThreshold", "0", "1", "notBreaching"),
                             ("GreaterThanThreshold", "0.0", "1", "notBreaching")}:
                problems.append(f"[{scen}] {name}: (comparison, threshold, periods, missing data) = {shape!r}, "
                                "want the first occurrence to alarm and silence to be fine")
            if not isinstance(props.get("Period"), int) or not 60 <= props["Period"] <= 3600:
                problems.append(f"[{scen}] {name}: Period {props.get('Period')!r}")
        queues = {n for n, r in res.items() if r["Type"] == "AWS::SQS::Queue"}
        watched = {
            p["Dimensions"][0]["Value"][len("<GetAtt "):-len(".QueueName>")]
            for p in alarms.values()
            if p.get("Namespace") == "AWS/SQS" and p.get("Dimensions")
            and str(p["Dimensions"][0].get("Value", "")).endswith(".QueueName>")
        }
        if queues - watched:
            problems.append(f"[{scen}] queues without an alarm: {sorted(queues - watched)}")
    return problems


def check_alarm_actions(tpl: dict) -> list[str]:
    """AlarmTopicArn is optional: unset, no alarm notifies anything; set, every
    alarm notifies exactly that topic (and nothing else)."""
    problems = []
    spec = tpl["Parameters"].get("AlarmTopicArn", {})
    if (spec.get("Type"), spec.get("Default")) != ("String", ""):
        problems.append(f"AlarmTopicArn is {spec!r}, want an optional String defaulting to empty")
    for scen, kw in SCENARIOS.items():
        for topic in ("", ALARM_TOPIC):
            res = Resolver(tpl, **{**kw, "AlarmTopicArn": topic}).resources()
            alarms = _alarms(res)
            if not alarms:
                problems.append(f"[{scen}] no alarms")
            for name, props in alarms.items():
                want = [topic] if topic else []
                if props.get("AlarmActions", []) != want:
                    problems.append(f"[{scen}, topic {topic!r}] {name} AlarmActions "
                                    f"{props.get('AlarmActions')!r}, want {want!r}")
                for other in ("OKActions", "InsufficientDataActions"):
                    if [a for a in props.get(other, []) if a != topic]:
                        problems.append(f"[{scen}] {name} {other} {props[other]!r}")
    return problems


# Route53RoleArn / Route53ExternalId: values src/config accepts, and ones it refuses.
DNS_ROLE_ARNS_ACCEPTED = ["", "arn:aws:iam::210987654321:role/dkim-autopilot-dns",
                          "arn:aws-us-gov:iam::210987654321:role/dns/team-a/dkim"]
DNS_ROLE_ARNS_REFUSED = ["dkim-autopilot-dns", "arn:aws:iam::210987654321:user/dkim",
                         "arn:aws:sts::210987654321:assumed-role/dkim/s", "arn:aws:iam::2109:role/dkim",
                         "arn:aws:iam::210987654321:role/"]
EXTERNAL_IDS_ACCEPTED = ["", "tenant-7", "a=b,c.d@e:f/g-h+i_j", "x" * 1224]
EXTERNAL_IDS_REFUSED = ["x", "with space", "x" * 1225, "semi;colon"]


def check_route53_role(tpl: dict) -> list[str]:
    """Hosted zones in another account: sts:AssumeRole on exactly Route53RoleArn, only
    when it is set; both settings reach the function; the external id is NoEcho and
    refused at deploy time without the role, as the function refuses it."""
    problems = []
    params = tpl["Parameters"]
    for name, accepted, refused in (("Route53RoleArn", DNS_ROLE_ARNS_ACCEPTED, DNS_ROLE_ARNS_REFUSED),
                                    ("Route53ExternalId", EXTERNAL_IDS_ACCEPTED, EXTERNAL_IDS_REFUSED)):
        spec = params.get(name, {})
        if (spec.get("Type"), spec.get("Default")) != ("String", ""):
            problems.append(f"parameter {name} is {spec!r}, want an optional String defaulting to empty")
        pattern = spec.get("AllowedPattern", ".*")
        problems += [f"parameter {name} refuses {v!r}" for v in accepted if not re.fullmatch(pattern, v)]
        problems += [f"parameter {name} accepts {v!r}" for v in refused if re.fullmatch(pattern, v)]
    if str(params.get("Route53ExternalId", {}).get("NoEcho")).lower() != "true":
        problems.append("parameter Route53ExternalId is not NoEcho")
    env = tpl["Resources"]["DkimAutopilotFunction"]["Properties"].get("Environment", {}).get("Variables", {})
    for var, param in (("ROUTE53_ROLE_ARN", "Route53RoleArn"), ("ROUTE53_EXTERNAL_ID", "Route53ExternalId")):
        if env.get(var) != {"Ref": param}:
            problems.append(f"env {var}={env.get(var)!r}, want a Ref to parameter {param}")
    role = DNS_ROLE_ARNS_ACCEPTED[1]
    for scen, kw in SCENARIOS.items():
        for arn in ("", role):
            r = Resolver(tpl, **{**kw, "Route53RoleArn": arn})
            res = r.resources()
            sts = [st for name, rr in res.items() if rr["Type"] == "AWS::IAM::Role"
                   for st in role_statements(res, name) if "sts:AssumeRole" in as_list(st.get("Action", []))]
            want = [{"Sid": "AssumeRoute53Role", "Effect": "Allow", "Action": "sts:AssumeRole",
                     "Resource": arn}] if arn else []
            if sts != want:
                problems.append(f"[{scen}, Route53RoleArn {arn!r}] sts:AssumeRole statements {sts!r}, want {want!r}")
    # The deploy-time rule: an external id without the role is refused, nothing else.
    for arn in ("", role):
        for external_id in ("", "tenant-7"):
            r = Resolver(tpl, Route53RoleArn=arn, Route53ExternalId=external_id)
            refused = any(
                r.resolve(rule.get("RuleCondition", True))
                and not all(r.resolve(a.get("Assert")) for a in rule.get("Assertions", []))
                for rule in tpl.get("Rules", {}).values()
            )
            if refused != (bool(external_id) and not arn):
                problems.append(f"Route53RoleArn {arn!r} with Route53ExternalId {external_id!r}: "
                                f"{'refused' if refused else 'accepted'} at deploy time")
    return problems


def check_wildcard_resources_commented(text: str) -> list[str]:
    """Every IAM Resource containing "*" has a YAML comment on the line right
    above its "Resource:" key or right above the list item holding the "*"."""
    problems = []
    lines = text.splitlines()
    tpl = load_nodes(text)

    def has_star(node: Any) -> bool:
        if isinstance(node, str):
            return "*" in node
        if isinstance(node, dict):
            return any(has_star(v) for v in node.values())
        if isinstance(node, list):
            return any(has_star(v) for v in node)
        return False

    def comment_above(line_no: int) -> bool:  # 0-based line of the key/item
        return line_no > 0 and lines[line_no - 1].strip().startswith("#")

    for path, doc in policy_documents(tpl["Resources"]):
        for st in statements(doc):
            for key in st:
                if key != "Resource" or not has_star(st[key]):
                    continue
                if comment_above(key.start_mark.line):
                    continue
                value = st[key]
                items = value if isinstance(value, list) else []
                starred = [i for i in items if has_star(i)]
                if starred and all(comment_above(_first_line(i)) for i in starred):
                    continue
                problems.append(f"line {key.start_mark.line + 1}: wildcard Resource without a justifying comment")
    return problems


def _cargo_package() -> dict[str, str]:
    """Cargo.toml's [package] name = "value" lines (no TOML parser in 3.10's stdlib)."""
    text = (ROOT / "Cargo.toml").read_text()
    package = text.split("[package]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^(\w[\w-]*)\s*=\s*"([^"]*)"', package, re.M))


def check_serverless_repo(tpl: dict) -> list[str]:
    """The Serverless Application Repository's metadata: SAR's own field rules
    (SAM developer guide, "AWS SAM template Metadata section properties"), the
    version and license of Cargo.toml, and files that exist."""
    app = tpl.get("Metadata", {}).get("AWS::ServerlessRepo::Application")
    if not isinstance(app, dict):
        return ["Metadata has no AWS::ServerlessRepo::Application"]
    problems = []
    rules = {
        "Name": (140, r"[a-zA-Z0-9\-]+"),
        "Description": (256, r"(?s).+"),
        "Author": (127, r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?"),
    }
    for field, (longest, pattern) in rules.items():
        value = app.get(field)
        if not isinstance(value, str) or not re.fullmatch(pattern, value) or len(value) > longest:
            problems.append(f"ServerlessRepo {field} {value!r} breaks SAR's rule ({longest} chars, {pattern})")
    labels = app.get("Labels", [])
    if len(labels) > 10 or any(not re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", str(l)) for l in labels):
        problems.append(f"ServerlessRepo Labels {labels} break SAR's rule (10 at most, [a-zA-Z0-9+-_:/@])")
    package = _cargo_package()
    if str(app.get("SemanticVersion")) != package.get("version"):
        problems.append(f"SemanticVersion {app.get('SemanticVersion')} is not Cargo.toml's {package.get('version')}")
    if app.get("SpdxLicenseId") != package.get("license"):
        problems.append(f"SpdxLicenseId {app.get('SpdxLicenseId')} is not Cargo.toml's {package.get('license')}")
    for field in ["LicenseUrl", "ReadmeUrl"]:
        if not (ROOT / str(app.get(field, ""))).is_file():
            problems.append(f"ServerlessRepo {field} {app.get(field)!r} is not a file of the project")
    return problems


def check_sar_resource_types(tpl: dict) -> list[str]:
    """Every resource type is one docs/deploy.md says was checked against SAR's
    supported list, so a new type cannot slip past that check."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    block = text.split("<!-- sar-resource-types -->", 1)[-1].split("<!-- /sar-resource-types -->", 1)[0]
    checked = set(re.findall(r"`(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)`", block))
    used = {r["Type"] for r in tpl["Resources"].values()}
    return [f"resource type {t} is not among docs/deploy.md's types checked against SAR's list"
            for t in sorted(used - checked)]


def _first_line(node: Any) -> int:
    if hasattr(node, "start_mark"):
        return node.start_mark.line
    if isinstance(node, dict):
        return min(_first_line(k) for k in node)
    raise TypeError(node)


SEMANTIC_CHECKS: list[Callable[[dict], list[str]]] = [
    check_no_wildcard_actions,
    check_function_role,
    check_logs_scoped,
    check_route53,
    check_scheduler_scoped,
    check_pass_role,
    check_put_events,
    check_on_failure_destination,
    check_scheduler_role,
    check_rules,
    check_function,
    check_queues,
    check_settings,
    check_delete_identity,
    check_get_email_identity,
    check_key_length,
    check_replicas,
    check_reconcile_schedule,
    check_parameter_groups,
    check_alarms,
    check_alarm_actions,
    check_route53_role,
    check_sending_batches,
    check_sending_settings,
    check_dashboard,
    check_scanner_suppressions,
    check_serverless_repo,
    check_sar_resource_types,
]


# ---------------------------------------------------------------------------
# Tests on the real template
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("check", SEMANTIC_CHECKS, ids=lambda c: c.__name__)
def test_template(check):
    assert check(load()) == []


def test_dashboard_is_made_by_its_one_definition():
    assert check_dashboard_generated(template_text()) == []
    edited = template_text().replace('"Seconds from onboarding to verification"', '"Time to verify"')
    assert check_dashboard_generated(edited) != []


def test_wildcard_resources_are_commented():
    assert check_wildcard_resources_commented(template_text()) == []


def test_transform_and_outputs():
    tpl = load()
    assert tpl["Transform"] == "AWS::Serverless-2016-10-31"
    outputs = tpl["Outputs"]
    for name in ("FunctionArn", "FunctionName", "ScheduleGroupName", "SchedulerRoleArn",
                 "EventRuleDeadLetterQueueUrl", "AsyncFailureQueueUrl", "SchedulerDeadLetterQueueUrl",
                 "CustomDomainRegisteredRuleName", "Route53HostedZoneCreatedRuleName",
                 "Route53DomainRegisteredRuleName", "CustomDomainDeregisteredRuleName",
                 "CustomReconcileRequestedRuleName", "ReconcileScheduleArn"):
        assert name in outputs, name


def test_put_events_sample_matches_custom_rule():
    """events/cli/put-events-custom.json must be matched by the custom rule."""
    entries = json.loads((ROOT / "events" / "cli" / "put-events-custom.json").read_text())
    tpl = load()
    props = Resolver(tpl).resources()["CustomDomainRegisteredRule"]["Properties"]
    assert len(entries) == 1
    entry = entries[0]
    assert [entry["Source"]] == props["EventPattern"]["source"]
    assert [entry["DetailType"]] == props["EventPattern"]["detail-type"]
    assert entry["EventBusName"] == props["EventBusName"]
    assert "domain" in json.loads(entry["Detail"])


# ---------------------------------------------------------------------------
# Every check must be able to fail: widen / break a copy, expect a problem.
# ---------------------------------------------------------------------------


def _fn_statement(tpl: dict, sid: str) -> dict:
    for st in statements(tpl["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]):
        if st["Sid"] == sid:
            return st
    raise KeyError(sid)


def _sched_statement(tpl: dict, sid: str) -> dict:
    for st in tpl["Resources"]["SchedulerInvokeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if st["Sid"] == sid:
            return st
    raise KeyError(sid)


def _set(d: dict, path: list, value: Any) -> None:
    for p in path[:-1]:
        d = d[p]
    if value is NO_VALUE:
        del d[path[-1]]
    else:
        d[path[-1]] = value


def m_ses_star(t):
    _fn_statement(t, "SesVerifyDomainDkim")["Action"] = "ses:*"


def m_star_action(t):
    _fn_statement(t, "PutOutcomeEvents")["Action"] = "*"


def m_queue_policy_star(t):
    t["Resources"]["EventRuleDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = "sqs:*"


def m_prefix_wildcard(t):
    _fn_statement(t, "SchedulerDeleteSchedule")["Action"] = "scheduler:Delete*"


def m_managed_policy(t):
    t["Resources"]["FunctionRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]


def m_extra_action(t):
    t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Sid": "Extra", "Effect": "Allow", "Action": "route53:DeleteHostedZone",
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/*"}})


def m_two_actions_one_statement(t):
    _fn_statement(t, "SesVerifyDomainDkim")["Action"] = ["ses:VerifyDomainDkim", "ses:GetIdentityDkimAttributes"]


def m_missing_sid(t):
    del _fn_statement(t, "PutLogEvents")["Sid"]


def m_star_resource_on_scoped_action(t):
    _fn_statement(t, "Route53GetHostedZone")["Resource"] = "*"


def m_logs_any_group(t):
    _fn_statement(t, "PutLogEvents")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}


def m_r53_txt(t):
    _fn_statement(t, "Route53ChangeDkimCnamesOnly")["Condition"]["ForAllValues:StringEquals"][
        "route53:ChangeResourceRecordSetsRecordTypes"] = ["CNAME", "TXT"]


def m_r53_create(t):
    _fn_statement(t, "Route53ChangeDkimCnamesOnly")["Condition"]["ForAllValues:StringEquals"][
        "route53:ChangeResourceRecordSetsActions"] = ["CREATE", "UPSERT", "DELETE"]


def m_r53_any_name(t):
    _fn_statement(t, "Route53ChangeDkimCnamesOnly")["Condition"]["ForAllValues:StringLike"][
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"] = ["*"]


def m_r53_no_null_guard(t):
    del _fn_statement(t, "Route53ChangeDkimCnamesOnly")["Condition"]["Null"]


def m_r53_no_condition(t):
    del _fn_statement(t, "Route53ChangeDkimCnamesOnly")["Condition"]


def m_r53_ignores_zone_ids(t):
    _fn_statement(t, "Route53ChangeDkimCnamesOnly")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/*"}


def m_scheduler_any_group(t):
    _fn_statement(t, "SchedulerCreateSchedule")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/*/*"}


def m_scheduler_update(t):
    _fn_statement(t, "SchedulerDeleteSchedule")["Action"] = "scheduler:UpdateSchedule"


def m_passrole_no_condition(t):
    del _fn_statement(t, "PassSchedulerRoleToSchedulerOnly")["Condition"]


def m_passrole_any_role(t):
    _fn_statement(t, "PassSchedulerRoleToSchedulerOnly")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"}


def m_putevents_any_bus(t):
    _fn_statement(t, "PutOutcomeEvents")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/*"}


def m_putevents_env_mismatch(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"] = "other"


def m_no_retry_attempts(t):
    del t["Resources"]["DkimAutopilotFunction"]["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"]


def m_no_event_age(t):
    del t["Resources"]["DkimAutopilotFunction"]["Properties"]["EventInvokeConfig"]["MaximumEventAgeInSeconds"]


def m_no_on_failure(t):
    del t["Resources"]["DkimAutopilotFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]


def m_sqs_send_any_queue(t):
    _fn_statement(t, "SendToOnFailureDestination")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:*"}


def m_scheduler_role_invoke_any(t):
    _sched_statement(t, "InvokeDkimAutopilotOnly")["Resource"].append(
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"})


def m_scheduler_role_extra_action(t):
    t["Resources"]["SchedulerInvokeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Sid": "Extra", "Effect": "Allow", "Action": "sqs:ReceiveMessage",
         "Resource": {"Fn::GetAtt": ["SchedulerDeadLetterQueue", "Arn"]}})


def m_scheduler_trust_no_source_account(t):
    del t["Resources"]["SchedulerInvokeRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]


def m_scheduler_dlq_wrong_queue(t):
    _sched_statement(t, "SendToSchedulerDeadLetterQueue")["Resource"] = {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}


def m_rule_no_retry_policy(t):
    del t["Resources"]["Route53DomainRegisteredRule"]["Properties"]["Targets"][0]["RetryPolicy"]


def m_rule_no_dlq(t):
    del t["Resources"]["CustomDomainRegisteredRule"]["Properties"]["Targets"][0]["DeadLetterConfig"]


def m_rule_uppercase_register(t):
    t["Resources"]["Route53DomainRegisteredRule"]["Properties"]["EventPattern"]["detail"]["eventName"] = [
        "RegisterDomain"]


def m_rule_everywhere(t):
    t["Conditions"]["CreateRoute53HostedZoneRule"] = {
        "Fn::Equals": [{"Ref": "EnableRoute53HostedZoneRule"}, "true"]}


def m_rule_not_switchable(t):
    del t["Resources"]["CustomDomainRegisteredRule"]["Condition"]
    del t["Resources"]["CustomDomainRegisteredPermission"]["Condition"]


def m_permission_missing(t):
    del t["Resources"]["Route53HostedZoneCreatedPermission"]


def m_permission_open(t):
    del t["Resources"]["CustomDomainRegisteredPermission"]["Properties"]["SourceArn"]


def m_dlq_policy_missing_rule(t):
    st = t["Resources"]["EventRuleDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    st["Condition"]["ArnEquals"]["aws:SourceArn"].pop()


def m_custom_pattern(t):
    t["Resources"]["CustomDomainRegisteredRule"]["Properties"]["EventPattern"]["detail-type"] = ["Domain Created"]


def m_reserved_concurrency_default(t):
    t["Parameters"]["ReservedConcurrency"]["Default"] = 10


def m_no_reserved_concurrency(t):
    del t["Resources"]["DkimAutopilotFunction"]["Properties"]["ReservedConcurrentExecutions"]


def m_env_renamed(t):
    env = t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]
    env["SCHEDULE_GROUP_NAME"] = env.pop("SCHEDULE_GROUP")


def m_x86(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Architectures"] = ["x86_64"]


def m_queue_unencrypted(t):
    del t["Resources"]["SchedulerDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"]


def m_queue_short_retention(t):
    t["Resources"]["AsyncFailureQueue"]["Properties"]["MessageRetentionPeriod"] = 345600


def m_sam_policies(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Policies"] = ["AWSLambdaExecute"]


def m_reserved_concurrency_old_description(t):
    t["Parameters"]["ReservedConcurrency"]["Description"] = (
        "Reserved concurrent executions. Default 1 because SES VerifyDomainDkim allows about one call per second.")


def m_env_concurrency_constant(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["RESERVED_CONCURRENCY"] = 1


def m_env_budget_wrong_parameter(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"][
        "ROUTE53_CALLS_PER_SECOND"] = {"Ref": "SesCallsPerSecond"}


def m_ses_budget_range(t):
    t["Parameters"]["SesCallsPerSecond"]["MaxValue"] = 1000


def m_max_deferrals_default(t):
    t["Parameters"]["MaxDeferrals"]["Default"] = 0


def m_parameter_not_grouped(t):
    for g in t["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]:
        if "AlarmTopicArn" in g["Parameters"]:
            g["Parameters"].remove("AlarmTopicArn")


def m_parameter_grouped_twice(t):
    t["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"][0]["Parameters"].append("MaxDeferrals")


def _alarm(t, name):
    return t["Resources"][name]["Properties"]


def m_alarm_missing(t):
    del t["Resources"]["SchedulerDeadLetterQueueAlarm"]


def m_alarm_wrong_queue(t):
    _alarm(t, "AsyncFailureQueueAlarm")["Dimensions"][0]["Value"] = {
        "Fn::GetAtt": ["EventRuleDeadLetterQueue", "QueueName"]}


def m_alarm_average(t):
    _alarm(t, "EventRuleDeadLetterQueueAlarm")["Statistic"] = "Average"


def m_alarm_threshold(t):
    _alarm(t, "FunctionErrorsAlarm")["Threshold"] = 5


def m_alarm_greater_or_equal(t):
    _alarm(t, "SchedulerDeadLetterQueueAlarm")["ComparisonOperator"] = "GreaterThanOrEqualToThreshold"


def m_alarm_missing_data_breaching(t):
    _alarm(t, "VerificationFailedAlarm")["TreatMissingData"] = "breaching"


def m_errors_alarm_metric(t):
    _alarm(t, "FunctionErrorsAlarm")["MetricName"] = "Throttles"


def m_alarm_wrong_outcome(t):
    _alarm(t, "VerificationTimedOutAlarm")["Dimensions"][1]["Value"] = "timeout"


def m_alarm_namespace(t):
    _alarm(t, "DeferralsExhaustedAlarm")["Namespace"] = "DKIMAutopilot"


def m_alarm_no_function_dimension(t):
    del _alarm(t, "VerificationFailedAlarm")["Dimensions"][0]


def m_queue_without_alarm(t):
    t["Resources"]["AnotherQueue"] = copy.deepcopy(t["Resources"]["AsyncFailureQueue"])


def m_alarm_actions_unconditional(t):
    _alarm(t, "AsyncFailureQueueAlarm")["AlarmActions"] = [{"Ref": "AlarmTopicArn"}]


def m_alarm_actions_missing(t):
    del _alarm(t, "FunctionErrorsAlarm")["AlarmActions"]


def m_alarm_topic_condition_inverted(t):
    t["Conditions"]["HasAlarmTopic"] = {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}


def m_alarm_topic_required(t):
    t["Parameters"]["AlarmTopicArn"]["Default"] = ALARM_TOPIC


def m_alarm_ok_actions_elsewhere(t):
    _alarm(t, "DeferralsExhaustedAlarm")["OKActions"] = [f"arn:aws:sns:us-east-1:{ACCOUNT}:someone-else"]


def _fn_statements_raw(t) -> list:
    return t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def m_delete_identity_always(t):
    sts = _fn_statements_raw(t)
    i = next(i for i, st in enumerate(sts)
             if list(st) == ["Fn::If"] and st["Fn::If"][1].get("Sid") == "SesDeleteIdentity")
    sts[i] = sts[i]["Fn::If"][1]


def m_delete_identity_any_region(t):
    del _fn_statement(t, "SesDeleteIdentity")["Condition"]


def m_delete_identity_ignores_ses_region(t):
    _fn_statement(t, "SesDeleteIdentity")["Condition"]["StringEquals"]["aws:RequestedRegion"] = {
        "Ref": "AWS::Region"}


def m_get_email_identity_any_identity(t):
    _fn_statement(t, "SesGetEmailIdentity")["Resource"] = "*"


def m_get_email_identity_ignores_ses_region(t):
    _fn_statement(t, "SesGetEmailIdentity")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"}


def m_get_email_identity_other_accounts(t):
    _fn_statement(t, "SesGetEmailIdentity")["Resource"]["Fn::Sub"][0] = \
        "arn:${AWS::Partition}:ses:${SesRegionName}:*:identity/*"


def m_key_length_granted_on_keep(t):
    t["Conditions"]["ChangesKeyLength"] = {"Fn::Equals": ["a", "a"]}


def m_key_length_any_identity(t):
    _fn_statement(t, "SesDkimKeyLength")["Resource"] = "*"


def m_tag_identity_any_identity(t):
    _fn_statement(t, "SesTagIdentity")["Resource"] = "*"


def m_key_length_ignores_ses_region(t):
    _fn_statement(t, "SesDkimKeyLength")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"}


def m_key_length_setting_not_passed(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["DKIM_KEY_LENGTH"] = "2048"


def m_replicas_granted_without_regions(t):
    t["Conditions"]["HasReplicaRegions"] = {"Fn::Equals": ["a", "a"]}


def m_replica_key_any_region(t):
    del _fn_statement(t, "SesReplicateDkimSigningKey")["Condition"]


def m_replica_key_any_identity(t):
    _fn_statement(t, "SesReplicateDkimSigningKey")["Resource"] = "*"


def m_replica_create_any_region(t):
    del _fn_statement(t, "SesCreateReplicaIdentities")["Condition"]


def m_replica_get_other_accounts(t):
    _fn_statement(t, "SesGetReplicaIdentities")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:*:*:identity/*"}


def m_replica_list_any_region(t):
    del _fn_statement(t, "SesListReplicaIdentities")["Condition"]


def m_replica_delete_when_identities_kept(t):
    t["Conditions"]["DeletesReplicas"] = {"Condition": "HasReplicaRegions"}


def m_replica_pattern_allows_spaces(t):
    t["Parameters"]["SesReplicaRegions"]["AllowedPattern"] = "^[a-z0-9, -]*$"


def m_tag_identity_only_for_key_length(t):
    t["Conditions"]["TagsIdentities"] = {"Condition": "ChangesKeyLength"}


def m_replica_setting_not_passed(t):
    del t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["SES_REPLICA_REGIONS"]


def m_may_delete_ignores_orphans(t):
    t["Conditions"]["MayDeleteIdentities"] = {"Fn::Equals": [{"Ref": "DeleteIdentityOnOffboard"}, "true"]}


def m_list_tags_any_zone(t):
    _fn_statement(t, "Route53ListTagsForResources")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/*"}


def m_list_tags_health_checks(t):
    _fn_statement(t, "Route53ListTagsForResources")["Resource"] = [
        {"Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/*"},
        {"Fn::Sub": "arn:${AWS::Partition}:route53:::healthcheck/*"}]


def m_list_tags_star(t):
    _fn_statement(t, "Route53ListTagsForResources")["Resource"] = "*"


def m_scheduler_get_any_group(t):
    _fn_statement(t, "SchedulerGetSchedule")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/*/*"}


def m_scheduler_list_missing(t):
    sts = _fn_statements_raw(t)
    sts.remove(_fn_statement(t, "SchedulerListSchedules"))


def m_scheduler_list_scoped_to_nothing(t):
    _fn_statement(t, "SchedulerListSchedules")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/*"}


def m_deregistered_pattern(t):
    t["Resources"]["CustomDomainDeregisteredRule"]["Properties"]["EventPattern"]["detail-type"] = [
        "Domain Removed"]


def m_domains_rule_no_delete(t):
    t["Resources"]["Route53DomainRegisteredRule"]["Properties"]["EventPattern"]["detail"]["eventName"] = [
        "registerDomain"]


def m_domains_rule_uppercase_delete(t):
    t["Resources"]["Route53DomainRegisteredRule"]["Properties"]["EventPattern"]["detail"]["eventName"] = [
        "registerDomain", "DeleteDomain"]


def m_reconcile_rule_any_source(t):
    del t["Resources"]["CustomReconcileRequestedRule"]["Properties"]["EventPattern"]["source"]


def m_reconcile_rule_default_bus(t):
    t["Resources"]["CustomReconcileRequestedRule"]["Properties"]["EventBusName"] = "default"


def m_lifecycle_rules_merged(t):
    t["Resources"]["CustomDomainRegisteredRule"]["Properties"]["EventPattern"]["detail-type"] = [
        "Domain Registered", "Domain Deregistered", "Reconcile Requested"]
    for name in ("CustomDomainDeregisteredRule", "CustomDomainDeregisteredPermission",
                 "CustomReconcileRequestedRule", "CustomReconcileRequestedPermission"):
        del t["Resources"][name]


def m_rule_wrong_switch(t):
    t["Conditions"]["CreateDeregisteredRule"] = {"Fn::Equals": [{"Ref": "EnableCustomEventRule"}, "true"]}


def m_dlq_policy_missing_deregistered(t):
    st = t["Resources"]["EventRuleDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    del st["Condition"]["ArnEquals"]["aws:SourceArn"][1]


def m_env_missing_page_size(t):
    del t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["RECONCILE_PAGE_SIZE"]


def m_page_size_range(t):
    t["Parameters"]["ReconcilePageSize"]["MaxValue"] = 1000


def m_delete_identity_default_false(t):
    t["Parameters"]["DeleteIdentityOnOffboard"]["Default"] = "false"


def m_orphans_default_true(t):
    t["Parameters"]["DeleteOrphanedIdentities"]["Default"] = "true"


def m_scope_env_swapped(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["DOMAIN_INCLUDE"] = {
        "Ref": "DomainExclude"}


def m_suffix_pattern_any(t):
    t["Parameters"]["DomainExclude"]["AllowedPattern"] = ".*"


def m_suffix_pattern_ascii_only(t):
    t["Parameters"]["DomainInclude"]["AllowedPattern"] = "^[a-z0-9.,-]*$"


def _reconcile(t):
    return t["Resources"]["ReconcileSchedule"]["Properties"]


def m_reconcile_always_enabled(t):
    _reconcile(t)["State"] = "ENABLED"


def m_reconcile_conditional(t):
    t["Resources"]["ReconcileSchedule"]["Condition"] = "ReconcileScheduleEnabled"


def m_reconcile_fixed_rate(t):
    _reconcile(t)["ScheduleExpression"] = "rate(1 day)"


def m_reconcile_expression_allows_at(t):
    t["Parameters"]["ReconcileScheduleExpression"]["AllowedPattern"] = ".*"


def m_reconcile_in_function_group(t):
    _reconcile(t)["GroupName"] = {"Ref": "ScheduleGroup"}


def m_reconcile_deletes_itself(t):
    _reconcile(t)["ActionAfterCompletion"] = "DELETE"


def m_reconcile_flexible(t):
    _reconcile(t)["FlexibleTimeWindow"] = {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 60}


def m_reconcile_long_name(t):
    _reconcile(t)["Name"] = {"Fn::Sub": "${AWS::StackName}-dkim-autopilot-reconcile"}


def m_reconcile_wrong_role(t):
    _reconcile(t)["Target"]["RoleArn"] = {"Fn::GetAtt": ["FunctionRole", "Arn"]}


def m_reconcile_other_function(t):
    _reconcile(t)["Target"]["Arn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:other"}


def m_reconcile_no_dlq(t):
    del _reconcile(t)["Target"]["DeadLetterConfig"]


def m_reconcile_no_retry_policy(t):
    del _reconcile(t)["Target"]["RetryPolicy"]


def m_reconcile_dry_run(t):
    _reconcile(t)["Target"]["Input"] = _reconcile(t)["Target"]["Input"].replace('"dryRun":false', '"dryRun":true')


def m_reconcile_old_schema(t):
    _reconcile(t)["Target"]["Input"] = _reconcile(t)["Target"]["Input"].replace(
        "dkim-autopilot/reconcile", "dkim-autopilot/follow-up")


def m_reconcile_fixed_run_id(t):
    _reconcile(t)["Target"]["Input"] = _reconcile(t)["Target"]["Input"].replace(
        "<aws.scheduler.scheduled-time>", "daily")


def _fn_statement_list(t) -> list:
    return t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def m_assume_role_any(t):
    _fn_statement(t, "AssumeRoute53Role")["Resource"] = "*"


def m_assume_role_always(t):
    sts = _fn_statement_list(t)
    i = next(i for i, st in enumerate(sts) if "Fn::If" in st and st["Fn::If"][1].get("Sid") == "AssumeRoute53Role")
    sts[i] = sts[i]["Fn::If"][1]


def m_assume_role_condition_inverted(t):
    t["Conditions"]["HasRoute53Role"] = {"Fn::Equals": [{"Ref": "Route53RoleArn"}, ""]}


def m_assume_role_any_account(t):
    _fn_statement(t, "AssumeRoute53Role")["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/*"}


def m_role_env_missing(t):
    del t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["ROUTE53_ROLE_ARN"]


def m_external_id_env_swapped(t):
    t["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]["ROUTE53_EXTERNAL_ID"] = {
        "Ref": "Route53RoleArn"}


def m_external_id_echoed(t):
    del t["Parameters"]["Route53ExternalId"]["NoEcho"]


def m_external_id_rule_missing(t):
    del t["Rules"]


def m_role_pattern_any_arn(t):
    t["Parameters"]["Route53RoleArn"]["AllowedPattern"] = "^$|^arn:.+$"


def m_external_id_pattern_short(t):
    t["Parameters"]["Route53ExternalId"]["AllowedPattern"] = "^$|^[\\w+=,.@:/-]{1,64}$"


def _sending_statement(t: dict) -> dict:
    for st in t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if isinstance(st, dict) and list(st) == ["Fn::If"] and st["Fn::If"][1].get("Sid") == "Route53ChangeSendingRecordsOnly":
            return st
    raise KeyError("Route53ChangeSendingRecordsOnly")


def _dashboard_text(t: dict) -> str:
    return t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]


def _set_dashboard_text(t: dict, text: str) -> None:
    t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0] = text


def m_suppression_without_reason(t):
    t["Resources"]["FunctionLogGroup"]["Metadata"]["checkov"]["skip"][0]["comment"] = "ok"


def m_suppression_added(t):
    t["Resources"]["SchedulerInvokeRole"]["Metadata"] = {
        "checkov": {"skip": [{"id": "CKV_AWS_111", "comment": "x" * 80}]}}


def m_dashboard_renamed_metric(t):
    _set_dashboard_text(t, _dashboard_text(t).replace("SecondsToVerification", "SecondsToVerify"))


def m_dashboard_undocumented_lambda_metric(t):
    _set_dashboard_text(t, _dashboard_text(t).replace("ConcurrentExecutions", "Concurrency"))


def m_dashboard_renamed_search_metric(t):
    _set_dashboard_text(t, _dashboard_text(t).replace('MetricName=\\"Outcomes\\"', 'MetricName=\\"Outcome\\"'))


def m_dashboard_not_json(t):
    _set_dashboard_text(t, _dashboard_text(t).replace('"widgets"', "widgets", 1))


def m_dashboard_always(t):
    del t["Resources"]["Dashboard"]["Condition"]


def m_sending_upsert(t):
    cond = _sending_statement(t)["Fn::If"][1]["Condition"]
    cond["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsActions"].append("UPSERT")


def m_sending_any_name(t):
    cond = _sending_statement(t)["Fn::If"][1]["Condition"]
    cond["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] = ["*"]


def m_sending_also_domainkey(t):
    # The widening a combined CNAME+MX+TXT statement would bring: TXT at *._domainkey.*.
    cond = _sending_statement(t)["Fn::If"][1]["Condition"]
    cond["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"].append(
        "*._domainkey.*")


def m_sending_always(t):
    _sending_statement(t)["Fn::If"][0] = "IsUsEast1"


def m_sending_mx_always(t):
    cond = _sending_statement(t)["Fn::If"][1]["Condition"]
    cond["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"] = ["MX", "TXT"]


def m_sending_combined_with_cnames(t):
    # One statement for everything: CNAME joins the sending types.
    cond = _sending_statement(t)["Fn::If"][1]["Condition"]
    cond["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"].append("CNAME")
    cond["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsActions"].append("UPSERT")
    cond["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"].append(
        "*._domainkey.*")


def m_mail_from_ses_always(t):
    for st in t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if isinstance(st, dict) and list(st) == ["Fn::If"] and st["Fn::If"][1].get("Sid") == "SesSetIdentityMailFromDomain":
            st["Fn::If"][0] = "SendingRecordsOn"


def m_mail_from_pattern_any(t):
    t["Parameters"]["MailFromSubdomain"]["AllowedPattern"] = ".*"


def m_rua_rule_missing(t):
    del t["Rules"]["DmarcRuaNeedsPolicy"]


def m_sar_version_behind(tpl: dict) -> None:
    tpl["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"] = "0.0.9"


def m_sar_name_with_space(tpl: dict) -> None:
    tpl["Metadata"]["AWS::ServerlessRepo::Application"]["Name"] = "dkim autopilot"


def m_sar_readme_missing(tpl: dict) -> None:
    tpl["Metadata"]["AWS::ServerlessRepo::Application"]["ReadmeUrl"] = "docs/README-sar.md"


def m_sar_new_resource_type(tpl: dict) -> None:
    tpl["Resources"]["Extra"] = {"Type": "AWS::Pipes::Pipe", "Properties": {}}


MUTATIONS: list[tuple[Callable, Callable]] = [
    (m_sar_new_resource_type, check_sar_resource_types),
    (m_sar_version_behind, check_serverless_repo),
    (m_sar_name_with_space, check_serverless_repo),
    (m_sar_readme_missing, check_serverless_repo),
    (m_suppression_without_reason, check_scanner_suppressions),
    (m_suppression_added, check_scanner_suppressions),
    (m_dashboard_renamed_metric, check_dashboard),
    (m_dashboard_undocumented_lambda_metric, check_dashboard),
    (m_dashboard_renamed_search_metric, check_dashboard),
    (m_dashboard_not_json, check_dashboard),
    (m_dashboard_always, check_dashboard),
    (m_sending_upsert, check_route53),
    (m_sending_any_name, check_sending_batches),
    (m_sending_also_domainkey, check_sending_batches),
    (m_sending_always, check_route53),
    (m_sending_mx_always, check_route53),
    (m_sending_combined_with_cnames, check_sending_batches),
    (m_mail_from_ses_always, check_function_role),
    (m_mail_from_pattern_any, check_sending_settings),
    (m_rua_rule_missing, check_sending_settings),
    (m_ses_star, check_no_wildcard_actions),
    (m_star_action, check_no_wildcard_actions),
    (m_queue_policy_star, check_no_wildcard_actions),
    (m_prefix_wildcard, check_no_wildcard_actions),
    (m_managed_policy, check_no_wildcard_actions),
    (m_sam_policies, check_no_wildcard_actions),
    (m_extra_action, check_function_role),
    (m_two_actions_one_statement, check_function_role),
    (m_missing_sid, check_function_role),
    (m_star_resource_on_scoped_action, check_function_role),
    (m_logs_any_group, check_logs_scoped),
    (m_r53_txt, check_route53),
    (m_r53_create, check_route53),
    (m_r53_any_name, check_route53),
    (m_r53_no_null_guard, check_route53),
    (m_r53_no_condition, check_route53),
    (m_r53_ignores_zone_ids, check_route53),
    (m_scheduler_any_group, check_scheduler_scoped),
    (m_scheduler_update, check_scheduler_scoped),
    (m_passrole_no_condition, check_pass_role),
    (m_passrole_any_role, check_pass_role),
    (m_putevents_any_bus, check_put_events),
    (m_putevents_env_mismatch, check_put_events),
    (m_no_retry_attempts, check_on_failure_destination),
    (m_no_event_age, check_on_failure_destination),
    (m_no_on_failure, check_on_failure_destination),
    (m_sqs_send_any_queue, check_on_failure_destination),
    (m_scheduler_role_invoke_any, check_scheduler_role),
    (m_scheduler_role_extra_action, check_scheduler_role),
    (m_scheduler_trust_no_source_account, check_scheduler_role),
    (m_scheduler_dlq_wrong_queue, check_scheduler_role),
    (m_rule_no_retry_policy, check_rules),
    (m_rule_no_dlq, check_rules),
    (m_rule_uppercase_register, check_rules),
    (m_rule_everywhere, check_rules),
    (m_rule_not_switchable, check_rules),
    (m_permission_missing, check_rules),
    (m_permission_open, check_rules),
    (m_dlq_policy_missing_rule, check_rules),
    (m_custom_pattern, check_rules),
    (m_reserved_concurrency_default, check_function),
    (m_no_reserved_concurrency, check_function),
    (m_env_renamed, check_function),
    (m_x86, check_function),
    (m_queue_unencrypted, check_queues),
    (m_queue_short_retention, check_queues),
    (m_reserved_concurrency_old_description, check_function),
    (m_env_concurrency_constant, check_settings),
    (m_env_budget_wrong_parameter, check_settings),
    (m_ses_budget_range, check_settings),
    (m_max_deferrals_default, check_settings),
    (m_parameter_not_grouped, check_parameter_groups),
    (m_parameter_grouped_twice, check_parameter_groups),
    (m_alarm_missing, check_alarms),
    (m_alarm_wrong_queue, check_alarms),
    (m_alarm_average, check_alarms),
    (m_alarm_threshold, check_alarms),
    (m_alarm_greater_or_equal, check_alarms),
    (m_alarm_missing_data_breaching, check_alarms),
    (m_errors_alarm_metric, check_alarms),
    (m_alarm_wrong_outcome, check_alarms),
    (m_alarm_namespace, check_alarms),
    (m_alarm_no_function_dimension, check_alarms),
    (m_queue_without_alarm, check_alarms),
    (m_alarm_actions_unconditional, check_alarm_actions),
    (m_alarm_actions_missing, check_alarm_actions),
    (m_alarm_topic_condition_inverted, check_alarm_actions),
    (m_alarm_topic_required, check_alarm_actions),
    (m_alarm_ok_actions_elsewhere, check_alarm_actions),
    (m_delete_identity_always, check_delete_identity),
    (m_delete_identity_always, check_function_role),
    (m_delete_identity_any_region, check_delete_identity),
    (m_delete_identity_ignores_ses_region, check_delete_identity),
    (m_may_delete_ignores_orphans, check_delete_identity),
    (m_get_email_identity_any_identity, check_get_email_identity),
    (m_get_email_identity_ignores_ses_region, check_get_email_identity),
    (m_get_email_identity_other_accounts, check_get_email_identity),
    (m_key_length_granted_on_keep, check_key_length),
    (m_key_length_any_identity, check_key_length),
    (m_tag_identity_any_identity, check_key_length),
    (m_key_length_ignores_ses_region, check_key_length),
    (m_key_length_setting_not_passed, check_key_length),
    (m_replicas_granted_without_regions, check_replicas),
    (m_replica_key_any_region, check_replicas),
    (m_replica_key_any_identity, check_replicas),
    (m_replica_create_any_region, check_replicas),
    (m_replica_get_other_accounts, check_replicas),
    (m_replica_delete_when_identities_kept, check_replicas),
    (m_replica_list_any_region, check_replicas),
    (m_replica_pattern_allows_spaces, check_replicas),
    (m_replica_setting_not_passed, check_replicas),
    (m_tag_identity_only_for_key_length, check_function_role),
    (m_list_tags_any_zone, check_route53),
    (m_list_tags_health_checks, check_route53),
    (m_list_tags_star, check_function_role),
    (m_scheduler_get_any_group, check_scheduler_scoped),
    (m_scheduler_list_missing, check_scheduler_scoped),
    (m_scheduler_list_scoped_to_nothing, check_scheduler_scoped),
    (m_deregistered_pattern, check_rules),
    (m_domains_rule_no_delete, check_rules),
    (m_domains_rule_uppercase_delete, check_rules),
    (m_reconcile_rule_any_source, check_rules),
    (m_reconcile_rule_default_bus, check_rules),
    (m_lifecycle_rules_merged, check_rules),
    (m_rule_wrong_switch, check_rules),
    (m_dlq_policy_missing_deregistered, check_rules),
    (m_env_missing_page_size, check_function),
    (m_env_missing_page_size, check_settings),
    (m_page_size_range, check_settings),
    (m_delete_identity_default_false, check_settings),
    (m_orphans_default_true, check_settings),
    (m_scope_env_swapped, check_settings),
    (m_suffix_pattern_any, check_settings),
    (m_suffix_pattern_ascii_only, check_settings),
    (m_reconcile_always_enabled, check_reconcile_schedule),
    (m_reconcile_conditional, check_reconcile_schedule),
    (m_reconcile_fixed_rate, check_reconcile_schedule),
    (m_reconcile_expression_allows_at, check_reconcile_schedule),
    (m_reconcile_in_function_group, check_reconcile_schedule),
    (m_reconcile_deletes_itself, check_reconcile_schedule),
    (m_reconcile_flexible, check_reconcile_schedule),
    (m_reconcile_long_name, check_reconcile_schedule),
    (m_reconcile_wrong_role, check_reconcile_schedule),
    (m_reconcile_other_function, check_reconcile_schedule),
    (m_reconcile_no_dlq, check_reconcile_schedule),
    (m_reconcile_no_retry_policy, check_reconcile_schedule),
    (m_reconcile_dry_run, check_reconcile_schedule),
    (m_reconcile_old_schema, check_reconcile_schedule),
    (m_reconcile_fixed_run_id, check_reconcile_schedule),
    (m_assume_role_any, check_route53_role),
    (m_assume_role_any, check_function_role),
    (m_assume_role_always, check_route53_role),
    (m_assume_role_condition_inverted, check_route53_role),
    (m_assume_role_condition_inverted, check_function_role),
    (m_assume_role_any_account, check_route53_role),
    (m_role_env_missing, check_route53_role),
    (m_role_env_missing, check_function),
    (m_external_id_env_swapped, check_route53_role),
    (m_external_id_echoed, check_route53_role),
    (m_external_id_rule_missing, check_route53_role),
    (m_role_pattern_any_arn, check_route53_role),
    (m_external_id_pattern_short, check_route53_role),
]


@pytest.mark.parametrize(
    "mutate,check", MUTATIONS, ids=[f"{m.__name__}->{c.__name__}" for m, c in MUTATIONS]
)
def test_check_flags_widened_copy(mutate, check):
    tpl = copy.deepcopy(load())
    assert check(tpl) == [], "check must pass on the unmodified template"
    mutate(tpl)
    assert check(tpl) != [], f"{check.__name__} did not notice {mutate.__name__}"


def test_every_check_has_a_mutation():
    covered = {c for _, c in MUTATIONS}
    missing = [c.__name__ for c in SEMANTIC_CHECKS if c not in covered]
    assert missing == []


def test_uncommented_wildcard_resource_is_flagged():
    text = template_text()
    # Drop the justification comment right above the SES VerifyDomainDkim resource.
    lines = text.splitlines(keepends=True)
    idx = next(i for i, line in enumerate(lines) if "Action: ses:VerifyDomainDkim" in line)
    res = next(i for i in range(idx, len(lines)) if lines[i].strip().startswith("Resource:"))
    start = res
    while lines[start - 1].strip().startswith("#"):
        start -= 1
    widened = "".join(lines[:start] + lines[res:])
    assert check_wildcard_resources_commented(widened) != []
    # ... and a new, uncommented wildcard resource is flagged too.
    added = text.replace(
        "                Action: events:PutEvents\n                Resource: !Sub",
        "                Action: events:PutEvents\n                Resource: !Sub \"arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/*\"\n                NotUsed: !Sub",
    )
    assert added != text
    assert check_wildcard_resources_commented(added) != []


# ---------------------------------------------------------------------------
# The docs: README.md is the front door, docs/ holds the reference. Every
# parameter, environment variable, IAM statement and alarm of the template is
# documented where a reader looks for it, and every local link resolves.
# ---------------------------------------------------------------------------

DOCS_DIR = ROOT / "docs"
README = "README.md"
CONFIGURATION_DOC = "docs/configuration.md"
DEPLOY_DOC = "docs/deploy.md"
OPERATIONS_DOC = "docs/operations.md"
EVENTS_DOC = "docs/events.md"
TWO_COMMANDS = ("scripts/demo.sh", "scripts/test.sh")


def read_docs() -> dict[str, str]:
    """README.md and every docs/*.md, by path relative to the repository."""
    docs = {README: (ROOT / README).read_text()}
    for path in sorted(DOCS_DIR.glob("*.md")):
        docs[f"docs/{path.name}"] = path.read_text()
    return docs


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings, plus explicit <a id=...>."""
    anchors = set(re.findall(r'<a id="([^"]+)"', markdown))
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().lower()
        anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def check_docs(tpl: dict, docs: dict[str, str]) -> list[str]:
    problems = []
    config, deploy, operations = (docs.get(d, "") for d in (CONFIGURATION_DOC, DEPLOY_DOC, OPERATIONS_DOC))
    problems += [f"parameter {p} not in {CONFIGURATION_DOC}" for p in tpl["Parameters"] if f"`{p}`" not in config]
    env = tpl["Resources"]["DkimAutopilotFunction"]["Properties"]["Environment"]["Variables"]
    problems += [f"environment variable {v} not in {CONFIGURATION_DOC}" for v in env if f"`{v}`" not in config]
    for path, pdoc in policy_documents(tpl["Resources"]):
        for st in statements(pdoc):
            sid = st.get("Sid")
            if sid and f"`{sid}`" not in deploy:
                problems.append(f"statement {sid} ({path}) not explained in {DEPLOY_DOC}")
    for name, res in tpl["Resources"].items():
        if res["Type"] != "AWS::CloudWatch::Alarm":
            continue
        if f"`{name}`" not in operations:
            problems.append(f"alarm {name} not explained in {OPERATIONS_DOC}")
        for dim in res["Properties"].get("Dimensions", []):
            if dim.get("Name") == "Outcome" and f"`{dim.get('Value')}`" not in operations:
                problems.append(f"outcome {dim.get('Value')} of alarm {name} not in {OPERATIONS_DOC}")
    problems += [f"outcome {o} not in {OPERATIONS_DOC}" for o in sorted(OUTCOME_VALUES) if f"`{o}`" not in operations]
    # Every event a rule lets in, and every outcome event, is described in events.md;
    # the outcome events are listed under Results in operations.md too.
    events = docs.get(EVENTS_DOC, "")
    resources = Resolver(tpl, region="us-east-1").resources()
    inbound = set()
    for name, rr in resources.items():
        if rr["Type"] == "AWS::Events::Rule":
            pattern = rr["Properties"].get("EventPattern", {})
            names = pattern.get("detail", {}).get("eventName")
            inbound.update(names if names else pattern.get("detail-type", []))
    problems += [f"inbound event {e} not in {EVENTS_DOC}" for e in sorted(inbound) if f"`{e}`" not in events]
    problems += [f"outcome event {e} not in {EVENTS_DOC}" for e in OUTCOME_DETAIL_TYPES if f"`{e}`" not in events]
    problems += [f"outcome event {e} not in {OPERATIONS_DOC}" for e in OUTCOME_DETAIL_TYPES
                 if f"`{e}`" not in operations]
    # Every rule and schedule the stack names, as `<stack>-…`, is in deploy.md.
    for name, rr in resources.items():
        if rr["Type"] in ("AWS::Events::Rule", "AWS::Scheduler::Schedule"):
            shown = str(rr["Properties"].get("Name", "")).replace(STACK, "<stack>", 1)
            if f"`{shown}`" not in deploy:
                problems.append(f"{name} ({shown}) not in {DEPLOY_DOC}")
    readme = docs.get(README, "")
    problems += [f"{README} does not name {c}" for c in TWO_COMMANDS if f"`{c}`" not in readme]
    problems += [f"{README} does not link {d}" for d in docs if d != README and f"]({d}" not in readme]
    # Every relative link resolves to a file, and an anchor in it to a heading.
    for doc, text in docs.items():
        base = (ROOT / doc).parent
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (base / file).resolve() if file else (ROOT / doc).resolve()
            rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
            if not path.exists():
                problems.append(f"{doc}: link to missing {target}")
            elif anchor and rel.endswith(".md") and anchor not in _anchors(docs.get(rel, path.read_text())):
                problems.append(f"{doc}: link to missing anchor {target}")
    return problems


def test_docs_cover_parameters_and_statements():
    assert check_docs(load(), read_docs()) == []


def test_docs_check_can_fail():
    tpl, docs = load(), read_docs()

    def edited(doc: str, old: str, new: str) -> dict[str, str]:
        assert old in docs[doc], f"{old!r} not in {doc}"
        return {**docs, doc: docs[doc].replace(old, new)}

    for doc, old, new in [
        (DEPLOY_DOC, "`PassSchedulerRoleToSchedulerOnly`", "PassRole"),
        (CONFIGURATION_DOC, "`HostedZoneIds`", "HostedZoneIds"),
        (CONFIGURATION_DOC, "`AlarmTopicArn`", "AlarmTopicArn"),
        (CONFIGURATION_DOC, "`MAX_DEFERRALS`", "MAX_DEFERRALS"),
        (OPERATIONS_DOC, "`DeferralsExhaustedAlarm`", "the deferrals alarm"),
        (OPERATIONS_DOC, "`timedOut`", "timedOut"),
        (OPERATIONS_DOC, "`retryLater`", "retryLater"),
        (README, "`scripts/test.sh`", "the test script"),
        (README, "](docs/performance.md)", "]"),
        (README, "](docs/deploy.md#prerequisites)", "](docs/deploy.md#prerequisite)"),
        ("docs/events.md", "](how-it-works.md)", "](how-it-work.md)"),
        (DEPLOY_DOC, "`SesDeleteIdentity`", "SesDeleteIdentity"),
        (DEPLOY_DOC, "`SesGetEmailIdentity`", "SesGetEmailIdentity"),
        (DEPLOY_DOC, "`SesDkimKeyLength`", "SesDkimKeyLength"),
        (DEPLOY_DOC, "`SesTagIdentity`", "SesTagIdentity"),
        (DEPLOY_DOC, "`SesReplicateDkimSigningKey`", "SesReplicateDkimSigningKey"),
        (DEPLOY_DOC, "`SesCreateReplicaIdentities`", "SesCreateReplicaIdentities"),
        (DEPLOY_DOC, "`Route53ListTagsForResources`", "Route53ListTagsForResources"),
        (DEPLOY_DOC, "`SchedulerListSchedules`", "SchedulerListSchedules"),
        (DEPLOY_DOC, "`<stack>-deregistered`", "<stack>-deregistered"),
        (DEPLOY_DOC, "`<stack>-dkim-reconcile`", "<stack>-dkim-reconcile"),
        (CONFIGURATION_DOC, "`DomainInclude`", "DomainInclude"),
        (CONFIGURATION_DOC, "`EnableReconcileSchedule`", "EnableReconcileSchedule"),
        (CONFIGURATION_DOC, "`DELETE_ORPHANED_IDENTITIES`", "DELETE_ORPHANED_IDENTITIES"),
        (CONFIGURATION_DOC, "`RECONCILE_PAGE_SIZE`", "RECONCILE_PAGE_SIZE"),
        (EVENTS_DOC, "`Domain Deregistered`", "Domain Deregistered"),
        (EVENTS_DOC, "`deleteDomain`", "deleteDomain"),
        (EVENTS_DOC, "`Reconcile Finished`", "Reconcile Finished"),
        (EVENTS_DOC, "`DKIM Drift Repaired`", "DKIM Drift Repaired"),
        (OPERATIONS_DOC, "`reconcileContinues`", "reconcileContinues"),
        (OPERATIONS_DOC, "`Domain Orphaned`", "Domain Orphaned"),
    ]:
        assert check_docs(tpl, edited(doc, old, new)) != [], f"{doc}: {old!r} -> {new!r} went unnoticed"
    # A parameter the template gains but the docs lack is noticed too.
    widened = copy.deepcopy(tpl)
    widened["Parameters"]["NewKnob"] = {"Type": "String", "Default": ""}
    assert check_docs(widened, docs) != []


def test_every_number_setting_of_the_table_is_read():
    """The template's ranges come from src/config/table.rs: the reader must see every
    number setting there, and read Rust's integer forms."""
    text = SETTINGS_TABLE.read_text()
    numbers = table_numbers(text)
    assert len(numbers) == text.count(": Number ="), sorted(numbers)
    assert set(SETTINGS_FROM_PARAMETERS) <= set(numbers)
    assert _whole("24 * 60") == 1440 and _whole("172_800") == 172800 and _whole("14 * 24") == 336


def test_a_range_changed_in_the_table_fails_the_template_check(tmp_path, monkeypatch):
    """One definition: move a bound in the table and the unchanged template is caught."""
    text = SETTINGS_TABLE.read_text()
    moved = re.sub(r'("FIRST_CHECK_DELAY_MINUTES",\s*5,\s*1,\s*)24 \* 60', r"\g<1>12 * 60", text)
    assert moved != text, "the mutation found nothing to change"
    table = tmp_path / "table.rs"
    table.write_text(moved)
    monkeypatch.setattr(sys.modules[__name__], "SETTINGS_TABLE", table)
    problems = check_settings(load())
    assert any("FirstCheckDelayMinutes" in p for p in problems), problems
