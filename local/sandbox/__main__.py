"""``python -m local.sandbox``: run the sandbox in the foreground until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from types import FrameType

from local.sandbox import SANDBOX_ACCOUNTS, start_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--access-ttl", type=float, default=None, help="Bluesky access-token lifetime in seconds")
    args = parser.parse_args()
    done = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server = start_sandbox(args.host, args.port, bluesky_access_ttl_seconds=args.access_ttl)
    print(
        json.dumps(
            {"sandboxUrl": server.url, "blueskyService": f"{server.url}/bluesky", "sandboxAccounts": SANDBOX_ACCOUNTS}
        ),
        flush=True,
    )
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
