"""A real local HTTP server whose routes are plain functions (for http_request tests)."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from durable_agents.runtime.http_server import LocalHttpServer

Route = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes]]


class LocalHttp:
    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.hits: list[tuple[str, str]] = []
        self._server = LocalHttpServer(self._handler()).start()

    def url(self, path: str) -> str:
        return f"{self._server.url}{path}"

    def stop(self) -> None:
        self._server.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        local = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                path = self.path.split("?")[0]
                local.hits.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                route = local.routes.get(path)
                status, headers, data = route(self, body) if route else (404, {}, b"not found")
                self.send_response(status)
                for key, value in {"Content-Length": str(len(data)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


def json_route(payload: Any, status: int = 200) -> Route:
    data = json.dumps(payload).encode()
    return lambda handler, body: (status, {"Content-Type": "application/json"}, data)
