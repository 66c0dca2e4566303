#!/usr/bin/env python3
"""Benchmark the compiled function as Lambda runs it (scripts/bench.sh starts the emulator).

Measures, for the binary in DKIM_AUTOPILOT_BIN:
  * init: from process start to its first request for an event (cold-start work:
    settings, AWS clients, runtime) - the part of a cold start this code controls;
  * per-invocation latency of an onboarding (alone) and of a follow-up check, end to end
    through the Runtime API and the emulator (the emulator dominates: real AWS
    latency differs, the number of calls does not);
  * one onboarding with every emulator call delayed by BENCH_LATENCY seconds: wall time
    divided by that delay is the number of sequential round trips; likewise the look
    that finds DKIM verified, alone and with two DEED replica Regions
    (SES_REPLICA_REGIONS);
  * bursts of BENCH_BURST new domains with the emulator enforcing AWS's limits (SES 1 call
    per second per action, Route 53 5 per second for the whole service), into one process
    and spread over several (BENCH_CONCURRENCY, each process told RESERVED_CONCURRENCY=n):
    domains/s, throttled calls, failed invocations, deferrals, and, after firing every
    deferral schedule the way EventBridge Scheduler would, the domains lost;
  * every first check of the one-process burst due at once, into one process and over
    three: checks/s, throttled calls, deferrals, lost;
  * peak resident memory (VmHWM) of the function processes.
Prints tables; asserts nothing.

  BENCH_ROUNDS=30  BENCH_BURST=100  BENCH_CONCURRENCY=1,3  BENCH_LATENCY=0.05
"""

from __future__ import annotations

import collections
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo import BUS, ENDPOINT, GROUP, REGION, ROLE_ARN, RuntimeApi, client  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "target" / "bench-logs"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
BURST = int(os.environ.get("BENCH_BURST", "100"))
CONCURRENCY = [int(n) for n in os.environ.get("BENCH_CONCURRENCY", "1,3").split(",") if n.strip()]
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.05"))
LATENCY_ROUNDS = 3
CHECK_PROCESSES = 3
# AWS's limits, as the emulator enforces them (POST /_harness/throttle).
AWS_LIMITS = [
    {"service": "ses", "perAction": True, "calls": 1, "perSeconds": 1.0},
    {"service": "route53", "perAction": False, "calls": 5, "perSeconds": 1.0},
]
DEFERRED_SCHEMA = "dkim-autopilot/deferred"
MAX_FIRING_ROUNDS = 30  # MAX_DEFERRALS is at most 20: more rounds than that means a loop


def harness(path: str, body: dict | None = None) -> dict:
    """GET (no body) or POST a /_harness/ control of the emulator."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{ENDPOINT}/_harness/{path}", data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def throttling(on: bool) -> None:
    """Set the AWS limits (or none); either way the emulator's counters and call log restart."""
    harness("throttle", {"rules": AWS_LIMITS if on else []})


def throttled_calls() -> int:
    return sum(harness("throttle")["throttled"].values())


def records_published(domain: str) -> bool:
    """All three DKIM CNAMEs in the zone, as the emulator's SES sees them (no AWS call)."""
    try:
        state = harness(f"ses/dkim-status?domain={urllib.parse.quote(domain)}")
    except urllib.error.HTTPError:
        return False  # 404: not even an SES identity
    return bool(state["records_present"]) and all(state["records_present"])


def custom_event(domain: str) -> str:
    event = json.loads((ROOT / "events" / "custom-domain-registered.json").read_text())
    event["detail"] = {"domain": domain, "tenantId": "bench"}
    return json.dumps(event)


