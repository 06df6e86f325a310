"""Cost model: the monthly AWS bill of 1,000 connected accounts publishing 25,000 posts, from the
AWS calls bench/aws_calls.py counts and AWS list prices, split by service, and per connected
account-month.

Region us-east-1, on-demand list prices (no free tier, no savings plans), as published by AWS
(see PRICES). Every post is assumed to take the most expensive path (the figures for each path
are printed too). What is not counted by bench/aws_calls.py is stated in ASSUMPTIONS: request
durations, cache misses (a post a day per account never finds a warm cache), cold starts,
DynamoDB index writes, log volume.

Target (issue #8): ≤ $0.60 per connected account-month. Run: make bench (or
python -m bench.cost_model).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench.aws_calls import FlowCalls

ACCOUNTS = 1_000
POSTS_PER_MONTH = 25_000
TARGET_PER_ACCOUNT = 0.60
REGION = "us-east-1"

# us-east-1 list prices, USD.
PRICES = {
    "lambda_request": 0.20 / 1e6,  # per invocation
    "lambda_gb_second": 0.0000166667,  # x86_64 (infra: Architecture.X86_64), per GB-second
    "http_api_request": 1.00 / 1e6,  # API Gateway HTTP API, first 300 M a month
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_gb_month": 0.25,  # table storage
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB request
    "scheduler_invocation": 1.00 / 1e6,  # EventBridge Scheduler, per schedule that fires
    "secret_month": 0.40,  # Secrets Manager, per secret per month
    "secrets_api_call": 0.05 / 10_000,
    "kms_request": 0.03 / 10_000,  # Secrets Manager's decrypt with aws/secretsmanager: upper bound
    "xray_trace": 5.00 / 1e6,  # Tracing.ACTIVE on every function
    "logs_ingest_gb": 0.50,  # CloudWatch Logs ingestion
    "custom_metric_month": 0.30,  # EMF metrics, first 10,000
    "alarm_month": 0.10,  # standard-resolution alarm
}

# What the counted calls do not tell.
ASSUMPTIONS = {
    "aws_call_ms": 6.0,  # one in-region DynamoDB / SQS / Secrets Manager round trip
    "platform_call_ms": 300.0,  # one Bluesky putRecord
    "handler_own_ms": 2.0,  # crosspost's own time per invocation (bench/handler_overhead.py: ~0.5)
    "cold_fraction": 0.5,  # ~35 invocations an hour: many land on a cold container
    "init_ms": 1000.0,  # a cold start at 512 MB-1 GB (Lambda's CPU share is well below this machine's)
    "log_bytes_per_invocation": 1500,  # platform START/END/REPORT + app lines + EMF
    "item_kb": 1.0,  # a post row is < 1 KB (280-character text): 1 request unit per write
    "polling_sqs_requests_month": 650_000,  # Lambda's SQS pollers, idle long polls (5 pollers, 20 s)
    "custom_metrics": 6,  # Published, PublishLagSeconds, PublishRetries, LeaseTakeovers, PublishFailed/Rejected
    "alarms": 2,  # DLQ depth, publisher errors (infra/constructs/monitoring.py)
    "api_memory_gb": 0.5,
    "publisher_memory_gb": 1.0,
}

# Global secondary indexes a write also writes (every index projects ALL): Posts has byWorkspace,
# byAccount, byActiveStatus (only while queued/publishing); Accounts has byWorkspace and
# byPlatformAccount (byRefreshDue is sparse: Bluesky accounts are refreshed on demand, never ahead).
# A write that changes an index key (activeStatus) writes that index twice (delete + put).
WRITE_UNITS = {
    ("UpdateItem", "RateLimits", 0): 1,
    ("PutItem", "Posts", 0): 1 + 3,  # create, queued: in all three indexes
    ("UpdateItem", "Posts", 0): 1 + 2 + 2,  # claim: queued → publishing moves the byActiveStatus key
    ("PutItem", "Posts", 1): 1 + 2 + 1,  # published: leaves byActiveStatus
    ("UpdateItem", "Accounts", 0): 1 + 2,
}
READ_UNITS = {
    ("GetItem", "Accounts"): 0.5,  # eventually consistent, < 4 KB
    ("GetItem", "ApiKeys"): 0.5,
    ("GetItem", "Posts"): 1.0,  # strongly consistent
}


@dataclass
class Usage:
    """One post's use of each priced unit."""

    units: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, unit: str, amount: float) -> None:
        self.units[unit] += amount

    def cost(self) -> dict[str, float]:
        by_service: dict[str, float] = {}
        for unit, amount in self.units.items():
            service = _SERVICE[unit]
            by_service[service] = by_service.get(service, 0.0) + amount * PRICES[unit]
        return by_service


