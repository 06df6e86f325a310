"""/v1/accounts: connect (credentials), list, read, disconnect."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from crosspost.api.routes.common import Cursor, Limit, errors, json_response, no_content
from crosspost.api.services import account_service, caller
from crosspost.errors import NotFoundError, ValidationFailedError
from crosspost.models.api import (
    AccountResponse,
    BlueskyCompleteRequest,
    ConnectCredentialsRequest,
    ConnectStartRequest,
)
from crosspost.platforms.registry import PLATFORMS
from crosspost.services.accounts import ConnectResult

router = Router()
PlatformName = Annotated[str, Path(max_length=32)]


def _connect_response(result: ConnectResult) -> Response[str]:
    rows = [AccountResponse.from_domain(account) for account, _ in result.accounts]
    body = dict(rows[0])
    if len(rows) > 1 or result.skipped:
        body["accounts"] = rows
        body["skipped"] = [{"platformAccountId": p, "rule": "account.already_connected"} for p in result.skipped]
    created = any(new for _, new in result.accounts)
    return json_response(201 if created else 200, body)


def _known(platform: str) -> str:
    if platform not in PLATFORMS:
        raise NotFoundError(f"Unknown platform '{platform}'.", rule="platform.unsupported", field="platform")
    return platform


@router.post(
    "/connect",
    summary="Connect an account with credentials (Bluesky)",
    responses={201: {"description": "Connected"}, 200: {"description": "Reconnected"}, **errors(404, 409)},
)
def connect_with_credentials(body: Annotated[ConnectCredentialsRequest, Body()]) -> Response[str]:
    if body.platform != "bluesky":
        raise ValidationFailedError(
            "Only Bluesky connects with credentials; use the connect flow.", rule="platform", field="platform"
        )
    result = account_service().connect_with_credentials(
        caller(router).workspace_id,
        platform=body.platform,
        profile_id=body.profile_id,
        credentials={"handle": body.credentials.handle, "appPassword": body.credentials.app_password},
        service=body.service,
    )
    return _connect_response(result)


@router.post("/connect/<platform>", summary="Start a connect flow", responses=errors(404))
def start_connect(platform: PlatformName, body: Annotated[ConnectStartRequest | None, Body()] = None) -> dict[str, Any]:
    _known(platform)
    if platform == "bluesky":
        return {"method": "credentials", "fields": ["handle", "appPassword"]}
    if platform == "instagram":
        raise ValidationFailedError(
            "Instagram accounts are connected through Facebook.",
            rule="instagram.connect.use_facebook",
            field="platform",
            remediation="Start the connect flow for facebook.",
        )
    raise NotFoundError(
        f"Connecting {platform} is not available in this version yet.",
        rule="platform.unsupported",
        field="platform",
    )


@router.post(
    "/connect/<platform>/complete",
    summary="Finish a connect flow",
    responses={201: {"description": "Connected"}, 200: {"description": "Reconnected"}, **errors(404, 409)},
)
def complete_connect(platform: PlatformName, body: Annotated[BlueskyCompleteRequest, Body()]) -> Response[str]:
    if _known(platform) != "bluesky":
        raise NotFoundError(
            f"Connecting {platform} is not available in this version yet.",
            rule="platform.unsupported",
            field="platform",
        )
    result = account_service().connect_with_credentials(
        caller(router).workspace_id,
        platform=platform,
        profile_id=body.profile_id,
        credentials={"handle": body.handle, "appPassword": body.app_password},
        service=body.service,
    )
    return _connect_response(result)


TokenStatus = Literal["valid", "expiring_soon", "expired", "unknown"]


@router.get("/", summary="List accounts", responses=errors())
def list_accounts(
    limit: Limit = 50,
    cursor: Cursor = None,
    profileId: Annotated[str | None, Query(max_length=64)] = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    tokenStatus: Annotated[TokenStatus | None, Query()] = None,
) -> dict[str, Any]:
    accounts, next_cursor = account_service().list_accounts(
        caller(router).workspace_id,
        limit=limit,
        cursor=cursor,
        profile_id=profileId,
        platform=platform,
        token_status=tokenStatus,
    )
    return {"accounts": [AccountResponse.from_domain(a) for a in accounts], "nextCursor": next_cursor}


@router.get("/<account_id>", summary="Get an account", responses=errors(404))
def get_account(account_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    return AccountResponse.from_domain(account_service().get(caller(router).workspace_id, account_id))


@router.delete(
    "/<account_id>",
    summary="Disconnect an account (deletes its tokens, cancels its queued posts)",
    responses={204: {"description": "Disconnected"}, **errors(404)},
)
def disconnect(account_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    account_service().disconnect(caller(router).workspace_id, account_id)
    return no_content()