class Function:
    """One function process behind its own Runtime API: one Lambda execution environment."""

    count = 0

    def __init__(self, binary: str, concurrency: int = 1, extra: dict | None = None) -> None:
        Function.count += 1
        self.api = RuntimeApi()
        self.log_path = LOGS / f"function-{Function.count}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
        env.update(AWS_LAMBDA_RUNTIME_API=self.api.address, AWS_LAMBDA_FUNCTION_NAME="dkim-autopilot",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                   SCHEDULER_ROLE_ARN=ROLE_ARN, SCHEDULE_GROUP=GROUP, EVENT_BUS_NAME=BUS, AWS_REGION=REGION,
                   AWS_LAMBDA_LOG_LEVEL="warn", RESERVED_CONCURRENCY=str(concurrency))
        env.update(extra or {})
        start = time.perf_counter()
        with open(self.log_path, "wb") as log:  # stdout: the function log, EMF metrics included
            self.process = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT)
        if not self.api.first_poll.wait(timeout=30):
            raise SystemExit(f"the function did not start; see {self.log_path}")
        self.init_ms = (time.perf_counter() - start) * 1000

    def send(self, payload: str) -> tuple[str, object]:
        return self.api.send(payload)

    def invoke(self, payload: str, outcome: str) -> dict:
        kind, answer = self.send(payload)
        if kind != "response" or answer.get("outcome") != outcome:
            raise SystemExit(f"expected {outcome}, the function answered {kind} {answer}")
        return answer

    def peak_rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])

    def log_mark(self) -> int:
        return self.log_path.stat().st_size

    def metrics_since(self, mark: int) -> collections.Counter:
        """Sums of the EMF metrics the function printed since `mark`: Throttles per service."""
        totals: collections.Counter = collections.Counter()
        with open(self.log_path, "rb") as log:
            log.seek(mark)
            for line in log:
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and "_aws" in doc and "Throttles" in doc:
                    totals[doc.get("Service", "?")] += doc["Throttles"]
        return totals

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Tally:
    """What a batch of invocations answered (shared by the feeding threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: collections.Counter = collections.Counter()
        self.deferral_reasons: collections.Counter = collections.Counter()
        self.failed = 0
        self.first_follow_ups: dict[str, str] = {}  # domain -> schedule name of its first check
        self.verified: set[str] = set()

    def record(self, kind: str, answer: object) -> None:
        with self.lock:
            if kind != "response" or not isinstance(answer, dict):
                self.failed += 1
                return
            outcome = answer.get("outcome", "?")
            self.outcomes[outcome] += 1
            if outcome == "deferred":
                self.deferral_reasons[answer.get("reasonCode", "?")] += 1
            elif outcome == "published" and answer.get("followUp"):
                self.first_follow_ups.setdefault(answer["domain"], answer["followUp"]["scheduleName"])
            elif outcome == "verified":
                self.verified.add(answer["domain"])

    @property
    def deferrals(self) -> int:
        return self.outcomes["deferred"]

    def answered(self) -> int:
        """Answers that finished their work: neither deferred nor failed."""
        return sum(self.outcomes.values()) - self.deferrals


def feed(functions: list[Function], payloads: list, tally: Tally, after=None) -> float:
    """Invoke every payload, one thread per process, each process one event at a time
    (as Lambda does); payloads are dealt round-robin. Returns the wall time in seconds."""

    def work(function: Function, share: list) -> None:
        for item in share:
            payload = item if after is None else item[1]
            tally.record(*function.send(payload))
            if after is not None:
                after(item)

    threads = [threading.Thread(target=work, args=(f, payloads[i::len(functions)]))
               for i, f in enumerate(functions)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


class Deferrals:
    """Fires deferral schedules the way EventBridge Scheduler would, without the wait."""

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
        self.not_deferrals: set[str] = set()  # follow-up schedules: read once, left alone

    def pending(self) -> list[tuple[str, str]]:
        found = []
        for page in self.scheduler.get_paginator("list_schedules").paginate(GroupName=GROUP):
            for summary in page["Schedules"]:
                name = summary["Name"]
                if name in self.not_deferrals:
                    continue
                payload = self.scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"]
                try:
                    schema = json.loads(payload).get("schema")
                except (ValueError, AttributeError):
                    schema = None
                if schema == DEFERRED_SCHEMA:
                    found.append((name, payload))
                else:
                    self.not_deferrals.add(name)
        return found

    def delete(self, item: tuple[str, str]) -> None:
        try:  # ActionAfterCompletion DELETE, once the invocation is over
            self.scheduler.delete_schedule(Name=item[0], GroupName=GROUP)
        except self.scheduler.exceptions.ResourceNotFoundException:
            pass

    def fire_all(self, functions: list[Function], tally: Tally) -> tuple[int, int]:
        """Fire until no deferral is left (each may defer again); (rounds, invocations)."""
        rounds = fired = 0
        while rounds < MAX_FIRING_ROUNDS:
            pending = self.pending()
            if not pending:
                break
            rounds += 1
            fired += len(pending)
            feed(functions, pending, tally, after=self.delete)
        else:
            print(f"warning: deferrals still pending after {MAX_FIRING_ROUNDS} rounds", file=sys.stderr)
        return rounds, fired


def start_functions(binary: str, processes: int, concurrency: int) -> list[Function]:
    return [Function(binary, concurrency) for _ in range(processes)]


def burst(binary: str, concurrency: int, route53, deferrals: Deferrals) -> tuple[dict, list[str], Tally, list]:
    """BENCH_BURST new domains into `concurrency` processes at once, under AWS's limits."""
    throttling(False)
    domains = [f"burst{concurrency}-{i}-{os.getpid()}.com" for i in range(BURST)]
    for domain in domains:
        route53.create_hosted_zone(Name=domain, CallerReference=domain)
    functions = start_functions(binary, concurrency, concurrency)
    marks = [f.log_mark() for f in functions]
    tally = Tally()
    throttling(True)
    seconds = feed(functions, [custom_event(d) for d in domains], tally)
    published = tally.outcomes["published"]
    throttled_in_burst = throttled_calls()
    rounds, fired = deferrals.fire_all(functions, tally)
    row = {
        "concurrency": concurrency, "domains": BURST, "seconds": seconds,
        "per_second": published / max(seconds, 1e-9), "throttled": throttled_calls(),
        "throttled_in_burst": throttled_in_burst, "deferrals": tally.deferrals,
        "reasons": dict(tally.deferral_reasons), "failed": tally.failed, "rounds": rounds,
        "fired": fired, "lost": sum(not records_published(d) for d in domains),
        "outcomes": dict(tally.outcomes),
        "emf_throttles": sum((f.metrics_since(m) for f, m in zip(functions, marks)), collections.Counter()),
    }
    return row, domains, tally, functions


