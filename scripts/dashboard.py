#!/usr/bin/env python3
"""The CloudWatch dashboard, defined once: this file makes its body, and the template
carries it between two marker lines (`DashboardBody`).

    python3 scripts/dashboard.py --write   # put the body into template.yaml
    python3 scripts/dashboard.py --check   # fail if template.yaml's body is not this one

The body is CloudFormation `!Sub` text: `${AWS::Region}` and `${AWS::StackName}` are
the stack's, `${RuleDlq}`, `${AsyncFailures}` and `${SchedulerDlq}` the queues' names.
tests/test_template.py holds every metric and dimension here against what the
function emits (src/core/metrics.rs) and what AWS/Lambda and AWS/SQS document.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
BEGIN = "      # BEGIN dashboard body: made by scripts/dashboard.py --write; do not edit by hand"
END = "      # END dashboard body"

NS = "DkimAutopilot"
FN = "${AWS::StackName}-dkim-autopilot"
REGION = "${AWS::Region}"
QUEUES = [("rule dead letters", "${RuleDlq}"), ("async failures", "${AsyncFailures}"),
          ("scheduler dead letters", "${SchedulerDlq}")]
SERVICES = ["ses", "route53", "scheduler", "events"]
RECONCILE = [("ReconcileZonesSeen", "zones seen"), ("ReconcileOnboarded", "onboarded"),
             ("ReconcileRepaired", "repaired"), ("ReconcileOrphaned", "orphaned"),
             ("ReconcileSkipped", "skipped")]


def ours(metric: str, *dims: str, **options) -> list:
    """A DkimAutopilot metric of this function; `dims`: more (name, value) pairs."""
    return [NS, metric, "FunctionName", FN, *dims, options] if options else [NS, metric, "FunctionName", FN, *dims]


def search(metric: str, dimension: str, stat: str, label: str) -> dict:
    expression = (f"SEARCH('{{{NS},FunctionName,{dimension}}} MetricName=\"{metric}\" "
                  f"FunctionName=\"{FN}\"', '{stat}', 300)")
    return {"expression": expression, "id": "e1", "label": label}


def widget(title: str, metrics: list, x: int, y: int, stat: str = "Sum", view: str = "timeSeries",
           width: int = 12, height: int = 6, stacked: bool = False) -> dict:
    return {
        "type": "metric", "x": x, "y": y, "width": width, "height": height,
        "properties": {"title": title, "region": REGION, "view": view, "stacked": stacked,
                       "stat": stat, "period": 300, "metrics": metrics},
    }


def widgets() -> list[dict]:
    return [
        widget("Outcomes by kind", [[search("Outcomes", "Outcome", "Sum", "")]], 0, 0, stacked=True),
        widget("Seconds from onboarding to verification", [
            ours("SecondsToVerification", stat="p50", label="p50"),
            ours("SecondsToVerification", stat="p90", label="p90"),
            ours("SecondsToVerification", stat="Maximum", label="max"),
        ], 12, 0),
        widget("Throttles by service", [ours("Throttles", "Service", s, label=s) for s in SERVICES], 0, 6),
        widget("Deferrals", [
            ours("Outcomes", "Outcome", "deferred", label="deferred"),
            ours("Outcomes", "Outcome", "deferralsExhausted", label="deferrals exhausted"),
        ], 12, 6),
        widget("AWS calls per invocation", [
            ours("AwsCalls", stat="Average", label="average"),
            ours("AwsCalls", stat="Maximum", label="max"),
        ], 0, 12),
        widget("Failure queues (messages waiting)", [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, {"label": label}]
            for label, queue in QUEUES
        ], 12, 12, stat="Maximum"),
        widget("Function: errors, throttles, concurrency", [
            ["AWS/Lambda", "Errors", "FunctionName", FN, {"stat": "Sum", "label": "errors"}],
            ["AWS/Lambda", "Throttles", "FunctionName", FN, {"stat": "Sum", "label": "throttles"}],
            ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", FN, {"stat": "Maximum", "label": "concurrency"}],
        ], 0, 18),
        widget("Function: duration (ms)", [
            ["AWS/Lambda", "Duration", "FunctionName", FN, {"stat": "p50", "label": "p50"}],
            ["AWS/Lambda", "Duration", "FunctionName", FN, {"stat": "p99", "label": "p99"}],
            ["AWS/Lambda", "Duration", "FunctionName", FN, {"stat": "Maximum", "label": "max"}],
        ], 12, 18),
        widget("Reconcile: counts per finished run", [ours(m, label=label) for m, label in RECONCILE],
               0, 24, width=24, view="bar"),
    ]


def body() -> str:
    return json.dumps({"widgets": widgets()}, indent=1)


def block() -> str:
    lines = [BEGIN, "      DashboardBody: !Sub", "        - |"]
    lines += ["          " + line for line in body().splitlines()]
    lines += ["        - RuleDlq: !GetAtt EventRuleDeadLetterQueue.QueueName",
              "          AsyncFailures: !GetAtt AsyncFailureQueue.QueueName",
              "          SchedulerDlq: !GetAtt SchedulerDeadLetterQueue.QueueName",
              END]
    return "\n".join(lines)


def current(text: str) -> str | None:
    if BEGIN not in text or END not in text:
        return None
    start = text.index(BEGIN)
    return text[start:text.index(END, start) + len(END)]


def main(argv: list[str]) -> int:
    text = TEMPLATE.read_text()
    found = current(text)
    if argv[1:] == ["--write"]:
        if found is None:
            print(f"template.yaml has no {BEGIN!r} line", file=sys.stderr)
            return 2
        TEMPLATE.write_text(text.replace(found, block()))
        return 0
    if argv[1:] == ["--check"]:
        if found != block():
            print("template.yaml's dashboard body is not scripts/dashboard.py's: run it with --write",
                  file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
