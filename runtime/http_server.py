"""A small HTTP server on 127.0.0.1, one thread per request, served from a daemon thread.

The shell of the codec server, the example API and the test and bench doubles: a
subclass passes its handler class and adds its routes. Standard library only and no
imports of ours, so ``examples`` may use it too (``tests/test_layers.py``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

HOST = "127.0.0.1"


class LocalHttpServer:
    """Bound at construction (``port`` 0: any free one); ``start()`` serves, ``stop()`` ends."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, port: int = 0) -> None:
        self._server = ThreadingHTTPServer((HOST, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, no trailing slash."""
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()


# (method, path without query, JSON body or None, request headers) -> (status, JSON body)
JsonRoute = Callable[[str, str, Any, Message], tuple[int, Any]]


def json_handler(route: JsonRoute) -> type[BaseHTTPRequestHandler]:
    """A handler for a JSON API: the body parsed (None if absent or not JSON), the
    answer sent as JSON; ``route`` decides everything else."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = None
            status, payload = route(self.command, self.path.split("?")[0], body, self.headers)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler
