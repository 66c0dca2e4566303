#!/usr/bin/env python3
"""The local demo: one domain from event to *DKIM verified*, then a reconcile,
against the emulator.

Run through scripts/demo.sh, which installs the venv, builds the function and starts
the emulator (AWS_ENDPOINT_URL). This script plays every other part: it creates the
hosted zones, runs the compiled function behind a small Lambda Runtime API (as Lambda
runs it), sends it events/custom-domain-registered.json, then fires each follow-up the
way EventBridge Scheduler would (reading the schedule's target input) until SES says
the domain is verified, and shows what a subscriber of the outcome events received.
Then the rest of a domain's life: a zone that was there before the function, and that
no event ever names, is onboarded by a reconcile (a `Reconcile Requested` event, then
each continuation schedule fired as Scheduler would); one of its DKIM CNAMEs is
deleted after verification, and the next reconcile puts it back.
A second tenant keeps its DNS outside AWS (`dnsMode` external): the function hands
its records over, the tenant "publishes" them at its own provider (the demo's DNS
server on loopback, dnslib), the checks report what public DNS answers, and the
domain reaches verified.
Last, ready to send: the same function with MAIL_FROM_SUBDOMAIN=bounce and
DMARC_POLICY=none writes the MAIL FROM MX, the SPF TXT and a DMARC record beside the
CNAMEs, points SES at the MAIL FROM domain once DKIM is verified, and announces
`Domain Ready to Send` when SES confirms it.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from dnslib import CNAME, QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
REGION = "us-east-1"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:dkim-autopilot"
ROLE_ARN = "arn:aws:iam::123456789012:role/dkim-autopilot-scheduler"
GROUP = "dkim-autopilot"
BUS = "dkim-autopilot-demo"
EVENT_FILE = ROOT / "events" / "custom-domain-registered.json"
EXTERNAL_EVENT_FILE = ROOT / "events" / "custom-domain-registered-external.json"
# A zone that was in the account before dkim-autopilot; no event ever names it.
LEGACY_ZONE = "legacy-shop.com"
# The domain that goes all the way to ready to send.
READY_ZONE = "ready-shop.com"

BOLD, DIM, GREEN, RESET = ("\033[1m", "\033[2m", "\033[32m", "\033[0m") if sys.stdout.isatty() else ("",) * 4


def client(service: str):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


class RuntimeApi:
    """Just enough of the Lambda Runtime API to serve one function process."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.answers: dict[str, queue.Queue[tuple[str, object]]] = {}
        self.counter = 0
        self.lock = threading.Lock()
        self.first_poll = threading.Event()  # the function finished its init
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; with Nagle on, a keep-alive client
            # would wait for its delayed ACK (~40 ms) before the body of every answer.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                api.first_poll.set()
                request_id, payload = api.events.get()
                body = payload.encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(datetime.now().timestamp() * 1000) + 60000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length) if length else b""
                parts = self.path.split("/")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                waiting = api.answers.get(parts[4]) if len(parts) >= 6 and parts[3] == "invocation" else None
                if waiting is not None:  # None: not an invocation, or its caller gave up
                    waiting.put((parts[5], json.loads(body or b"null")))

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # the function going away mid-poll is expected at the end

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def send(self, payload: str, timeout: float = 60) -> tuple[str, object]:
        """One invocation: ("response", answer), ("error", error document) or ("timeout", None)."""
        with self.lock:
            self.counter += 1
            request_id = f"demo-{self.counter}"
            self.answers[request_id] = queue.Queue()
        self.events.put((request_id, payload))
        try:
            return self.answers[request_id].get(timeout=timeout)
        except queue.Empty:
            return "timeout", None
        finally:
            del self.answers[request_id]

    def invoke(self, payload: str) -> dict:
        kind, answer = self.send(payload)
        if kind != "response":
            raise SystemExit(f"the function failed: {kind} {answer}")
        return answer


