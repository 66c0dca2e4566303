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
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
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


def harness(server, method="GET", body=None, path="/_harness/ses/dkim-status", **query):
    url = f"{server}{path}"
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
    # third record under another zone than the identity's: SES publishes the key in one
    # place only (its signing zone), so this does not verify
    change(aws, zone, "UPSERT", f"{tokens[2]}._domainkey.{domain}.",
           f"{tokens[2]}.dkim.us-east-1.amazonses.com")
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    # the signing zone, upper case, trailing dot -> accepted
    change(aws, zone, "UPSERT", f"{tokens[2]}._domainkey.{domain}.",
           f"{tokens[2]}.DKIM.amazonses.com.".upper())
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
    publish(aws, zone, domain, t_euw1)
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


# ---------------------------------------------------------------- SES v2, signing zone


def signing(server, method="GET", body=None, **query):
    return harness(server, method, body, path="/_harness/ses/signing-zone", **query)


def test_v2_get_email_identity_tells_what_v1_holds(aws):
    ses, v2 = aws("ses"), aws("sesv2")
    domain = new_domain()
    with pytest.raises(ClientError) as e:
        v2.get_email_identity(EmailIdentity=domain)
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    ses.verify_domain_identity(Domain=domain)
    assert v2.get_email_identity(EmailIdentity=domain)["DkimAttributes"]["Status"] == "NOT_STARTED"
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    attrs = v2.get_email_identity(EmailIdentity=domain)["DkimAttributes"]
    assert (attrs["Status"], attrs["Tokens"], attrs["SigningHostedZone"]) == \
        ("PENDING", tokens, "dkim.amazonses.com")
    assert (attrs["CurrentSigningKeyLength"], attrs["NextSigningKeyLength"]) == \
        ("RSA_2048_BIT", "RSA_2048_BIT")
    assert attrs["SigningAttributesOrigin"] == "AWS_SES"
    zone = make_zone(aws, domain)
    publish(aws, zone, domain, tokens)
    answer = v2.get_email_identity(EmailIdentity=domain)
    assert answer["DkimAttributes"]["Status"] == "SUCCESS"
    assert answer["VerifiedForSendingStatus"] is True


def test_each_identity_keeps_the_signing_zone_it_was_given(aws, server):
    ses, v2 = aws("ses"), aws("sesv2")
    cell = "dkim-c2.us-east-1.amazonses.com"
    domain, neighbour = new_domain(), new_domain()
    assert signing(server, "POST", {"domain": domain.upper(), "signing_zone": cell.upper() + "."}) == \
        (200, {"account_id": "123456789012", "region": "us-east-1", "domain": domain,
               "signing_zone": cell})
    zone = make_zone(aws, domain)
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    ses.verify_domain_dkim(Domain=neighbour)
    assert v2.get_email_identity(EmailIdentity=domain)["DkimAttributes"]["SigningHostedZone"] == cell
    assert harness(server, domain=domain)[1]["signing_zone"] == cell
    # the Region's usual zone is not where this identity's keys are
    publish(aws, zone, domain, tokens)
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    for t in tokens:
        change(aws, zone, "UPSERT", f"{t}._domainkey.{domain}", f"{t}.{cell}")
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"
    # other identities, and the same domain in other Regions, keep the usual zones
    assert v2.get_email_identity(EmailIdentity=neighbour)["DkimAttributes"][
        "SigningHostedZone"] == "dkim.amazonses.com"
    assert signing(server, domain=domain, region="eu-west-1")[1]["signing_zone"] == \
        "dkim.amazonses.com"
    assert signing(server, domain=domain, region="eu-south-1")[1]["signing_zone"] == \
        "dkim.eu-south-1.amazonses.com"
    # cleared: the next generation goes back to the Region's zone; this one keeps its own
    assert signing(server, "POST", {"domain": domain, "signing_zone": None})[1][
        "signing_zone"] == "dkim.amazonses.com"
    assert v2.get_email_identity(EmailIdentity=domain)["DkimAttributes"]["SigningHostedZone"] == cell
    assert signing(server, "POST", {"domain": domain, "signing_zone": "not a zone"})[0] == 400
    assert signing(server, "POST", {"domain": domain})[0] == 400
    assert signing(server, "POST", {"signing_zone": cell})[0] == 400


# ---------------------------------------------------------------- SES v2, key length


def key_length(server, method="GET", body=None, **query):
    return harness(server, method, body, path="/_harness/ses/key-length", **query)


def put_length(v2, domain, length, origin="AWS_SES"):
    return v2.put_email_identity_dkim_signing_attributes(
        EmailIdentity=domain, SigningAttributesOrigin=origin,
        SigningAttributes={"NextSigningKeyLength": length})


def lengths(v2, domain):
    attrs = v2.get_email_identity(EmailIdentity=domain)["DkimAttributes"]
    return attrs["CurrentSigningKeyLength"], attrs["NextSigningKeyLength"]


