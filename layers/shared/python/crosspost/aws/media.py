"""Media storage: the media table (one row per uploaded file) and the media bucket (the bytes).

Object keys are made here, so the layout of the bucket is in one place:
- ``media/<workspaceId>/<mediaId>``: a file uploaded through POST /v1/media or sent inline with a post;
- ``posts/<workspaceId>/<postId>/<index>``: a media URL fetched at publish, stored so platforms that
  fetch media themselves get our checked copy (a presigned GET), not the original URL.

S3 failures surface as ``MediaStorageError`` (the services decide what they mean: a 500 on the API,
"not sent, retry" at publish); a missing object is None, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from crosspost.aws.base import TableStore, is_conditional_failure
from crosspost.aws.clients import client
from crosspost.aws.items import to_item, to_value
from crosspost.models.domain import Media, MediaStatus
from crosspost.resources import MEDIA_COPIES_PREFIX

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class MediaStorageError(Exception):
    """S3 could not be reached or refused the call (never a missing object)."""


def upload_key(workspace_id: str, media_id: str) -> str:
    return f"media/{workspace_id}/{media_id}"


def fetched_key(workspace_id: str, post_id: str, index: int) -> str:
    return f"{MEDIA_COPIES_PREFIX}{workspace_id}/{post_id}/{index}"


class MediaStore(TableStore):
    """The media table: pk = id. Rows are read by id only, and the caller checks the workspace."""

    def create(self, media: Media) -> None:
        self.ddb.put_item(
            TableName=self.table_name,
            Item=to_item(media.to_record()),
            ConditionExpression="attribute_not_exists(id)",
        )

    def get(self, media_id: str) -> Media | None:
        # strongly consistent: a client uses a medium right after creating it
        item = self._get(to_item({"id": media_id}), consistent=True)
        return Media.from_record(item) if item else None

    def settle(self, media: Media) -> bool:
        """Write a pending medium's outcome (ready or failed) if it is still pending; False when
        another request settled it first."""
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item=to_item(media.to_record()),
                ConditionExpression="#st = :pending",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":pending": to_value(MediaStatus.PENDING.value)},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True


@dataclass(frozen=True)
class ObjectHead:
    size: int
    content_type: str | None


class MediaBucket:
    """The media bucket. Presigned URLs are SigV4 (``crosspost.aws.clients``), so a presigned PUT
    binds the declared Content-Type and Content-Length: S3 refuses an upload that differs."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @property
    def s3(self) -> Any:
        return client("s3")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._call("put_object", Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        response = self._call("get_object", Key=key, missing_ok=True)
        return None if response is None else self._read(response)

    def get_start(self, key: str, length: int) -> bytes | None:
        """The first ``length`` bytes (a ranged GET: enough to sniff a type and dimensions)."""
        response = self._call("get_object", Key=key, Range=f"bytes=0-{length - 1}", missing_ok=True)
        return None if response is None else self._read(response)

    def head(self, key: str) -> ObjectHead | None:
        response = self._call("head_object", Key=key, missing_ok=True)
        if response is None:
            return None
        return ObjectHead(size=int(response.get("ContentLength", 0)), content_type=response.get("ContentType"))

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    def presign_put(self, key: str, *, content_type: str, size: int, expires_seconds: int) -> str:
        return self._presign(
            "put_object",
            {"Key": key, "ContentType": content_type, "ContentLength": size},
            expires_seconds,
        )

    def presign_get(self, key: str, *, expires_seconds: int) -> str:
        return self._presign("get_object", {"Key": key}, expires_seconds)

    # ---- plumbing ------------------------------------------------------------------------------

    def _presign(self, operation: str, params: dict[str, Any], expires_seconds: int) -> str:
        try:
            url: str = self.s3.generate_presigned_url(
                operation, Params={"Bucket": self.bucket, **params}, ExpiresIn=expires_seconds
            )
        except (BotoCoreError, ClientError) as exc:  # signing is local; only missing credentials fail
            raise MediaStorageError(f"could not sign a media URL ({type(exc).__name__})") from exc
        return url

    def _call(self, operation: str, *, missing_ok: bool = False, **params: Any) -> Any:
        try:
            return getattr(self.s3, operation)(Bucket=self.bucket, **params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if missing_ok and code in _MISSING:
                return None
            raise MediaStorageError(f"S3 {operation} failed ({code or 'error'})") from exc
        except BotoCoreError as exc:
            raise MediaStorageError(f"S3 {operation} failed ({type(exc).__name__})") from exc

    @staticmethod
    def _read(response: Any) -> bytes:
        try:
            data: bytes = response["Body"].read()
        except BotoCoreError as exc:
            raise MediaStorageError(f"reading a media object failed ({type(exc).__name__})") from exc
        return data
