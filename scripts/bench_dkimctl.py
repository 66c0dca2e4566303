#!/usr/bin/env python3
"""What `dkimctl status` costs: wall time and AWS calls for a fleet of N verified
zones (BENCH_FLEET, default 100), a tenth of them with a follow-up still scheduled,
under AWS's rate limits as the emulator enforces them, at two budget shares.

Run through scripts/bench-dkimctl.sh (venv, build, emulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import AWS_LIMITS, harness, throttled_calls, throttling  # noqa: E402
from demo import GROUP, ROLE_ARN, client  # noqa: E402

FLEET = int(os.environ.get("BENCH_FLEET", "100"))
SHARES = [int(s) for s in os.environ.get("BENCH_SHARES", "100,50").split(",")]


def make_fleet(route53, ses, scheduler) -> list[str]:
    domains = []
    for i in range(FLEET):
        domain = f"fleet-{i:05d}.com"
        zone = route53.create_hosted_zone(Name=domain, CallerReference=domain)["HostedZone"]["Id"]
        tokens = ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {
                "Name": f"{t}._domainkey.{domain}", "Type": "CNAME", "TTL": 1800,
                "ResourceRecords": [{"Value": f"{t}.dkim.amazonses.com"}]}} for t in tokens]})
        if i % 10 == 0:
            at = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
            scheduler.create_schedule(
                Name=f"dkim-{domain}-1", GroupName=GROUP, ScheduleExpression=f"at({at})",
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:dkim-autopilot",
                        "RoleArn": ROLE_ARN, "Input": "{}"})
        domains.append(domain)
    return domains


def main() -> int:
    route53, ses, scheduler = client("route53"), client("ses"), client("scheduler")
    scheduler.create_schedule_group(Name=GROUP)
    started = time.monotonic()
    make_fleet(route53, ses, scheduler)
    print(f"fleet: {FLEET} verified zones, {len(range(0, FLEET, 10))} with a follow-up "
          f"(made in {time.monotonic() - started:.1f} s)")
    limits = ", ".join(f"{r['service']} {r['calls']}/s{' per action' if r['perAction'] else ''}" for r in AWS_LIMITS)
    print(f"emulator enforces AWS's limits: {limits}")
    env = {k: v for k, v in os.environ.items()}
    env["SCHEDULE_GROUP"] = GROUP
    for share in SHARES:
        throttling(True)
        started = time.monotonic()
        run = subprocess.run([os.environ["DKIMCTL_BIN"], "status", "--json", "--budget-share", str(share)],
                             env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        if run.returncode != 0:
            raise SystemExit(f"dkimctl failed ({run.returncode}): {run.stderr}")
        report = json.loads(run.stdout)["domains"]
        calls = harness("throttle").get("accepted", {})
        well = sum(1 for d in report if d["well"])
        print(f"--budget-share {share}: {len(report)} domains ({well} well) in {wall:.1f} s; "
              f"throttled {throttled_calls()}; {run.stderr.strip()}")
        if calls:
            print(f"  calls by action: {json.dumps(calls, sort_keys=True)}")
    throttling(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