def ses_refuses(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_the_next_key_length_changes_once_a_day_and_only_to_a_new_length(aws, server):
    ses, v2 = aws("ses"), aws("sesv2")
    domain = new_domain()
    assert ses_refuses(lambda: put_length(v2, domain, "RSA_2048_BIT"))[0] == "NotFoundException"
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    # an identity from the years of 1024-bit keys
    assert key_length(server, "POST", {"domain": domain, "current": "RSA_1024_BIT",
                                       "next": "RSA_1024_BIT"})[0] == 200
    assert lengths(v2, domain) == ("RSA_1024_BIT", "RSA_1024_BIT")
    assert ses_refuses(lambda: put_length(v2, domain, "RSA_1024_BIT")) == \
        ("BadRequestException", "the next signing key length is already RSA_1024_BIT")
    assert ses_refuses(lambda: put_length(v2, domain, "RSA_4096_BIT"))[0] == "BadRequestException"
    assert ses_refuses(lambda: put_length(v2, domain, "RSA_2048_BIT", origin="EXTERNAL"))[0] == \
        "BadRequestException"
    answer = put_length(v2, domain, "RSA_2048_BIT")
    assert (answer["DkimStatus"], answer["DkimTokens"]) == ("PENDING", tokens)
    # only the next key changes; the current one keeps its length until SES makes a new key
    assert lengths(v2, domain) == ("RSA_1024_BIT", "RSA_2048_BIT")
    assert ses_refuses(lambda: put_length(v2, domain, "RSA_1024_BIT")) == \
        ("BadRequestException", "the signing key length can be changed at most once per day")
    assert key_length(server, domain=domain)[1]["changed_at"] is not None
    # a new generation (DKIM failed, VerifyDomainDkim again) is made at the next length
    harness(server, "POST", {"domain": domain, "status": "Failed"})
    ses.verify_domain_dkim(Domain=domain)
    assert lengths(v2, domain) == ("RSA_2048_BIT", "RSA_2048_BIT")


def test_key_lengths_belong_to_the_identity_and_tags_come_back(aws, server):
    ses, v2 = aws("ses"), aws("sesv2")
    domain = new_domain()
    assert key_length(server, domain=domain)[0] == 404
    ses.verify_domain_dkim(Domain=domain)
    key_length(server, "POST", {"domain": domain, "current": "RSA_1024_BIT",
                                "next": "RSA_1024_BIT"})
    arn = f"arn:aws:ses:us-east-1:123456789012:identity/{domain}"
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert v2.get_email_identity(EmailIdentity=domain)["Tags"] == [{"Key": "k", "Value": "v"}]
    # deleted and created again: SES's default length, as for any new identity
    ses.delete_identity(Identity=domain)
    ses.verify_domain_dkim(Domain=domain)
    assert lengths(v2, domain) == ("RSA_2048_BIT", "RSA_2048_BIT")
    assert key_length(server, "POST", {"domain": domain, "current": "RSA_512_BIT",
                                       "next": "RSA_1024_BIT"})[0] == 400


# ---------------------------------------------------------------- SES v2, DEED replicas


def replicate(v2, domain, origin="AWS_SES_US_EAST_1"):
    return v2.create_email_identity(
        EmailIdentity=domain, DkimSigningAttributes={"DomainSigningAttributesOrigin": origin})


def test_a_replica_needs_a_verified_easy_dkim_parent_in_another_region(aws):
    ses, v2_west = aws("ses"), aws("sesv2", "us-west-2")
    domain = new_domain("deed")
    assert ses_refuses(lambda: replicate(v2_west, domain)) == \
        ("BadRequestException", f"no identity {domain} in the parent Region us-east-1")
    zone = make_zone(aws, domain)
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert ses_refuses(lambda: replicate(v2_west, domain))[1] == \
        f"the parent identity {domain} in us-east-1 is not verified with Easy DKIM"
    assert ses_refuses(lambda: replicate(aws("sesv2"), domain))[1] == \
        "a replica's parent must be in another Region"
    publish(aws, zone, domain, tokens)
    answer = replicate(v2_west, domain)
    assert answer["DkimAttributes"]["SigningAttributesOrigin"] == "AWS_SES_US_EAST_1"
    assert answer["DkimAttributes"]["Tokens"] == tokens  # the parent's: no DNS of its own
    # SES answers the create with the replica's DKIM status: the function reads no more.
    assert answer["DkimAttributes"]["Status"] == "SUCCESS"
    assert ses_refuses(lambda: replicate(v2_west, domain))[0] == "AlreadyExistsException"
    # a replica cannot be a parent
    assert ses_refuses(lambda: replicate(aws("sesv2", "eu-west-1"), domain, "AWS_SES_US_WEST_2"))[1] \
        == f"{domain} in us-west-2 is itself a replica"


def test_a_replica_follows_its_parent_and_the_parent_outlives_no_replica(aws, server):
    ses, v2, v2_west = aws("ses"), aws("sesv2"), aws("sesv2", "us-west-2")
    domain = new_domain("deed")
    zone = make_zone(aws, domain)
    publish(aws, zone, domain, ses.verify_domain_dkim(Domain=domain)["DkimTokens"])
    replicate(v2_west, domain)
    status = lambda client: client.get_email_identity(EmailIdentity=domain)["DkimAttributes"]["Status"]
    assert status(v2_west) == "SUCCESS"
    harness(server, "POST", {"domain": domain, "status": "Failed"})
    assert status(v2_west) == "FAILED"
    harness(server, "POST", {"domain": domain, "status": None})
    assert status(v2_west) == "SUCCESS"
    listed = v2_west.list_email_identities()["EmailIdentities"]
    assert domain in [i["IdentityName"] for i in listed]
    # the parent stays while a replica remains, by either API
    assert ses_refuses(lambda: ses.delete_identity(Identity=domain))[0] == "InvalidParameterValue"
    assert ses_refuses(lambda: v2.delete_email_identity(EmailIdentity=domain)) == \
        ("BadRequestException", f"{domain} is the parent of replicas in us-west-2; delete them first")
    v2_west.delete_email_identity(EmailIdentity=domain)
    assert ses_refuses(lambda: v2_west.delete_email_identity(EmailIdentity=domain))[0] == \
        "NotFoundException"
    ses.delete_identity(Identity=domain)
    assert dkim(aws, domain) is None


# ---------------------------------------------------------------- control endpoint


def test_control_endpoint_contract(aws, server):
    domain = new_domain()
    tokens = aws("ses").verify_domain_dkim(Domain=domain)["DkimTokens"]
    status, info = harness(server, domain=domain.upper(), region="us-east-1",
                           account_id="123456789012")
    assert status == 200
    assert info == {"account_id": "123456789012", "region": "us-east-1", "domain": domain,
                    "dkim_enabled": True, "generation": 1, "tokens": tokens,
                    "forced_status": None, "signing_zone": "dkim.amazonses.com",
                    "records_present": [False, False, False], "status": "Pending"}
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


# ---------------------------------------------------------------- SES MAIL FROM
# AWS's rules, which moto 5.2.5 does not keep: the status waits for the MX
# (https://docs.aws.amazon.com/ses/latest/dg/mail-from.html), and the MAIL FROM
# domain is a subdomain of the identity, not any name ending with it.

SES_MX = "10 feedback-smtp.us-east-1.amazonses.com"


def mail_from_harness(server, method="GET", body=None, **query):
    return harness(server, method, body, path="/_harness/ses/mail-from-status", **query)


def mail_from(aws, domain, region="us-east-1"):
    attrs = aws("ses", region).get_identity_mail_from_domain_attributes(Identities=[domain])
    return attrs["MailFromDomainAttributes"].get(domain)


def mx_set(aws, zone_id, action, name, values):
    aws("route53").change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": {
            "Name": name, "Type": "MX", "TTL": 300,
            "ResourceRecords": [{"Value": v} for v in values]}}]},
    )


