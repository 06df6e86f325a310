"""The synthesized CrosspostStack matches crosspost.resources, passes cdk-nag and cfn-lint.

Every expectation is derived from crosspost.resources (tables, queues, routes, FunctionDefs),
so adding a table, a route or a grant there is checked here without editing the tests.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Annotations, Match
from cfnlint.api import lint  # type: ignore[import-untyped]

from crosspost import resources
from crosspost.resources import Access, Env, FunctionDef, TableDef
from crosspost.settings import Settings

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized

PREFIX = "crosspost"  # the default stack name "Crosspost", lower case

WRITE_ACTION = "dynamodb:PutItem"
READ_ACTION = "dynamodb:Query"
SECRET_WRITE_ACTION = "secretsmanager:PutSecretValue"
INCREMENT_ACTION = "dynamodb:UpdateItem"  # the only action of Access.INCREMENT (rate-limit counters)

# cfn-lint warnings that CDK produces on purpose, with the reason they are acceptable.
ACCEPTED_CFN_LINT_WARNINGS = {
    # CDK makes each function DependsOn its role's default policy as well as the role it already
    # references, so the policy exists before the first invocation; the extra role edge is harmless.
    "W3005",
}


def _ids(defs: tuple[Any, ...]) -> list[str]:
    return [getattr(d, "logical_id", None) or d.name for d in defs]


def _function_resource(s: Synthesized, fn: FunctionDef) -> dict[str, Any]:
    return s.resources[s.logical_id(s.stack.functions.functions[fn.name])]


def _role_statements(s: Synthesized, fn: FunctionDef) -> list[dict[str, Any]]:
    """Every Allow statement of the function's role: inline policies and attached AWS::IAM::Policy."""
    role = s.stack.functions.functions[fn.name].role
    role_id = s.logical_id(role)
    documents = [p["PolicyDocument"] for p in s.resources[role_id]["Properties"].get("Policies", [])]
    documents += [
        policy["Properties"]["PolicyDocument"]
        for policy in s.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]
    statements = [st for doc in documents for st in doc["Statement"]]
    assert all(st["Effect"] == "Allow" for st in statements)
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for st in statements for action in _as_list(st["Action"])}


