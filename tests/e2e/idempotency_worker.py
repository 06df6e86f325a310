"""One more "container" of the posts function, for tests/e2e/test_idempotency_concurrency.py.

    python -m tests.e2e.idempotency_worker   (a JSON job on stdin's first line)

It loads the real API handler in its own process, pointed at the running local stack's AWS (moto)
and sandbox, as a second Lambda container of the same function would be: its own memory, the
same DynamoDB. It warms up with one harmless request, prints ``ready``, waits for ``go`` on stdin,
then serves its requests one at a time (a container runs one invocation at a time) and prints
one JSON line per answer: ``{"status", "body"}``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def main() -> int:
    job: dict[str, Any] = json.loads(sys.stdin.readline())
    os.environ.update(job["env"])
    # Imported only now: crosspost reads its settings and powertools its variables at import.
    from crosspost.resources import API_FUNCTIONS, route_table
    from local.functions import load_handler
    from local.lambda_events import LambdaContext, http_event, http_result, match_route

    handler = load_handler("api")
    routes = [r for fn in API_FUNCTIONS for r in fn.routes]

    def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        matched = match_route(method, path, routes)
        assert matched is not None, path
        route, params = matched
        event = http_event(
            method,
            path,
            route,
            headers={"content-type": "application/json", "authorization": f"Bearer {job['apiKey']}", **(headers or {})},
            body=json.dumps(body) if body is not None else None,
            path_parameters=params or None,
        )
        function = route_table()[(route.method, route.path)]
        status, _, raw = http_result(handler(event, LambdaContext(function_name=function.name, timeout_seconds=29)))
        return status, json.loads(raw)

    call("GET", "/v1/accounts")  # warm: imports, clients, the API-key cache
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    for _ in range(job["requests"]):
        status, body = call("POST", "/v1/posts", job["body"], {"idempotency-key": job["key"]})
        print(json.dumps({"status": status, "body": body}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