def mail_from_ready(aws):
    """An identity with its zone and MAIL FROM set on bounce.<domain>."""
    domain = new_domain("mf")
    aws("ses").verify_domain_identity(Domain=domain)
    zone = make_zone(aws, domain)
    aws("ses").set_identity_mail_from_domain(Identity=domain, MailFromDomain=f"bounce.{domain}")
    return domain, zone, f"bounce.{domain}"


def test_mail_from_waits_for_the_mx_then_fails_when_it_goes_for_good(aws):
    domain, zone, bounce = mail_from_ready(aws)
    got = mail_from(aws, domain)
    assert got["MailFromDomain"] == bounce
    assert got["MailFromDomainStatus"] == "Pending", "moto alone says Success at once"
    assert got["BehaviorOnMXFailure"] == "UseDefaultValue"
    # The SPF TXT plays no part in the status.
    change(aws, zone, "CREATE", bounce, '"v=spf1 include:amazonses.com ~all"', rtype="TXT")
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "Pending"
    mx_set(aws, zone, "CREATE", bounce, [SES_MX + "."])
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "Success"
    mx_set(aws, zone, "DELETE", bounce, [SES_MX + "."])
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "Failed"
    # SES stops looking after Failed: the MX coming back does not help ...
    mx_set(aws, zone, "CREATE", bounce, [SES_MX])
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "Failed"
    # ... setting MAIL FROM again does.
    aws("ses").set_identity_mail_from_domain(Identity=domain, MailFromDomain=bounce,
                                             BehaviorOnMXFailure="RejectMessage")
    got = mail_from(aws, domain)
    assert got["MailFromDomainStatus"] == "Success"
    assert got["BehaviorOnMXFailure"] == "RejectMessage"


@pytest.mark.parametrize("values", [
    [SES_MX, "20 other.example.net"],  # more than one MX makes the setup fail
    ["20 feedback-smtp.us-east-1.amazonses.com"],  # wrong priority
    ["10 feedback-smtp.eu-west-1.amazonses.com"],  # another Region's
    ["10 mail.example.net"],
])
def test_mail_from_needs_exactly_one_mx_with_ses_value(aws, values):
    domain, zone, bounce = mail_from_ready(aws)
    mx_set(aws, zone, "CREATE", bounce, values)
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "Pending"


def test_mail_from_mx_in_a_private_zone_does_not_count(aws):
    domain, _, bounce = mail_from_ready(aws)
    private = make_zone(aws, domain, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"},
                        HostedZoneConfig={"PrivateZone": True})
    mx_set(aws, private, "CREATE", bounce, [SES_MX])
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "Pending"


def test_mail_from_fails_72_hours_after_setup_without_the_mx(aws, server):
    domain, zone, bounce = mail_from_ready(aws)
    status, body = mail_from_harness(server, "POST", {"identity": domain, "status": None,
                                                      "setSecondsAgo": 71 * 3600})
    assert status == 200 and body["status"] == "Pending", body
    status, body = mail_from_harness(server, "POST", {"identity": domain, "status": None,
                                                      "setSecondsAgo": 72 * 3600 + 1})
    assert status == 200 and body["status"] == "Failed", body
    mx_set(aws, zone, "CREATE", bounce, [SES_MX])
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "Failed"


@pytest.mark.parametrize("bad", ["not{d}", "{d}", "bounce.{d}.evil.com", "bounce..{d}", "x{d}"])
def test_mail_from_domain_must_be_a_subdomain_of_the_identity(aws, bad):
    domain = new_domain("mfsub")
    aws("ses").verify_domain_identity(Domain=domain)
    with pytest.raises(ClientError) as e:
        aws("ses").set_identity_mail_from_domain(Identity=domain, MailFromDomain=bad.format(d=domain))
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert mail_from(aws, domain) == {"BehaviorOnMXFailure": "UseDefaultValue"}


def test_mail_from_accepts_deeper_and_upper_case_subdomains(aws):
    domain = new_domain("mfdeep")
    aws("ses").verify_domain_identity(Domain=domain)
    aws("ses").set_identity_mail_from_domain(Identity=domain, MailFromDomain=f"A.Bounce.{domain.upper()}")
    assert mail_from(aws, domain)["MailFromDomain"] == f"a.bounce.{domain}"


def test_mail_from_refuses_unknown_identities_and_bad_behaviour(aws):
    ses = aws("ses")
    domain = new_domain("mfunk")
    with pytest.raises(ClientError) as e:
        ses.set_identity_mail_from_domain(Identity=domain, MailFromDomain=f"bounce.{domain}")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    ses.verify_domain_identity(Domain=domain)
    with pytest.raises(ClientError):
        ses.set_identity_mail_from_domain(Identity=domain, MailFromDomain=f"bounce.{domain}",
                                          BehaviorOnMXFailure="Bounce")
    assert mail_from(aws, domain) == {"BehaviorOnMXFailure": "UseDefaultValue"}
    assert ses.get_identity_mail_from_domain_attributes(
        Identities=[new_domain("never")])["MailFromDomainAttributes"] == {}


