"""Fuzzing the running local stack from the spec it serves (schemathesis, API.md "Conventions").

Every operation of ``GET /v1/openapi.json`` gets a fixed number of generated requests, valid
ones (positive) and schema-violating ones (negative), with a fixed seed, so a run is
reproducible and bounded (about half a minute). Every response must be:

- no 5xx (``not_a_server_error``);
- a documented status (``status_code_conformance``): the spec lists the real statuses;
- the documented content type and headers (429 carries Retry-After);
- a body that validates against the documented schema (``response_schema_conformance``): the
  spec documents the real success bodies, and every error is the envelope.

Not run: ``negative_data_rejection``, because unknown query parameters are ignored by design (as
most HTTP APIs do; a cache-buster must not break a list call), and ``positive_data_acceptance``,
because schema-valid requests legitimately meet 404s and preflight 400s (random ids, 500 000
character posts).
"""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.helpers import RunningStack

pytestmark = pytest.mark.e2e

SEED = 20261124
EXAMPLES_PER_OPERATION_AND_MODE = 20
# A guard, not the plan: at 15–50 ms a case the run takes 10–40 s.
BUDGET_SECONDS = 60.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("- ")]
    return lines[0] if lines else text.splitlines()[0][:200] if text else type(exc).__name__


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    session: requests.Session,
    headers: dict[str, str],
    failures: collections.Counter[tuple[str, str, str]],
    details: dict[tuple[str, str, str], str],
    statuses: collections.Counter[int],
) -> Any:
    """A seeded, shrink-free hypothesis run of one operation in one generation mode."""

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # report, do not shrink (time)
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        try:
            response = case.call_and_validate(session=session, headers=headers, checks=CHECKS)
            statuses[response.status_code] += 1
        except BaseException as exc:  # schemathesis raises a FailureGroup (an exception group)
            if isinstance(exc, KeyboardInterrupt):
                raise
            key = (operation.label, mode.value, _first_line(exc))
            failures[key] += 1
            details.setdefault(key, str(exc)[:2000])

    return run


def test_given_the_served_spec_when_fuzzed_then_no_5xx_and_every_response_conforms(
    local_stack: RunningStack, workspace: dict[str, str], report: Any
) -> None:
    schema = schemathesis.openapi.from_url(f"{local_stack.base_url}/v1/openapi.json")
    headers = {"Authorization": f"Bearer {workspace['apiKey']}"}
    session = requests.Session()
    session.trust_env = False
    failures: collections.Counter[tuple[str, str, str]] = collections.Counter()
    details: dict[tuple[str, str, str], str] = {}
    statuses: collections.Counter[int] = collections.Counter()
    operations = 0
    started = time.monotonic()
    skipped: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > BUDGET_SECONDS:
                skipped.append(f"{operation.label} ({mode.value})")
                continue

            _fuzz(operation, mode, session, headers, failures, details, statuses)()

    seconds = time.monotonic() - started
    cases = sum(statuses.values()) + sum(failures.values())
    summary = (
        f"{cases} cases over {operations} operations (positive + negative, {EXAMPLES_PER_OPERATION_AND_MODE} "
        f"each, seed {SEED}) in {seconds:.1f} s; statuses: "
        + ", ".join(f"{status}×{n}" for status, n in sorted(statuses.items()))
        + (f"; skipped at the time budget: {', '.join(skipped)}" if skipped else "")
    )
    print(f"schemathesis: {summary}")
    report("schemathesis fuzz of the local stack", summary)
    assert not failures, "\n\n".join(f"{k} ×{failures[k]}:\n{v}" for k, v in details.items())
    assert cases >= operations  # every operation was exercised
    assert 200 in statuses and 400 in statuses and 404 in statuses


def test_given_a_response_that_breaks_the_spec_then_the_checks_catch_it(local_stack: RunningStack) -> None:
    """The conformance checks are live: a wrong body for a documented 200 fails them."""
    schema = schemathesis.openapi.from_url(f"{local_stack.base_url}/v1/openapi.json")
    operation = schema["/v1/profiles"]["GET"]
    case = operation.Case()
    fake = requests.Response()
    fake.status_code = 200
    fake.headers["Content-Type"] = "application/json"
    fake._content = b'{"profiles": "not a list"}'
    fake.url = f"{local_stack.base_url}/v1/profiles"
    fake.request = requests.Request("GET", fake.url).prepare()
    with pytest.raises(BaseException) as caught:
        case.validate_response(fake, checks=[response_schema_conformance])
    assert "profiles" in str(caught.value) or "schema" in str(caught.value).lower()
