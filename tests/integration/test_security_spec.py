"""The served spec states what the gate and the routes really answer (the fuzz test in
tests/e2e/test_fuzz.py holds every response to it): a success body on every operation, 401 and
429 (with Retry-After) wherever a key is needed, 413 wherever a body is read, 431 everywhere, and
the error envelope for every error status."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.harness import ApiClient

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


@pytest.fixture
def spec(aws: dict[str, str]) -> dict[str, Any]:
    response = ApiClient(None).get("/v1/openapi.json")
    assert response.status == 200
    return dict(response.json)


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_every_operation_documents_its_success_body(spec: dict[str, Any]) -> None:
    for name, operation in _operations(spec):
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{name} documents no success: add it to api/routes/docs.py _success_responses"
        for status, response in successes.items():
            if status == "204":
                assert "content" not in response, name
                continue
            if "text/html" in response["content"]:  # the OAuth browser callback answers people
                assert operation.get("security") == [], name
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema != {"type": "string", "title": "Return"}, f"{name} {status} is documented as a string"


def test_every_error_status_is_the_envelope(spec: dict[str, Any]) -> None:
    for name, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                if "text/html" in response["content"]:  # the OAuth browser callback's error pages
                    assert operation.get("security") == [], (name, status)
                    continue
                assert response["content"]["application/json"]["schema"] == ENVELOPE, (name, status)


def test_the_gates_statuses_are_documented_where_they_happen(spec: dict[str, Any]) -> None:
    for name, operation in _operations(spec):
        responses = operation["responses"]
        assert "431" in responses, name
        if operation.get("requestBody"):
            assert "413" in responses, name
        if operation.get("security") == []:
            assert "429" not in responses, name
            continue
        assert {"401", "429"} <= set(responses), name
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["minLength"] == 1, name


def test_the_spec_has_no_framework_defaults_left(spec: dict[str, Any]) -> None:
    text = str(spec)
    assert "'422'" not in text and "HTTPValidationError" not in text
    assert "ConnectedAccountResponse" in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["AccountResponse"]["properties"]["tokenStatus"]