def test_mail_from_cleared_and_forgotten_with_its_identity(aws, server):
    ses = aws("ses")
    domain, _, bounce = mail_from_ready(aws)
    ses.set_identity_mail_from_domain(Identity=domain)  # no MailFromDomain: clear it
    assert mail_from(aws, domain) == {"BehaviorOnMXFailure": "UseDefaultValue"}
    ses.set_identity_mail_from_domain(Identity=domain)  # clearing twice is fine
    ses.set_identity_mail_from_domain(Identity=domain, MailFromDomain=bounce)
    ses.delete_identity(Identity=domain)
    ses.verify_domain_identity(Domain=domain)
    assert mail_from(aws, domain) == {"BehaviorOnMXFailure": "UseDefaultValue"}
    status, body = mail_from_harness(server, identity=domain)
    assert status == 200 and body["mail_from_domain"] is None and body["status"] is None


def test_mail_from_control_endpoint_contract(aws, server):
    domain, zone, bounce = mail_from_ready(aws)
    status, body = mail_from_harness(server, identity=domain)
    assert status == 200
    assert body == {"identity": domain, "mail_from_domain": bounce, "status": "Pending",
                    "behavior_on_mx_failure": "UseDefaultValue", "forced_status": None,
                    "mx_found": False}
    status, body = mail_from_harness(server, "POST", {"identity": domain, "status": "TemporaryFailure"})
    assert status == 200 and body["status"] == "TemporaryFailure"
    assert mail_from(aws, domain)["MailFromDomainStatus"] == "TemporaryFailure"
    status, body = mail_from_harness(server, "POST", {"identity": domain, "status": None})
    assert status == 200 and body["status"] == "Pending" and body["forced_status"] is None
    assert mail_from_harness(server, "POST", {"identity": domain})[0] == 400
    assert mail_from_harness(server, "POST", {"identity": domain, "status": "Verified"})[0] == 400
    assert mail_from_harness(server, "POST", {"identity": domain, "status": None,
                                              "setSecondsAgo": -1})[0] == 400
    assert mail_from_harness(server)[0] == 400
    assert mail_from_harness(server, identity=new_domain("none"))[0] == 404
    other = new_domain("mfnone")
    aws("ses").verify_domain_identity(Domain=other)
    assert mail_from_harness(server, "POST", {"identity": other, "status": "Success"})[0] == 404


# ---------------------------------------------------------------- Route 53 batches
# Route 53 refuses a whole batch with InvalidChangeBatch where moto is lax: a
# CREATE over a set that exists, a DELETE that does not match exactly, another
# type beside a CNAME.


def rrset(name, rtype, values, ttl=300):
    return {"Name": name, "Type": rtype, "TTL": ttl,
            "ResourceRecords": [{"Value": v} for v in values]}


def batch(aws, zone, *changes):
    aws("route53").change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": a, "ResourceRecordSet": r} for a, r in changes]})


def sets_at(aws, zone, name):
    listed = aws("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return {(s["Type"], s["TTL"], tuple(sorted(r["Value"] for r in s["ResourceRecords"])))
            for s in listed if s["Name"].rstrip(".") == name}


def refused(call):
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["Error"]["Code"] == "InvalidChangeBatch", e.value.response
    return e.value.response["Error"]["Message"]


def test_route53_create_over_a_set_that_exists_is_refused(aws):
    domain = new_domain("r53c")
    zone = make_zone(aws, domain)
    name = f"bounce.{domain}"
    batch(aws, zone, ("CREATE", rrset(name, "TXT", ['"a"'])))
    message = refused(lambda: batch(aws, zone, ("CREATE", rrset(name, "TXT", ['"b"']))))
    assert "already exists" in message
    assert sets_at(aws, zone, name) == {("TXT", 300, ('"a"',))}


@pytest.mark.parametrize("wrong", [
    rrset("{n}", "TXT", ['"zzz"']),             # other values
    rrset("{n}", "TXT", ['"a"'], ttl=60),       # other TTL
    rrset("{n}", "TXT", ['"a"', '"b"']),        # more values
    rrset("other.{n}", "TXT", ['"a"']),         # no such set
    rrset("{n}", "MX", ["10 a.example.net"]),   # no such type
])
def test_route53_delete_must_repeat_the_set_exactly(aws, wrong):
    domain = new_domain("r53d")
    zone = make_zone(aws, domain)
    name = f"bounce.{domain}"
    batch(aws, zone, ("CREATE", rrset(name, "TXT", ['"a"'])))
    wrong = {**wrong, "Name": wrong["Name"].format(n=name)}
    message = refused(lambda: batch(aws, zone, ("DELETE", wrong)))
    assert "not found" in message or "do not match" in message
    assert sets_at(aws, zone, name) == {("TXT", 300, ('"a"',))}


def test_route53_swaps_a_set_with_an_exact_delete_and_a_create_in_one_batch(aws):
    domain = new_domain("r53s")
    zone = make_zone(aws, domain)
    name = f"bounce.{domain}"
    batch(aws, zone, ("CREATE", rrset(name, "TXT", ['"site=1"'])))
    batch(aws, zone,
          ("DELETE", rrset(name, "TXT", ['"site=1"'])),
          ("CREATE", rrset(name, "TXT", ['"site=1"', '"v=spf1 include:amazonses.com ~all"'])),
          ("CREATE", rrset(name, "MX", ["10 feedback-smtp.us-east-1.amazonses.com"])))
    assert sets_at(aws, zone, name) == {
        ("TXT", 300, ('"site=1"', '"v=spf1 include:amazonses.com ~all"')),
        ("MX", 300, ("10 feedback-smtp.us-east-1.amazonses.com",)),
    }
    # A stale swap (read before someone's edit) fails whole: nothing changes.
    refused(lambda: batch(aws, zone,
                          ("DELETE", rrset(name, "TXT", ['"site=1"'])),
                          ("CREATE", rrset(name, "TXT", ['"site=1"', '"x"']))))
    assert ("TXT", 300, ('"site=1"', '"v=spf1 include:amazonses.com ~all"')) in sets_at(aws, zone, name)


