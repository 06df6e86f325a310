"""AWS calls per post: every AWS API call a warm function makes, in order, by service, operation
and table, counted with botocore event hooks on every client the functions make (moto as AWS, the Bluesky
sandbox as the platform), for

- a publish-now post (``POST /v1/posts``, published inline by the posts function);
- a scheduled post (``POST /v1/posts`` with ``scheduledAt``), both ways it can be scheduled:
  an hour ahead (EventBridge Scheduler) and due within two minutes (SQS ``DelaySeconds``);
- the publisher's share: the SQS record of a due post, published; and, for the cost model, a
  record that arrives early (the Scheduler fires a lead time ahead) and is held.

"Warm": each flow runs once before it is counted, so the per-container caches (API-key lookup,
5 s; platform tokens, 60 s) hold, as they do for a function serving a steady stream of posts.
What a cold container adds is printed too.

Targets (issue #8): publish-now ≤ 8, scheduled ≤ 7, publisher ≤ 4.
Run: make bench (or python -m bench.aws_calls).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bench._inprocess import Call, Rig, in_seconds, rig

TARGETS = {"publish-now": 8, "scheduled (Scheduler)": 7, "scheduled (SQS delay)": 7, "publisher (due record)": 4}

# Why each call is made: (family, service, operation, table) → the reason for its 1st, 2nd, ...
# occurrence in one flow. A call missing here prints as UNEXPLAINED.
_RATE = "rate limit: count the request against its API key's per-minute limit (one conditional counter write)"
WHY: dict[tuple[str, str, str, str], list[str]] = {
    ("api", "dynamodb", "UpdateItem", "RateLimits"): [_RATE],
    ("api", "dynamodb", "GetItem", "ApiKeys"): ["API key → workspace (cached 5 s per warm container)"],
    ("api", "dynamodb", "GetItem", "Accounts"): ["the account: it is the caller's, preflight, which platform"],
    ("api", "dynamodb", "PutItem", "Posts"): [
        "create the post, queued (conditional: an id is never overwritten)",
        "published: status, uri/cid, published time (conditional on holding the claim)",
    ],
    ("api", "dynamodb", "UpdateItem", "Posts"): [
        "claim: queued → publishing with a claim token and a lease (conditional; the claim is what "
        "keeps a post from going out twice)",
    ],
    ("api", "dynamodb", "UpdateItem", "Accounts"): ["the account's lastSuccessfulPost (API contract)"],
    ("api", "secrets-manager", "GetSecretValue", "account tokens"): ["the platform tokens (cached 60 s)"],
    ("api", "dynamodb", "PutItem", "Idempotency"): [
        "idempotency: take the key (conditional: a concurrent or earlier request with it wins)"
    ],
    ("api", "dynamodb", "UpdateItem", "Idempotency"): ["idempotency: store the response for replays (24 h)"],
    ("api", "scheduler", "CreateSchedule", "schedule group"): [
        "the one-time schedule that sends the publish message a lead time before scheduledAt"
    ],
    ("api", "sqs", "SendMessage", "publish queue"): ["the publish message, with DelaySeconds (due within ~2 min)"],
    ("publisher", "dynamodb", "UpdateItem", "Posts"): [
        "claim: queued → publishing for a due post (conditional); a refusal returns the stored post, "
        "so this is also the read that tells the publisher what to do",
    ],
    ("publisher", "dynamodb", "GetItem", "Accounts"): [
        "the account, read fresh: a disconnected account fails the post instead of publishing"
    ],
    ("publisher", "secrets-manager", "GetSecretValue", "account tokens"): ["the platform tokens (cached 60 s)"],
    ("publisher", "dynamodb", "PutItem", "Posts"): ["published: status, uri/cid (conditional on holding the claim)"],
    ("publisher", "dynamodb", "UpdateItem", "Accounts"): ["the account's lastSuccessfulPost (API contract)"],
    ("publisher", "sqs", "ChangeMessageVisibility", "publish queue"): [
        "hold the early record until its post is due (visibility = seconds left)"
    ],
}


@dataclass
class FlowCalls:
    flow: str
    family: str  # "api" or "publisher": whose calls these are
    order: list[Call]

    @property
    def calls(self) -> Counter[Call]:
        return Counter(self.order)

    @property
    def total(self) -> int:
        return len(self.order)


def _count(r: Rig, flow: str, family: str, action: Callable[[], None]) -> FlowCalls:
    r.calls.reset()
    with contextlib.redirect_stdout(io.StringIO()):  # the EMF metric lines
        action()
    return FlowCalls(flow, family, list(r.calls.log))


def measure() -> tuple[list[FlowCalls], list[FlowCalls]]:
    """The warm flows (with targets), and the informational ones (cold, held)."""
    flows: list[FlowCalls] = []
    extra: list[FlowCalls] = []
    with rig() as r:
        created: list[str] = []

        def publish_now() -> None:
            response = r.api.call("POST", "/v1/posts", r.post_body(f"publish now {time.monotonic_ns()}"))
            assert response.status == 201, response.body

        def scheduled(seconds: float) -> Callable[[], None]:
            def create() -> None:
                body = r.post_body(f"scheduled {time.monotonic_ns()}", scheduledAt=in_seconds(seconds))
                response = r.api.call("POST", "/v1/posts", body)
                assert response.status == 202, response.body
                created.append(response.body["id"])

            return create

        _count(r, "warm-up", "api", publish_now)
        flows.append(_count(r, "publish-now", "api", publish_now))
        _count(r, "warm-up", "api", scheduled(3600))
        flows.append(_count(r, "scheduled (Scheduler)", "api", scheduled(3600)))
        flows.append(_count(r, "scheduled (SQS delay)", "api", scheduled(30)))

        # The publisher: two posts due in ~2 s; the first warms the publisher up.
        r.publisher.purge()
        created.clear()
        _count(r, "setup", "api", scheduled(2))
        _count(r, "setup", "api", scheduled(2))
        time.sleep(2.2)

        def publish(post_id: str) -> Callable[[], None]:
            def run() -> None:
                result = r.publisher.invoke(*r.publisher.event_for([post_id]))
                assert not result.get("batchItemFailures"), result

            return run

        _count(r, "warm-up", "publisher", publish(created[0]))
        flows.append(_count(r, "publisher (due record)", "publisher", publish(created[1])))
        texts = [p["record"]["text"] for p in r.sandbox_posts()]
        assert sum(1 for t in texts if t.startswith("scheduled")) >= 2, "the publisher did not publish"

        # An early record: the post is due in 20 s and its message arrives now (as a schedule's
        # does, a lead time early). The publisher holds it.
        created.clear()
        _count(r, "setup", "api", scheduled(600))
        r.publisher.purge()
        r.publisher.sqs.send_message(QueueUrl=r.publisher.url, MessageBody=json.dumps({"postId": created[0]}))
        messages = r.publisher.receive(1)

        def held() -> None:
            result = r.publisher.invoke(*r.publisher.event(messages))
            assert result.get("batchItemFailures"), result

        extra.append(_count(r, "publisher (early record, held)", "publisher", held))

        # Publish-now with an Idempotency-Key header (powertools' idempotency layer, its own client)
        def idempotent() -> None:
            body = r.post_body(f"idempotent {time.monotonic_ns()}")
            response = r.api.call("POST", "/v1/posts", body, headers={"idempotency-key": f"k-{time.monotonic_ns()}"})
            assert response.status == 201, response.body

        _count(r, "warm-up", "api", idempotent)
        extra.append(_count(r, "publish-now with Idempotency-Key", "api", idempotent))

        # A cold container: no cached API key, no cached tokens.
        from crosspost.api.services import reset_services
        from crosspost.composition import dependencies

        reset_services()
        dependencies().vault._cache.clear()
        extra.append(_count(r, "publish-now, cold container", "api", publish_now))
    return flows, extra


def _print(flow: FlowCalls, target: int | None) -> None:
    suffix = f" (target <= {target})" if target is not None else ""
    print(f"  {flow.flow}: {flow.total} AWS calls{suffix}")
    seen: Counter[Call] = Counter()
    for call in flow.order:
        service, operation, table = call
        reasons = WHY.get((flow.family, *call), [])
        reason = reasons[min(seen[call], len(reasons) - 1)] if reasons else "UNEXPLAINED"
        seen[call] += 1
        print(f"    {service}.{operation} ({table}): {reason}")


def report(flows: list[FlowCalls], extra: list[FlowCalls]) -> list[str]:
    for flow in flows:
        _print(flow, TARGETS[flow.flow])
    print("  not counted against a target:")
    for flow in extra:
        _print(flow, None)
    parts = [f"{f.flow} {f.total} (<= {TARGETS[f.flow]})" for f in flows]
    ok = all(f.total <= TARGETS[f.flow] for f in flows)
    return ["SUMMARY aws_calls: " + ", ".join(parts) + (" OK" if ok else " MISSED")]


def main() -> list[str]:
    print("AWS calls per post (warm; botocore event hooks on every client the functions make):")
    flows, extra = measure()
    lines = report(flows, extra)
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    main()
