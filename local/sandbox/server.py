"""The sandbox's HTTP server: a ThreadingHTTPServer in a daemon thread, started in-process.

    server = start_sandbox()            # port 0: a free port
    server.url                          # "http://127.0.0.1:PORT"; Bluesky's service is f"{server.url}/bluesky"
    server.stop()

Or from a shell: ``python -m local.sandbox [--host 127.0.0.1] [--port 8787]``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

from local.http_body import read_body
from local.sandbox.bluesky import BlueskySandbox
from local.sandbox.core import Sandbox, SandboxPlatform, SandboxResponse, control_error
from local.sandbox.linkedin import LinkedInSandbox
from local.sandbox.meta import meta_platforms
from local.sandbox.pinterest import PinterestSandbox
from local.sandbox.threads import ThreadsSandbox
from local.sandbox.twitter import TwitterSandbox

MAX_BODY_BYTES: Final = 64 * 1024 * 1024  # the sandbox reads (and refuses) bodies up to this size


def build_platforms(*, bluesky_access_ttl_seconds: float | None = None) -> list[SandboxPlatform]:
    """One instance per simulated platform (only Bluesky so far)."""
    bluesky = (
        BlueskySandbox()
        if bluesky_access_ttl_seconds is None
        else BlueskySandbox(access_ttl_seconds=bluesky_access_ttl_seconds)
    )
    return [bluesky, PinterestSandbox(), ThreadsSandbox(), *meta_platforms(), LinkedInSandbox(), TwitterSandbox()]


class _Handler(BaseHTTPRequestHandler):
    # Headers and body are written separately: without TCP_NODELAY a keep-alive call can stall ~40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            body = read_body(self, MAX_BODY_BYTES)
            if body is None:
                self.close_connection = True
                self._send(control_error(413, "PayloadTooLarge", "request entity too large"))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            response = self.server.sandbox.handle(self.command, self.path, headers, body)
            if response.drop:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(response)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away (it timed out first): nothing to answer

    def _send(self, response: SandboxResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own output
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A publisher batch opens 10 connections at once; the default backlog of 5 would leave the
    # rest waiting ~1 s for SYN retransmits.
    request_queue_size = 64
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """A running sandbox. ``url`` is its origin; each platform lives under ``{url}/{platform}``."""

    def __init__(self, httpd: _Server, thread: threading.Thread) -> None:
        self._httpd = httpd
        self._thread = thread
        self.sandbox = httpd.sandbox
        host, port = httpd.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else str(host)
        self.host, self.port = shown, int(port)
        self.url = f"http://{shown}:{self.port}"

    def service_url(self, platform: str) -> str:
        return f"{self.url}/{platform}"

    def platform(self, name: str) -> SandboxPlatform:
        return self.sandbox.platform(name)

    def reset(self) -> None:
        self.sandbox.reset()

    def stop(self) -> None:
        self.sandbox.release.set()  # let held ("timeout" fault) connections go
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_sandbox(
    host: str = "127.0.0.1", port: int = 0, *, bluesky_access_ttl_seconds: float | None = None
) -> SandboxServer:
    """Start the sandbox in a daemon thread and return once it accepts connections."""
    sandbox = Sandbox(build_platforms(bluesky_access_ttl_seconds=bluesky_access_ttl_seconds))
    httpd = _Server((host, port), sandbox)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="crosspost-sandbox", daemon=True
    )
    thread.start()
    return SandboxServer(httpd, thread)