def test_route53_a_refused_change_refuses_the_whole_batch(aws):
    domain = new_domain("r53a")
    zone = make_zone(aws, domain)
    batch(aws, zone, ("CREATE", rrset(f"taken.{domain}", "MX", ["10 a.example.net"])))
    refused(lambda: batch(aws, zone,
                          ("CREATE", rrset(f"new.{domain}", "TXT", ['"x"'])),
                          ("CREATE", rrset(f"taken.{domain}", "MX", ["10 b.example.net"]))))
    assert sets_at(aws, zone, f"new.{domain}") == set()


def test_route53_nothing_lives_beside_a_cname(aws):
    domain = new_domain("r53n")
    zone = make_zone(aws, domain)
    batch(aws, zone, ("CREATE", rrset(f"c.{domain}", "CNAME", ["x.example.net"])))
    message = refused(lambda: batch(aws, zone, ("CREATE", rrset(f"c.{domain}", "MX", ["10 m.example.net"]))))
    assert "conflicting RRSet of type CNAME" in message
    batch(aws, zone, ("CREATE", rrset(f"t.{domain}", "TXT", ['"x"'])))
    refused(lambda: batch(aws, zone, ("UPSERT", rrset(f"t.{domain}", "CNAME", ["x.example.net"]))))
    # UPSERT of a set that exists, and of one that does not, still work.
    batch(aws, zone, ("UPSERT", rrset(f"c.{domain}", "CNAME", ["y.example.net"])),
          ("UPSERT", rrset(f"u.{domain}", "CNAME", ["z.example.net"])))
    assert sets_at(aws, zone, f"c.{domain}") == {("CNAME", 300, ("y.example.net",))}


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
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    sargs = dict(Name=sname, ScheduleExpression=f"at({tomorrow:%Y-%m-%dT%H:%M:%S})",
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


def test_eventbridge_delivers_each_event_once_while_other_callers_change_rules(aws):
    """Unpatched, PutEvents fails midway when a rule is added or deleted during its
    walk (a 500 after some targets got the event) and a retry delivers it twice."""
    sqs, ev = aws("sqs"), aws("events")
    tag = uuid.uuid4().hex[:8]
    q = sqs.create_queue(QueueName=f"once{tag}")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ev.put_rule(Name=f"once{tag}", EventPattern=json.dumps({"source": [tag]}))
    ev.put_targets(Rule=f"once{tag}", Targets=[{"Id": "q", "Arn": qarn}])
    stop = threading.Event()

    def churn(k):
        other = aws("events")
        while not stop.is_set():
            for i in range(20):
                other.put_rule(Name=f"churn{tag}{k}-{i}", EventPattern='{"source": ["nobody"]}')
            for i in range(20):
                other.delete_rule(Name=f"churn{tag}{k}-{i}")

    churners = [threading.Thread(target=churn, args=(k,)) for k in range(3)]
    for t in churners:
        t.start()
    failures = []
    try:
        for n in range(200):
            try:
                ev.put_events(Entries=[{"Source": tag, "DetailType": "once", "Detail": json.dumps({"n": n})}])
            except ClientError as err:  # retries are off: a 500 shows here
                failures.append(err.response["Error"])
    finally:
        stop.set()
        for t in churners:
            t.join()
    assert failures == []
    seen = []
    while True:
        msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            seen.append(json.loads(m["Body"])["detail"]["n"])
            sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(seen) == list(range(200))


# ---------------------------------------------------------------- call controls: throttling, log, latency

SES_NS = "http://ses.amazonaws.com/doc/2010-12-01/"
ROUTE53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"


def control(server, path, body=None, method=None):
    """Call a /_harness/ endpoint; (status, JSON answer)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{server}/_harness/{path}", data=data,
                                 method=method or ("GET" if body is None else "POST"),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def throttle(server, *rules):
    status, answer = control(server, "throttle", {"rules": list(rules)})
    assert status == 200, answer
    return answer


def rule(service, calls, per_seconds=60.0, per_action=False):
    return {"service": service, "perAction": per_action, "calls": calls, "perSeconds": per_seconds}


@pytest.fixture
def controls(server):
    """Throttling and latency off before and after the test (they are server-wide)."""
    throttle(server)
    control(server, "latency", {"seconds": 0})
    yield server
    throttle(server)
    control(server, "latency", {"seconds": 0})


@pytest.fixture(scope="module")
def strict(server):
    """Clients that never retry, so a throttled call surfaces as the error."""
    def client(service, region="us-east-1"):
        return boto3.client(
            service, endpoint_url=server, region_name=region,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )

    return client


def assert_throttled(call):
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

    with pytest.raises(ClientError) as e:
        call()
    response = e.value.response
    assert response["Error"]["Code"] == "Throttling", response
    assert response["Error"]["Message"] == "Rate exceeded"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    context = RetryContext(attempt_number=1, parsed_response=response)
    assert ThrottledRetryableChecker().is_retryable(context), "botocore must see a throttle"


def signed_request(server, service, path="/", data=None, headers=None, method="POST"):
    """A raw request with a SigV4-shaped Authorization header (its signature is never checked
    when the call is throttled); returns status, headers, body."""
    auth = (f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
    req = urllib.request.Request(f"{server}{path}", data=data, method=method,
                                 headers={"Authorization": auth, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_controls_start_off_and_count_every_call(controls, strict):
    assert throttle(controls) == {"rules": [], "accepted": {}, "throttled": {}}
    domain = new_domain()
    strict("ses").verify_domain_dkim(Domain=domain)
    strict("ses").verify_domain_dkim(Domain=domain)
    strict("route53").list_hosted_zones()
    assert control(controls, "throttle")[1] == {
        "rules": [], "accepted": {"ses:VerifyDomainDkim": 2, "route53:ListHostedZones": 1},
        "throttled": {}}


def test_calls_are_named_by_service_and_operation(controls, strict):
    domain = new_domain()
    zone = strict("route53").create_hosted_zone(Name=domain, CallerReference=uuid.uuid4().hex)
    zone_id = zone["HostedZone"]["Id"]
    strict("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": f"x.{domain}", "Type": "CNAME", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "y.example.com"}]}}]})
    strict("route53").list_resource_record_sets(HostedZoneId=zone_id)
    strict("route53").list_hosted_zones_by_name(DNSName=domain)
    group = f"g{uuid.uuid4().hex[:8]}"
    strict("scheduler").create_schedule_group(Name=group)
    strict("scheduler").list_schedules(GroupName=group)
    strict("events").list_event_buses()
    strict("ses").get_identity_dkim_attributes(Identities=[domain])
    assert control(controls, "throttle")[1]["accepted"] == {
        "route53:CreateHostedZone": 1, "route53:ChangeResourceRecordSets": 1,
        "route53:ListResourceRecordSets": 1, "route53:ListHostedZonesByName": 1,
        "scheduler:CreateScheduleGroup": 1, "scheduler:ListSchedules": 1,
        "events:ListEventBuses": 1, "ses:GetIdentityDkimAttributes": 1}


def test_per_action_rule_gives_each_action_its_own_window(controls, strict):
    ses = strict("ses")
    answer = throttle(controls, rule("ses", 1, per_action=True))
    assert answer == {"rules": [rule("ses", 1, per_action=True)], "accepted": {}, "throttled": {}}
    domain = new_domain()
    ses.verify_domain_dkim(Domain=domain)
    assert_throttled(lambda: ses.verify_domain_dkim(Domain=domain))
    ses.get_identity_dkim_attributes(Identities=[domain])  # its own window
    assert_throttled(lambda: ses.get_identity_dkim_attributes(Identities=[domain]))
    strict("route53").list_hosted_zones()  # no rule for route53
    strict("route53").list_hosted_zones()
    assert control(controls, "throttle")[1] == {
        "rules": [rule("ses", 1, per_action=True)],
        "accepted": {"ses:VerifyDomainDkim": 1, "ses:GetIdentityDkimAttributes": 1,
                     "route53:ListHostedZones": 2},
        "throttled": {"ses:VerifyDomainDkim": 1, "ses:GetIdentityDkimAttributes": 1}}


def test_per_service_rule_shares_one_window_across_actions(controls, strict):
    r53 = strict("route53")
    throttle(controls, rule("route53", 2))
    domain = new_domain()
    zone_id = r53.create_hosted_zone(Name=domain, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    r53.get_hosted_zone(Id=zone_id)
    assert_throttled(lambda: r53.list_resource_record_sets(HostedZoneId=zone_id))
    assert_throttled(lambda: r53.list_hosted_zones())
    strict("ses").verify_domain_dkim(Domain=domain)  # other services are not limited
    summary = control(controls, "throttle")[1]
    assert summary["accepted"] == {"route53:CreateHostedZone": 1, "route53:GetHostedZone": 1,
                                   "ses:VerifyDomainDkim": 1}
    assert summary["throttled"] == {"route53:ListResourceRecordSets": 1, "route53:ListHostedZones": 1}


def test_a_region_rule_throttles_that_region_only(controls, strict):
    west = {**rule("ses", 0), "region": "us-west-2"}
    assert throttle(controls, west, rule("ses", 100))["rules"] == [west, rule("ses", 100)]
    assert_throttled(lambda: strict("sesv2", "us-west-2").list_email_identities())
    strict("sesv2", "eu-west-1").list_email_identities()
    strict("sesv2").list_email_identities()
    calls = control(controls, "calls?service=ses")[1]["calls"]
    assert [(c["region"], c["throttled"]) for c in calls] == \
        [("us-west-2", True), ("eu-west-1", False), ("us-east-1", False)]
    assert control(controls, "throttle", {"rules": [{**west, "region": ""}]})[0] == 400


def test_window_slides_and_throttled_calls_do_not_use_it_up(controls, strict):
    r53 = strict("route53")
    throttle(controls, rule("route53", 1, per_seconds=1.0))
    start = time.monotonic()
    r53.list_hosted_zones()
    time.sleep(0.5)
    assert_throttled(r53.list_hosted_zones)  # 0.5 s after the accepted one: same window
    assert time.monotonic() - start < 1.0, "machine too slow for this timing test"
    time.sleep(max(0.0, 1.1 - (time.monotonic() - start)))
    r53.list_hosted_zones()  # the accepted call left the window; the throttled one never counted
    assert_throttled(r53.list_hosted_zones)
    calls = control(controls, "calls?service=route53")[1]["calls"]
    assert [c["throttled"] for c in calls] == [False, True, False, True]


def test_turning_throttling_off_and_posting_resets(controls, strict):
    ses = strict("ses")
    throttle(controls, rule("ses", 0))
    assert_throttled(lambda: ses.list_identities())
    assert control(controls, "throttle")[1]["throttled"] == {"ses:ListIdentities": 1}
    assert throttle(controls) == {"rules": [], "accepted": {}, "throttled": {}}
    assert control(controls, "calls")[1] == {"calls": []}
    ses.list_identities()
    assert control(controls, "throttle")[1]["accepted"] == {"ses:ListIdentities": 1}


@pytest.mark.parametrize("service,call", [
    ("ses", lambda c: c.verify_domain_dkim(Domain="example.com")),
    ("route53", lambda c: c.list_hosted_zones_by_name(DNSName="example.com")),
    ("events", lambda c: c.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])),
    ("scheduler", lambda c: c.get_schedule(Name="n", GroupName="g")),
])
def test_every_protocol_answers_throttling_botocore_recognises(controls, strict, service, call):
    throttle(controls, rule(service, 0))
    assert_throttled(lambda: call(strict(service)))


def test_query_and_rest_xml_errors_are_aws_error_documents(controls):
    import xml.etree.ElementTree as ET

    throttle(controls, rule("ses", 0), rule("route53", 0))
    for service, path, data, namespace in [
        ("ses", "/", b"Action=VerifyDomainDkim&Version=2010-12-01&Domain=example.com", SES_NS),
        ("route53", "/2013-04-01/hostedzone", None, ROUTE53_NS),
    ]:
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"} if data else {}
        status, resp_headers, body = signed_request(controls, service, path, data, headers,
                                                    method="POST" if data else "GET")
        assert status == 400
        assert resp_headers["Content-Type"] == "text/xml"
        root = ET.fromstring(body)
        assert root.tag == f"{{{namespace}}}ErrorResponse"
        ns = {"a": namespace}
        assert root.findtext("a:Error/a:Type", namespaces=ns) == "Sender"
        assert root.findtext("a:Error/a:Code", namespaces=ns) == "Throttling"
        assert root.findtext("a:Error/a:Message", namespaces=ns) == "Rate exceeded"
        assert root.findtext("a:RequestId", namespaces=ns) == resp_headers["x-amzn-RequestId"]


def test_json_errors_carry_type_and_message(controls):
    throttle(controls, rule("events", 0), rule("scheduler", 0))
    status, headers, body = signed_request(
        controls, "events", data=b"{}",
        headers={"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"})
    assert status == 400 and headers["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(body) == {"__type": "Throttling", "message": "Rate exceeded"}
    status, headers, body = signed_request(controls, "scheduler", "/schedules/n", method="GET")
    assert status == 400 and headers["X-Amzn-Errortype"] == "Throttling"
    assert json.loads(body) == {"__type": "Throttling", "message": "Rate exceeded"}
    assert control(controls, "throttle")[1]["throttled"] == {"events:PutEvents": 1,
                                                             "scheduler:GetSchedule": 1}


def test_a_retrying_client_retries_a_throttled_call(controls, server):
    ses = boto3.client("ses", endpoint_url=server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing",
                       config=Config(retries={"mode": "standard", "total_max_attempts": 2}))
    throttle(controls, rule("ses", 0))
    with pytest.raises(ClientError) as e:
        ses.list_identities()
    assert e.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    calls = control(controls, "calls?service=ses")[1]["calls"]
    assert [(c["action"], c["throttled"]) for c in calls] == [("ListIdentities", True)] * 2


def test_call_log_filters_and_timestamps(controls, strict):
    domain = new_domain()
    before = time.time()
    strict("ses").verify_domain_dkim(Domain=domain)
    strict("route53").list_hosted_zones()
    strict("ses").get_identity_dkim_attributes(Identities=[domain])
    after = time.time()
    calls = control(controls, "calls")[1]["calls"]
    assert [(c["service"], c["action"], c["throttled"]) for c in calls] == [
        ("ses", "VerifyDomainDkim", False), ("route53", "ListHostedZones", False),
        ("ses", "GetIdentityDkimAttributes", False)]
    times = [c["t"] for c in calls]
    assert before <= times[0] <= times[1] <= times[2] <= after
    assert set(calls[0]) == {"t", "service", "action", "accessKeyId", "request", "region",
                            "throttled"}
    assert [c["action"] for c in control(controls, "calls?service=ses")[1]["calls"]] == [
        "VerifyDomainDkim", "GetIdentityDkimAttributes"]
    assert control(controls, "calls?service=ses&action=VerifyDomainDkim")[1]["calls"] == calls[:1]
    assert control(controls, "calls?service=sqs")[1] == {"calls": []}


def test_call_log_keeps_what_each_call_named(controls, strict):
    """Path, query and body: a test can tell which zone or identity a call touched."""
    r53 = strict("route53")
    zone = r53.create_hosted_zone(Name=new_domain(), CallerReference=uuid.uuid4().hex)
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    throttle(controls)  # resets the log
    r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName="a")
    r53.list_tags_for_resources(ResourceType="hostedzone", ResourceIds=[zone_id])
    strict("ses").verify_domain_dkim(Domain="logged.example.com")
    calls = control(controls, "calls")[1]["calls"]
    listed, tags, verify = (c["request"] for c in calls)
    assert listed.startswith(f"GET /2013-04-01/hostedzone/{zone_id}/rrset") and "name=a" in listed
    assert tags.startswith("POST /2013-04-01/tags/hostedzone") and zone_id in tags
    assert verify.startswith("POST /") and "Domain=logged.example.com" in verify
    # The body is read for the log and still reaches moto.
    assert r53.list_tags_for_resources(ResourceType="hostedzone", ResourceIds=[zone_id])[
        "ResourceTagSets"][0]["ResourceId"] == zone_id


def test_call_log_names_the_access_key_each_call_was_signed_with(controls, strict, server):
    """Calls with credentials from STS AssumeRole are told apart from the caller's own."""
    role_arn = "arn:aws:iam::210987654321:role/dkim-dns"
    assumed = strict("sts").assume_role(RoleArn=role_arn, RoleSessionName="harness",
                                        ExternalId="tenant-7")["Credentials"]
    assert assumed["AccessKeyId"] != "testing"
    r53 = boto3.client("route53", endpoint_url=server, region_name="us-east-1",
                       aws_access_key_id=assumed["AccessKeyId"],
                       aws_secret_access_key=assumed["SecretAccessKey"],
                       aws_session_token=assumed["SessionToken"])
    zone = r53.create_hosted_zone(Name=new_domain("dns"), CallerReference=uuid.uuid4().hex)
    strict("ses").list_identities()
    calls = control(controls, "calls")[1]["calls"]
    assert [(c["service"], c["action"], c["accessKeyId"]) for c in calls] == [
        ("sts", "AssumeRole", "testing"),
        ("route53", "CreateHostedZone", assumed["AccessKeyId"]),
        ("ses", "ListIdentities", "testing")]
    assert [c["service"] for c in control(
        controls, f"calls?accessKeyId={assumed['AccessKeyId']}")[1]["calls"]] == ["route53"]
    # moto files the assumed key under the role's account: the zone is not the caller's.
    zone_id = zone["HostedZone"]["Id"]
    assert zone_id not in [z["Id"] for z in strict("route53").list_hosted_zones()["HostedZones"]]
    assert zone_id in [z["Id"] for z in r53.list_hosted_zones()["HostedZones"]]
    # A presigned request carries the key in X-Amz-Credential.
    credential = urllib.parse.quote("AKIDPRESIGNED/20260101/us-east-1/route53/aws4_request", safe="")
    try:  # moto itself cannot route it without a header; the log is what counts here
        urllib.request.urlopen(f"{controls}/2013-04-01/hostedzone?X-Amz-Credential={credential}",
                               timeout=10).read()
    except urllib.error.HTTPError:
        pass
    last = control(controls, "calls")[1]["calls"][-1]
    assert (last["action"], last["accessKeyId"]) == ("ListHostedZones", "AKIDPRESIGNED")


def test_records_in_another_accounts_public_zone_verify_the_domain(aws, server):
    """SES resolves public DNS: a public zone in a DNS account counts like one of its own."""
    assumed = aws("sts").assume_role(RoleArn="arn:aws:iam::210987654321:role/dkim-dns",
                                     RoleSessionName="dns-team")["Credentials"]
    dns = boto3.client("route53", endpoint_url=server, region_name="us-east-1",
                       aws_access_key_id=assumed["AccessKeyId"],
                       aws_secret_access_key=assumed["SecretAccessKey"],
                       aws_session_token=assumed["SessionToken"])
    domain = new_domain("x")
    zone = dns.create_hosted_zone(Name=domain, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    tokens = aws("ses").verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Pending"
    for t in tokens:
        dns.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": "UPSERT", "ResourceRecordSet": {
                "Name": f"{t}._domainkey.{domain}", "Type": "CNAME", "TTL": 1800,
                "ResourceRecords": [{"Value": f"{t}.dkim.amazonses.com"}]}}]})
    assert dkim(aws, domain)["DkimVerificationStatus"] == "Success"


