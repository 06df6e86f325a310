"""The media pieces of the stack: the Media table (TTL on pending rows), the bucket's lifecycle for
copies of fetched URLs, and who may touch media (functions that never see media get no S3 action)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk.assertions import Match

from crosspost import resources
from tests.infra.test_infra_stack import _actions, _role_statements, _table_access

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized

PREFIX = "crosspost"


def test_given_the_media_table_then_pending_rows_expire_by_ttl(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": resources.MEDIA.physical_name(PREFIX),
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
        },
    )


def test_given_the_media_bucket_then_copies_of_fetched_urls_expire_and_stray_uploads_are_aborted(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}),
                        Match.object_like(
                            {"Prefix": resources.MEDIA_COPIES_PREFIX, "ExpirationInDays": resources.MEDIA_COPIES_DAYS}
                        ),
                    ]
                )
            }
        },
    )


def test_given_each_function_then_only_the_media_paths_touch_the_bucket_and_the_media_table(
    synthesized: Synthesized,
) -> None:
    with_media = {"media", "posts", "publisher"}
    for fn in resources.FUNCTIONS:
        actions = _actions(_role_statements(synthesized, fn))
        touches_bucket = any(a.startswith("s3:") for a in actions)
        assert touches_bucket == (fn.name in with_media), fn.name
        if touches_bucket:
            assert {"s3:GetObject", "s3:PutObject"} <= actions and "s3:ListBucket" not in actions, fn.name
        table = _table_access(synthesized, fn).get(resources.MEDIA.logical_id)
        # the publisher reads what the post row carries (object key, type, size): no media-table access
        assert (table is not None) == (fn.name in {"media", "posts"}), fn.name
    media_fn = next(fn for fn in resources.API_FUNCTIONS if fn.name == "media")
    assert {(r.method, r.path) for r in media_fn.routes} == {("POST", "/v1/media"), ("GET", "/v1/media/{id}")}
    assert media_fn.secrets is None and not media_fn.publish_queue and not media_fn.scheduler