def first_checks(functions: list[Function], inputs: dict[str, str], deferrals: Deferrals) -> dict:
    """Every first check due at once, back to back into `functions`, under AWS's limits."""
    marks = [f.log_mark() for f in functions]
    tally = Tally()
    throttling(True)
    seconds = feed(functions, list(inputs.values()), tally)
    answered = tally.answered()
    throttled_in_burst = throttled_calls()
    rounds, fired = deferrals.fire_all(functions, tally)
    return {
        "processes": len(functions), "checks": len(inputs), "seconds": seconds,
        "per_second": answered / max(seconds, 1e-9), "throttled": throttled_calls(),
        "throttled_in_burst": throttled_in_burst, "deferrals": tally.deferrals,
        "reasons": dict(tally.deferral_reasons), "failed": tally.failed, "rounds": rounds,
        "fired": fired, "lost": len(set(inputs) - tally.verified), "outcomes": dict(tally.outcomes),
        "emf_throttles": sum((f.metrics_since(m) for f, m in zip(functions, marks)), collections.Counter()),
    }


def with_latency(function: Function, route53) -> tuple[list[float], list[int]]:
    """One onboarding alone with every emulator call delayed by LATENCY seconds."""
    walls, calls = [], []
    for i in range(LATENCY_ROUNDS):
        domain = f"latency-{i}-{os.getpid()}.com"
        route53.create_hosted_zone(Name=domain, CallerReference=domain)
        time.sleep(1.1)  # let the pacers go idle
        throttling(False)  # also restarts the call log
        harness("latency", {"seconds": LATENCY})
        try:
            start = time.perf_counter()
            function.invoke(custom_event(domain), "published")
            walls.append(time.perf_counter() - start)
        finally:
            harness("latency", {"seconds": 0})
        calls.append(len(harness("calls")["calls"]))
    return walls, calls