def _referenced_logical_id(resource: Any) -> str | None:
    """X for GetAtt X.Arn and for Join("", [GetAtt X.Arn, "/index/*"])."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and "Fn::Join" in resource:
        parts = resource["Fn::Join"][1]
        if parts and isinstance(parts[0], dict):
            return _referenced_logical_id(parts[0])
    return None


def _table_access(s: Synthesized, fn: FunctionDef) -> dict[str, Access]:
    """What the role may do with each table, by TableDef logical id (READ or WRITE)."""
    table_by_cfn_id = {s.logical_id(s.stack.storage.tables[t.logical_id]): t.logical_id for t in resources.TABLES}
    actions_by_table: dict[str, set[str]] = defaultdict(set)
    for statement in _role_statements(s, fn):
        for resource in _as_list(statement["Resource"]):
            cfn_id = _referenced_logical_id(resource)
            if cfn_id in table_by_cfn_id:
                actions_by_table[table_by_cfn_id[cfn_id]].update(_as_list(statement["Action"]))
    return {
        table: Access.WRITE if WRITE_ACTION in actions else Access.READ if READ_ACTION in actions else Access.INCREMENT
        for table, actions in actions_by_table.items()
        if READ_ACTION in actions or actions == {INCREMENT_ACTION}
    }


def _expected_env_keys(fn: FunctionDef) -> set[str]:
    keys = {
        Env.STAGE,
        Env.POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE",
        # settings requires every table name and the queue URL, whatever the function touches
        *(t.env for t in resources.TABLES),
        Env.PUBLISH_QUEUE_URL,
    }
    if fn.publish_queue:
        keys.add(Env.PUBLISH_QUEUE_ARN)
    if fn.scheduler:
        keys |= {Env.SCHEDULE_GROUP, Env.SCHEDULER_ROLE_ARN}
    if fn.secrets is not None:
        keys.add(Env.SECRETS_PREFIX)
    if fn.platform_apps:
        keys.add(Env.PLATFORM_APPS_SECRET)
    if fn.media_bucket is not None:
        keys.add(Env.MEDIA_BUCKET)
    if fn.routes:
        keys.add(Env.PUBLIC_BASE_URL)
    return {str(k) for k in keys}


# --- storage -----------------------------------------------------------------------------------


@pytest.mark.parametrize("table_def", resources.TABLES, ids=_ids(resources.TABLES))
def test_given_a_table_def_when_synthesized_then_its_table_has_the_keys_indexes_and_ttl(
    synthesized: Synthesized, table_def: TableDef
) -> None:
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.tables[table_def.logical_id])]
    props = table["Properties"]

    assert props["TableName"] == table_def.physical_name(PREFIX)
    expected_keys = [{"AttributeName": table_def.partition.name, "KeyType": "HASH"}]
    if table_def.sort:
        expected_keys.append({"AttributeName": table_def.sort.name, "KeyType": "RANGE"})
    assert props["KeySchema"] == expected_keys

    expected_indexes = {}
    for index in table_def.indexes:
        index_keys = [{"AttributeName": index.partition.name, "KeyType": "HASH"}]
        if index.sort:
            index_keys.append({"AttributeName": index.sort.name, "KeyType": "RANGE"})
        expected_indexes[index.name] = index_keys
    actual_indexes = {gsi["IndexName"]: gsi["KeySchema"] for gsi in props.get("GlobalSecondaryIndexes", [])}
    assert actual_indexes == expected_indexes
    assert all(gsi["Projection"] == {"ProjectionType": "ALL"} for gsi in props.get("GlobalSecondaryIndexes", []))

    key_attributes = {table_def.partition, table_def.sort} | {
        k for i in table_def.indexes for k in (i.partition, i.sort)
    }
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        ({"AttributeName": k.name, "AttributeType": str(k.type)} for k in key_attributes if k),
        key=lambda a: a["AttributeName"],
    )

    if table_def.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": table_def.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_given_the_stack_then_it_has_exactly_one_table_per_table_def(synthesized: Synthesized) -> None:
    names = {t["Properties"]["TableName"] for t in synthesized.of_type("AWS::DynamoDB::Table").values()}
    assert names == {t.physical_name(PREFIX) for t in resources.TABLES}


def test_given_the_media_bucket_then_it_is_private_encrypted_and_ssl_only(synthesized: Synthesized) -> None:
    synthesized.template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                }
            ),
        },
    )
    synthesized.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


# --- publishing ----------------------------------------------------------------------------------


def test_given_the_publish_queue_then_visibility_and_redrive_come_from_resources(synthesized: Synthesized) -> None:
    publishing = synthesized.stack.publishing
    queue = synthesized.resources[synthesized.logical_id(publishing.queue)]["Properties"]
    dlq_id = synthesized.logical_id(publishing.dead_letter_queue)
    dlq = synthesized.resources[dlq_id]["Properties"]
    queue_name, dlq_name = resources.QUEUES.physical_names(PREFIX)

    assert queue["QueueName"] == queue_name
    assert queue["VisibilityTimeout"] == resources.QUEUES.visibility_timeout_seconds
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": resources.QUEUES.max_receive_count,
    }
    assert dlq["QueueName"] == dlq_name
    assert dlq["MessageRetentionPeriod"] == resources.QUEUES.dlq_retention_days * 86400
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


def test_given_the_publisher_then_the_queue_visibility_covers_its_timeout(synthesized: Synthesized) -> None:
    """DESIGN.md: a record must not reappear while the publisher is still working on it."""
    publisher = _function_resource(synthesized, resources.PUBLISHER)
    assert publisher["Properties"]["Timeout"] <= resources.QUEUES.visibility_timeout_seconds


def test_given_both_queues_then_they_refuse_plain_http(synthesized: Synthesized) -> None:
    policies = synthesized.of_type("AWS::SQS::QueuePolicy").values()
    secured = {
        queue["Ref"]
        for policy in policies
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Properties"]["Queues"]
    }
    publishing = synthesized.stack.publishing
    assert secured == {synthesized.logical_id(publishing.queue), synthesized.logical_id(publishing.dead_letter_queue)}


def test_given_the_publisher_then_it_consumes_the_queue_with_partial_batch_responses(
    synthesized: Synthesized,
) -> None:
    publishing = synthesized.stack.publishing
    # the publisher on the queue, the DLQ consumer on the DLQ
    synthesized.template.resource_count_is(
        "AWS::Lambda::EventSourceMapping", 1 + sum(fn.dead_letter_queue for fn in resources.FUNCTIONS)
    )
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [synthesized.logical_id(publishing.queue), "Arn"]},
            "FunctionName": {"Ref": synthesized.logical_id(synthesized.stack.functions.functions["publisher"])},
            "BatchSize": resources.PUBLISHER_BATCH_SIZE,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MaximumBatchingWindowInSeconds": Match.any_value(),
        },
    )
    queue_arn = {"Fn::GetAtt": [synthesized.logical_id(publishing.queue), "Arn"]}
    [mapping] = [
        m
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == queue_arn
    ]
    assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] <= 1


def test_given_the_dlq_consumer_then_it_consumes_the_dlq_with_partial_batch_responses(
    synthesized: Synthesized,
) -> None:
    """A dead letter whose post is under a live lease is reported back, never deleted unread."""
    publishing = synthesized.stack.publishing
    [consumer] = [fn for fn in resources.FUNCTIONS if fn.dead_letter_queue]
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [synthesized.logical_id(publishing.dead_letter_queue), "Arn"]},
            "FunctionName": {"Ref": synthesized.logical_id(synthesized.stack.functions.functions[consumer.name])},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_given_the_dlq_consumer_then_the_dlq_visibility_covers_its_timeout(synthesized: Synthesized) -> None:
    """Lambda refuses an SQS event source whose visibility timeout is below the function's timeout."""
    dlq = synthesized.resources[synthesized.logical_id(synthesized.stack.publishing.dead_letter_queue)]["Properties"]
    assert dlq["VisibilityTimeout"] == resources.QUEUES.dlq_visibility_timeout_seconds
    for fn in resources.FUNCTIONS:
        if fn.dead_letter_queue:
            assert _function_resource(synthesized, fn)["Properties"]["Timeout"] <= dlq["VisibilityTimeout"]


