#!/usr/bin/env python3
"""Benchmark the compiled function as Lambda runs it (scripts/bench.sh starts the emulator).

Measures, for the binary in DKIM_AUTOPILOT_BIN:
  * init: from process start to its first request for an event (cold-start work:
    settings, AWS clients, runtime) - the part of a cold start this code controls;
  * per-invocation latency of an onboarding (alone) and of a follow-up check, end to end
    through the Runtime API and the emulator (the emulator dominates: real AWS
    latency differs, the number of calls does not);
  * the pace of a burst of onboardings (SES VerifyDomainDkim is paced to 1/s);
  * peak resident memory (VmHWM) after all invocations.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo import BUS, GROUP, REGION, ROLE_ARN, RuntimeApi, client  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
BURST = int(os.environ.get("BENCH_BURST", "10"))


def custom_event(domain: str) -> str:
    event = json.loads((ROOT / "events" / "custom-domain-registered.json").read_text())
    event["detail"] = {"domain": domain, "tenantId": "bench"}
    return json.dumps(event)


def main() -> int:
    binary = os.environ["DKIM_AUTOPILOT_BIN"]
    route53, scheduler, events = client("route53"), client("scheduler"), client("events")
    scheduler.create_schedule_group(Name=GROUP)
    events.create_event_bus(Name=BUS)

    inits = []
    for _ in range(5):
        api = RuntimeApi()
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.address, AWS_LAMBDA_FUNCTION_NAME="dkim-autopilot",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                   SCHEDULER_ROLE_ARN=ROLE_ARN, SCHEDULE_GROUP=GROUP, EVENT_BUS_NAME=BUS, AWS_REGION=REGION,
                   AWS_LAMBDA_LOG_LEVEL="warn")
        start = time.perf_counter()
        process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        api.first_poll.wait(timeout=30)
        inits.append((time.perf_counter() - start) * 1000)
        if len(inits) < 5:
            process.terminate()
            process.wait()

    onboard, check = [], []
    for i in range(ROUNDS):
        domain = f"bench-{i}-{os.getpid()}.com"
        route53.create_hosted_zone(Name=domain, CallerReference=domain)
        time.sleep(1.05)  # let the SES pacer go idle: this measures one onboarding alone
        start = time.perf_counter()
        answer = api.invoke(custom_event(domain))
        onboard.append((time.perf_counter() - start) * 1000)
        assert answer["outcome"] == "published", answer
        name = answer["followUp"]["scheduleName"]
        payload = scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"]
        start = time.perf_counter()
        answer = api.invoke(payload)
        check.append((time.perf_counter() - start) * 1000)
        assert answer["outcome"] == "verified", answer

    # A burst: onboardings back to back, as when many domains arrive at once. The
    # pacer holds VerifyDomainDkim to one per second, so this measures the pace.
    burst = []
    for i in range(BURST):
        domain = f"burst-{i}-{os.getpid()}.com"
        route53.create_hosted_zone(Name=domain, CallerReference=domain)
        burst.append(custom_event(domain))
    start = time.perf_counter()
    for event in burst:
        assert api.invoke(event)["outcome"] == "published"
    burst_seconds = time.perf_counter() - start

    status = Path(f"/proc/{process.pid}/status").read_text()
    peak_kib = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    process.terminate()
    process.wait()

    def row(name: str, samples: list[float]) -> str:
        q = statistics.quantiles(samples, n=20, method="inclusive") if len(samples) > 1 else samples * 19
        return f"| {name} | {len(samples)} | {statistics.median(samples):.1f} | {q[18]:.1f} | {max(samples):.1f} |"

    size = Path(binary).stat().st_size
    print(f"binary: {binary} ({size / 1e6:.2f} MB)")
    print("| measure (ms) | n | median | p95 | max |")
    print("| --- | --- | --- | --- | --- |")
    print(row("init (start → first /next)", inits))
    print(row("onboarding (5 AWS calls, emulator)", onboard))
    print(row("check, verified (2 AWS calls, emulator)", check))
    print(f"burst of {BURST} onboardings back to back: {burst_seconds:.2f} s "
          f"({BURST / burst_seconds:.2f} per second; SES VerifyDomainDkim paced to 1 per second)")
    print(f"peak RSS after {2 * ROUNDS + BURST} invocations: {peak_kib / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
