"""/v1/accounts: connect (credentials and OAuth flows), list, read, disconnect."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from crosspost.api.routes.common import Cursor, Limit, errors, json_response, no_content
from crosspost.api.services import account_service, caller, oauth_service
from crosspost.errors import NotFoundError, ValidationFailedError
from crosspost.models.api.accounts import (
    AccountResponse,
    CompleteConnectRequest,
    ConnectCredentialsRequest,
    ConnectStartRequest,
    ConnectStartResponse,
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


def _not_instagram(platform: str) -> None:
    if platform == "instagram":
        raise ValidationFailedError(
            "Instagram accounts are connected through Facebook.",
            rule="instagram.connect.use_facebook",
            field="platform",
            remediation="Start the connect flow for facebook.",
        )


def _required(value: str | None, name: str) -> str:
    if value is None:
        raise ValidationFailedError(f"{name} is required for this platform.", rule=name, field=name)
    return value


def _request_base_url() -> str:
    """The API's origin as this request reached it (the callback URL when PUBLIC_BASE_URL is unset)."""
    context = router.current_event.raw_event.get("requestContext") or {}
    return f"https://{context.get('domainName') or 'localhost'}"


@router.post(
    "/connect/<platform>",
    summary="Start a connect flow",
    description=(
        "OAuth platforms: a single-use state (15 minutes) and the platform's authorization URL to "
        "send the user's browser to. Bluesky: how to connect it (credentials)."
    ),
    responses=errors(404),
)
def start_connect(platform: PlatformName, body: Annotated[ConnectStartRequest | None, Body()] = None) -> dict[str, Any]:
    _known(platform)
    if platform == "bluesky":
        return {"method": "credentials", "fields": ["handle", "appPassword"]}
    _not_instagram(platform)
    request = body or ConnectStartRequest()
    started = oauth_service().start(
        caller(router).workspace_id,
        platform,
        profile_id=request.profile_id,
        redirect_uri=request.redirect_uri,
        extended_scopes=request.extended_scopes,
        request_base_url=_request_base_url(),
    )
    return ConnectStartResponse(
        authorization_url=started.authorization_url, state=started.state, expires_at=started.expires_at
    ).body()


@router.post(
    "/connect/<platform>/complete",
    summary="Finish a connect flow",
    description="OAuth platforms: `{profileId?, code, state}`. Bluesky: `{profileId?, handle, appPassword, service?}`.",
    responses={201: {"description": "Connected"}, 200: {"description": "Reconnected"}, **errors(404, 409)},
)
def complete_connect(platform: PlatformName, body: Annotated[CompleteConnectRequest, Body()]) -> Response[str]:
    _known(platform)
    workspace_id = caller(router).workspace_id
    if platform == "bluesky":
        for name, value in (("code", body.code), ("state", body.state)):
            if value is not None:
                raise ValidationFailedError(f"Bluesky connects with credentials, not {name}.", rule=name, field=name)
        result = account_service().connect_with_credentials(
            workspace_id,
            platform=platform,
            profile_id=body.profile_id,
            credentials={
                "handle": _required(body.handle, "handle"),
                "appPassword": _required(body.app_password, "appPassword"),
            },
            service=body.service,
        )
        return _connect_response(result)
    _not_instagram(platform)
    for name, value in (("handle", body.handle), ("appPassword", body.app_password), ("service", body.service)):
        if value is not None:
            raise ValidationFailedError(f"{platform} connects with an OAuth code, not {name}.", rule=name, field=name)
    result = oauth_service().complete(
        workspace_id,
        platform,
        code=_required(body.code, "code"),
        state=_required(body.state, "state"),
        profile_id=body.profile_id,
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