REPLICA_REGIONS = "us-west-2,eu-west-1"


def verified_look_with_latency(function: Function, route53, scheduler, label: str) -> tuple[list[float], list[int]]:
    """The look that finds DKIM verified, every emulator call delayed by LATENCY seconds
    (the onboarding before it runs without delay)."""
    walls, calls = [], []
    for i in range(LATENCY_ROUNDS):
        domain = f"look-{label}-{i}-{os.getpid()}.com"
        route53.create_hosted_zone(Name=domain, CallerReference=domain)
        time.sleep(1.1)
        answer = function.invoke(custom_event(domain), "published")
        name = answer["followUp"]["scheduleName"]
        payload = scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"]
        time.sleep(1.1)  # let the pacers go idle
        throttling(False)  # also restarts the call log
        harness("latency", {"seconds": LATENCY})
        try:
            start = time.perf_counter()
            function.invoke(payload, "verified")
            walls.append(time.perf_counter() - start)
        finally:
            harness("latency", {"seconds": 0})
        calls.append(len(harness("calls")["calls"]))
    return walls, calls


def main() -> int:
    binary = os.environ["DKIM_AUTOPILOT_BIN"]
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("function-*.log"):
        old.unlink()
    route53, scheduler, events = client("route53"), client("scheduler"), client("events")
    throttling(False)
    harness("latency", {"seconds": 0})
    scheduler.create_schedule_group(Name=GROUP)
    events.create_event_bus(Name=BUS)

    inits = []
    for _ in range(5):
        function = Function(binary)
        inits.append(function.init_ms)
        if len(inits) < 5:
            function.stop()

    onboard, check = [], []
    for i in range(ROUNDS):
        domain = f"bench-{i}-{os.getpid()}.com"
        route53.create_hosted_zone(Name=domain, CallerReference=domain)
        time.sleep(1.05)  # let the SES pacer go idle: this measures one onboarding alone
        start = time.perf_counter()
        answer = function.invoke(custom_event(domain), "published")
        onboard.append((time.perf_counter() - start) * 1000)
        name = answer["followUp"]["scheduleName"]
        payload = scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"]
        start = time.perf_counter()
        function.invoke(payload, "verified")
        check.append((time.perf_counter() - start) * 1000)

    latency_walls, latency_calls = with_latency(function, route53)
    looks = {"no replica Region": verified_look_with_latency(function, route53, scheduler, "alone")}
    main_peak_kib = function.peak_rss_kib()
    replicating = Function(binary, extra={"SES_REPLICA_REGIONS": REPLICA_REGIONS})
    looks[f"two replica Regions ({REPLICA_REGIONS})"] = verified_look_with_latency(
        replicating, route53, scheduler, "deed")
    replicating.stop()

    deferrals = Deferrals(scheduler)
    bursts, everyone = [], [function]
    one_process = None
    for concurrency in CONCURRENCY:
        row, domains, tally, functions = burst(binary, concurrency, route53, deferrals)
        bursts.append(row)
        everyone += functions
        if concurrency == 1 and one_process is None:
            one_process = (domains, tally, functions)

    checks = []
    if one_process is not None:
        domains, tally, functions = one_process
        inputs = {}
        for domain in domains:
            name = tally.first_follow_ups.get(domain)
            if name is None:
                continue
            inputs[domain] = scheduler.get_schedule(Name=name, GroupName=GROUP)["Target"]["Input"]
            scheduler.delete_schedule(Name=name, GroupName=GROUP)  # fired here, not by Scheduler
        spread = start_functions(binary, CHECK_PROCESSES, CHECK_PROCESSES)
        everyone += spread
        checks.append(first_checks(functions, inputs, deferrals))
        checks.append(first_checks(spread, inputs, deferrals))
    throttling(False)

    peaks = [f.peak_rss_kib() for f in everyone]
    for f in everyone:
        f.stop()

    def row(name: str, samples: list[float]) -> str:
        q = statistics.quantiles(samples, n=20, method="inclusive") if len(samples) > 1 else samples * 19
        return f"| {name} | {len(samples)} | {statistics.median(samples):.1f} | {q[18]:.1f} | {max(samples):.1f} |"

    size = Path(binary).stat().st_size
    print(f"binary: {binary} ({size / 1e6:.2f} MB)")
    print("| measure (ms) | n | median | p95 | max |")
    print("| --- | --- | --- | --- | --- |")
    print(row("init (start → first /next)", inits))
    print(row("onboarding alone (emulator)", onboard))
    print(row("check, verified (emulator)", check))
    wall = statistics.median(latency_walls)
    added = wall - statistics.median(onboard) / 1000  # less what it takes with no added latency
    print(f"\none onboarding with {LATENCY * 1000:.0f} ms added to every AWS call: {wall * 1000:.0f} ms "
          f"(median of {len(latency_walls)}), {statistics.median(latency_calls):.0f} AWS calls: "
          f"{wall / LATENCY:.1f} sequential round trips (wall ÷ delay; {added / LATENCY:.1f} after "
          f"subtracting the onboarding's median time alone)")

    for label, (walls, calls) in looks.items():
        look = statistics.median(walls)
        print(f"the look that finds DKIM verified, {label}, {LATENCY * 1000:.0f} ms added to every AWS "
              f"call: {look * 1000:.0f} ms (median of {len(walls)}), {statistics.median(calls):.0f} AWS calls: "
              f"{look / LATENCY:.1f} × the delay (a paced call waiting its turn counts too)")

    limits = "SES 1 call/s per action, Route 53 5 calls/s per account"
    print(f"\nburst of {BURST} new domains, emulator throttling at AWS's limits ({limits}); "
          "throttled calls, deferrals and failed count the burst and the firing of its deferrals:")
    print("| concurrency | domains/s | wall (s) | throttled calls | deferrals | failed invocations "
          "| deferral firings (rounds) | lost |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in bursts:
        print(f"| {r['concurrency']} | {r['per_second']:.2f} | {r['seconds']:.1f} | {r['throttled']} "
              f"| {r['deferrals']} | {r['failed']} | {r['fired']} ({r['rounds']}) | {r['lost']} |")
    for r in bursts:
        details(f"concurrency {r['concurrency']}", r)

    if checks:
        print(f"\nall first checks of the concurrency-1 burst due at once ({checks[0]['checks']} checks):")
        print("| processes | checks/s | wall (s) | throttled calls | deferrals | failed invocations "
              "| deferral firings (rounds) | lost |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in checks:
            print(f"| {r['processes']} | {r['per_second']:.2f} | {r['seconds']:.1f} | {r['throttled']} "
                  f"| {r['deferrals']} | {r['failed']} | {r['fired']} ({r['rounds']}) | {r['lost']} |")
        for r in checks:
            details(f"checks over {r['processes']} process(es)", r)

    print(f"\npeak RSS: {main_peak_kib / 1024:.1f} MiB after {2 * ROUNDS + LATENCY_ROUNDS} invocations; "
          f"largest of {len(everyone)} processes {max(peaks) / 1024:.1f} MiB")
    print(f"function logs: {LOGS.relative_to(ROOT)}/")
    return 0


def details(label: str, r: dict) -> None:
    emf = ", ".join(f"{k} {v}" for k, v in sorted(r["emf_throttles"].items())) or "none printed"
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(r["reasons"].items())) or "-"
    print(f"  {label}: throttled {r['throttled_in_burst']} during the burst; answers {r['outcomes']}; "
          f"deferral reasons: {reasons}; Throttles metric (EMF): {emf}")


if __name__ == "__main__":
    sys.exit(main())
