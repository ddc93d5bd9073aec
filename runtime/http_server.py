"""A small HTTP server on 127.0.0.1, one thread per request, served from a daemon thread.

The shell of the codec server, the example API and the test and bench doubles: a
subclass passes its handler class and adds its routes. Standard library only and no
imports of ours, so ``examples`` may use it too (``tests/test_layers.py``).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

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
