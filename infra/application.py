"""Build the CDK app: context from cdk.json, the stack, cdk-nag's AwsSolutions checks.

Shared by ``app.py`` (``cdk synth`` / ``python app.py``) and the infra tests, so both synthesize
the same thing.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks

from infra.config import CrosspostConfig, stack_name_from
from infra.stack import CrosspostStack

ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = ROOT / "cdk.json"
DEPS_BUILD_SCRIPT = ROOT / "layers" / "deps" / "build.py"


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context. The CDK CLI passes it itself; ``python app.py`` and tests need this."""
    context = json.loads(CDK_JSON.read_text()).get("context", {})
    assert isinstance(context, dict)
    return context


def deps_build_module() -> ModuleType:
    """layers/deps/build.py, which is a script in a layer folder rather than a package module."""
    spec = importlib.util.spec_from_file_location("crosspost_deps_layer_build", DEPS_BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_deps_layer() -> None:
    """Build layers/deps/python if it is missing or stale (a no-op taking milliseconds otherwise)."""
    deps_build_module().build()


def create_app(
    *, outdir: str | None = None, context: Mapping[str, Any] | None = None, build_layer: bool = True
) -> tuple[App, CrosspostStack]:
    if build_layer:
        ensure_deps_layer()
    # Explicit context wins over cdk.json; the CLI's (-c, cdk.context.json) wins over both.
    app = App(outdir=outdir, context={**cdk_json_context(), **(context or {})})
    config = CrosspostConfig.from_context(app.node)
    # No env: an environment-agnostic stack synthesizes without AWS credentials and deploys
    # to whatever account and region the deploy command targets.
    stack = CrosspostStack(
        app,
        stack_name_from(app.node),
        config=config,
        description="crosspost: self-hostable social-media posting API",
    )
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack
