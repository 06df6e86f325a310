"""An in-memory stand-in for the AWS APIs the functions call, just enough for the cold-start
benchmark's requests: DynamoDB (GetItem, PutItem, UpdateItem with simple SET/REMOVE
expressions, Query on equality and ``begins_with`` key conditions), Secrets Manager
(GetSecretValue), SQS (SendMessage, ChangeMessageVisibility) and EventBridge Scheduler
(CreateSchedule). Condition expressions are not evaluated: every write succeeds.

The cold-start benchmark runs it in its own process, so a measured child pays only for
crosspost's code and one loopback round trip per AWS call, not for moto's import or work. The
publisher-concurrency benchmark runs it as a process of its own (``python -m bench.fake_aws``,
optionally ``--latency-ms``), so it answers calls in parallel as AWS does instead of one after
the other as moto does. Rows and secrets are seeded with ``put`` / ``set_secret`` (in-process) or
the same through ``RemoteFake`` (``POST /_fake/...``).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Item = dict[str, dict[str, Any]]

_ASSIGN = re.compile(r"^\s*(#?\w+)\s*=\s*(.+?)\s*$")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    return [*parts, current] if current.strip() else parts


class FakeAws:
    def __init__(self, key_names: dict[str, tuple[str, ...]] | None = None, *, latency_ms: float = 0.0) -> None:
        """``key_names``: table name → its key attributes (partition, then sort)."""
        self.key_names = dict(key_names or {})
        self.latency = latency_ms / 1000
        self.tables: dict[str, dict[str, Item]] = {}
        self.secrets: dict[str, str] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeAws:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- DynamoDB ---------------------------------------------------------------------------

    @staticmethod
    def _key(key: Item) -> str:
        return json.dumps(key, sort_keys=True)

    def set_keys(self, key_names: dict[str, tuple[str, ...]]) -> None:
        self.key_names.update(key_names)

    def set_secret(self, name: str, value: str) -> None:
        self.secrets[name] = value

    def put(self, table: str, item: Item) -> None:
        self.tables.setdefault(table, {})[self._key({k: item[k] for k in self.key_names[table]})] = item

    def get(self, table: str, key: Item) -> Item | None:
        return self.tables.get(table, {}).get(self._key(key))

    def _control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/_fake/keys":
            self.set_keys({k: tuple(v) for k, v in body.items()})
        elif path == "/_fake/put":
            with self._lock:
                for item in body["items"]:
                    self.put(body["table"], item)
        elif path == "/_fake/secret":
            self.set_secret(body["name"], body["value"])
        elif path == "/_fake/get":
            with self._lock:
                return {"Item": self.get(body["table"], body["key"])}
        return {}

    def _dynamodb(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        table = self.tables.setdefault(body.get("TableName", ""), {})
        if operation == "GetItem":
            found = table.get(self._key(body["Key"]))
            return {"Item": found} if found else {}
        if operation == "PutItem":
            self.put(body["TableName"], body["Item"])
            return {}
        if operation == "UpdateItem":
            key = self._key(body["Key"])
            item = dict(table.get(key) or body["Key"])
            self._apply_update(item, body.get("UpdateExpression", ""), body)
            table[key] = item
            return {"Attributes": item} if body.get("ReturnValues") == "ALL_NEW" else {}
        if operation == "Query":
            items = [i for i in table.values() if self._matches(i, body)]
            return {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if operation == "TransactWriteItems":
            return {}
        return {}

    @staticmethod
    def _operand(text: str, item: Item, body: dict[str, Any]) -> Any:
        names = body.get("ExpressionAttributeNames", {})
        values = body.get("ExpressionAttributeValues", {})
        text = text.strip()
        function = re.match(r"if_not_exists\((.+),(.+)\)$", text)
        if function:
            first = names.get(function[1].strip(), function[1].strip())
            if first in item:
                return item[first]
            return FakeAws._operand(function[2], item, body)
        if "+" in text:
            left, right = (FakeAws._operand(t, item, body) for t in text.split("+", 1))
            return {"N": str(int(left["N"]) + int(right["N"]))}
        if text.startswith(":"):
            return values[text]
        return item.get(names.get(text, text), {"N": "0"})

    @classmethod
    def _apply_update(cls, item: Item, expression: str, body: dict[str, Any]) -> None:
        names = body.get("ExpressionAttributeNames", {})
        for clause in re.split(r"\b(SET|REMOVE)\b", expression):
            clause = clause.strip()
            if not clause or clause in ("SET", "REMOVE"):
                continue
            for part in _split_top(clause):
                assign = _ASSIGN.match(part)
                if assign:
                    item[names.get(assign[1], assign[1])] = cls._operand(assign[2], item, body)
                else:
                    item.pop(names.get(part.strip(), part.strip()), None)

    @staticmethod
    def _matches(item: Item, body: dict[str, Any]) -> bool:
        names = body.get("ExpressionAttributeNames", {})
        values = body.get("ExpressionAttributeValues", {})
        for name, value in re.findall(r"(#?\w+)\s*=\s*(:\w+)", body.get("KeyConditionExpression", "")):
            if item.get(names.get(name, name)) != values[value]:
                return False
        for name, value in re.findall(r"begins_with\((#?\w+),\s*(:\w+)\)", body.get("KeyConditionExpression", "")):
            if not str(item.get(names.get(name, name), {}).get("S", "")).startswith(values[value]["S"]):
                return False
        return True

    # ---- the others -------------------------------------------------------------------------

    def _answer(self, target: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        service, _, operation = target.partition(".")
        self.calls.append(f"{service}.{operation}" if target else f"scheduler {path}")
        with self._lock:
            if service.startswith("DynamoDB"):
                return self._dynamodb(operation, body)
        if service == "secretsmanager" and operation == "GetSecretValue":
            name = body["SecretId"]
            return {
                "Name": name,
                "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}",
                "SecretString": self.secrets[name],
                "VersionId": "v1",
                "VersionStages": ["AWSCURRENT"],
            }
        if service == "AmazonSQS" and operation == "SendMessage":
            return {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": "0" * 32}
        if path.startswith("/schedules/"):
            return {"ScheduleArn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/x{path[10:]}"}
        return {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in two writes: without this, Nagle's algorithm holds the
            # body until the client's delayed ACK (~40 ms on loopback)
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(raw or b"{}")
                if self.path.startswith("/_fake/"):
                    answer = fake._control(self.path, body)
                else:
                    if fake.latency:
                        time.sleep(fake.latency)
                    answer = fake._answer(self.headers.get("x-amz-target", ""), self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/x-amz-json-1.0")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_POST

        return Handler


class RemoteFake:
    """Seeds a ``FakeAws`` running in another process (``python -m bench.fake_aws``)."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url
        self._http = httpx.Client(base_url=url, timeout=10)

    def _post(self, path: str, body: Any) -> Any:
        response = self._http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def set_keys(self, key_names: dict[str, tuple[str, ...]]) -> None:
        self._post("/_fake/keys", key_names)

    def set_secret(self, name: str, value: str) -> None:
        self._post("/_fake/secret", {"name": name, "value": value})

    def put(self, table: str, item: Item) -> None:
        self._post("/_fake/put", {"table": table, "items": [item]})

    def put_many(self, table: str, items: list[Item]) -> None:
        self._post("/_fake/put", {"table": table, "items": items})

    def get(self, table: str, key: Item) -> Item | None:
        found: Item | None = self._post("/_fake/get", {"table": table, "key": key})["Item"]
        return found

    def close(self) -> None:
        self._http.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fake_aws")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every AWS answer by this much")
    args = parser.parse_args()
    fake = FakeAws(latency_ms=args.latency_ms).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    sys.stdout.write(json.dumps({"url": fake.url}) + "\n")
    sys.stdout.flush()
    done.wait()
    fake.stop()


if __name__ == "__main__":
    main()