def test_latency_delays_aws_calls_not_the_harness(controls, strict):
    delay = 0.4
    assert control(controls, "latency", {"seconds": delay}) == (200, {"seconds": delay})
    assert control(controls, "latency") == (200, {"seconds": delay})
    ses = strict("ses")
    start = time.perf_counter()
    ses.list_identities()
    assert time.perf_counter() - start >= delay
    throttle(controls, rule("ses", 0))
    start = time.perf_counter()
    assert_throttled(ses.list_identities)  # a throttled answer takes the round trip too
    assert time.perf_counter() - start >= delay
    start = time.perf_counter()
    control(controls, "throttle")
    assert time.perf_counter() - start < delay
    assert control(controls, "latency", {"seconds": 0}) == (200, {"seconds": 0.0})


def test_unthrottled_calls_behave_as_before(controls, strict):
    # Generous rules on: bodies still reach moto intact and the DKIM flow is unchanged.
    throttle(controls, rule("ses", 100, per_action=True), rule("route53", 100))
    ses = strict("ses")
    domain = new_domain()
    zone_id = strict("route53").create_hosted_zone(
        Name=domain, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert ses.verify_domain_dkim(Domain=domain)["DkimTokens"] == tokens
    for t in tokens:
        strict("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {
                "Name": f"{t}._domainkey.{domain}", "Type": "CNAME", "TTL": 1800,
                "ResourceRecords": [{"Value": f"{t}.dkim.amazonses.com"}]}}]})
    attrs = ses.get_identity_dkim_attributes(Identities=[domain])["DkimAttributes"][domain]
    assert attrs == {"DkimEnabled": True, "DkimVerificationStatus": "Success", "DkimTokens": tokens}
    with pytest.raises(ClientError) as e:  # moto's own errors still come through
        ses.verify_domain_dkim(Domain="not a domain")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert control(controls, "throttle")[1]["throttled"] == {}