_SERVICE = {
    "lambda_request": "Lambda",
    "lambda_gb_second": "Lambda",
    "http_api_request": "API Gateway",
    "dynamodb_wru": "DynamoDB",
    "dynamodb_rru": "DynamoDB",
    "dynamodb_gb_month": "DynamoDB",
    "sqs_request": "SQS",
    "scheduler_invocation": "EventBridge Scheduler",
    "secret_month": "Secrets Manager",
    "secrets_api_call": "Secrets Manager",
    "kms_request": "KMS",
    "xray_trace": "X-Ray",
    "logs_ingest_gb": "CloudWatch",
    "custom_metric_month": "CloudWatch",
    "alarm_month": "CloudWatch",
}


def _aws_calls(usage: Usage, flow: FlowCalls, *, cold_caches: bool) -> int:
    """Add one flow's counted calls; returns how many AWS round trips it makes."""
    seen: Counter[tuple[str, str]] = Counter()
    calls = list(flow.order)
    if cold_caches:  # a post a day per account: the API-key (5 s) and token (60 s) caches miss
        if flow.family == "api" and ("dynamodb", "GetItem", "ApiKeys") not in calls:
            calls.append(("dynamodb", "GetItem", "ApiKeys"))
        if _publishes(flow) and not any(service == "secrets-manager" for service, _, _ in calls):
            calls.append(("secrets-manager", "GetSecretValue", "account tokens"))
    for service, operation, table in calls:
        if service == "dynamodb":
            if operation == "GetItem":
                usage.add("dynamodb_rru", READ_UNITS.get((operation, table), 1.0))
            else:
                nth = seen[(operation, table)]
                seen[(operation, table)] += 1
                units = WRITE_UNITS.get((operation, table, nth), WRITE_UNITS.get((operation, table, 0), 1))
                usage.add("dynamodb_wru", units * math.ceil(ASSUMPTIONS["item_kb"]))
        elif service == "sqs":
            usage.add("sqs_request", 1)
        elif service == "scheduler":
            pass  # CreateSchedule is not billed; the schedule's invocation is (below)
        elif service == "secrets-manager":
            usage.add("secrets_api_call", 1)
            usage.add("kms_request", 1)
    return len(calls)


def _publishes(flow: FlowCalls) -> bool:
    return flow.flow.startswith("publish-now") or flow.flow.startswith("publisher (due")


def _invocation(usage: Usage, memory_gb: float, ms: float) -> None:
    usage.add("lambda_request", 1)
    seconds = math.ceil(ms) / 1000 + ASSUMPTIONS["cold_fraction"] * ASSUMPTIONS["init_ms"] / 1000
    usage.add("lambda_gb_second", memory_gb * seconds)
    usage.add("xray_trace", 1)
    usage.add("logs_ingest_gb", ASSUMPTIONS["log_bytes_per_invocation"] / 1e9)


