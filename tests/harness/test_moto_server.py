"""Checks for scripts/moto_server.py (moto + realistic SES DKIM + /_harness/).

Run: .venv/bin/python -m pytest tests/harness -q
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "moto_server.py"
TOKEN_RE = re.compile(r"^[a-z0-9]{32}$")
READY_TIMEOUT = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "moto_server.stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
        line = proc.stdout.readline().decode() if ready else ""
        m = re.fullmatch(r"READY (http://127\.0\.0\.1:(\d+))\n", line)
        assert m, f"no READY line (got {line!r}); stderr:\n{log.read_text()}"
        assert int(m.group(2)) > 0
        yield m.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("moto_server.py did not exit on SIGTERM")
        rest = proc.stdout.read()
        proc.stdout.close()
    assert rc == 0, f"exit status {rc}; stderr:\n{log.read_text()}"
    assert rest == b"", f"unexpected extra stdout: {rest!r}"


@pytest.fixture(scope="module")
def aws(server):
    def client(service, region="us-east-1"):
        return boto3.client(
            service,
            endpoint_url=server,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    return client


def harness(server, method="GET", body=None, **query):
    url = f"{server}/_harness/ses/dkim-status"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def new_domain(prefix="d"):
    return f"{prefix}{uuid.uuid4().hex[:10]}.example.com"


def dkim(aws, domain, region="us-east-1"):
    attrs = aws("ses", region).get_identity_dkim_attributes(Identities=[domain])["DkimAttributes"]
    return attrs.get(domain)


def make_zone(aws, name, **kw):
    r = aws("route53").create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex, **kw)
    return r["HostedZone"]["Id"]


def change(aws, zone_id, action, name, value, rtype="CNAME"):
    aws("route53").change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": {
            "Name": name, "Type": rtype, "TTL": 1800, "ResourceRecords": [{"Value": value}]}}]},
    )


def publish(aws, zone_id, domain, tokens, fmt="{t}.dkim.amazonses.com"):
    for t in tokens:
        change(aws, zone_id, "UPSERT", f"{t}._domainkey.{domain}", fmt.format(t=t))


# ---------------------------------------------------------------- SES DKIM


def test_tokens_format_unique_and_idempotent(aws):
    ses = aws("ses")
    a, b = new_domain("a"), new_domain("b")
    ta = ses.verify_domain_dkim(Domain=a)["DkimTokens"]
    tb = ses.verify_domain_dkim(Domain=b)["DkimTokens"]
    for toks in (ta, tb):
        assert len(toks) == 3 and len(set(toks)) == 3
        assert all(TOKEN_RE.match(t) for t in toks), toks
    assert not set(ta) & set(tb)
    assert ses.verify_domain_dkim(Domain=a)["DkimTokens"] == ta  # idempotent while Pending
    assert ses.verify_domain_dkim(Domain=a.upper())["DkimTokens"] == ta  # case-insensitive
    assert a in ses.list_identities(IdentityType="Domain")["Identities"]


def test_pending_success_and_record_deletion(aws):
    ses = aws("ses")
    domain = new_domain()
    zone = make_zone(aws, domain)
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert dkim(aws, domain) == {"DkimEnabled": True, "DkimVerificationStatus": "Pending",
                                 "DkimTokens": tokens}
    publish(aws, zone, domain, tokens[:2])
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    # third record: regional target, upper case, trailing dot -> still accepted
    change(aws, zone, "UPSERT", f"{tokens[2]}._domainkey.{domain}.",
           f"{tokens[2]}.DKIM.us-east-1.amazonses.com.".upper())
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"
    assert ses.verify_domain_dkim(Domain=domain)["DkimTokens"] == tokens  # idempotent on Success
    # deleting one record -> Pending again; re-adding -> Success
    change(aws, zone, "DELETE", f"{tokens[0]}._domainkey.{domain}", f"{tokens[0]}.dkim.amazonses.com")
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    publish(aws, zone, domain, tokens[:1])
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"


def test_wrong_values_do_not_verify(aws):
    ses = aws("ses")
    domain = new_domain()
    zone = make_zone(aws, domain)
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    publish(aws, zone, domain, tokens, fmt="{t}.dkim.eu-west-1.amazonses.com")  # wrong region
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    for t in tokens:  # right value but TXT instead of CNAME
        change(aws, zone, "DELETE", f"{t}._domainkey.{domain}", f"{t}.dkim.eu-west-1.amazonses.com")
        change(aws, zone, "UPSERT", f"{t}._domainkey.{domain}", f'"{t}.dkim.amazonses.com"', "TXT")
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"


def test_records_in_parent_zone_count_private_zones_do_not(aws):
    ses = aws("ses")
    parent = f"p{uuid.uuid4().hex[:8]}.example.org"
    domain = f"mail.{parent}"
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    # moto needs HostedZoneConfig.PrivateZone=True (real Route 53 infers it from VPC)
    private = make_zone(aws, parent, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"},
                        HostedZoneConfig={"PrivateZone": True})
    publish(aws, private, domain, tokens)
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    public = make_zone(aws, parent)
    publish(aws, public, domain, tokens)
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"


@pytest.mark.parametrize("forced", ["Failed", "TemporaryFailure", "NotStarted"])
def test_forced_failure_then_verify_gives_new_generation(aws, server, forced):
    ses = aws("ses")
    domain = new_domain()
    zone = make_zone(aws, domain)
    old = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    publish(aws, zone, domain, old)
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"

    status, info = harness(server, "POST", {"domain": domain, "status": forced})
    assert status == 200 and info["status"] == forced and info["generation"] == 1
    assert dkim(aws, domain) == {"DkimEnabled": True, "DkimVerificationStatus": forced,
                                 "DkimTokens": old}

    new = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert len(new) == 3 and all(TOKEN_RE.match(t) for t in new)
    assert not set(new) & set(old)
    assert dkim(aws, domain) == {"DkimEnabled": True, "DkimVerificationStatus": "Pending",
                                 "DkimTokens": new}
    status, info = harness(server, domain=domain)
    assert status == 200
    assert info["generation"] == 2 and info["tokens"] == new and info["forced_status"] is None
    publish(aws, zone, domain, new)
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"


def test_forced_success_and_clearing(aws, server):
    ses = aws("ses")
    domain = new_domain()
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert harness(server, "POST", {"domain": domain, "status": "Success"})[1]["status"] == "Success"
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"
    assert ses.verify_domain_dkim(Domain=domain)["DkimTokens"] == tokens  # Success is kept
    status, info = harness(server, "POST", {"domain": domain, "status": None})
    assert status == 200 and info["forced_status"] is None and info["status"] == "Pending"
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"


def test_delete_and_recreate_identity_gives_new_tokens(aws, server):
    ses = aws("ses")
    domain = new_domain()
    old = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    ses.delete_identity(Identity=domain)
    assert ses.get_identity_dkim_attributes(Identities=[domain])["DkimAttributes"] == {}
    assert harness(server, domain=domain)[0] == 404
    new = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert not set(new) & set(old)
    assert harness(server, domain=domain)[1]["generation"] == 2


def test_unknown_identities_omitted_and_email_unchanged(aws):
    ses = aws("ses")
    domain = new_domain()
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    ses.verify_email_identity(EmailAddress="someone@elsewhere.example.net")
    attrs = ses.get_identity_dkim_attributes(
        Identities=[domain, "unknown.example.com", "nobody@example.com",
                    "someone@elsewhere.example.net"])["DkimAttributes"]
    assert set(attrs) == {domain, "someone@elsewhere.example.net"}
    assert attrs[domain]["DkimTokens"] == tokens
    # moto's own answer for email identities
    assert attrs["someone@elsewhere.example.net"]["DkimEnabled"] is True
    assert "DkimTokens" not in attrs["someone@elsewhere.example.net"] or \
        attrs["someone@elsewhere.example.net"]["DkimTokens"] == []


def test_domain_identity_without_dkim_is_not_started(aws):
    ses = aws("ses")
    domain = new_domain()
    ses.verify_domain_identity(Domain=domain)
    assert dkim(aws, domain) == {"DkimEnabled": False, "DkimVerificationStatus": "NotStarted",
                                 "DkimTokens": []}
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert dkim(aws, domain)["DkimTokens"] == tokens


def test_regions_are_independent(aws, server):
    domain = new_domain()
    zone = make_zone(aws, domain)
    t_use1 = aws("ses").verify_domain_dkim(Domain=domain)["DkimTokens"]
    t_euw1 = aws("ses", "eu-west-1").verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert not set(t_use1) & set(t_euw1)
    assert dkim(aws, domain, "ap-southeast-2") is None
    publish(aws, zone, domain, t_euw1, fmt="{t}.dkim.eu-west-1.amazonses.com")
    assert dkim(aws, domain, "eu-west-1")["DkimVerificationStatus"] == "Success"
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    harness(server, "POST", {"domain": domain, "status": "Failed", "region": "eu-west-1"})
    assert dkim(aws, domain, "eu-west-1")["DkimVerificationStatus"] == "Failed"
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    assert harness(server, domain=domain, region="eu-west-1")[1]["status"] == "Failed"


@pytest.mark.parametrize("bad", ["", "example", "exa mple.com", "a..b.com", ".a.com",
                                 "a.com.", "user@example.com", "x" * 64 + ".com"])
def test_invalid_domain_rejected(aws, bad):
    with pytest.raises(ClientError) as e:
        aws("ses").verify_domain_dkim(Domain=bad)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"


# ---------------------------------------------------------------- control endpoint


def test_control_endpoint_contract(aws, server):
    domain = new_domain()
    tokens = aws("ses").verify_domain_dkim(Domain=domain)["DkimTokens"]
    status, info = harness(server, domain=domain.upper(), region="us-east-1",
                           account_id="123456789012")
    assert status == 200
    assert info == {"account_id": "123456789012", "region": "us-east-1", "domain": domain,
                    "dkim_enabled": True, "generation": 1, "tokens": tokens,
                    "forced_status": None, "records_present": [False, False, False],
                    "status": "Pending"}
    assert harness(server, domain="nope.example.com")[0] == 404
    assert harness(server, "POST", {"domain": "nope.example.com", "status": "Failed"})[0] == 404
    assert harness(server, domain=domain, account_id="111111111111")[0] == 404
    assert harness(server)[0] == 400
    assert harness(server, "POST", {"domain": domain, "status": "Verified"})[0] == 400
    assert harness(server, "POST", {"domain": domain})[0] == 400
    assert harness(server, "POST", b"{not json")[0] == 400
    assert harness(server, "DELETE", domain=domain)[0] == 405
    req = urllib.request.Request(f"{server}/_harness/other")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 404


def test_moto_reset_clears_identities_and_tokens_are_not_reused(aws, server):
    # moto's reset is global; every test here uses fresh names, so order does not matter.
    domain = new_domain()
    old = aws("ses").verify_domain_dkim(Domain=domain)["DkimTokens"]
    req = urllib.request.Request(f"{server}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    assert dkim(aws, domain) is None
    new = aws("ses").verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert not set(new) & set(old)


# ---------------------------------------------------------------- other services


def test_other_services_still_work(aws):
    r53 = aws("route53")
    name = f"z{uuid.uuid4().hex[:8]}.example.net"
    zone = make_zone(aws, name)
    change(aws, zone, "CREATE", f"www.{name}", "target.example.com")
    rrs = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    assert any(r["Type"] == "CNAME" and r["Name"] == f"www.{name}." for r in rrs)

    sqs = aws("sqs")
    q = sqs.create_queue(QueueName=f"q{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="hi")
    assert sqs.receive_message(QueueUrl=q)["Messages"][0]["Body"] == "hi"

    sch = aws("scheduler")
    sname = f"s{uuid.uuid4().hex[:8]}"
    sargs = dict(Name=sname, ScheduleExpression="at(2030-01-01T00:00:00)",
                 FlexibleTimeWindow={"Mode": "OFF"},
                 Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                         "RoleArn": "arn:aws:iam::123456789012:role/r", "Input": "{}"},
                 ActionAfterCompletion="DELETE")
    sch.create_schedule(**sargs)
    assert sch.get_schedule(Name=sname)["Target"]["Input"] == "{}"
    sch.delete_schedule(Name=sname)


# ---------------------------------------------------------------- moto behaviour notes


def test_moto_scheduler_create_existing_name_conflicts(aws):
    sch = aws("scheduler")
    sargs = dict(Name=f"s{uuid.uuid4().hex[:8]}", ScheduleExpression="rate(5 minutes)",
                 FlexibleTimeWindow={"Mode": "OFF"},
                 Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                         "RoleArn": "arn:aws:iam::123456789012:role/r"})
    sch.create_schedule(**sargs)
    with pytest.raises(ClientError) as e:
        sch.create_schedule(**sargs)
    assert e.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as e:
        sch.get_schedule(Name="does-not-exist")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_moto_list_hosted_zones_by_name_filters_exactly(aws):
    """Real Route 53 lists zones *starting at* DNSName in label-reversed order; moto
    5.2.5 returns only the exact (case-sensitive) match, or nothing."""
    base = f"l{uuid.uuid4().hex[:8]}.example.com"
    make_zone(aws, base)
    make_zone(aws, f"sub.{base}")
    r53 = aws("route53")
    names = lambda q: [z["Name"] for z in r53.list_hosted_zones_by_name(DNSName=q)["HostedZones"]]
    assert names(base) == [f"{base}."]
    assert names(f"sub.{base}") == [f"sub.{base}."]
    assert names(f"other.{base}") == []
    assert names(base.upper()) == []


def test_moto_eventbridge_delivers_to_sqs_target(aws):
    sqs, ev = aws("sqs"), aws("events")
    q = sqs.create_queue(QueueName=f"ev{uuid.uuid4().hex[:8]}")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"r{uuid.uuid4().hex[:8]}"
    ev.put_rule(Name=rule, EventPattern=json.dumps({"source": [rule]}))
    ev.put_targets(Rule=rule, Targets=[{"Id": "t1", "Arn": qarn}])
    out = ev.put_events(Entries=[{"Source": rule, "DetailType": "dkim", "Detail": '{"a": 1}'}])
    assert out["FailedEntryCount"] == 0
    msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1).get("Messages", [])
    assert len(msgs) == 1
    body = json.loads(msgs[0]["Body"])
    assert body["source"] == rule and body["detail"] == {"a": 1}
    assert body["detail-type"] == "dkim"