def test_unsigned_and_moto_api_requests_are_not_controlled(controls):
    throttle(controls, rule("ses", 0))
    req = urllib.request.Request(f"{controls}/moto-api/data.json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    assert control(controls, "calls")[1] == {"calls": []}


@pytest.mark.parametrize("body", [
    {}, {"rules": {}}, {"rules": [{"service": "ses"}]},
    {"rules": [rule("ses", -1)]}, {"rules": [rule("ses", 1.5)]}, {"rules": [rule("ses", 1, 0)]},
    {"rules": [{**rule("ses", 1), "perAction": "yes"}]},
    {"rules": [{**rule("ses", 1), "burst": 2}]},
    {"rules": [rule("", 1)]}, {"rules": [rule("ses", 1), rule("ses", 2, per_action=True)]},
])
def test_bad_throttle_rules_are_refused(controls, body):
    status, answer = control(controls, "throttle", body)
    assert status == 400 and answer["error"] == "BadRequest", answer
    assert control(controls, "throttle")[1]["rules"] == []


def test_bad_latency_and_methods_are_refused(controls):
    for body in ({}, {"seconds": -1}, {"seconds": 61}, {"seconds": "1"}, {"seconds": True}):
        assert control(controls, "latency", body)[0] == 400, body
    assert control(controls, "latency")[1] == {"seconds": 0.0}
    assert control(controls, "calls", {})[0] == 405
    assert control(controls, "throttle", method="DELETE")[0] == 405
    assert control(controls, "latency", method="PUT")[0] == 405
