"""Operator commands that run with the operator's own AWS credentials.

    python -m crosspost.admin mint-key [--name NAME]

creates a new workspace (with its ``default`` profile) and prints its first API key once, as one
line of JSON: {"apiKey": "...", "workspaceId": "..."}. The table names come from the same
environment variables the functions read (see the README for the deployed stack's outputs).
"""

from __future__ import annotations

import argparse
import json
import sys

from crosspost.composition import dependencies
from crosspost.services.workspaces import create_api_key, create_workspace


def mint_workspace_key(name: str = "first key") -> dict[str, str]:
    deps = dependencies()
    workspace_id, _ = create_workspace(deps.workspaces)
    _, plaintext = create_api_key(deps.api_keys, workspace_id, name)
    return {"apiKey": plaintext, "workspaceId": workspace_id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crosspost.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint-key", help="create a workspace and print its first API key")
    mint.add_argument("--name", default="first key")
    args = parser.parse_args(argv)
    if args.command == "mint-key":
        sys.stdout.write(json.dumps(mint_workspace_key(args.name)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
