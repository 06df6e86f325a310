"""Cold start guards (issue #8): the functions that serve no HTTP never import pydantic, and checking
a post (preflight) never loads the HTTP client.

Importing pydantic and building model schemas costs a cold start tens of milliseconds; only the
API's request/response models (``crosspost.models.api``) need it. Each non-API handler is imported
in a fresh interpreter, as Lambda does, its settings loaded and its stores built, and pydantic must
not be among the loaded modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crosspost.resources import FUNCTIONS, TABLES, Env, FunctionDef

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "layers" / "shared" / "python"

# Runs in the child. Records who imported pydantic first, so a failure names the culprit.
CHILD = """
import functools, json, sys, traceback
sys.path[:0] = sys.argv[1:3]
first = []

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "pydantic" and not first:
            stack = traceback.extract_stack()[:-1]
            first.extend(f"{f.filename}:{f.lineno}" for f in stack if "importlib" not in f.filename)
        return None

sys.meta_path.insert(0, Watch())
import handler
from crosspost.composition import dependencies
deps = dependencies()  # the settings, read from the environment as at the first request
for name, attr in vars(type(deps)).items():  # the stores, built on first use
    if isinstance(attr, functools.cached_property):
        getattr(deps, name)
loaded = sorted(m for m in sys.modules if m == "pydantic" or m.startswith(("pydantic.", "pydantic_core")))
print(json.dumps({"loaded": loaded, "importedBy": first[-6:]}))
"""


def _env() -> dict[str, str]:
    """What a function's settings need (as bench/cold_start.py sets), and nothing of this process's."""
    return {
        **{t.env.value: f"guard-{t.logical_id}" for t in TABLES},
        Env.PUBLISH_QUEUE_URL.value: "http://127.0.0.1:9/123456789012/guard-PublishQueue",
        Env.PUBLISH_QUEUE_ARN.value: "arn:aws:sqs:us-east-1:123456789012:guard-PublishQueue",
        Env.SCHEDULE_GROUP.value: "guard-schedules",
        Env.SCHEDULER_ROLE_ARN.value: "arn:aws:iam::123456789012:role/guard-scheduler",
        Env.SECRETS_PREFIX.value: "guard/accounts/",
        # nothing here calls AWS; were it to, the discard port answers nothing
        Env.AWS_ENDPOINT_URL.value: "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Crosspost",
        Env.POWERTOOLS_SERVICE_NAME.value: "crosspost",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _run_cold(code: str, *args: str, cwd: Path | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (as a cold Lambda) and return the JSON it printed last."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, *args],
        env=_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


NON_API = [fn for fn in FUNCTIONS if fn.code_dir != "api"]


def test_every_non_api_function_is_guarded() -> None:
    assert {fn.code_dir for fn in NON_API} == {"publisher", "sweeper", "dlq", "refresher"}


@pytest.mark.parametrize("fn", NON_API, ids=[fn.name for fn in NON_API])
def test_given_a_non_api_handler_when_imported_cold_then_pydantic_is_not_loaded(fn: FunctionDef) -> None:
    function_dir = ROOT / "functions" / fn.code_dir

    report = _run_cold(CHILD, str(function_dir), str(SHARED), cwd=function_dir)

    assert report["loaded"] == [], f"{fn.name} imports pydantic, first via: {report['importedBy']}"


# Runs in the child: every registered platform's preflight on a post with text, a link, a mention
# and an image, as a scheduled post is checked, and whether that loaded the HTTP stack.
PREFLIGHT_CHILD = """
import json, sys
from datetime import UTC, datetime
sys.path[:0] = sys.argv[1:2]
from crosspost.lazy_imports import is_loaded
from crosspost.platforms.base import MediaItem, PublishRequest
from crosspost.platforms.registry import adapter_class, registered_platforms
from crosspost.services.preflight import preflight
image = MediaItem(kind="image", content_type="image/jpeg", size=2048, width=800, height=800)
request = PublishRequest(
    post_id="post_1", text="Hello @alice.example.com https://example.com #tag", created_at=datetime.now(UTC),
    media=(image,),
)
for platform in registered_platforms():
    preflight(adapter_class(platform), request, set())
loaded = [m for m in ("httpx", "httpcore", "h11", "anyio") if is_loaded(m)]
print(json.dumps({"platforms": list(registered_platforms()), "loaded": loaded}))
"""


def test_given_every_platform_when_a_post_is_preflighted_then_no_http_client_is_loaded() -> None:
    # A scheduled post is checked by the API function but sent later by the publisher: its cold
    # start must not pay for httpx and httpcore (crosspost.lazy_imports).
    report = _run_cold(PREFLIGHT_CHILD, str(SHARED))

    assert len(report["platforms"]) == 7
    assert report["loaded"] == []


# Runs in the child: the API handler as one function imports it, then the router of one route.
ROUTES_CHILD = """
import json, sys
sys.path[:0] = sys.argv[1:3]
import handler
from crosspost.api.app import include_routes
before = sorted(m for m in sys.modules if m.startswith("crosspost.api.routes."))
include_routes(sys.argv[3])
after = sorted(m for m in sys.modules if m.startswith("crosspost.api.routes."))
models = sorted(m.rpartition(".")[2] for m in sys.modules if m.startswith("crosspost.models.api."))
post_service = "crosspost.services.posts" in sys.modules
print(json.dumps({"before": before, "after": after, "models": models, "postService": post_service}))
"""


@pytest.mark.parametrize(
    ("route_key", "router", "models"),
    [
        ("GET /v1/accounts", "accounts", ["accounts", "common"]),
        ("GET /v1/profiles/{id}", "profiles", ["common", "profiles"]),
        ("GET /docs", "docs", []),
    ],
)
def test_given_an_api_function_when_it_serves_a_route_then_it_imports_that_router_alone(
    route_key: str, router: str, models: list[str]
) -> None:
    # API Gateway sends each API function only its own routes: a cold start imports one resource's
    # routes, models and services (crosspost.api.app.include_routes), never the posts service.
    function_dir = ROOT / "functions" / "api"

    report = _run_cold(ROUTES_CHILD, str(function_dir), str(SHARED), route_key, cwd=function_dir)

    assert report["before"] == []
    # routes.common: the helpers every router shares
    assert set(report["after"]) - {"crosspost.api.routes.common"} == {f"crosspost.api.routes.{router}"}
    assert report["models"] == models  # crosspost.models.api: one module per resource
    assert report["postService"] is False
