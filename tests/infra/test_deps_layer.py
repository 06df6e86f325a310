"""The dependencies layer holds wheels Lambda's python3.11 x86_64 runtime can load.

pip runs on whatever machine builds the layer; these checks prove it fetched manylinux wheels
for CPython 3.11 instead of whatever suits the host.
"""

from __future__ import annotations

import importlib.util
import marshal
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from infra.application import ROOT, deps_build_module

LAYER_PYTHON = ROOT / "layers" / "deps" / "python"
PURE_INTERPRETERS = {"py3", "py2.py3", "py311", "py31"}
MANYLINUX_X86_64 = re.compile(r"^manylinux(1|2010|2014|_2_\d+)_x86_64$")
ELF_MACHINE_X86_64 = 0x3E
UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, check_source off


@pytest.fixture(scope="module")
def build() -> ModuleType:
    """Build the layer if needed (file-locked: safe while another xdist worker synthesizes)."""
    module = deps_build_module()
    module.build()
    return module


def _wheel_tags(dist_info: Path) -> list[tuple[str, str, str]]:
    lines = (dist_info / "WHEEL").read_text().splitlines()
    tags = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]
    assert tags, f"{dist_info.name} has no Tag line"
    result: list[tuple[str, str, str]] = []
    for tag in tags:
        interpreter, abi, platforms = tag.split("-")
        result.extend((interpreter, abi, platform) for platform in platforms.split("."))
    return result


def _acceptable(interpreter: str, abi: str, platform: str) -> bool:
    if abi == "none" and platform == "any":
        return True  # pure Python (py2 tags ride along with py3 ones, checked below)
    if not MANYLINUX_X86_64.match(platform):
        return False
    if abi == "cp311":
        return interpreter == "cp311"
    if abi == "abi3":  # stable ABI: built for CPython 3.x ≤ 3.11 loads on 3.11
        match = re.fullmatch(r"cp3(\d+)", interpreter)
        return match is not None and int(match.group(1)) <= 11
    return False


def _loads_on_cp311(interpreter: str, abi: str, platform: str) -> bool:
    return interpreter in PURE_INTERPRETERS or abi in {"cp311", "abi3"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def test_given_the_built_layer_then_every_wheel_is_pure_or_manylinux_x86_64_cp311(build: ModuleType) -> None:
    dist_infos = sorted(LAYER_PYTHON.glob("*.dist-info"))
    assert dist_infos
    for dist_info in dist_infos:
        tags = _wheel_tags(dist_info)
        assert all(_acceptable(*tag) for tag in tags), f"{dist_info.name}: {tags}"
        assert any(_loads_on_cp311(*tag) for tag in tags), f"{dist_info.name}: {tags}"


def test_given_the_built_layer_then_pydantic_core_is_the_manylinux_cp311_build(build: ModuleType) -> None:
    """pydantic_core is compiled: the wheel a host would pick for itself may not load in Lambda."""
    (dist_info,) = LAYER_PYTHON.glob("pydantic_core-*.dist-info")
    tags = _wheel_tags(dist_info)
    assert all(abi == "cp311" and MANYLINUX_X86_64.match(platform) for _, abi, platform in tags), tags
    extensions = list((LAYER_PYTHON / "pydantic_core").glob("*.so"))
    assert extensions, "pydantic_core ships a compiled extension"


def test_given_the_built_layer_then_every_extension_module_is_x86_64_linux_for_cp311(build: ModuleType) -> None:
    extensions = list(LAYER_PYTHON.rglob("*.so"))
    assert extensions
    for extension in extensions:
        # Extension modules carry their ABI in the name; a host build would say e.g. darwin or aarch64.
        assert re.search(r"\.(cpython-311-x86_64-linux-gnu|abi3)\.so$", extension.name), extension
        header = extension.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", extension
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_X86_64, extension


def test_given_pyproject_then_the_layer_holds_each_runtime_dependency_at_its_pin(build: ModuleType) -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        requirements = tomllib.load(f)["project"]["dependencies"]
    # "<name>-<version>.dist-info" → {normalized name: version}
    installed = dict(d.name.removesuffix(".dist-info").rsplit("-", 1) for d in LAYER_PYTHON.glob("*.dist-info"))
    installed = {_normalize(name): version for name, version in installed.items()}
    for requirement in requirements:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(?:==\s*([^;\s]+))?", requirement)
        assert match, requirement
        name, pin = _normalize(match.group(1)), match.group(2)
        assert name in installed, requirement
        if pin:
            assert installed[name] == pin, requirement


def test_given_a_current_layer_when_build_runs_again_then_it_skips(build: ModuleType) -> None:
    assert build.build() is False


def test_given_another_dependency_list_then_the_fingerprint_changes(build: ModuleType) -> None:
    deps = build.runtime_dependencies()
    assert build.build_fingerprint(deps) == build.build_fingerprint(list(reversed(deps)))
    assert build.build_fingerprint(deps) != build.build_fingerprint([*deps, "six==1.17.0"])


def test_given_the_built_layer_then_its_bytecode_is_valid_in_lambda(build: ModuleType) -> None:
    """CDK zips assets with a fixed file date: only hash-based, unchecked .pyc files stay usable."""
    pycs = list(LAYER_PYTHON.rglob("*.cpython-311.pyc"))
    assert pycs
    for pyc in pycs:
        data = pyc.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER, pyc
        assert int.from_bytes(data[4:8], "little") == UNCHECKED_HASH_FLAGS, pyc
    sample = next(p for p in pycs if p.parent.parent.name == "pydantic")
    code = marshal.loads(sample.read_bytes()[16:])  # noqa: S302 (bytecode this repo just built)
    assert code.co_filename.startswith("/opt/python/pydantic/"), code.co_filename
