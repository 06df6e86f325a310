"""Least privilege in one place: every function's allowed actions, printed for a reviewer at the end
of `make test`, and the rules they must keep (DESIGN.md: only connect, refresh and publish touch
secrets; no wildcard resource where a name is known; encryption at rest; API access logs; the
local-only allow-list never set in AWS)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App

from crosspost import resources
from crosspost.resources import Access, Env
from infra.config import CTX_ENVIRONMENT, CrosspostConfig

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized

PREFIX = "crosspost"
# The only wildcard resources allowed, each because the name is made at run time (or the service
# has no resource-level permissions); cdk-nag suppressions carry the same reasons.
ALLOWED_WILDCARDS = {
    "*": "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions",
    f"secret:{resources.secrets_prefix(PREFIX)}*": "one secret per account, named at connect; random ARN suffix",
    f"schedule/{resources.schedule_group_name(PREFIX)}/*": "one schedule per post, named after it",
    "MediaBucket/*": "media objects are keyed by media id at run time",
}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names(s: Synthesized) -> dict[str, str]:
    """CloudFormation logical id → a readable name."""
    names = {s.logical_id(table): f"table/{logical}" for logical, table in s.stack.storage.tables.items()}
    names[s.logical_id(s.stack.publishing.queue)] = "queue/PublishQueue"
    names[s.logical_id(s.stack.publishing.dead_letter_queue)] = "queue/PublishDLQ"
    names[s.logical_id(s.stack.scheduling.role)] = "role/SchedulerRole"
    names[s.logical_id(s.stack.storage.media_bucket)] = "bucket/MediaBucket"
    names[s.logical_id(s.stack.storage.platform_apps_secret)] = "secret/PlatformApps"
    return names


def _render(resource: Any, names: dict[str, str]) -> str:
    if isinstance(resource, str):
        return resource
    if "Fn::GetAtt" in resource:
        return names.get(resource["Fn::GetAtt"][0], resource["Fn::GetAtt"][0])
    if "Ref" in resource:
        return "${" + names.get(resource["Ref"], resource["Ref"]) + "}"
    if "Fn::Join" in resource:
        return "".join(_render(part, names) for part in resource["Fn::Join"][1])
    return json.dumps(resource)


def _statements(s: Synthesized, fn: resources.FunctionDef) -> list[dict[str, Any]]:
    role_id = s.logical_id(s.stack.functions.functions[fn.name].role)
    documents = [p["PolicyDocument"] for p in s.resources[role_id]["Properties"].get("Policies", [])]
    documents += [
        p["Properties"]["PolicyDocument"]
        for p in s.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    return [st for doc in documents for st in doc["Statement"]]


def _allowed(s: Synthesized, fn: resources.FunctionDef) -> dict[str, set[str]]:
    """Readable resource → the actions allowed on it."""
    names = _names(s)
    allowed: dict[str, set[str]] = defaultdict(set)
    for statement in _statements(s, fn):
        assert statement["Effect"] == "Allow"
        for resource in _as_list(statement["Resource"]):
            allowed[_render(resource, names)].update(_as_list(statement["Action"]))
    return allowed


def _grouped_indexes(allowed: dict[str, set[str]]) -> dict[str, set[str]]:
    """table/T/index/a, table/T/index/b with the same actions → table/T/index/{a,b} (one line)."""
    grouped: dict[str, set[str]] = {}
    indexes: dict[tuple[str, frozenset[str]], list[str]] = defaultdict(list)
    for resource, actions in allowed.items():
        table, marker, index = resource.partition("/index/")
        if marker:
            indexes[(table, frozenset(actions))].append(index)
        else:
            grouped[resource] = actions
    for (table, actions), names in indexes.items():
        grouped[f"{table}/index/{{{','.join(sorted(names))}}}"] = set(actions)
    return grouped


def _short(resource: str) -> str:
    return resource.replace("arn:${AWS::Partition}:", "").replace(":${AWS::Region}:${AWS::AccountId}", "")


def test_given_the_stack_then_a_reviewer_reads_every_functions_permissions_in_one_place(
    synthesized: Synthesized, report: Any
) -> None:
    lines = []
    for fn in resources.FUNCTIONS:
        lines.append(f"{fn.name}  (routes: {len(fn.routes)}; managed policy: AWSLambdaBasicExecutionRole = own logs)")
        for resource, actions in sorted(_grouped_indexes(_allowed(synthesized, fn)).items()):
            services = defaultdict(list)
            for action in sorted(actions):
                service, _, verb = action.partition(":")
                services[service].append(verb)
            verbs = "; ".join(f"{svc}:{','.join(v)}" for svc, v in services.items())
            lines.append(f"    {_short(resource):<58} {verbs}")
    text = "\n".join(lines)
    print(text)
    report("IAM: what each function may do (tests/infra/test_iam_report.py)", text)
    assert all(fn.name in text for fn in resources.FUNCTIONS)


@pytest.mark.parametrize("fn", resources.FUNCTIONS, ids=[f.name for f in resources.FUNCTIONS])
def test_given_a_function_then_no_wildcard_resource_where_a_name_is_known(
    synthesized: Synthesized, fn: resources.FunctionDef
) -> None:
    for resource, actions in _allowed(synthesized, fn).items():
        if "*" not in resource:
            continue
        matches = [pattern for pattern in ALLOWED_WILDCARDS if _short(resource).endswith(pattern)]
        assert matches, f"{fn.name}: wildcard {resource} for {sorted(actions)}"
        if matches == ["*"]:
            assert actions <= XRAY_ACTIONS, f"{fn.name}: Resource * for {sorted(actions - XRAY_ACTIONS)}"
    assert not any("/index/*" in r for r in _allowed(synthesized, fn)), "indexes are granted by name"


@pytest.mark.parametrize("fn", resources.FUNCTIONS, ids=[f.name for f in resources.FUNCTIONS])
def test_given_a_function_then_its_table_actions_are_exactly_its_access(
    synthesized: Synthesized, fn: resources.FunctionDef
) -> None:
    from infra.constructs.functions import INDEX_ACTION, TABLE_ACTIONS

    allowed = _allowed(synthesized, fn)
    for logical_id, access in fn.tables.items():
        table_def = next(t for t in resources.TABLES if t.logical_id == logical_id)
        assert allowed[f"table/{logical_id}"] == set(TABLE_ACTIONS[access]), (fn.name, logical_id)
        indexes = {f"table/{logical_id}/index/{index.name}" for index in table_def.indexes}
        granted = {r for r in allowed if r.startswith(f"table/{logical_id}/index/")}
        assert granted == (set() if access is Access.INCREMENT else indexes), (fn.name, logical_id)
        assert all(allowed[index] == {INDEX_ACTION} for index in granted), (fn.name, logical_id)
    dynamodb = {a for actions in allowed.values() for a in actions if a.startswith("dynamodb:")}
    assert not dynamodb & {"dynamodb:Scan", "dynamodb:DescribeTable", "dynamodb:GetRecords", "dynamodb:DeleteTable"}


def test_given_the_api_functions_then_they_only_count_into_the_rate_limit_table(synthesized: Synthesized) -> None:
    for fn in resources.API_FUNCTIONS:
        assert fn.tables[resources.RATE_LIMITS.logical_id] is Access.INCREMENT, fn.name
        assert _allowed(synthesized, fn)[f"table/{resources.RATE_LIMITS.logical_id}"] == {"dynamodb:UpdateItem"}
    assert resources.RATE_LIMITS.logical_id not in resources.PUBLISHER.tables


def test_given_read_only_routes_then_no_secret_access(synthesized: Synthesized) -> None:
    """DESIGN.md: only the functions that connect, refresh or publish touch secrets."""
    for fn in resources.FUNCTIONS:
        actions = {a for acts in _allowed(synthesized, fn).values() for a in acts}
        touches_secrets = any(a.startswith("secretsmanager:") for a in actions)
        assert touches_secrets == (fn.secrets is not None), fn.name
    assert resources.route_table()[("GET", "/v1/profiles")].secrets is None


def test_given_the_template_then_the_local_only_allow_list_is_never_set(synthesized: Synthesized) -> None:
    for logical_id, function in synthesized.of_type("AWS::Lambda::Function").items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        for local_only in (Env.LOCAL_ALLOWED_ORIGINS, Env.FAULT_INJECTION, Env.AWS_ENDPOINT_URL):
            assert local_only.value not in variables, (logical_id, local_only)
    assert Env.LOCAL_ALLOWED_ORIGINS.value not in json.dumps(synthesized.template.to_json())


@pytest.mark.parametrize(
    "name", [Env.LOCAL_ALLOWED_ORIGINS.value, Env.FAULT_INJECTION.value, Env.RATE_LIMITS_TABLE.value]
)
def test_given_an_operator_context_then_it_cannot_set_the_local_only_or_derived_settings(name: str) -> None:
    app = App(context={CTX_ENVIRONMENT: {name: "http://127.0.0.1:8787"}})
    with pytest.raises(ValueError, match="set by the stack itself"):
        CrosspostConfig.from_context(app.node)


def test_given_the_template_then_data_at_rest_is_encrypted_and_the_api_logs_access(synthesized: Synthesized) -> None:
    tables = synthesized.of_type("AWS::DynamoDB::Table")
    assert len(tables) == len(resources.TABLES)
    assert all(t["Properties"]["SSESpecification"] == {"SSEEnabled": True} for t in tables.values())
    queues = synthesized.of_type("AWS::SQS::Queue")
    assert queues and all(q["Properties"].get("SqsManagedSseEnabled") is True for q in queues.values())
    [bucket] = synthesized.of_type("AWS::S3::Bucket").values()
    assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    # Secrets are created at run time (one per account) and Secrets Manager always encrypts them
    # (the account's aws/secretsmanager key); no function needs kms:* for that.
    for fn in resources.FUNCTIONS:
        assert not any(a.startswith("kms:") for acts in _allowed(synthesized, fn).values() for a in acts)
    [stage] = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    access_log = json.loads(stage["Properties"]["AccessLogSettings"]["Format"])
    assert {"requestId", "ip", "routeKey", "status"} <= set(access_log)
    assert "authorization" not in stage["Properties"]["AccessLogSettings"]["Format"].lower()  # no keys in logs
