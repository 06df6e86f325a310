"""Build the third-party dependencies layer (layers/deps/python/) without Docker.

Lambda runs Amazon Linux on x86_64, so the wheels must be the manylinux ones for CPython 3.11
whatever machine builds the layer: pip is asked for that platform explicitly and for binary
wheels only (a source build would compile for the host). The dependency list is the runtime
``[project].dependencies`` of pyproject.toml, so the layer and the local virtualenv agree.

The build is idempotent and safe to run concurrently (pytest-xdist workers, ``make layer``):
a stamp records the hash of what was built, a file lock serialises builders, and the new tree
is installed next to the old one and swapped in with renames, so a reader never sees half a
layer.

Usage: ``python layers/deps/build.py [--force]``
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import fcntl
import hashlib
import json
import py_compile
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = Path(__file__).resolve().parent
TARGET = LAYER_DIR / "python"
# Inside the git-ignored target, so a fresh clone (no target) always builds.
STAMP = TARGET / ".build-stamp.json"
CACHE_DIR = ROOT / ".cache"
PIP_CACHE = CACHE_DIR / "pip"
LOCK_FILE = CACHE_DIR / "deps-layer.lock"

# Lambda's python3.11 runtime: Amazon Linux 2, glibc 2.26, hence manylinux2014 (glibc 2.17) and older.
PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.11"
IMPLEMENTATION = "cp"
# Bytecode the runtime uses without looking at the source: CDK zips assets with a fixed file date,
# so timestamp-checked .pyc files (pip's default) would all look stale in Lambda and every cold
# start would compile the dependencies again (/opt is read-only, nothing is cached).
BYTECODE = "unchecked-hash"
LAMBDA_LAYER_PATH = "/opt/python"


def runtime_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirement strings of ``[project].dependencies``, as written."""
    with pyproject.open("rb") as f:
        data = tomllib.load(f)
    deps = data["project"]["dependencies"]
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise SystemExit("pyproject.toml [project].dependencies must be a list of strings")
    return list(deps)


def build_fingerprint(deps: list[str]) -> str:
    """What the built tree depends on: the requirements and the target platform."""
    payload = {
        "deps": sorted(deps),
        "platform": PLATFORM,
        "python": PYTHON_VERSION,
        "impl": IMPLEMENTATION,
        "bytecode": BYTECODE,
        "bytecode_dir": LAMBDA_LAYER_PATH,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def is_current(fingerprint: str) -> bool:
    try:
        recorded = json.loads(STAMP.read_text())["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(recorded == fingerprint)


@contextlib.contextmanager
def exclusive_lock() -> Iterator[None]:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pip_install(deps: list[str], target: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        # Bytecode is compiled below, independent of file dates.
        "--no-compile",
        "--cache-dir",
        str(PIP_CACHE),
        "--platform",
        PLATFORM,
        "--implementation",
        IMPLEMENTATION,
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--target",
        str(target),
        *deps,
    ]
    subprocess.run(command, check=True)  # noqa: S603 (fixed argv, no shell)


def prune(tree: Path) -> None:
    """Drop the console scripts: nothing in Lambda runs them."""
    shutil.rmtree(tree / "bin", ignore_errors=True)


def compile_bytecode(tree: Path) -> None:
    """Precompile for the runtime's Python, with hashes instead of source dates (see BYTECODE)."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != PYTHON_VERSION:
        # Bytecode is version specific; without it the layer still works, only colder.
        print(f"not precompiling: this is Python {running}, the runtime is {PYTHON_VERSION}", file=sys.stderr)
        return
    # A file that does not compile (a py2-only test module, say) is skipped, as pip would.
    compileall.compile_dir(
        tree,
        # The path Lambda mounts the layer at: tracebacks name real files, and the bytecode does
        # not embed the temporary build folder, so rebuilding the same wheels gives the same bytes
        # (and the same asset hash: no new layer version for nothing).
        ddir=LAMBDA_LAYER_PATH,
        quiet=2,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def build(force: bool = False) -> bool:
    """Build the layer if it is missing or stale. Returns True if it built, False if it was current."""
    deps = runtime_dependencies()
    fingerprint = build_fingerprint(deps)
    if not force and is_current(fingerprint):
        return False
    with exclusive_lock():
        # Another process may have built it while this one waited for the lock.
        if not force and is_current(fingerprint):
            return False
        started = time.monotonic()
        # Staged under the git-ignored .cache on the same file system, so the swap is a rename.
        staging = Path(tempfile.mkdtemp(prefix="deps-layer-", dir=CACHE_DIR))
        try:
            pip_install(deps, staging)
            prune(staging)
            compile_bytecode(staging)
            (staging / STAMP.name).write_text(
                json.dumps({"fingerprint": fingerprint, "dependencies": sorted(deps)}, indent=2) + "\n"
            )
            # Swap: rename the old tree out of the way, the new one in, then delete the old one.
            retired = CACHE_DIR / f"{staging.name}-retired"
            if TARGET.exists():
                TARGET.rename(retired)
            staging.rename(TARGET)
            shutil.rmtree(retired, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"deps layer built in {time.monotonic() - started:.1f}s: {TARGET}", file=sys.stderr)
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even if the stamp is current")
    args = parser.parse_args(argv)
    if not build(force=args.force):
        print(f"deps layer is up to date: {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
