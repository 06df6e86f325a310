"""The API's edges, through the real handler: auth, errors, profiles, API keys, the spec."""

from __future__ import annotations

from tests.integration.harness import ApiClient


def test_every_response_carries_a_request_id_and_errors_repeat_it(api: ApiClient) -> None:
    response = api.get("/v1/posts/post_missing")
    assert response.status == 404
    assert response.headers["x-request-id"].startswith("req_")
    assert response.json["error"]["requestId"] == response.headers["x-request-id"]
    assert response.json["error"]["code"] == "not_found"


def test_missing_malformed_and_unknown_keys_are_401(api: ApiClient) -> None:
    for header in (None, "Basic abc", "Bearer nope", "Bearer cp_live_" + "x" * 43):
        client = api.with_key(None)
        headers = {"authorization": header} if header else {}
        response = client.get("/v1/profiles", headers=headers)
        assert response.status == 401, header
        assert response.json["error"]["code"] == "unauthenticated"


def test_unauthenticated_request_with_a_bad_body_is_401_not_400(api: ApiClient) -> None:
    response = api.with_key(None).post("/v1/posts", raw_body="{not json")
    assert response.status == 401


def test_malformed_json_is_400_body_json(api: ApiClient) -> None:
    response = api.post("/v1/profiles", raw_body="{not json")
    assert response.status == 400
    error = response.json["error"]
    assert (error["code"], error["rule"]) == ("validation_failed", "body.json")


def test_missing_fields_name_the_field_as_rule(api: ApiClient) -> None:
    response = api.post("/v1/posts", {"account": {"platform": "bluesky"}})
    assert response.status == 400
    rules = {d["rule"] for d in response.json["error"]["details"]}
    assert {"account.id", "text"} <= rules


def test_a_timestamp_without_zone_is_refused(api: ApiClient) -> None:
    body = {"account": {"platform": "bluesky", "id": "x"}, "text": "hi", "scheduledAt": "2030-01-01T10:00:00"}
    response = api.post("/v1/posts", body)
    assert response.status == 400
    assert response.json["error"]["rule"] == "scheduledAt"


def test_bad_query_parameters_are_400(api: ApiClient) -> None:
    response = api.get("/v1/posts", query="limit=0")
    assert response.status == 400
    assert response.json["error"]["rule"] == "limit"
    assert api.get("/v1/posts", query="cursor=garbage!!").status == 400


def test_body_over_5_mb_is_413_with_the_envelope(api: ApiClient) -> None:
    response = api.post("/v1/profiles", raw_body='{"name": "' + "a" * (5 * 1024 * 1024) + '"}')
    assert response.status == 413
    assert response.json["error"]["rule"] == "body.too_large"


def test_new_workspace_has_one_default_profile(api: ApiClient) -> None:
    profiles = api.get("/v1/profiles").json["profiles"]
    assert [p["name"] for p in profiles] == ["default"]


def test_profiles_lifecycle_and_the_last_profile_rule(api: ApiClient) -> None:
    created = api.post("/v1/profiles", {"name": "brand"})
    assert created.status == 201
    profile_id = created.json["id"]
    assert api.get(f"/v1/profiles/{profile_id}").json["name"] == "brand"
    assert api.delete(f"/v1/profiles/{profile_id}").status == 204
    assert api.get(f"/v1/profiles/{profile_id}").status == 404
    default_id = api.get("/v1/profiles").json["profiles"][0]["id"]
    last = api.delete(f"/v1/profiles/{default_id}")
    assert (last.status, last.json["error"]["rule"]) == (409, "profile.last")


def test_profile_pagination_walks_every_item_once(api: ApiClient) -> None:
    for i in range(4):
        api.post("/v1/profiles", {"name": f"p{i}"})
    seen, cursor = [], None
    while True:
        page = api.get("/v1/profiles", query="limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [p["name"] for p in page["profiles"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(["default", "p0", "p1", "p2", "p3"])


def test_api_keys_plaintext_once_and_revocation(api: ApiClient) -> None:
    created = api.post("/v1/api-keys", {"name": "ci"})
    assert created.status == 201
    key = created.json["key"]
    assert key.startswith("cp_live_") and created.json["prefix"] == key[:12]
    listed = api.get("/v1/api-keys").json["apiKeys"]
    assert all("key" not in k for k in listed) and key not in str(listed)
    second = api.with_key(key)
    assert second.get("/v1/profiles").status == 200
    assert api.delete(f"/v1/api-keys/{created.json['id']}").status == 204
    # the revoked key is refused once its cache entry (seconds) lapses; a fresh process sees it at once
    from crosspost.api.services import reset_services

    reset_services()
    assert second.get("/v1/profiles").status == 401


def test_another_workspaces_ids_are_404(api: ApiClient, aws: dict[str, str]) -> None:
    from crosspost.admin import mint_workspace_key

    other = ApiClient(mint_workspace_key("other")["apiKey"])
    profile_id = api.post("/v1/profiles", {"name": "mine"}).json["id"]
    key_id = api.post("/v1/api-keys", {"name": "mine"}).json["id"]
    assert other.get(f"/v1/profiles/{profile_id}").status == 404
    assert other.delete(f"/v1/profiles/{profile_id}").status == 404
    assert other.delete(f"/v1/api-keys/{key_id}").status == 404


def test_openapi_documents_every_route_with_400_not_422(api: ApiClient) -> None:
    from crosspost.resources import API_FUNCTIONS

    spec = api.with_key(None).get("/v1/openapi.json")
    assert spec.status == 200
    paths = spec.json["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    for fn in API_FUNCTIONS:
        for route in fn.routes:
            if route.path == "/docs":
                continue
            normalized = {
                (
                    m,
                    p.replace("{profile_id}", "{id}")
                    .replace("{key_id}", "{id}")
                    .replace("{account_id}", "{id}")
                    .replace("{post_id}", "{id}")
                    .replace("{media_id}", "{id}"),
                )
                for m, p in documented
            }
            assert (route.method, route.path) in normalized, route
    text = spec.text
    assert '"422"' not in text and "HTTPValidationError" not in text
    assert api.with_key(None).get("/docs").status == 200
