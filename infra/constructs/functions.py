"""The Lambda factory: one function per ``resources.FUNCTIONS`` entry, with exactly its grants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import ArnFormat, CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from crosspost import resources
from crosspost.resources import Access, Env, FunctionDef
from infra.config import CrosspostConfig
from infra.constructs.layers import ARCHITECTURE, RUNTIME, LayersConstruct
from infra.constructs.publishing import PublishingConstruct
from infra.constructs.scheduling import SchedulingConstruct
from infra.constructs.storage import StorageConstruct

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "functions"
HANDLER = "handler.lambda_handler"
SERVICE_NAME = "crosspost"
METRICS_NAMESPACE = "Crosspost"
# powertools reads it; crosspost.settings does not, so it is not an Env member.
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"

SECRET_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.READ: ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
    Access.WRITE: (
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret",
        "secretsmanager:DeleteSecret",
        # CreateSecret with tags needs it.
        "secretsmanager:TagResource",
    ),
}
# DynamoDB data-plane actions per Access (CDK's grant_read_data adds Scan, the stream actions
# and DescribeTable, which no function uses). TransactWriteItems is authorised per item by these.
TABLE_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.READ: (
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
    ),
    Access.WRITE: (
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    ),
    # The rate-limit counters: one conditional UpdateItem per request, nothing to read.
    Access.INCREMENT: ("dynamodb:UpdateItem",),
}
INDEX_ACTION = "dynamodb:Query"
PLATFORM_APPS_ACTION = "secretsmanager:GetSecretValue"
MEDIA_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.READ: ("s3:GetObject",),
    Access.WRITE: ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
}

BASIC_EXECUTION_POLICY = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _logical_id(construct: Construct) -> str:
    """The CloudFormation logical id of an L2's resource, as cdk-nag names it in findings."""
    resource = construct.node.default_child
    assert isinstance(resource, CfnElement)
    return Stack.of(construct).get_logical_id(resource)


def _construct_name(fn: FunctionDef) -> str:
    return "".join(part.capitalize() for part in fn.name.replace("-", "_").split("_"))


@dataclass(frozen=True)
class FunctionDependencies:
    """What the factory wires functions to (built by the other constructs)."""

    config: CrosspostConfig
    storage: StorageConstruct
    publishing: PublishingConstruct
    scheduling: SchedulingConstruct
    layers: LayersConstruct
    secrets_prefix: str
    # The API's base URL for the OAuth redirect_uri; None leaves PUBLIC_BASE_URL unset.
    public_base_url: str | None


