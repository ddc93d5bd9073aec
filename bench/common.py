"""Shared bench parts: the dev server (tuned or default), a model that answers after a
fixed latency (an OpenAI-compatible HTTP server, so results do not depend on a model),
an agent worker, and plans. Not tests: each bench prints a table and ratios."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

import httpx
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from durable_agents.activities.http import HttpActions
from durable_agents.activities.llm import LlmActivities
from durable_agents.activities.sql import SqlActions
from durable_agents.contracts import Plan, RunInput, RunResult
from durable_agents.runtime.devserver import SPEED_ARGS, find_temporal_cli
from durable_agents.runtime.http_server import LocalHttpServer
from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.workers import build_worker
from durable_agents.workflows.agent import AgentWorkflow

ANSWER = "A finding worth passing on. " * 12  # ~340 characters, like a short LLM answer


def tokens(text: str) -> int:
    """A stable token estimate (4 characters per token) for prompt and answer sizes."""
    return max(1, len(text) // 4)


class LatencyLlm(LocalHttpServer):
    """Answers every chat call with ``ANSWER`` after ``latency`` seconds; usage is
    estimated from the real prompt, so context size shows in token counts."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls = 0
        super().__init__(self._handler())
        # 50 calls at once: the default backlog (5) drops connects, which TCP retries
        # after 1 s, and that second would be charged to whichever engine met it
        self._server.socket.listen(256)
        self.start()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                llm.calls += 1
                time.sleep(llm.latency)
                prompt = "".join(str(m.get("content") or "") for m in request["messages"])
                body = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "latency-model",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": ANSWER},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": tokens(prompt),
                            "completion_tokens": tokens(ANSWER),
                            "total_tokens": tokens(prompt) + tokens(ANSWER),
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


async def dev_server(tuned: bool = True) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_temporal_cli(),
        dev_server_extra_args=[*(SPEED_ARGS if tuned else []), "--log-level", "error"],
        data_converter=pydantic_data_converter,
    )


@asynccontextmanager
async def agent_worker(client: Client, llm_url: str, *, slots: int = 200) -> AsyncIterator[str]:
    """A worker with the real activities (LLM at ``llm_url``); yields its task queue."""
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    provider = LlmProvider(Settings(openai_base_url=llm_url, model="latency-model"))
    async with httpx.AsyncClient() as http:
        with ThreadPoolExecutor(8) as pool:
            async with build_worker(
                client,
                task_queue=queue,
                llm=LlmActivities(provider),
                http=HttpActions(http),
                sql=SqlActions(None),
                activity_executor=pool,
                max_concurrent_activities=slots,
                max_concurrent_workflow_tasks=slots,
            ):
                yield queue
    await provider.aclose()


async def start_plan(
    client: Client, queue: str, plan: Plan, **fields: Any
) -> WorkflowHandle[AgentWorkflow, RunResult]:
    run_input = RunInput(goal="bench", workspace=os.getcwd(), plan=plan, review=False, **fields)
    return await client.start_workflow(
        AgentWorkflow.run, run_input, id=f"bench-{uuid.uuid4()}", task_queue=queue
    )


async def run_plan(client: Client, queue: str, plan: Plan, **fields: Any) -> RunResult:
    return await (await start_plan(client, queue, plan, **fields)).result()


def llm_steps(count: int, chained: bool) -> Plan:
    """``count`` llm steps: independent, or each reading only the one before it."""
    steps = []
    for index in range(count):
        prompt = f"Step {index}: find one fact about region {index}."
        if chained and index:
            prompt += f" Build on: ${{steps.s{index - 1}.output}}"
        steps.append(
            {"id": f"s{index}", "title": f"s{index}", "action": "llm", "params": {"prompt": prompt}}
        )
    return Plan.model_validate({"steps": steps})
