"""An in-memory stand-in for the DynamoDB JSON API, just enough for the benchmarks' requests.

It runs in the benchmark's own process, so a measured child process pays only for crosspost's
code and one loopback round trip per AWS call, not for moto's import.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeDynamoDB:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}  # keyHash → ApiKey item
        self.calls: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeDynamoDB:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                operation = self.headers.get("x-amz-target", "").split(".")[-1]
                fake.calls.append(operation)
                answer: dict[str, Any] = {}
                if operation == "GetItem":
                    key = body["Key"].get("keyHash", {}).get("S")
                    if key in fake.items:
                        answer = {"Item": fake.items[key]}
                elif operation == "Query":
                    answer = {"Items": [], "Count": 0, "ScannedCount": 0}
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/x-amz-json-1.0")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
