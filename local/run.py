"""``make run``: start the embedded local stack in the foreground until Ctrl-C or SIGTERM.

    python -m local.run [--port 0] [--sandbox-port 0] [--aws-port 0] [--host 127.0.0.1]
                        [--state-file .crosspost/local.json] [--jitter] [--rate-interval S] [--quiet]

Prints the API's URL, an API key, the sandbox's Bluesky account and curl examples, and writes the
connection file once every part answers. SIGINT and SIGTERM both stop everything it started,
remove the connection file and exit 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

from local import connection
from local.stack import LocalStack, StackConfig, StackError


def _positive(value: str) -> float:
    seconds = float(value)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of seconds")
    return seconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.run", description="Run crosspost's embedded local stack.")
    parser.add_argument("--port", type=int, default=0, help="API port (default 0: a free port)")
    parser.add_argument("--sandbox-port", type=int, default=0, help="sandbox platforms' port (default: a free port)")
    parser.add_argument("--aws-port", type=int, default=0, help="moto's port (default: a free port)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--state-file", type=Path, default=connection.DEFAULT_PATH, help="connection file (.crosspost/local.json)"
    )
    parser.add_argument(
        "--jitter", action="store_true", help="fire schedules up to 60 s late, as EventBridge Scheduler may"
    )
    parser.add_argument(
        "--rate-interval",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="run the rate-scheduled functions (the reconcile sweep) every SECONDS (default: their rate, 1 min)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only warnings and errors (no banner, no logs)")
    return parser.parse_args(argv)


def banner(info: dict[str, Any], state_file: Path) -> str:
    base, key, sandbox = info["baseUrl"], info["apiKey"], info["sandboxUrl"]
    bluesky = info["sandboxAccounts"]["bluesky"]
    auth = '-H "Authorization: Bearer $CROSSPOST_KEY" -H "Content-Type: application/json"'
    credentials = {"handle": bluesky["handle"], "appPassword": bluesky["appPassword"]}
    connect = {"platform": "bluesky", "credentials": credentials}
    return f"""
crosspost local stack is running (in memory: everything is gone when it stops).

  API            {base}
  API key        {key}
  workspace      {info["workspaceId"]}
  sandbox        {sandbox}
  Bluesky (sandbox) handle {bluesky["handle"]}  app password {bluesky["appPassword"]}
  connection     {state_file}
  API docs       {base}/docs

Try it:

  export CROSSPOST_URL={base} CROSSPOST_KEY={key} SANDBOX_URL={sandbox}

  # connect the sandbox's Bluesky account (note the "id" it returns)
  curl -s $CROSSPOST_URL/v1/accounts/connect {auth} \\
    -d {shlex.quote(json.dumps(connect))}

  # publish now (replace ACCOUNT_ID)
  curl -s $CROSSPOST_URL/v1/posts {auth} \\
    -d '{{"account":{{"platform":"bluesky","id":"ACCOUNT_ID"}},"text":"Hello from crosspost"}}'

  # read it back from the simulated Bluesky
  curl -s $SANDBOX_URL/_sandbox/bluesky/posts

  # a new workspace and key: make key

Ctrl-C stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quiet:
        # Set before crosspost's logger and metrics are created (they read these once).
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # Libraries at WARNING; the emulators' own lines (one per request, schedule fired) at INFO.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("local").setLevel(logging.WARNING if args.quiet else logging.INFO)
    # The publisher flushes metrics on every batch, with or without any: not worth a warning here.
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Installed before starting, so a signal during start-up also ends in a clean stop.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    config = StackConfig(
        host=args.host,
        api_port=args.port,
        sandbox_port=args.sandbox_port,
        aws_port=args.aws_port,
        state_file=args.state_file,
        jitter=args.jitter,
        rate_interval=args.rate_interval,
    )
    stack = LocalStack(config)
    try:
        info = stack.start()
    except (StackError, OSError) as exc:  # OSError: a configured port is taken
        print(f"crosspost local stack: {exc}", file=sys.stderr)
        return 1
    try:
        if not args.quiet:
            print(banner(info, args.state_file), flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
    if not args.quiet:
        print("crosspost local stack stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