class TenantDns(BaseResolver):
    """The external tenant's DNS provider: a DNS server on 127.0.0.1 serving the
    CNAMEs the tenant published (NXDOMAIN for the rest)."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}
        quiet = DNSLogger(log="-recv,-send,-request,-reply,-truncated,-error,-data", prefix=False)
        self.server = DNSServer(self, address="127.0.0.1", port=0, logger=quiet)
        self.server.start_thread()

    @property
    def address(self) -> str:
        host, port = self.server.server.server_address[:2]
        return f"{host}:{port}"

    def resolve(self, request, handler):
        reply = request.reply()
        value = self.records.get(str(request.q.qname).rstrip(".").lower())
        if value is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.CNAME:
            reply.add_answer(RR(request.q.qname, QTYPE.CNAME, rdata=CNAME(value + "."), ttl=60))
        return reply


def step(n: int, text: str) -> None:
    print(f"\n{BOLD}{n}. {text}{RESET}")


def show_records(route53, zone_id: str, domain: str) -> None:
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    rows = [s for s in sets if s["Type"] == "CNAME" and s["Name"].rstrip(".").endswith(f"._domainkey.{domain}")]
    width = max(len(s["Name"].rstrip(".")) for s in rows)
    for s in rows:
        print(f"     {s['Name'].rstrip('.'):<{width}}  CNAME  {s['ResourceRecords'][0]['Value']}  (TTL {s['TTL']})")


def show_schedule(scheduler, name: str) -> dict:
    s = scheduler.get_schedule(Name=name, GroupName=GROUP)
    payload = json.loads(s["Target"]["Input"])
    print(f"     schedule {BOLD}{name}{RESET} in group {GROUP}: {s['ScheduleExpression']} {s['ScheduleExpressionTimezone']}")
    print(f"     target {s['Target']['Arn']}, then {s['ActionAfterCompletion']}")
    print(f"     {DIM}input {json.dumps(payload)}{RESET}")
    return s


def main() -> int:
    route53, scheduler, events, sqs = client("route53"), client("scheduler"), client("events"), client("sqs")
    sample = json.loads(EVENT_FILE.read_text())
    domain = sample["detail"]["domain"]
    zone_name = domain.split(".", 1)[1]

    print(f"{BOLD}dkim-autopilot demo{RESET} {DIM}(emulator at {ENDPOINT}){RESET}")
    step(1, f"Route 53 holds the public hosted zones {zone_name} and {LEGACY_ZONE}")
    zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference="demo")["HostedZone"]["Id"].split("/")[-1]
    print(f"     zone {zone_id}; the tenant's domain {domain} has no zone of its own")
    legacy_zone_id = route53.create_hosted_zone(
        Name=LEGACY_ZONE, CallerReference="demo-legacy")["HostedZone"]["Id"].split("/")[-1]
    print(f"     zone {legacy_zone_id}: {LEGACY_ZONE}, there before dkim-autopilot; no event will ever name it")
    scheduler.create_schedule_group(Name=GROUP)
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="dkim-outcomes")["QueueUrl"]
    events.put_rule(Name="dkim-outcomes", EventBusName=BUS, EventPattern=json.dumps({"source": ["dkim-autopilot"]}))
    events.put_targets(Rule="dkim-outcomes", EventBusName=BUS,
                       Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:dkim-outcomes"}])

    api = RuntimeApi()
    tenant_dns = TenantDns()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address, "AWS_LAMBDA_FUNCTION_NAME": "dkim-autopilot",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "json", "SCHEDULER_ROLE_ARN": ROLE_ARN, "SCHEDULE_GROUP": GROUP,
        "EVENT_BUS_NAME": BUS, "AWS_REGION": REGION,
        # Public DNS, as the function sees it: the external tenant's provider.
        "DNS_RESOLVERS": tenant_dns.address,
    })
    log_path = ROOT / "target" / "demo-function.log"
    with open(log_path, "w") as log:
        function = subprocess.Popen([os.environ["DKIM_AUTOPILOT_BIN"]], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            n = run(api, route53, scheduler, sqs, queue_url, zone_id, domain, sample)
            n = external_demo(api, scheduler, sqs, queue_url, tenant_dns, n + 1)
            n = reconcile_demo(api, route53, scheduler, sqs, queue_url, legacy_zone_id, sample, n + 1)
        finally:
            function.terminate()
            function.wait(timeout=10)
    with open(log_path, "a") as log:
        n = ready_demo(env, log, route53, scheduler, sqs, queue_url, sample, n + 1)
    fleet_demo(env, n + 1)
    print(f"\n{DIM}function logs (JSON, as CloudWatch would get them): {log_path.relative_to(ROOT)}{RESET}")
    return 0


def run(api, route53, scheduler, sqs, queue_url, zone_id, domain, sample) -> None:
    step(2, f"A SaaS onboards {sample['detail']['tenantId']}'s domain: {EVENT_FILE.relative_to(ROOT)}")
    answer = api.invoke(EVENT_FILE.read_text())
    print(f"     the function answered {GREEN}{answer['outcome']}{RESET}; zone {answer['hostedZoneId']} now holds:")
    show_records(route53, zone_id, domain)
    follow_up = answer["followUp"]
    print("     and the follow-up is scheduled:")
    show_schedule(scheduler, follow_up["scheduleName"])

    # SES usually needs a while to see new records: make the first look find Pending.
    harness(domain, "Pending")
    name = follow_up["scheduleName"]
    n = 3
    while name:
        step(n, f"EventBridge Scheduler fires {name}")
        schedule = scheduler.get_schedule(Name=name, GroupName=GROUP)
        scheduler.delete_schedule(Name=name, GroupName=GROUP)  # ActionAfterCompletion: DELETE
        answer = api.invoke(schedule["Target"]["Input"])
        outcome = answer["outcome"]
        status = answer.get("dkimStatus", "Success" if outcome == "verified" else "")
        print(f"     SES says {status}; the function answered {GREEN}{outcome}{RESET}")
        name = answer.get("followUp", {}).get("scheduleName") if outcome in ("waiting", "restarted") else None
        if name:
            print("     the next look:")
            show_schedule(scheduler, name)
            harness(domain, None)  # by the next look SES has detected the records
        n += 1

    step(n, "What a subscriber of the outcome events received")
    for event in received(sqs, queue_url):
        detail = event["detail"]
        extra = f"tenant {detail.get('tenantId')}, attempt {detail.get('attempt')}, elapsed {detail.get('elapsedSeconds')} s"
        print(f"     {BOLD}{event['detail-type']}{RESET}  {detail.get('domain')}  {DIM}({extra}){RESET}")
    print(f"\n{GREEN}{domain} is DKIM-verified.{RESET}")
    return n


def external_demo(api, scheduler, sqs, queue_url, tenant_dns, n) -> int:
    """A tenant whose DNS is outside AWS: the records are handed over and watched."""
    sample = json.loads(EXTERNAL_EVENT_FILE.read_text())
    domain = sample["detail"]["domain"]
    step(n, f"Another tenant keeps its DNS elsewhere: {EXTERNAL_EVENT_FILE.relative_to(ROOT)} (dnsMode external)")
    answer = api.invoke(EXTERNAL_EVENT_FILE.read_text())
    if answer["outcome"] != "handedOver":
        raise SystemExit(f"the records were not handed over: {answer}")
    print(f"     the function answered {GREEN}{answer['outcome']}{RESET}: nothing written to Route 53; "
          "the tenant is asked (DKIM Records Required) to publish:")
    records = answer["records"]
    width = max(len(r["name"]) for r in records)
    for r in records:
        print(f"     {r['name']:<{width}}  {r['type']}  {r['value']}  (TTL {r['ttl']})")

    def fire(name: str) -> dict:
        schedule = scheduler.get_schedule(Name=name, GroupName=GROUP)
        scheduler.delete_schedule(Name=name, GroupName=GROUP)  # ActionAfterCompletion: DELETE
        return api.invoke(schedule["Target"]["Input"])

    def show_checks(checks: list[dict]) -> None:
        for c in checks:
            found = f" (found {', '.join(c['found'])})" if c.get("found") else ""
            print(f"     {c['name']:<{width}}  {BOLD}{c['status']}{RESET}{found}")

    n += 1
    name = answer["followUp"]["scheduleName"]
    step(n, f"EventBridge Scheduler fires {name}; the tenant has published nothing yet")
    answer = fire(name)
    print(f"     SES says {answer.get('dkimStatus')}; the function answered {GREEN}{answer['outcome']}{RESET} "
          "and looked the records up in public DNS (DKIM Records Pending):")
    show_checks(answer.get("checks", []))

    n += 1
    step(n, "The tenant publishes the three CNAMEs at its DNS provider (the demo's DNS server)")
    for r in records:
        tenant_dns.records[r["name"].lower()] = r["value"]
    # The emulator's SES looks only at Route 53: say what real SES would now find.
    harness(domain, "Success")
    name = answer["followUp"]["scheduleName"]
    answer = fire(name)
    print(f"     EventBridge Scheduler fires {name}: the function answered {GREEN}{answer['outcome']}{RESET}")
    if answer["outcome"] != "verified":
        raise SystemExit(f"{domain} was not verified: {answer}")

    n += 1
    step(n, "What a subscriber of the outcome events received for it")
    for event in received(sqs, queue_url):
        detail = event["detail"]
        extra = f"tenant {detail.get('tenantId')}, attempt {detail.get('attempt')}"
        if detail.get("counts"):
            extra += ", " + ", ".join(f"{k} {v}" for k, v in detail["counts"].items() if v)
        print(f"     {BOLD}{event['detail-type']}{RESET}  {detail.get('domain')}  {DIM}({extra}){RESET}")
    print(f"\n{GREEN}{domain} is DKIM-verified, its DNS never touched by the function.{RESET}")
    return n


def received(sqs, queue_url) -> list[dict]:
    """Every outcome event waiting in the subscriber's queue, taken off it."""
    events = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return events
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def reconcile_demo(api, route53, scheduler, sqs, queue_url, legacy_zone_id, sample, n) -> int:
    """The rest of a domain's life: a reconcile onboards a zone no event named, and
    the next one heals a record deleted after verification."""
    step(n, f"A reconcile walks the account ({BOLD}Reconcile Requested{RESET}); nobody ever named {LEGACY_ZONE}")
    before = dkim_records(route53, legacy_zone_id, LEGACY_ZONE)
    print(f"     {LEGACY_ZONE} holds {len(before)} DKIM records before it")
    answer = reconcile(api, scheduler, sample)
    counts = answer["counts"]
    show_counts(counts)
    records = dkim_records(route53, legacy_zone_id, LEGACY_ZONE)
    if counts.get("onboarded", 0) < 1 or len(records) != 3:
        raise SystemExit(f"the reconcile did not onboard {LEGACY_ZONE}: {answer}")
    print(f"     {LEGACY_ZONE} now holds (an ordinary onboarding, with its own follow-up chain):")
    show_records(route53, legacy_zone_id, LEGACY_ZONE)
    print(f"     {DIM}(the parent zone {sample['detail']['domain'].split('.', 1)[1]} had no DKIM for its own "
          f"name either: the reconcile onboarded it too){RESET}")

    n += 1
    chain = scheduler.list_schedules(GroupName=GROUP, NamePrefix=f"dkim-{LEGACY_ZONE}-")["Schedules"]
    name = chain[0]["Name"]
    step(n, f"EventBridge Scheduler fires {name}, the chain the reconcile started")
    schedule = scheduler.get_schedule(Name=name, GroupName=GROUP)
    scheduler.delete_schedule(Name=name, GroupName=GROUP)  # ActionAfterCompletion: DELETE
    answer = api.invoke(schedule["Target"]["Input"])
    print(f"     the function answered {GREEN}{answer['outcome']}{RESET}")
    if answer["outcome"] != "verified":
        raise SystemExit(f"{LEGACY_ZONE} was not verified: {answer}")

    n += 1
    gone = records[0]
    step(n, f"A month later someone deletes {gone['Name'].rstrip('.')}")
    route53.change_resource_record_sets(HostedZoneId=legacy_zone_id, ChangeBatch={
        "Changes": [{"Action": "DELETE", "ResourceRecordSet": gone}]})
    # SES re-checks a verified domain only now and then: it still says Success, and
    # signing keeps working until it notices. The reconcile must not wait for that.
    harness(LEGACY_ZONE, "Success")
    print(f"     {LEGACY_ZONE} holds {len(dkim_records(route53, legacy_zone_id, LEGACY_ZONE))} DKIM records; "
          "SES still says Success (it re-checks only now and then)")

    n += 1
    step(n, "The next reconcile (daily, or on demand) finds the drift")
    answer = reconcile(api, scheduler, sample)
    show_counts(answer["counts"])
    harness(LEGACY_ZONE, None)
    back = [r for r in dkim_records(route53, legacy_zone_id, LEGACY_ZONE) if r["Name"] == gone["Name"]]
    if answer["counts"].get("repaired") != 1 or not back:
        raise SystemExit(f"the drift was not repaired: {answer}")
    print(f"     {GREEN}{gone['Name'].rstrip('.')} is back{RESET}: {back[0]['ResourceRecords'][0]['Value']}")

    n += 1
    step(n, "What a subscriber of the outcome events received")
    for event in received(sqs, queue_url):
        detail = event["detail"]
        if event["detail-type"] == "Reconcile Finished":
            counts = ", ".join(f"{k} {v}" for k, v in (detail.get("counts") or {}).items() if v)
            extra = f"run {detail.get('runId')}: {counts}"
        elif event["detail-type"] == "DKIM Drift Repaired":
            extra = "restored " + ", ".join(detail.get("recordNames", []))
        else:
            extra = f"attempt {detail.get('attempt')}"
        print(f"     {BOLD}{event['detail-type']}{RESET}  {detail.get('domain', '')}  {DIM}({extra}){RESET}")
    print(f"\n{GREEN}{LEGACY_ZONE} was onboarded by a reconcile, and its deleted record healed.{RESET}")
    return n


