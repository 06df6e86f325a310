"""Synthesize the CDK stack once per test session (per xdist worker that needs it)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.application import create_app
from infra.stack import CrosspostStack


@dataclass(frozen=True)
class Synthesized:
    stack: CrosspostStack
    template: Template
    resources: dict[str, dict[str, Any]]
    template_path: Path
    seconds: float

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L2 construct's CloudFormation resource."""
        return self.stack.get_logical_id(construct.node.default_child)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack as `cdk synth` builds it (cdk.json context, cdk-nag aspect), minus asset staging.

    create_app builds layers/deps/python first if it is missing or stale (pip, file-locked, so
    xdist workers can race safely). Asset staging only copies the asset folders into the output
    directory; skipping it halves the synth time and changes nothing in the template.
    """
    outdir = tmp_path_factory.mktemp("cdk.out")
    started = time.perf_counter()
    _, stack = create_app(outdir=str(outdir), context={"aws:cdk:disable-asset-staging": True})
    template = Template.from_stack(stack)
    seconds = time.perf_counter() - started
    template_json = template.to_json()
    template_path = outdir / "template.json"
    template_path.write_text(json.dumps(template_json))
    return Synthesized(
        stack=stack,
        template=template,
        resources=template_json["Resources"],
        template_path=template_path,
        seconds=seconds,
    )
