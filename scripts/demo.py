#!/usr/bin/env python3
"""The local demo: one domain from event to *DKIM verified*, against the emulator.

Run through scripts/demo.sh, which installs the venv, builds the function and starts
the emulator (AWS_ENDPOINT_URL). This script plays every other part: it creates the
hosted zone, runs the compiled function behind a small Lambda Runtime API (as Lambda
runs it), sends it events/custom-domain-registered.json, then fires each follow-up the
way EventBridge Scheduler would (reading the schedule's target input) until SES says
the domain is verified, and shows what a subscriber of the outcome events received.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
REGION = "us-east-1"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:dkim-autopilot"
ROLE_ARN = "arn:aws:iam::123456789012:role/dkim-autopilot-scheduler"
GROUP = "dkim-autopilot"
BUS = "dkim-autopilot-demo"
EVENT_FILE = ROOT / "events" / "custom-domain-registered.json"

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
    step(1, f"Route 53 holds the public hosted zone {zone_name}")
    zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference="demo")["HostedZone"]["Id"].split("/")[-1]
    print(f"     zone {zone_id}; the tenant's domain {domain} has no zone of its own")
    scheduler.create_schedule_group(Name=GROUP)
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="dkim-outcomes")["QueueUrl"]
    events.put_rule(Name="dkim-outcomes", EventBusName=BUS, EventPattern=json.dumps({"source": ["dkim-autopilot"]}))
    events.put_targets(Rule="dkim-outcomes", EventBusName=BUS,
                       Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:dkim-outcomes"}])

    api = RuntimeApi()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address, "AWS_LAMBDA_FUNCTION_NAME": "dkim-autopilot",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "json", "SCHEDULER_ROLE_ARN": ROLE_ARN, "SCHEDULE_GROUP": GROUP,
        "EVENT_BUS_NAME": BUS, "AWS_REGION": REGION,
    })
    log_path = ROOT / "target" / "demo-function.log"
    with open(log_path, "w") as log:
        function = subprocess.Popen([os.environ["DKIM_AUTOPILOT_BIN"]], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            run(api, route53, scheduler, sqs, queue_url, zone_id, domain, sample)
        finally:
            function.terminate()
            function.wait(timeout=10)
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
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        event = json.loads(message["Body"])
        detail = event["detail"]
        extra = f"tenant {detail.get('tenantId')}, attempt {detail.get('attempt')}, elapsed {detail.get('elapsedSeconds')} s"
        print(f"     {BOLD}{event['detail-type']}{RESET}  {detail.get('domain')}  {DIM}({extra}){RESET}")
    print(f"\n{GREEN}{domain} is DKIM-verified.{RESET}")


def harness(domain: str, status: str | None) -> None:
    request = urllib.request.Request(f"{ENDPOINT}/_harness/ses/dkim-status", method="POST",
                                     data=json.dumps({"domain": domain, "status": status}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()


if __name__ == "__main__":
    sys.exit(main())
