"""The two Lambda layers: the shared ``crosspost`` package and the third-party dependencies."""

from __future__ import annotations

import compileall
import py_compile
import shutil
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
SHARED_LAYER_DIR = ROOT / "layers" / "shared"
DEPS_LAYER_DIR = ROOT / "layers" / "deps"
RUNTIME = lambda_.Runtime.PYTHON_3_11
ARCHITECTURE = lambda_.Architecture.X86_64
RUNTIME_PYTHON = (3, 11)
LAMBDA_LAYER_PATH = "/opt/python"

# Only python/ is a layer's content (build.py and READMEs stay out). The shared package's host
# bytecode and editable-install metadata stay out too: they change on every local run and would
# change the asset hash.
HOST_LEFTOVERS = ("__pycache__", "*.pyc", "*.egg-info")
SHARED_EXCLUDES = ["*", "!python", "!python/**", *(f"**/{pattern}" for pattern in HOST_LEFTOVERS)]
DEPS_EXCLUDES = ["*", "!python", "!python/**"]


@jsii.implements(ILocalBundling)
class _PrecompiledPackage:
    """Copies a layer's python/ and precompiles it, in-process (no Docker).

    Lambda cannot write bytecode under /opt, so a layer without .pyc files is compiled again on
    every cold start. CDK zips assets with a fixed file date, which would make timestamp-checked
    .pyc files look stale: the bytecode is unchecked-hash, like the dependencies layer's
    (layers/deps/build.py).
    """

    def __init__(self, source: Path) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        target = Path(output_dir) / "python"
        shutil.copytree(self._source / "python", target, ignore=shutil.ignore_patterns(*HOST_LEFTOVERS))
        if sys.version_info[:2] == RUNTIME_PYTHON:  # bytecode is version specific
            compileall.compile_dir(
                target,
                ddir=LAMBDA_LAYER_PATH,  # tracebacks name the files where Lambda mounts them
                quiet=2,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        return True


class LayersConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        deps_python = DEPS_LAYER_DIR / "python"
        if not deps_python.is_dir():
            raise FileNotFoundError(f"{deps_python} is missing: build it first with `python layers/deps/build.py`")
        # Lambda unpacks layers under /opt; a python/ folder at the root lands on sys.path.
        self.shared = lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(
                str(SHARED_LAYER_DIR),
                exclude=SHARED_EXCLUDES,
                bundling=BundlingOptions(
                    # Never pulled: the local bundler always succeeds.
                    image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.11"),
                    local=_PrecompiledPackage(SHARED_LAYER_DIR),
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="crosspost shared package (models, stores, platform adapters, settings)",
        )
        self.deps = lambda_.LayerVersion(
            self,
            "DepsLayer",
            # build.py already precompiled it (unchecked-hash bytecode for CPython 3.11).
            code=lambda_.Code.from_asset(str(DEPS_LAYER_DIR), exclude=DEPS_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="crosspost third-party dependencies (manylinux2014_x86_64 wheels for CPython 3.11)",
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.deps, self.shared]
