"""AWS for the local stack: moto's server on 127.0.0.1, clients for it, and the process environment
that points boto3 at it (boto3 reads AWS_ENDPOINT_URL itself, so crosspost's code needs no change).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import boto3
import httpx
from moto.server import ThreadedMotoServer

from local.provision import REGION

# moto accepts any credentials; dummy ones make sure nothing can reach a real account.
DUMMY_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def aws_environment(endpoint_url: str) -> dict[str, str]:
    """What every process talking to the local moto needs in its environment."""
    return {
        **DUMMY_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def aws_client(service: str, endpoint_url: str) -> Any:
    """A client for ``service`` on moto, independent of the process environment."""
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


class MotoServer:
    """moto's server in a daemon thread on ``host:port`` (port 0: a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # werkzeug logs every request at INFO; the emulators poll several times a second.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = ""

    def start(self) -> MotoServer:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # moto's backends live in this process and outlive a server: start from nothing.
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        return self

    def stop(self) -> None:
        self._server.stop()
