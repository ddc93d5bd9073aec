"""A codec server so the Temporal Web UI (and ``temporal`` CLI) can show decrypted payloads
to people who hold the token: ``python -m durable_agents.runtime.codec_server [--port 8081]``.

Implements the codec server protocol: POST ``/decode`` and ``/encode`` with
``{"payloads": [...]}`` (protobuf JSON), CORS for the Web UI's origin, and a bearer token
(AGENT_CODEC_TOKEN) when one is set. In the Web UI: Settings -> Codec Server -> this URL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from durable_agents.runtime.codec import EncryptionCodec, PayloadKeyProblem, codec_from_env, new_key
from durable_agents.runtime.http_server import LocalHttpServer

DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")


class CodecServer(LocalHttpServer):
    """``start()`` serves on a thread; ``url`` is where; ``stop()`` ends it."""

    def __init__(
        self,
        codec: EncryptionCodec,
        *,
        port: int = 0,
        token: str | None = None,
        origins: tuple[str, ...] = DEFAULT_ORIGINS,
    ) -> None:
        self.codec, self.token, self.origins = codec, token, origins
        super().__init__(self._handler(), port=port)

    def convert(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Decode or encode the payloads of one request body."""
        payloads = json_format.ParseDict(body, Payloads())
        step = self.codec.decrypt if path == "/decode" else self.codec.encrypt
        converted = Payloads(payloads=[step(payload) for payload in payloads.payloads])
        return json_format.MessageToDict(converted)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _cors(self) -> None:
                origin = self.headers.get("Origin")
                if origin in server.origins:
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                    self.send_header(
                        "Access-Control-Allow-Headers",
                        "Authorization, Content-Type, X-Namespace",
                    )
                    self.send_header("Access-Control-Allow-Credentials", "true")

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self._cors()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:
                self.send_response(200)
                self._cors()
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                if path not in ("/decode", "/encode"):
                    return self._reply(404, {"error": "use /decode or /encode"})
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self._reply(401, {"error": "missing or wrong bearer token"})
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    return self._reply(200, server.convert(path, body))
                except (ValueError, json_format.ParseError) as exc:  # PayloadKeyProblem too
                    return self._reply(400, {"error": str(exc)})

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--new-key", action="store_true", help="print a fresh key and exit")
    args = parser.parse_args(argv)
    if args.new_key:
        print(new_key())
        return 0
    try:
        codec = codec_from_env()
    except PayloadKeyProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if codec is None:
        print("error: set AGENT_PAYLOAD_KEY (see --new-key)", file=sys.stderr)
        return 2
    token = os.environ.get("AGENT_CODEC_TOKEN") or None
    server = CodecServer(codec, port=args.port, token=token).start()
    print(f"codec server at {server.url} (token {'required' if token else 'not set'})")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
