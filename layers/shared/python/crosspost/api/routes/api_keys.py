"""/v1/api-keys"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from crosspost.api.routes.common import Cursor, Limit, errors, json_response, no_content
from crosspost.api.services import caller
from crosspost.composition import dependencies
from crosspost.models.api.profiles import ApiKeyResponse, CreatedApiKeyResponse, NameRequest
from crosspost.services import workspaces

router = Router()


@router.post(
    "/",
    summary="Create an API key (its plaintext is shown only here)",
    responses={201: {"description": "Created"}, **errors()},
)
def create_key(body: Annotated[NameRequest, Body()]) -> Response[str]:
    key, plaintext = workspaces.create_api_key(dependencies().api_keys, caller(router).workspace_id, body.name)
    response = CreatedApiKeyResponse(**ApiKeyResponse.from_domain(key).model_dump(), key=plaintext)
    return json_response(201, response.body(), {"Cache-Control": "no-store"})


@router.get("/", summary="List API keys", responses=errors())
def list_keys(limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    keys, next_cursor = dependencies().api_keys.list_page(caller(router).workspace_id, limit=limit, cursor=cursor)
    return {"apiKeys": [ApiKeyResponse.from_domain(k).body() for k in keys], "nextCursor": next_cursor}


@router.delete("/<key_id>", summary="Revoke an API key", responses={204: {"description": "Revoked"}, **errors(404)})
def revoke_key(key_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    workspaces.revoke_api_key(dependencies().api_keys, caller(router).workspace_id, key_id)
    return no_content()
