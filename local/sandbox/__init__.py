"""Simulated platforms ("sandbox") for the local stack and the integration tests.

One HTTP server, in-process: each platform under ``/{platform}/...``, control endpoints under
``/_sandbox/...`` (read-back, faults, reset). See README.md in this folder.
"""

from __future__ import annotations

from typing import Final

from local.sandbox import bluesky
from local.sandbox.server import SandboxServer, start_sandbox

# The seeded accounts the local stack writes to ``sandboxAccounts`` in .crosspost/local.json.
SANDBOX_ACCOUNTS: Final = {"bluesky": dict(bluesky.SEED_ACCOUNT)}

__all__ = ["SANDBOX_ACCOUNTS", "SandboxServer", "start_sandbox"]
