"""API Gateway HTTP API emulator: HTTP requests in, payload 2.0 events to the functions, responses out.

Routing is exactly the CDK's: ``crosspost.resources`` routes, an exact path before one with
``{parameters}``, and no route → 404 ``{"message":"Not Found"}`` as API Gateway answers (it does
not check API keys: the handlers do). The gateway's own failures look like AWS's too: a function
error → 500 ``{"message":"Internal Server Error"}``. One deliberate difference: an event over
Lambda's 6 MB invoke limit gets 413 with the contract's error envelope (AWS answers without it),
so a client sees the same envelope as for the handler's own 5 MB limit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from crosspost.resources import API_FUNCTIONS, route_table
from local.functions import MAX_INVOKE_PAYLOAD_BYTES, FunctionError, FunctionHost, RequestTooLargeError
from local.http_body import read_body
from local.lambda_events import http_event, http_response, match_route, new_api_request_id

log = logging.getLogger(__name__)

# Response headers the gateway sets itself (a handler's values for them are dropped).
_HOP_BY_HOP: Final = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive", "date"})


def _gateway_json(status: int, body: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("content-type", "application/json")], json.dumps(body, separators=(",", ":")).encode()


def too_large_response(request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """413 with the contract's envelope; ``req_<gateway id>`` is the id the handler would use."""
    contract_id = f"req_{request_id}"
    envelope = {
        "error": {
            "code": "validation_failed",
            "rule": "body.too_large",
            "field": "body",
            "message": "The request is larger than Lambda's 6 MB invoke limit.",
            "remediation": "Upload large media with a presigned upload.",
            "requestId": contract_id,
        }
    }
    status, headers, body = _gateway_json(413, envelope)
    return status, [*headers, ("x-request-id", contract_id)], body


class ApiGateway:
    """The HTTP API on ``address:port`` (port 0: a free port), invoking functions through ``host``."""

    def __init__(self, host: FunctionHost, *, address: str = "127.0.0.1", port: int = 0) -> None:
        self.functions = route_table()
        self.routes = [r for fn in API_FUNCTIONS for r in fn.routes]
        self.host = host
        self._httpd = _Server((address, port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="local-apigw", daemon=True
        )
        self.url = f"http://{address}:{self._httpd.server_address[1]}"

    def start(self) -> ApiGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def handle(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        source_ip: str,
        request_id: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request, from its method, request target and joined headers to (status, headers, body)."""
        parts = urlsplit(target)
        raw_path, query = parts.path, parts.query
        matched = match_route(method, raw_path, self.routes)
        if matched is None:
            return _gateway_json(404, {"message": "Not Found"})
        route, params = matched
        fn = self.functions[(route.method, route.path)]
        event = http_event(
            method,
            raw_path,
            route,
            headers=headers,
            query=query,
            body=body if body else None,
            path_parameters={k: unquote(v) for k, v in params.items()} or None,
            source_ip=source_ip,
            request_id=request_id,
        )
        try:
            result = self.host.invoke(fn, event)
            return http_response(result)
        except RequestTooLargeError:
            return too_large_response(request_id)
        except FunctionError:
            return _gateway_json(500, {"message": "Internal Server Error"})
        except Exception:  # a result API Gateway cannot map (bad statusCode, base64): its 500 too
            log.exception("%s %s: malformed function response", method, raw_path)
            return _gateway_json(500, {"message": "Internal Server Error"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A publisher batch opens 10 connections at once; the default backlog of 5 would leave the
    # rest waiting ~1 s for SYN retransmits.
    request_queue_size = 64
    block_on_close = False

    def __init__(self, address: tuple[str, int], gateway: ApiGateway) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway


class _Handler(BaseHTTPRequestHandler):
    # Headers and body are written separately: without TCP_NODELAY a keep-alive call can stall ~40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # a stalled client must not hold a thread forever

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        started = time.monotonic()
        request_id = new_api_request_id()
        body = read_body(self, MAX_INVOKE_PAYLOAD_BYTES)
        if body is None:
            status, headers, payload = too_large_response(request_id)
        else:
            status, headers, payload = self.server.gateway.handle(
                self.command, self.path, self._joined_headers(), body, self.client_address[0], request_id
            )
        self._send(status, headers, payload, request_id)
        log.info(
            "%s %s → %d (%.0f ms)", self.command, self.path.split("?")[0], status, (time.monotonic() - started) * 1000
        )

    def _joined_headers(self) -> dict[str, str]:
        """One value per lowercased name, repeated headers comma-joined (cookies with "; "), plus the
        X-Forwarded-* headers API Gateway adds."""
        joined: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            separator = "; " if key == "cookie" else ","
            joined[key] = f"{joined[key]}{separator}{value}" if key in joined else value
        joined.pop("transfer-encoding", None)
        joined.setdefault("x-forwarded-for", self.client_address[0])
        joined.setdefault("x-forwarded-proto", "http")
        joined.setdefault("x-forwarded-port", str(self.server.server_address[1]))
        return joined

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes, request_id: str) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("apigw-requestid", request_id)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def version_string(self) -> str:
        return "crosspost-local-apigw"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _serve logs one line per request instead
