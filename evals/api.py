"""The local API eval goals call: users to read, tickets to create; it keeps every request
it receives, so a goal is checked by what arrived, not by what a plan says."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from durable_agents.runtime.http_server import LocalHttpServer

USERS: list[dict[str, Any]] = [
    {"id": 1, "name": "Ann", "city": "Paris", "age": 34},
    {"id": 2, "name": "Bob", "city": "Lyon", "age": 41},
    {"id": 3, "name": "Cy", "city": "Paris", "age": 29},
    {"id": 4, "name": "Dee", "city": "Nantes", "age": 52},
    {"id": 5, "name": "Eve", "city": "Paris", "age": 23},
]
ORDERS: list[dict[str, Any]] = [
    {"id": 1, "customer": "Acme", "amount": 120.0, "status": "open"},
    {"id": 2, "customer": "Globex", "amount": 75.5, "status": "paid"},
    {"id": 3, "customer": "Initech", "amount": 310.0, "status": "open"},
    {"id": 4, "customer": "Umbrella", "amount": 42.0, "status": "open"},
]


class EvalApi(LocalHttpServer):
    """GET /users, /users/<id>, /orders; POST anything (kept in ``received``)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def posts(self, path: str) -> list[Any]:
        """Bodies of the POSTs that reached ``path``."""
        with self._lock:
            return [body for method, at, body in self.received if (method, at) == ("POST", path)]

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        with self._lock:
            self.received.append((method, path, body))
        if method == "GET" and path == "/users":
            return 200, USERS
        if method == "GET" and (found := re.fullmatch(r"/users/(\d+)", path)):
            user = next((u for u in USERS if u["id"] == int(found[1])), None)
            return (200, user) if user else (404, {"error": "no such user"})
        if method == "GET" and path == "/orders":
            return 200, ORDERS
        if method == "POST":
            return 201, {"received": True, "id": len(self.received)}
        return 404, {"error": f"no route {method} {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode("utf-8", "replace")
                status, payload = api.handle(self.command, self.path.split("?")[0], body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler
