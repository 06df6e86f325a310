"""/v1/posts: create (now or scheduled), validate, read, list, cancel, reschedule."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query

from crosspost.api.errors import render
from crosspost.api.routes.common import Cursor, Limit, errors, json_response
from crosspost.api.services import caller, post_service
from crosspost.composition import dependencies
from crosspost.errors import CrosspostError, IdempotencyConflictError
from crosspost.models.api.posts import (
    CreatePostRequest,
    PostResponse,
    ReschedulePostRequest,
    ValidatedResponse,
    WarningResponse,
)

router = Router()
PostId = Annotated[str, Path(max_length=64)]

_PREFLIGHT = (
    "Every preflight failure is listed in `error.details`; the answer's code is the gravest present: "
    "404 `not_found` (rule `media.unknown`) when a `mediaId` is unknown or another workspace's, else 400 "
    "`validation_failed` when the request's own media are wrong (`media.not_ready`: the medium's upload has not "
    "arrived yet; `media.failed`, `media.type_unsupported`, `media.kind_mismatch`), else 400 `preflight_failed` "
    "(the platform's rules, `media.url.forbidden`, and the platform's MIME, size and aspect-ratio limits wherever "
    "the media's type and size are known: inline bytes and uploaded media). Inline `bytesBase64` is stored as a "
    "medium; a `url` is fetched at publish, and a file the platform cannot take then ends the post `rejected`."
)
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def _create(workspace_id: str, body: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Create a post and return the response to send (and to replay for the same key).

    Domain errors are answers too: a replay of a refused request gets the same refusal
    instead of publishing again."""
    try:
        created = post_service().create(workspace_id, CreatePostRequest.model_validate(body))
    except CrosspostError as exc:
        status, envelope, headers = render(exc, request_id)
        return {"status": status, "body": envelope, "headers": headers}
    post = PostResponse.from_domain(created.post)
    post["warnings"] = post["warnings"] + [
        WarningResponse(code=w.code, message=w.message).body() for w in created.warnings
    ]
    return {"status": created.http_status, "body": post, "headers": {}}


@lru_cache(maxsize=1)
def _idempotent_create() -> tuple[Any, Any]:
    """powertools idempotency over the Idempotency table, keyed by workspace + key; the body is
    validated so the same key with another body is refused. Built on first use: the persistence
    layer creates a DynamoDB client, which a cold start that never sees a key should not pay."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[workspaceId, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    layer = DynamoDBPersistenceLayer(table_name=dependencies().settings.idempotency_table)

    @idempotent_function(data_keyword_argument="request", persistence_store=layer, config=config)
    def run(request: dict[str, Any]) -> dict[str, Any]:
        return _create(request["workspaceId"], request["body"], request["requestId"])

    return run, config


def _answer(result: dict[str, Any]) -> Response[str]:
    return json_response(result["status"], result["body"], result.get("headers") or {})


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        min_length=1,
        max_length=128,
        description="Replays the original answer for 24 h; another body with the same key is refused.",
    ),
]


@router.post(
    "/",
    summary="Create a post: published now, or scheduled with scheduledAt",
    description=_PREFLIGHT
    + " Publish-now answers 202 `publishing` with warning `publish.processing` while the platform still "
    "processes (the publisher finishes it), and 202 with the post as it stands after an outcome-unknown failure.",
    responses={
        201: {"description": "Published"},
        202: {"description": "Queued, deferred or processing"},
        **errors(404, 409, 413, 502),
    },
)
def create_post(body: Annotated[CreatePostRequest, Body()], idempotency_key: IdempotencyKey = None) -> Response[str]:
    workspace_id = caller(router).workspace_id
    raw = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    request_id = str(router.context.get("request_id"))
    if idempotency_key is None:
        return _answer(_create(workspace_id, raw, request_id))
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    run, config = _idempotent_create()
    config.register_lambda_context(router.lambda_context)
    try:
        return _answer(
            run(
                request={
                    "workspaceId": workspace_id,
                    "key": idempotency_key,
                    "body": raw,
                    "requestId": request_id,
                }
            )
        )
    except IdempotencyValidationError as exc:
        raise IdempotencyConflictError(
            "This Idempotency-Key was used with another body.",
            rule="idempotency_key.body_mismatch",
            field="Idempotency-Key",
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise IdempotencyConflictError(
            "A request with this Idempotency-Key is still in progress.",
            rule="idempotency_key.in_progress",
            field="Idempotency-Key",
        ) from exc


@router.post("/validate", summary="Preflight a post without storing it", description=_PREFLIGHT, responses=errors(404))
def validate_post(body: Annotated[CreatePostRequest, Body()]) -> dict[str, Any]:
    warnings = post_service().validate(caller(router).workspace_id, body)
    return ValidatedResponse(warnings=[WarningResponse(code=w.code, message=w.message) for w in warnings]).body()


PostStatusFilter = Literal["queued", "publishing", "published", "failed", "rejected", "canceled"]


@router.get("/", summary="List posts, newest first", responses=errors())
def list_posts(
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[PostStatusFilter | None, Query()] = None,
    accountId: Annotated[str | None, Query(max_length=64)] = None,
    profileId: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    posts, next_cursor = dependencies().posts.list_page(
        caller(router).workspace_id,
        limit=limit,
        cursor=cursor,
        status=status,
        account_id=accountId,
        profile_id=profileId,
    )
    return {"posts": [PostResponse.from_domain(p) for p in posts], "nextCursor": next_cursor}


@router.get("/<post_id>", summary="Get a post", responses=errors(404))
def get_post(post_id: PostId) -> dict[str, Any]:
    return PostResponse.from_domain(post_service().get(caller(router).workspace_id, post_id))


@router.delete("/<post_id>", summary="Cancel a queued post", responses=errors(404, 409))
def cancel_post(post_id: PostId) -> dict[str, Any]:
    return PostResponse.from_domain(post_service().cancel(caller(router).workspace_id, post_id))


@router.patch("/<post_id>", summary="Reschedule a queued post", responses=errors(404, 409))
def reschedule_post(post_id: PostId, body: Annotated[ReschedulePostRequest, Body()]) -> dict[str, Any]:
    post = post_service().reschedule(caller(router).workspace_id, post_id, body.scheduled_at)
    return PostResponse.from_domain(post)
