"""The local API eval goals call: users to read, tickets to create; it keeps every request
it receives, so a goal is checked by what arrived, not by what a plan says."""

from __future__ import annotations

import re
import threading
from typing import Any

from durable_agents.runtime.http_server import LocalHttpServer, json_handler

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

    def __init__(self, *, port: int = 0) -> None:
        self.received: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(
            json_handler(lambda method, path, body, _: self.handle(method, path, body)),
            port=port,
        )

    def forget(self) -> None:
        """Start a goal with no requests recorded: each goal is judged by its own."""
        with self._lock:
            self.received.clear()

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
