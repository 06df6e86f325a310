"""Tenant isolation: another workspace's key gets 404 and no data, on every route that takes an id.

The walk is driven by ``crosspost.resources.API_FUNCTIONS``: a new route with an ``{id}`` is
walked automatically, and a new kind of id (``/v1/<kind>/{id}``) fails here until the test
knows how to create one. Lists are checked too: filters naming another workspace's profile or
account return nothing, and a cursor from another workspace's listing is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crosspost.clock import iso
from crosspost.resources import API_FUNCTIONS, Route
from local.sandbox import bluesky as sandbox_bluesky
from tests.integration.harness import ApiClient, HttpResponse

_ID_PARAM = re.compile(r"\{(\w+)\}")


def _future(hours: int) -> str:
    return iso(datetime.now(UTC) + timedelta(hours=hours))


def id_routes() -> list[Route]:
    """Every authenticated route whose path names a resource by id (not just a platform)."""
    return [
        route
        for fn in API_FUNCTIONS
        for route in fn.routes
        if route.auth and any(name != "platform" for name in _ID_PARAM.findall(route.path))
    ]


def _kind(route: Route) -> str:
    return route.path.split("/")[2]  # /v1/<kind>/{id}...


# Bodies that pass validation, so the answer is about the id and not about the body.
_BODIES: dict[tuple[str, str], Callable[[], Any]] = {
    ("PATCH", "/v1/posts/{id}"): lambda: {"scheduledAt": _future(3)},
}


class Owner:
    """Workspace A with one of everything, and the values that must never reach workspace B."""

    def __init__(self, api: ApiClient, workspace: dict[str, str]) -> None:
        self.api = api
        connected = api.post(
            "/v1/accounts/connect",
            {
                "platform": "bluesky",
                "credentials": {
                    "handle": sandbox_bluesky.SEED_HANDLE,
                    "appPassword": sandbox_bluesky.SEED_APP_PASSWORD,
                },
            },
        )
        assert connected.status == 201, connected.json
        self.account = connected.json
        post = {"account": {"platform": "bluesky", "id": self.account["id"]}}
        self.queued = api.post("/v1/posts", {**post, "text": "A's private plan 7f3a", "scheduledAt": _future(2)}).json
        self.published = api.post(
            "/v1/posts", {**post, "text": "A's public words 9c1d"}, headers={"Idempotency-Key": "a-1"}
        )
        assert self.published.status == 201, self.published.json
        self.profile = api.post("/v1/profiles", {"name": "A secret brand e4b2"}).json
        self.key = api.post("/v1/api-keys", {"name": "A ci key 5d8e"}).json
        self.ids: dict[str, list[str]] = {
            "accounts": [self.account["id"]],
            "posts": [self.queued["id"], self.published.json["id"]],
            "profiles": [self.profile["id"]],
            "api-keys": [self.key["id"]],
        }
        if any(_kind(route) == "media" for route in id_routes()):  # arrives with the media issue
            media = api.post("/v1/media", {"kind": "image", "contentType": "image/png", "bytesBase64": _PNG})
            assert media.status == 201, media.json
            self.ids["media"] = [media.json["id"]]
        self.workspace_id = workspace["workspaceId"]

    @property
    def tell_tales(self) -> list[str]:
        """Values only workspace A knows: none may appear in B's responses."""
        return [
            self.workspace_id,
            self.account["id"],
            self.account["platformAccountId"],
            self.account["username"],
            self.account["profileId"],
            self.queued["text"],
            self.published.json["text"],
            self.profile["name"],
            self.key["name"],
            self.key["prefix"],
            *(i for ids in self.ids.values() for i in ids),
        ]

    def assert_untouched(self) -> None:
        api = self.api
        assert api.get(f"/v1/accounts/{self.account['id']}").status == 200
        assert api.get(f"/v1/posts/{self.queued['id']}").json["status"] == "queued"
        assert api.get(f"/v1/posts/{self.queued['id']}").json["scheduledAt"] == self.queued["scheduledAt"]
        assert api.get(f"/v1/posts/{self.published.json['id']}").json["status"] == "published"
        assert api.get(f"/v1/profiles/{self.profile['id']}").status == 200
        assert api.with_key(self.key["key"]).get("/v1/profiles").status == 200


_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


@pytest.fixture
def owner(api: ApiClient, workspace: dict[str, str], with_sandbox: Any) -> Owner:
    return Owner(api, workspace)


