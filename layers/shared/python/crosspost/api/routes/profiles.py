"""/v1/profiles"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from crosspost.api.routes.common import Cursor, Limit, errors, json_response, no_content
from crosspost.api.services import caller
from crosspost.composition import dependencies
from crosspost.models.api.profiles import NameRequest, ProfileResponse
from crosspost.services import workspaces

router = Router()
ProfileId = Annotated[str, Path(max_length=64)]


@router.post("/", summary="Create a profile", responses={201: {"description": "Created"}, **errors()})
def create_profile(body: Annotated[NameRequest, Body()]) -> Response[str]:
    profile = workspaces.create_profile(dependencies().workspaces, caller(router).workspace_id, body.name)
    return json_response(201, ProfileResponse.from_domain(profile).body())


@router.get("/", summary="List profiles", responses=errors())
def list_profiles(limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    items, next_cursor = dependencies().workspaces.list_profiles(
        caller(router).workspace_id, limit=limit, cursor=cursor
    )
    return {"profiles": [ProfileResponse.from_domain(p).body() for p in items], "nextCursor": next_cursor}


@router.get("/<profile_id>", summary="Get a profile", responses=errors(404))
def get_profile(profile_id: ProfileId) -> dict[str, Any]:
    profile = workspaces.get_profile(dependencies().workspaces, caller(router).workspace_id, profile_id)
    return ProfileResponse.from_domain(profile).body()


@router.delete(
    "/<profile_id>",
    summary="Delete an empty profile",
    responses={204: {"description": "Deleted"}, **errors(404, 409)},
)
def delete_profile(profile_id: ProfileId) -> Response[str]:
    deps = dependencies()
    workspaces.delete_profile(deps.workspaces, deps.accounts, caller(router).workspace_id, profile_id)
    return no_content()
