"""``make key``: mint an API key for a NEW workspace on the running local stack.

    python -m local.key [--state-file .crosspost/local.json] [--name NAME]

Prints one line of JSON, ``{"apiKey": "...", "workspaceId": "..."}``. It writes straight to the
running stack's moto (``awsEndpointUrl`` and ``env`` of the connection file), the way the deployed
stack's admin command writes to DynamoDB with the operator's credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from local import connection
from local.aws import aws_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.key", description="Mint a key for a new workspace.")
    parser.add_argument("--state-file", type=Path, default=connection.DEFAULT_PATH)
    parser.add_argument("--name", default="local")
    args = parser.parse_args(argv)
    try:
        info = connection.read(args.state_file)
    except connection.StaleConnectionError as exc:
        print(f"make key: {exc}", file=sys.stderr)
        return 1
    # Before crosspost reads its settings: point it at the running stack's tables.
    os.environ.update({**aws_environment(info["awsEndpointUrl"]), **info["env"]})
    from crosspost.admin import mint_workspace_key

    key = mint_workspace_key(args.name)
    sys.stdout.write(json.dumps({"apiKey": key["apiKey"], "workspaceId": key["workspaceId"]}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