class FunctionsConstruct(Construct):
    """``functions`` maps each FunctionDef's name to its Lambda function."""

    def __init__(self, scope: Construct, construct_id: str, *, deps: FunctionDependencies) -> None:
        super().__init__(scope, construct_id)
        self._deps = deps
        stack = Stack.of(self)
        self._secrets_arn = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            # Secret ARNs end in a random suffix: the prefix needs the wildcard anyway.
            resource_name=f"{deps.secrets_prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self._code: dict[str, lambda_.Code] = {}
        self.functions: dict[str, lambda_.Function] = {fn.name: self._function(fn) for fn in resources.FUNCTIONS}

    def _asset(self, code_dir: str) -> lambda_.Code:
        # Functions sharing a code folder share one asset (hashed and staged once).
        if code_dir not in self._code:
            self._code[code_dir] = lambda_.Code.from_asset(
                str(FUNCTIONS_DIR / code_dir), exclude=["**/__pycache__", "**/*.pyc"]
            )
        return self._code[code_dir]

    def _function(self, fn: FunctionDef) -> lambda_.Function:
        name = _construct_name(fn)
        log_group = logs.LogGroup(
            self,
            f"{name}Logs",
            retention=self._deps.config.log_retention,
            # Logs are not user data: they go with the stack.
            removal_policy=RemovalPolicy.DESTROY,
        )
        function = lambda_.Function(
            self,
            f"{name}Function",
            description=f"crosspost {fn.name}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self._asset(fn.code_dir),
            handler=HANDLER,
            layers=self._deps.layers.all,
            memory_size=fn.memory_mb,
            timeout=Duration.seconds(fn.timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            # powertools Logger already writes JSON; JSON format makes the platform lines match.
            logging_format=lambda_.LoggingFormat.JSON,
            environment=self._environment(fn),
        )
        self._grant(fn, function)
        self._suppress(fn, function)
        return function

    def _environment(self, fn: FunctionDef) -> dict[str, str]:
        deps = self._deps
        env: dict[str, str] = {
            Env.STAGE.value: deps.config.stage,
            Env.POWERTOOLS_SERVICE_NAME.value: SERVICE_NAME,
            POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
            # crosspost.settings requires every table name and the queue URL in every function,
            # and API functions authenticate through the API-keys and workspaces tables. Names
            # are not secrets; what a function may do with each table is IAM's job (_grant).
            **{
                table_def.env.value: deps.storage.tables[table_def.logical_id].table_name
                for table_def in resources.TABLES
            },
            Env.PUBLISH_QUEUE_URL.value: deps.publishing.queue.queue_url,
        }
        if fn.publish_queue:
            env[Env.PUBLISH_QUEUE_ARN.value] = deps.publishing.queue.queue_arn
        if fn.scheduler:
            env[Env.SCHEDULE_GROUP.value] = deps.scheduling.group_name
            env[Env.SCHEDULER_ROLE_ARN.value] = deps.scheduling.role.role_arn
        if fn.secrets is not None:
            env[Env.SECRETS_PREFIX.value] = deps.secrets_prefix
        if fn.platform_apps:
            env[Env.PLATFORM_APPS_SECRET.value] = deps.storage.platform_apps_secret_name
        if fn.media_bucket is not None:
            env[Env.MEDIA_BUCKET.value] = deps.storage.media_bucket.bucket_name
        if fn.routes and deps.public_base_url is not None:
            env[Env.PUBLIC_BASE_URL.value] = deps.public_base_url
        # Operator settings last: they may override PUBLIC_BASE_URL (a custom domain), never a
        # resource name (infra.config.RESERVED_ENV).
        env.update(deps.config.extra_environment)
        return env

    def _grant(self, fn: FunctionDef, function: lambda_.Function) -> None:
        """Least privilege, straight from the FunctionDef."""
        deps = self._deps
        for logical_id, access in fn.tables.items():
            table = deps.storage.tables[logical_id]
            table_def = next(t for t in resources.TABLES if t.logical_id == logical_id)
            function.add_to_role_policy(
                iam.PolicyStatement(actions=list(TABLE_ACTIONS[access]), resources=[table.table_arn])
            )
            # Indexes by name (no index/* wildcard), and only Query: nothing else acts on an index.
            if table_def.indexes and access is not Access.INCREMENT:
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=[INDEX_ACTION],
                        resources=[f"{table.table_arn}/index/{index.name}" for index in table_def.indexes],
                    )
                )
        if fn.secrets is not None:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=list(SECRET_ACTIONS[fn.secrets]), resources=[self._secrets_arn])
            )
        if fn.platform_apps:
            # Read only, and exactly that secret (its full ARN, no wildcard).
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=[PLATFORM_APPS_ACTION], resources=[deps.storage.platform_apps_secret.secret_arn]
                )
            )
        # The publisher's consume grant comes with its event source (PublishingConstruct).
        if fn.publish_queue and fn is not resources.PUBLISHER:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[deps.publishing.queue.queue_arn])
            )
        if fn.scheduler:
            deps.scheduling.grant_manage_schedules(function)
        if fn.media_bucket is not None:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=list(MEDIA_ACTIONS[fn.media_bucket]),
                    resources=[deps.storage.media_bucket.arn_for_objects("*")],
                )
            )

    def _suppress(self, fn: FunctionDef, function: lambda_.Function) -> None:
        """Every cdk-nag finding the grants above cause, with its reason, on this function only."""
        deps = self._deps
        NagSuppressions.add_resource_suppressions(
            function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason=(
                        "Pinned to python3.11 on purpose: the tests run on 3.11 and the dependencies "
                        "layer holds cp311 wheels (DESIGN.md); the runtime moves with both."
                    ),
                )
            ],
        )
        role = function.role
        assert role is not None  # the factory never passes a role, so CDK made one

        def wildcard(resource: str, reason: str) -> NagPackSuppression:
            return NagPackSuppression(id="AwsSolutions-IAM5", reason=reason, applies_to=[f"Resource::{resource}"])

        findings = [
            NagPackSuppression(
                id="AwsSolutions-IAM4",
                reason=(
                    "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch "
                    "Logs; it is the AWS-maintained minimum for any Lambda function."
                ),
                applies_to=[BASIC_EXECUTION_POLICY],
            ),
            wildcard(
                "*",
                "X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords "
                "do not support resource-level permissions.",
            ),
        ]
        if fn.secrets is not None:
            findings.append(
                wildcard(
                    f"arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{deps.secrets_prefix}*",
                    "One secret per connected account, created at run time under the stack's secrets "
                    "prefix; Secrets Manager appends a random suffix to every secret ARN.",
                )
            )
        if fn.scheduler:
            findings.append(
                wildcard(
                    f"arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/{deps.scheduling.group_name}/*",
                    "One schedule per scheduled post, named at run time, confined to the stack's schedule group.",
                )
            )
        if fn.media_bucket is not None:
            findings.append(
                wildcard(
                    f"<{_logical_id(deps.storage.media_bucket)}.Arn>/*",
                    "Media objects are keyed by media id at run time; access is confined to the media bucket.",
                )
            )
        # On the role and its default policy only, not the stack.
        NagSuppressions.add_resource_suppressions(role, findings, apply_to_children=True)