@pytest.fixture
def intruder(owner: Owner) -> ApiClient:
    from crosspost.admin import mint_workspace_key

    return ApiClient(mint_workspace_key("intruder")["apiKey"])


def _assert_reveals_nothing(response: HttpResponse, owner: Owner, what: str) -> None:
    leaked = [value for value in owner.tell_tales if value in response.text]
    assert not leaked, f"{what} revealed {leaked}: {response.text}"


def test_the_walk_covers_every_id_route_of_the_api() -> None:
    routes = id_routes()
    kinds = {_kind(route) for route in routes}
    assert {"accounts", "posts", "profiles", "api-keys"} <= kinds
    assert kinds <= {"accounts", "posts", "profiles", "api-keys", "media"}, (
        f"a new kind of id-bearing route ({kinds}): teach Owner to create one"
    )


def test_given_another_workspaces_ids_then_every_id_route_answers_404_and_nothing_changes(
    owner: Owner, intruder: ApiClient
) -> None:
    walked = []
    for route in id_routes():
        for resource_id in owner.ids[_kind(route)]:
            path = _ID_PARAM.sub(lambda m, rid=resource_id: rid if m.group(1) != "platform" else "bluesky", route.path)
            body = _BODIES.get((route.method, route.path), lambda: None)()
            response = intruder.request(route.method, path, body)
            what = f"{route.method} {path}"
            assert response.status == 404, f"{what}: {response.status} {response.text}"
            assert response.json["error"]["code"] == "not_found", what
            _assert_reveals_nothing(response, owner, what)
            walked.append(what)
    assert len(walked) >= len(id_routes())
    owner.assert_untouched()


def test_given_another_workspaces_ids_in_filters_and_bodies_then_lists_are_empty_and_writes_404(
    owner: Owner, intruder: ApiClient
) -> None:
    account_id, profile_id = owner.account["id"], owner.profile["id"]
    empty_lists = {
        "/v1/accounts": [f"profileId={profile_id}", f"profileId={owner.account['profileId']}", "platform=bluesky"],
        "/v1/posts": [f"accountId={account_id}", f"profileId={owner.account['profileId']}", "status=queued"],
    }
    for path, queries in empty_lists.items():
        for query in queries:
            response = intruder.get(path, query=query)
            assert response.status == 200, (path, query)
            items = response.json["accounts" if path.endswith("accounts") else "posts"]
            assert items == [] and response.json["nextCursor"] is None, (path, query)
    post = {"account": {"platform": "bluesky", "id": account_id}, "text": "hijack"}
    for path, body, headers in (
        ("/v1/posts", post, {}),
        ("/v1/posts", post, {"Idempotency-Key": "a-1"}),  # A's key: not a replay of A's answer
        ("/v1/posts/validate", post, {}),
        (
            "/v1/accounts/connect",
            {
                "platform": "bluesky",
                "profileId": profile_id,
                "credentials": {"handle": "x.test", "appPassword": "aaaa-bbbb-cccc-dddd"},
            },
            {},
        ),
    ):
        response = intruder.post(path, body, headers=headers)
        assert response.status == 404, (path, response.text)
        _assert_reveals_nothing(response, owner, path)
    owner.assert_untouched()


def test_given_every_list_route_then_another_workspace_sees_none_of_its_items(
    owner: Owner, intruder: ApiClient
) -> None:
    lists = [
        route.path
        for fn in API_FUNCTIONS
        for route in fn.routes
        if route.auth and route.method == "GET" and "{" not in route.path
    ]
    assert {"/v1/accounts", "/v1/posts", "/v1/profiles", "/v1/api-keys"} <= set(lists)
    for path in lists:
        response = intruder.get(path)
        assert response.status == 200, path
        _assert_reveals_nothing(response, owner, f"GET {path}")


def test_given_a_cursor_from_another_workspaces_listing_then_it_is_refused(owner: Owner, intruder: ApiClient) -> None:
    owner.api.post("/v1/profiles", {"name": "another"})
    for path in ("/v1/profiles", "/v1/posts", "/v1/api-keys"):
        page = owner.api.get(path, query="limit=1").json
        cursor = page["nextCursor"]
        assert cursor, path
        response = intruder.get(path, query=f"limit=1&cursor={cursor}")
        assert (response.status, response.json["error"]["rule"]) == (400, "cursor"), path
        _assert_reveals_nothing(response, owner, f"GET {path} with A's cursor")
        decoded = json.dumps(response.json)
        assert cursor not in decoded