def per_post(flows: dict[str, FlowCalls]) -> dict[str, Usage]:
    a = ASSUMPTIONS
    paths: dict[str, Usage] = {}

    # publish now: API request → posts function (publishes inline)
    u = Usage()
    u.add("http_api_request", 1)
    n = _aws_calls(u, flows["publish-now"], cold_caches=True)
    _invocation(u, a["api_memory_gb"], a["handler_own_ms"] + n * a["aws_call_ms"] + a["platform_call_ms"])
    paths["publish-now"] = u

    # scheduled an hour or more ahead: API → schedule → early record held → due record published
    for name, fires in (("scheduled (Scheduler)", True), ("scheduled (SQS delay)", False)):
        u = Usage()
        u.add("http_api_request", 1)
        n = _aws_calls(u, flows[name], cold_caches=True)
        _invocation(u, a["api_memory_gb"], a["handler_own_ms"] + n * a["aws_call_ms"])
        if fires:
            u.add("scheduler_invocation", 1)
            u.add("sqs_request", 1)  # the Scheduler's SendMessage to the queue
        # the early record: received, held (the Scheduler fires a lead time early; an SQS delay
        # is rounded down to whole seconds), received again
        u.add("sqs_request", 1)  # ReceiveMessage
        n = _aws_calls(u, flows["publisher (early record, held)"], cold_caches=True)
        _invocation(u, a["publisher_memory_gb"], a["handler_own_ms"] + n * a["aws_call_ms"])
        u.add("sqs_request", 2)  # ReceiveMessage, DeleteMessage (Lambda's poller)
        n = _aws_calls(u, flows["publisher (due record)"], cold_caches=True)
        _invocation(u, a["publisher_memory_gb"], a["handler_own_ms"] + n * a["aws_call_ms"] + a["platform_call_ms"])
        paths[name] = u
    return paths


def monthly(paths: dict[str, Usage]) -> tuple[str, dict[str, float]]:
    a = ASSUMPTIONS
    costs = {name: sum(u.cost().values()) for name, u in paths.items()}
    worst = max(costs, key=lambda name: costs[name])
    bill: dict[str, float] = {}
    for service, cost in paths[worst].cost().items():
        bill[service] = bill.get(service, 0.0) + cost * POSTS_PER_MONTH
    fixed = Usage()
    fixed.add("secret_month", ACCOUNTS)  # one secret per connected account
    fixed.add("sqs_request", a["polling_sqs_requests_month"])
    fixed.add("custom_metric_month", a["custom_metrics"])
    fixed.add("alarm_month", a["alarms"])
    # every post kept (3 index copies), accounts negligible; a year of posts at most
    fixed.add("dynamodb_gb_month", POSTS_PER_MONTH * 12 * 4 * a["item_kb"] / 1e6)
    for service, cost in fixed.cost().items():
        bill[service] = bill.get(service, 0.0) + cost
    return worst, bill


def main(flows: list[FlowCalls] | None = None, extra: list[FlowCalls] | None = None) -> list[str]:
    if flows is None or extra is None:
        from bench.aws_calls import measure

        flows, extra = measure()
    by_name = {f.flow: f for f in [*flows, *extra]}
    paths = per_post(by_name)
    worst, bill = monthly(paths)
    total = sum(bill.values())
    print(f"cost model: {ACCOUNTS:,} connected accounts, {POSTS_PER_MONTH:,} posts a month, {REGION} list prices")
    print("  per post (AWS calls from bench/aws_calls.py, caches assumed cold):")
    for name, usage in paths.items():
        print(f"    {name:<24} ${sum(usage.cost().values()) * 1000:.3f} per 1,000 posts")
    print(f"  monthly, every post priced as '{worst}':")
    for service, cost in sorted(bill.items(), key=lambda kv: -kv[1]):
        print(f"    {service:<24} ${cost:9.2f}")
    print(f"    {'total':<24} ${total:9.2f}  = ${total / ACCOUNTS:.3f} per connected account-month")
    print("  prices (USD): " + ", ".join(f"{k} {v:.10g}" for k, v in PRICES.items()))
    print("  assumptions: " + ", ".join(f"{k} {v:g}" for k, v in ASSUMPTIONS.items()))
    per_account = total / ACCOUNTS
    verdict = "OK" if per_account <= TARGET_PER_ACCOUNT else "MISSED"
    secrets = bill.get("Secrets Manager", 0.0)
    line = (
        f"SUMMARY cost_model: ${total:.0f}/month for {ACCOUNTS:,} accounts and {POSTS_PER_MONTH:,} posts "
        f"(Secrets Manager ${secrets:.0f}) = ${per_account:.3f} per account-month "
        f"(target <= ${TARGET_PER_ACCOUNT:.2f}) {verdict}"
    )
    print(line)
    return [line]


if __name__ == "__main__":
    main()