# --- scheduling ----------------------------------------------------------------------------------


def test_given_the_stack_then_the_schedule_group_is_named_from_resources(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::Scheduler::ScheduleGroup", 1)
    synthesized.template.has_resource_properties(
        "AWS::Scheduler::ScheduleGroup", {"Name": resources.schedule_group_name(PREFIX)}
    )


def test_given_the_scheduler_role_then_it_may_only_send_to_the_publish_queue(synthesized: Synthesized) -> None:
    role_id = synthesized.logical_id(synthesized.stack.scheduling.role)
    role = synthesized.resources[role_id]["Properties"]
    queue_arn = {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.publishing.queue), "Arn"]}

    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [st["Principal"] for st in trust] == [{"Service": "scheduler.amazonaws.com"}]
    assert "aws:SourceAccount" in trust[0]["Condition"]["StringEquals"]
    statements = [st for policy in role["Policies"] for st in policy["PolicyDocument"]["Statement"]]
    assert statements == [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": queue_arn}]
    assert "ManagedPolicyArns" not in role
    attached = [
        p for p in synthesized.of_type("AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert attached == []


def test_given_rate_scheduled_functions_then_each_has_one_schedule_whose_role_may_only_invoke_it(
    synthesized: Synthesized,
) -> None:
    """The reconcile sweep and the token refresher run on EventBridge Scheduler rate() schedules (DESIGN.md)."""
    scheduled = [fn for fn in resources.FUNCTIONS if fn.schedule_rate_minutes]
    assert [fn.name for fn in scheduled] == [resources.SWEEPER.name, resources.REFRESHER.name]
    schedules = synthesized.of_type("AWS::Scheduler::Schedule")
    assert len(schedules) == len(scheduled)
    for fn in scheduled:
        function_id = synthesized.logical_id(synthesized.stack.functions.functions[fn.name])
        role_id = synthesized.logical_id(synthesized.stack.scheduling.rate_schedule_roles[fn.name])
        [props] = [
            s["Properties"]
            for s in schedules.values()
            if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        ]
        minutes = fn.schedule_rate_minutes
        assert props["ScheduleExpression"] == f"rate({minutes} {'minute' if minutes == 1 else 'minutes'})"
        assert props["State"] == "ENABLED"
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert props["Target"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        # not in the per-post group, which the API functions may manage
        assert props["GroupName"] != resources.schedule_group_name(PREFIX)
        role = synthesized.resources[role_id]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Statement"]
        assert [st["Principal"] for st in trust] == [{"Service": "scheduler.amazonaws.com"}]
        assert {"StringEquals", "ArnEquals"} <= set(trust[0]["Condition"])
        statements = [st for policy in role["Policies"] for st in policy["PolicyDocument"]["Statement"]]
        assert statements == [
            {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": [function_id, "Arn"]}}
        ]
        assert "ManagedPolicyArns" not in role


def test_given_the_sweeper_then_it_reads_posts_and_sends_to_the_queue_only(synthesized: Synthesized) -> None:
    """It hands posts back to the publisher: no secrets, no post writes, no platform."""
    sweeper = resources.SWEEPER
    assert _table_access(synthesized, sweeper) == {resources.POSTS.logical_id: Access.READ}
    actions = _actions(_role_statements(synthesized, sweeper))
    assert {a for a in actions if a.startswith("sqs:")} == {"sqs:SendMessage"}
    assert not any(a.startswith("secretsmanager:") for a in actions)


# --- API -----------------------------------------------------------------------------------------


def test_given_resources_routes_then_each_route_integrates_with_its_function(synthesized: Synthesized) -> None:
    routes = synthesized.of_type("AWS::ApiGatewayV2::Route")
    integrations = synthesized.of_type("AWS::ApiGatewayV2::Integration")
    route_table = resources.route_table()

    served: dict[str, str] = {}
    for route in routes.values():
        props = route["Properties"]
        integration_id = props["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == "2.0"
        served[props["RouteKey"]] = integration["IntegrationUri"]["Fn::GetAtt"][0]

    expected = {
        f"{method} {path}": synthesized.logical_id(synthesized.stack.functions.functions[fn.name])
        for (method, path), fn in route_table.items()
    }
    assert served == expected
    assert len(routes) == sum(len(fn.routes) for fn in resources.FUNCTIONS)


def test_given_each_route_then_api_gateway_may_invoke_its_function(synthesized: Synthesized) -> None:
    permissions = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    per_function: dict[str, int] = defaultdict(int)
    for permission in permissions:
        per_function[permission["FunctionName"]["Fn::GetAtt"][0]] += 1
    assert per_function == {
        synthesized.logical_id(synthesized.stack.functions.functions[fn.name]): len(fn.routes)
        for fn in resources.FUNCTIONS
        if fn.routes
    }


def test_given_the_default_stage_then_it_logs_access_and_throttles(synthesized: Synthesized) -> None:
    stage = next(iter(synthesized.of_type("AWS::ApiGatewayV2::Stage").values()))["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    log_group_id = synthesized.logical_id(synthesized.stack.api.access_logs)
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]
    assert json.loads(stage["AccessLogSettings"]["Format"])  # one JSON object per request
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert "RetentionInDays" in synthesized.resources[log_group_id]["Properties"]


def test_given_the_stack_then_it_outputs_the_api_url(synthesized: Synthesized) -> None:
    synthesized.template.has_output(
        "ApiUrl", {"Value": {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.api.api), "ApiEndpoint"]}}
    )


# --- functions -----------------------------------------------------------------------------------


def test_given_the_layers_then_both_target_python_3_11_on_x86_64(synthesized: Synthesized) -> None:
    layers = synthesized.of_type("AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]


@pytest.mark.parametrize("fn", resources.FUNCTIONS, ids=_ids(resources.FUNCTIONS))
def test_given_a_function_def_when_synthesized_then_runtime_code_and_sizing_match(
    synthesized: Synthesized, fn: FunctionDef
) -> None:
    props = _function_resource(synthesized, fn)["Properties"]
    layer_ids = {
        synthesized.logical_id(layer) for layer in (synthesized.stack.layers.shared, synthesized.stack.layers.deps)
    }

    assert props["Runtime"] == "python3.11"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == "handler.lambda_handler"
    assert props["MemorySize"] == fn.memory_mb
    assert props["Timeout"] == fn.timeout_seconds
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert {layer["Ref"] for layer in props["Layers"]} == layer_ids
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert "RetentionInDays" in synthesized.resources[log_group_id]["Properties"]


@pytest.mark.parametrize("fn", resources.FUNCTIONS, ids=_ids(resources.FUNCTIONS))
def test_given_a_function_def_then_its_environment_has_exactly_the_settings_it_needs(
    synthesized: Synthesized, fn: FunctionDef
) -> None:
    env = _function_resource(synthesized, fn)["Properties"]["Environment"]["Variables"]
    stack = synthesized.stack

    assert set(env) == _expected_env_keys(fn)
    for table_def in resources.TABLES:
        assert env[table_def.env] == {"Ref": synthesized.logical_id(stack.storage.tables[table_def.logical_id])}
    assert env[Env.PUBLISH_QUEUE_URL] == {"Ref": synthesized.logical_id(stack.publishing.queue)}
    assert env[Env.POWERTOOLS_SERVICE_NAME] == "crosspost"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Crosspost"
    if fn.secrets is not None:
        assert env[Env.SECRETS_PREFIX] == resources.secrets_prefix(PREFIX)
    if fn.scheduler:
        assert env[Env.SCHEDULE_GROUP] == resources.schedule_group_name(PREFIX)
        assert env[Env.SCHEDULER_ROLE_ARN] == {"Fn::GetAtt": [synthesized.logical_id(stack.scheduling.role), "Arn"]}
    if fn.routes:
        assert env[Env.PUBLIC_BASE_URL] == {"Fn::GetAtt": [synthesized.logical_id(stack.api.api), "ApiEndpoint"]}


@pytest.mark.parametrize("fn", resources.FUNCTIONS, ids=_ids(resources.FUNCTIONS))
def test_given_a_function_environment_when_settings_load_it_then_they_validate(
    synthesized: Synthesized, fn: FunctionDef
) -> None:
    """The runtime settings model accepts what the stack provides (deploy-time values stubbed)."""
    env = _function_resource(synthesized, fn)["Properties"]["Environment"]["Variables"]
    resolved = {key: value if isinstance(value, str) else f"deploy-time-{key.lower()}" for key, value in env.items()}
    settings = Settings.from_env(resolved)
    assert settings.stage == "prod"
    # the publisher's test-only crash injection is never on in AWS (crosspost.services.faults)
    assert settings.fault_injection == ()


def test_given_the_api_functions_then_each_can_authenticate_api_keys(synthesized: Synthesized) -> None:
    """The shared resolver looks up API keys and workspaces on every authenticated route."""
    for fn in resources.FUNCTIONS:
        if fn.code_dir != "api":
            continue
        env = _function_resource(synthesized, fn)["Properties"]["Environment"]["Variables"]
        assert {Env.API_KEYS_TABLE, Env.WORKSPACES_TABLE} <= set(env), fn.name
        access = _table_access(synthesized, fn)
        assert resources.API_KEYS.logical_id in access, fn.name
        assert resources.WORKSPACES.logical_id in access, fn.name


@pytest.mark.parametrize("fn", resources.FUNCTIONS, ids=_ids(resources.FUNCTIONS))
def test_given_a_function_def_then_its_role_reaches_only_its_tables(synthesized: Synthesized, fn: FunctionDef) -> None:
    assert _table_access(synthesized, fn) == dict(fn.tables)


@pytest.mark.parametrize("fn", resources.FUNCTIONS, ids=_ids(resources.FUNCTIONS))
def test_given_a_function_def_then_secrets_queue_and_scheduler_grants_follow_it(
    synthesized: Synthesized, fn: FunctionDef
) -> None:
    statements = _role_statements(synthesized, fn)
    actions = _actions(statements)
    secret_actions = {a for a in actions if a.startswith("secretsmanager:")}
    if fn.secrets is None:
        assert secret_actions == set()
    elif fn.secrets is Access.READ:
        assert secret_actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    else:
        assert SECRET_WRITE_ACTION in secret_actions
    apps_secret = {"Ref": synthesized.logical_id(synthesized.stack.storage.platform_apps_secret)}
    for st in statements:
        if st["Resource"] == apps_secret:  # the platform apps secret: read only, see its own test
            assert fn.platform_apps and _as_list(st["Action"]) == ["secretsmanager:GetSecretValue"], fn.name
            continue
        if any(a.startswith("secretsmanager:") for a in _as_list(st["Action"])):
            joined = json.dumps(st["Resource"])
            assert f":secret:{resources.secrets_prefix(PREFIX)}*" in joined

    is_consumer = fn is resources.PUBLISHER or fn.dead_letter_queue
    assert ("sqs:SendMessage" in actions) == (fn.publish_queue and fn is not resources.PUBLISHER)
    assert ("sqs:ReceiveMessage" in actions) == is_consumer
    assert ("sqs:ChangeMessageVisibility" in actions) == is_consumer
    publishing = synthesized.stack.publishing
    consumed = publishing.dead_letter_queue if fn.dead_letter_queue else publishing.queue
    for st in statements:
        if "sqs:ReceiveMessage" in _as_list(st["Action"]):
            assert st["Resource"] == {"Fn::GetAtt": [synthesized.logical_id(consumed), "Arn"]}, fn.name

    assert ("scheduler:CreateSchedule" in actions) == fn.scheduler
    assert ("iam:PassRole" in actions) == fn.scheduler
    role_arn = {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.scheduling.role), "Arn"]}
    for st in statements:
        if "iam:PassRole" in _as_list(st["Action"]):
            assert st["Resource"] == role_arn
        if any(a.startswith("scheduler:") for a in _as_list(st["Action"])):
            assert f":schedule/{resources.schedule_group_name(PREFIX)}/*" in json.dumps(st["Resource"])
    assert not any(a.startswith("s3:") for a in actions) or fn.media_bucket is not None


def test_given_the_platform_apps_secret_then_it_is_named_output_and_read_only_by_the_functions_that_need_it(
    synthesized: Synthesized,
) -> None:
    secret = synthesized.stack.storage.platform_apps_secret
    secret_id = synthesized.logical_id(secret)
    props = synthesized.resources[secret_id]["Properties"]
    assert props["Name"] == resources.platform_apps_secret_name(PREFIX)
    assert props["SecretString"] == "{}"  # nothing secret in the template: the operator fills it
    assert synthesized.resources[secret_id]["DeletionPolicy"] == "Retain"
    outputs = synthesized.template.to_json()["Outputs"]
    assert outputs["PlatformAppsSecretName"]["Value"] == resources.platform_apps_secret_name(PREFIX)
    readers = set()
    for fn in resources.FUNCTIONS:
        env = _function_resource(synthesized, fn)["Properties"]["Environment"]["Variables"]
        granted = [st for st in _role_statements(synthesized, fn) if st["Resource"] == {"Ref": secret_id}]
        if fn.platform_apps:
            readers.add(fn.name)
            assert env[Env.PLATFORM_APPS_SECRET] == resources.platform_apps_secret_name(PREFIX), fn.name
            assert [_as_list(st["Action"]) for st in granted] == [["secretsmanager:GetSecretValue"]], fn.name
        else:
            assert not granted and Env.PLATFORM_APPS_SECRET not in env, fn.name
    assert readers == {"connect", "complete", "posts", "publisher", "dlq", "refresher"}


def test_given_the_refresher_then_it_runs_every_15_minutes_and_writes_only_accounts(synthesized: Synthesized) -> None:
    assert resources.REFRESHER.schedule_rate_minutes == 15
    schedule = synthesized.stack.scheduling.rate_schedules[resources.REFRESHER.name]
    assert schedule.schedule_expression == "rate(15 minutes)"
    assert _table_access(synthesized, resources.REFRESHER) == {resources.ACCOUNTS.logical_id: Access.WRITE}


def test_given_the_profiles_function_then_it_cannot_write_posts_or_touch_secrets(synthesized: Synthesized) -> None:
    profiles = next(fn for fn in resources.FUNCTIONS if fn.name == "profiles")
    access = _table_access(synthesized, profiles)
    assert resources.POSTS.logical_id not in access
    assert not any(a.startswith("secretsmanager:") for a in _actions(_role_statements(synthesized, profiles)))


# --- monitoring ----------------------------------------------------------------------------------


def test_given_the_dlq_then_an_alarm_fires_on_the_first_message(synthesized: Synthesized) -> None:
    dlq_id = synthesized.logical_id(synthesized.stack.publishing.dead_letter_queue)
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_given_a_dlq_consumer_then_an_alarm_fires_on_the_first_dead_letter_it_receives(
    synthesized: Synthesized,
) -> None:
    """The consumer empties the DLQ within moments, so its depth alone would rarely alarm."""
    dlq_id = synthesized.logical_id(synthesized.stack.publishing.dead_letter_queue)
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "NumberOfMessagesReceived",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
            "Threshold": 1,
        },
    )


@pytest.mark.parametrize("fn", [resources.SWEEPER, resources.DEAD_LETTERS], ids=lambda fn: fn.name)
def test_given_the_sweeper_and_the_dlq_consumer_then_an_alarm_fires_on_their_errors(
    synthesized: Synthesized, fn: FunctionDef
) -> None:
    function_id = synthesized.logical_id(synthesized.stack.functions.functions[fn.name])
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}]},
    )


