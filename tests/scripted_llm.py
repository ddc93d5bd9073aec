"""A scripted OpenAI-compatible server (real HTTP, real ``openai`` client code path).

Answers are queued per kind: the json_schema name ("plan", "review"), "tools" for calls
offering tools, or "llm" for plain calls. An item is content (a string), ``ToolCalls``
(the model calls tools) or a ``Fault`` (status, body, headers).
"""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from durable_agents.runtime.http_server import LocalHttpServer


@dataclass
class Fault:
    status: int
    body: str = '{"error": {"message": "scripted failure"}}'
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ToolCalls:
    calls: list[tuple[str, dict[str, Any]]]  # (tool name, arguments)


@dataclass
class Hold:
    """Answer ``content`` only once ``release`` is set (a model that takes its time)."""

    release: threading.Event
    content: str


class ScriptedLlm(LocalHttpServer):
    """Start with ``start()``; ``base_url`` goes to OPENAI_BASE_URL."""

    def __init__(self) -> None:
        self.queues: dict[str, deque[str | Fault | ToolCalls | Hold]] = defaultdict(deque)
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # each request's Authorization header
        self.always: dict[str, str] = {}  # the answer of a kind once its queue is empty
        self.fault_rate = 0.0  # chaos: this share of calls gets a fault instead
        self.faults_sent: list[str] = []
        self._chaos = random.Random(0)
        self._lock = threading.Lock()
        self.streaming = threading.Event()  # a streamed answer pauses half-way until set
        self.streaming.set()
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def queue(self, kind: str, *items: str | Fault | ToolCalls | Hold | dict[str, Any]) -> None:
        for item in items:
            self.queues[kind].append(json.dumps(item) if isinstance(item, dict) else item)

    def answer_always(self, kind: str, item: dict[str, Any] | str) -> None:
        self.always[kind] = json.dumps(item) if isinstance(item, dict) else item

    def inject_faults(self, rate: float, seed: int) -> None:
        """From now on, about ``rate`` of calls get a 429 (Retry-After), a 500, or a
        truncated JSON answer, chosen by a seeded generator; the script is not consumed."""
        self.fault_rate, self._chaos = rate, random.Random(seed)

    def _next(self, kind: str) -> str | Fault | ToolCalls | Hold:
        with self._lock:
            if self.fault_rate and self._chaos.random() < self.fault_rate:
                fault: str | Fault = self._chaos.choice(
                    [Fault(429, headers={"Retry-After": "1"}), Fault(500), '{"answer": "cut']
                )
                self.faults_sent.append(fault if isinstance(fault, str) else str(fault.status))
                return fault
            queue = self.queues[kind]
            if queue:
                return queue.popleft()
            return self.always.get(kind) or Fault(500, "script exhausted")

    def kinds(self) -> list[str]:
        return [_kind(request) for request in self.requests]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                scripted.requests.append(request)
                scripted.authorizations.append(self.headers.get("Authorization"))
                item = scripted._next(_kind(request))
                if isinstance(item, Fault):
                    return self._send(item.status, item.body, item.headers)
                if isinstance(item, Hold):
                    item.release.wait(timeout=60)
                    item = item.content
                message: dict[str, Any] = {"role": "assistant", "content": item}
                if isinstance(item, ToolCalls):
                    message["content"] = None
                    message["tool_calls"] = [
                        {
                            "id": f"call_{n}",
                            "type": "function",
                            "function": {"name": name, "arguments": json.dumps(arguments)},
                        }
                        for n, (name, arguments) in enumerate(item.calls)
                    ]
                if request.get("stream") and isinstance(item, str):
                    return self._stream(request, item)
                body = {
                    "id": "scripted",
                    "object": "chat.completion",
                    "created": 0,
                    "model": request.get("model", "scripted"),
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }
                self._send(200, json.dumps(body), {})

            def _stream(self, request: dict[str, Any], content: str) -> None:
                """Server-sent events as OpenAI streams them: the content in pieces of a
                few characters (a held piece mid-way, so a heartbeat can see progress),
                the finish reason, then usage (``include_usage``)."""
                pieces = [content[i : i + 4] for i in range(0, len(content), 4)]
                chunks: list[dict[str, Any]] = [
                    {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    for piece in pieces
                ]
                chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if (request.get("stream_options") or {}).get("include_usage"):
                    usage = {"prompt_tokens": 100, "completion_tokens": len(pieces)}
                    chunks.append({"choices": [], "usage": usage | {"total_tokens": 100}})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for number, chunk in enumerate(chunks):
                    base = {"id": "scripted", "object": "chat.completion.chunk", "created": 0}
                    base["model"] = request.get("model", "scripted")
                    self.wfile.write(f"data: {json.dumps(base | chunk)}\n\n".encode())
                    self.wfile.flush()
                    if number == len(pieces) // 2:
                        scripted.streaming.wait(timeout=30)  # the test looks at progress
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _send(self, status: int, body: str, headers: dict[str, str]) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _kind(request: dict[str, Any]) -> str:
    if request.get("tools"):
        return "tools"
    response_format = request.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return str(response_format["json_schema"]["name"])
    return "llm"
