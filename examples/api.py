"""A small local HTTP API the examples run against (stdlib only, one thread per request).

Orders to invoice, invoices (created with POST, honouring Idempotency-Key, removed with
DELETE), a notification sink, and jobs that finish after a moment and then call a
webhook (``on_job_done``), the way an external system reports back.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from durable_agents.runtime.http_server import LocalHttpServer, json_handler

ORDERS = [
    {"id": 1, "customer": "Acme", "amount": 120.0, "status": "open"},
    {"id": 2, "customer": "Globex", "amount": 75.5, "status": "paid"},
    {"id": 3, "customer": "Initech", "amount": 310.0, "status": "open"},
    {"id": 4, "customer": "Umbrella", "amount": 42.0, "status": "open"},
]
JOB_SECONDS = 0.5

JobDone = Callable[[dict[str, Any]], None]


class ExampleApi(LocalHttpServer):
    """Start with ``start()``; every request is kept in ``requests`` as (method, path)."""

    def __init__(self, on_job_done: JobDone | None = None) -> None:
        self.invoices: dict[int, dict[str, Any]] = {}
        self.by_key: dict[str, int] = {}
        self.notifications: list[Any] = []
        self.jobs: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.on_job_done = on_job_done
        self._lock = threading.Lock()
        super().__init__(
            json_handler(
                lambda method, path, body, headers: self.handle(
                    method, path, body, headers.get("Idempotency-Key")
                )
            )
        )

    def handle(self, method: str, path: str, body: Any, key: str | None) -> tuple[int, Any]:
        """Route one request: (status, JSON body)."""
        with self._lock:
            self.requests.append((method, path))
            if (method, path) == ("GET", "/orders"):
                return 200, ORDERS
            if (method, path) == ("POST", "/invoices"):
                return self._invoice(body, key)
            if method == "DELETE" and (found := re.fullmatch(r"/invoices/(\d+)", path)):
                removed = self.invoices.pop(int(found[1]), None)
                return (200, {"deleted": removed["id"]}) if removed else (404, {"error": "gone"})
            if (method, path) == ("POST", "/notify"):
                self.notifications.append(body)
                return 200, {"delivered": True}
            if (method, path) == ("POST", "/jobs"):
                return self._start_job(body)
            if method == "GET" and (found := re.fullmatch(r"/jobs/(\d+)", path)):
                job = self.jobs.get(int(found[1]))
                return (200, job) if job else (404, {"error": "no such job"})
        return 404, {"error": f"no route {method} {path}"}

    def _invoice(self, body: Any, key: str | None) -> tuple[int, Any]:
        if not isinstance(body, dict) or "order_id" not in body:
            return 422, {"error": "send {order_id, amount}"}
        if key and key in self.by_key:  # a retried POST: the same invoice, not a second
            return 200, self.invoices[self.by_key[key]]
        invoice = {"id": 1000 + len(self.invoices) + len(self.by_key), **body}
        self.invoices[invoice["id"]] = invoice
        if key:
            self.by_key[key] = invoice["id"]
        return 201, invoice

    def _start_job(self, body: Any) -> tuple[int, Any]:
        job = {"id": len(self.jobs) + 1, "status": "running", "request": body, "result": None}
        self.jobs[job["id"]] = job
        threading.Thread(target=self._finish_job, args=(job,), daemon=True).start()
        return 202, job

    def _finish_job(self, job: dict[str, Any]) -> None:
        time.sleep(JOB_SECONDS)  # the "work"
        with self._lock:
            job["status"] = "done"
            job["result"] = {"rows": 4, "report": "out/job_report.json"}
        if self.on_job_done:
            self.on_job_done(dict(job))
