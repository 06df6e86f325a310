"""DynamoDB tables (one per ``resources.TABLES`` entry), the media bucket and the platform apps secret."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from crosspost import resources
from crosspost.resources import AttrType, Key, TableDef

_ATTRIBUTE_TYPES = {AttrType.S: dynamodb.AttributeType.STRING, AttrType.N: dynamodb.AttributeType.NUMBER}


def _attribute(key: Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


def _optional_attribute(key: Key | None) -> dynamodb.Attribute | None:
    return None if key is None else _attribute(key)


class StorageConstruct(Construct):
    """``tables`` maps each TableDef's logical id to its table; ``media_bucket`` holds uploads;
    ``platform_apps_secret`` holds the platform apps' OAuth clients, filled in by the operator."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {
            table_def.logical_id: self._table(table_def, prefix) for table_def in resources.TABLES
        }
        self.media_bucket = self._media_bucket()
        self.platform_apps_secret_name = resources.platform_apps_secret_name(prefix)
        self.platform_apps_secret = self._platform_apps_secret()

    def _table(self, table_def: TableDef, prefix: str) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{table_def.logical_id}Table",
            # Named from resources.py so operators (and the local stack) find "<prefix>-Posts".
            table_name=table_def.physical_name(prefix),
            partition_key=_attribute(table_def.partition),
            sort_key=_optional_attribute(table_def.sort),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=table_def.ttl_attribute,
            # Workspaces, keys, accounts and posts are user data: deleting the stack keeps them.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in table_def.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition),
                sort_key=_optional_attribute(index.sort),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _media_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            resources.MEDIA_BUCKET_LOGICAL_ID,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            # Presigned uploads that never complete would otherwise be billed forever.
            lifecycle_rules=[
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1)),
                # Copies of fetched media URLs serve one publish (and its retries), then go.
                s3.LifecycleRule(
                    prefix=resources.MEDIA_COPIES_PREFIX, expiration=Duration.days(resources.MEDIA_COPIES_DAYS)
                ),
            ],
        )
        NagSuppressions.add_resource_suppressions(
            bucket,
            [
                NagPackSuppression(
                    id="AwsSolutions-S1",
                    reason=(
                        "Private media bucket: objects arrive through presigned URLs that only the "
                        "authenticated API issues, and the API's access logs record who asked for each; "
                        "a second bucket of S3 server access logs is left to operators who need it."
                    ),
                )
            ],
        )
        return bucket

    def _platform_apps_secret(self) -> secretsmanager.Secret:
        """One secret for every platform app's OAuth client (README "Platform apps"). Created
        empty (``{}``: no platform configured, so connecting one answers 404
        ``platform.not_configured``); the operator puts the JSON in after deploying."""
        secret = secretsmanager.Secret(
            self,
            "PlatformAppsSecret",
            secret_name=self.platform_apps_secret_name,
            description="crosspost: OAuth client id and secret of each platform app (README 'Platform apps')",
            # "{}" holds nothing secret: the operator writes the real value outside CloudFormation
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            # The operator's app credentials: deleting the stack keeps them.
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason=(
                        "OAuth client secrets are issued by each platform's developer console and can only "
                        "be rotated there; the operator replaces the value by hand (README 'Platform apps')."
                    ),
                )
            ],
        )
        output = CfnOutput(
            self,
            "PlatformAppsSecretName",
            value=self.platform_apps_secret_name,
            description="Secrets Manager secret to fill with the platform apps' OAuth clients (README 'Platform apps')",
        )
        output.override_logical_id("PlatformAppsSecretName")
        return secret