def ready_demo(env, log, route53, scheduler, sqs, queue_url, sample, n) -> int:
    """Ready to send: MAIL FROM and DMARC beside DKIM, with the function restarted with
    both features on (a deployment with MailFromSubdomain and DmarcPolicy set)."""
    step(n, f"Ready to send: the function again, with MAIL_FROM_SUBDOMAIN=bounce and DMARC_POLICY=none")
    zone_id = route53.create_hosted_zone(Name=READY_ZONE, CallerReference="demo-ready")["HostedZone"]["Id"].split("/")[-1]
    api = RuntimeApi()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=api.address, MAIL_FROM_SUBDOMAIN="bounce", DMARC_POLICY="none")
    function = subprocess.Popen([os.environ["DKIM_AUTOPILOT_BIN"]], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        event = json.loads(EVENT_FILE.read_text())
        event["id"] = str(uuid.uuid4())
        event["detail"] = {"domain": READY_ZONE, "tenantId": "tenant-ready"}
        answer = api.invoke(json.dumps(event))
        print(f"     {READY_ZONE} onboarded: the function answered {GREEN}{answer['outcome']}{RESET}; zone {zone_id} now holds:")
        sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        shown = [s for s in sets if s["Type"] in ("CNAME", "MX", "TXT")]
        width = max(len(s["Name"]) for s in shown)
        for s in shown:
            for value in s["ResourceRecords"]:
                print(f"     {s['Name'].rstrip('.'):<{width}}  {s['Type']:<5}  {value['Value']}")
        name = answer["followUp"]["scheduleName"]
        while name:
            n += 1
            step(n, f"EventBridge Scheduler fires {name}")
            schedule = scheduler.get_schedule(Name=name, GroupName=GROUP)
            scheduler.delete_schedule(Name=name, GroupName=GROUP)
            answer = api.invoke(schedule["Target"]["Input"])
            outcome = answer["outcome"]
            said = {"awaitingMailFrom": "DKIM verified; SES told to use bounce." + READY_ZONE + ", MAIL FROM watched",
                    "readyToSend": "SES reports MAIL FROM Success"}.get(outcome, "")
            print(f"     {said}; the function answered {GREEN}{outcome}{RESET}")
            name = answer.get("followUp", {}).get("scheduleName") if outcome in ("waiting", "awaitingMailFrom") else None
    finally:
        function.terminate()
        function.wait(timeout=10)
    step(n + 1, "What a subscriber of the outcome events received")
    for event in received(sqs, queue_url):
        detail = event["detail"]
        if detail.get("domain") != READY_ZONE:
            continue
        extra = ""
        if "parts" in detail:
            parts = detail["parts"]
            extra = (f"MAIL FROM {parts['mailFrom']['status']} (MX {parts['mailFrom']['mx']}, SPF {parts['mailFrom']['spf']}), "
                     f"DMARC {parts['dmarc']['state']}")
        print(f"     {BOLD}{event['detail-type']}{RESET}  {detail.get('domain')}  {DIM}({extra}){RESET}")
    print(f"\n{GREEN}{READY_ZONE} is ready to send: DKIM, an SPF-aligned MAIL FROM domain and DMARC.{RESET}")
    return n + 1


def fleet_demo(env: dict, n: int) -> None:
    """What an operator sees of all of it, read-only: `dkimctl status`, with the
    function's settings (here its environment; in AWS, `--function <name>`)."""
    step(n, f"An operator looks at the fleet: {BOLD}dkimctl status{RESET} (reads only)")
    ctl_env = {k: v for k, v in env.items() if not k.startswith("AWS_LAMBDA")}
    subprocess.run([os.environ["DKIMCTL_BIN"], "status"], env=ctl_env, check=True)
    step(n + 1, f"And what a reconcile would change now: {BOLD}dkimctl plan{RESET}")
    subprocess.run([os.environ["DKIMCTL_BIN"], "plan"], env=ctl_env, check=True)


def reconcile(api, scheduler, sample) -> dict:
    """One reconcile run: the event, then each continuation as Scheduler would fire it."""
    event = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Reconcile Requested",
        "source": sample["source"], "account": sample["account"],
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": sample["region"],
        "resources": [], "detail": {"dryRun": False},
    }
    answer = api.invoke(json.dumps(event))
    while answer["outcome"] == "reconcileContinues":
        name, group = answer["schedule"]["scheduleName"], answer["schedule"]["scheduleGroup"]
        print(f"     page {answer['pages']} done; the run goes on in {BOLD}{name}{RESET}")
        schedule = scheduler.get_schedule(Name=name, GroupName=group)
        scheduler.delete_schedule(Name=name, GroupName=group)  # ActionAfterCompletion: DELETE
        answer = api.invoke(schedule["Target"]["Input"])
    if answer["outcome"] != "reconcileFinished":
        raise SystemExit(f"the reconcile ended in {answer['outcome']}: {answer}")
    print(f"     the function answered {GREEN}{answer['outcome']}{RESET} after {answer['pages']} pages")
    return answer


def show_counts(counts: dict) -> None:
    shown = "  ".join(f"{k} {BOLD}{v}{RESET}" for k, v in counts.items() if v)
    print(f"     counts: {shown}")


def dkim_records(route53, zone_id: str, domain: str) -> list[dict]:
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [s for s in sets if s["Type"] == "CNAME" and s["Name"].rstrip(".").endswith(f"._domainkey.{domain}")]


def harness(domain: str, status: str | None) -> None:
    request = urllib.request.Request(f"{ENDPOINT}/_harness/ses/dkim-status", method="POST",
                                     data=json.dumps({"domain": domain, "status": status}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()


if __name__ == "__main__":
    sys.exit(main())