def test_given_the_publisher_then_an_alarm_fires_on_errors(synthesized: Synthesized) -> None:
    publisher_id = synthesized.logical_id(synthesized.stack.functions.functions[resources.PUBLISHER.name])
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": publisher_id}}],
            "Threshold": 1,
        },
    )


# --- cdk-nag and cfn-lint ------------------------------------------------------------------------


def _format(messages: list[Any]) -> str:
    return "\n".join(f"{m.id}: {m.entry.data}" for m in messages)


def test_given_aws_solutions_checks_then_no_unsuppressed_errors(synthesized: Synthesized) -> None:
    """With cdk.json's annotationsInValidationReport flag an error already stops the synth (the
    fixture fails and names the rule); this keeps the check if that flag ever goes."""
    errors = Annotations.from_stack(synthesized.stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [], _format(errors)


def test_given_aws_solutions_checks_then_no_unsuppressed_warnings(synthesized: Synthesized) -> None:
    warnings = Annotations.from_stack(synthesized.stack).find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert warnings == [], _format(warnings)


def test_given_nag_suppressions_then_each_is_on_a_resource_with_a_written_reason(synthesized: Synthesized) -> None:
    assert "cdk_nag" not in synthesized.template.to_json().get("Metadata", {}), "no stack-wide suppressions"
    suppressions = [
        rule
        for resource in synthesized.resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert suppressions
    for rule in suppressions:
        assert rule["id"].startswith("AwsSolutions-")
        assert len(rule["reason"]) >= 60, rule


def test_given_the_template_when_cfn_lint_runs_then_it_reports_no_errors(synthesized: Synthesized) -> None:
    matches = lint(synthesized.template_path.read_text())
    problems = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id[0] == "E" or (m.rule.id[0] == "W" and m.rule.id not in ACCEPTED_CFN_LINT_WARNINGS)
    ]
    assert problems == []
