"""worker.py's JSON logs carry the run, the step and the attempt; no line, and nothing in
the history, holds the provider key; its Prometheus endpoint serves the SDK's metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import httpx
from temporalio.client import Client

from durable_agents.runtime.logs import JsonFormatter
from tests.local_http import LocalHttp, json_route
from tests.processes import free_port, spawn_worker
from tests.scripted_llm import ScriptedLlm
from tests.test_starter import clean_env
from tests.workflows.runs import DEMO_PLAN, plan, start

SECRET = "sk-log-secret-5d1e"


async def test_json_logs_have_context_and_no_secret(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    scripted_llm.queue("plan", DEMO_PLAN.model_dump(mode="json"))
    scripted_llm.queue("review", {"answer": "done", "verdict": "done"})
    env = clean_env(
        TEMPORAL_ADDRESS=client.service_client.config.target_host,
        AGENT_TASK_QUEUE=task_queue,
        OPENAI_API_KEY=SECRET,
        OPENAI_BASE_URL=scripted_llm.base_url,
        AGENT_LOG_FORMAT="json",
        AGENT_METRICS_ADDRESS=f"127.0.0.1:{free_port()}",
    )
    api = LocalHttp({"/items": json_route([1, 2])})
    worker = await spawn_worker(env, stderr=asyncio.subprocess.PIPE)
    try:
        planned = await start(client, task_queue, workspace, goal=f"totals, key {SECRET[:3]}")
        fetch = plan(
            {
                "id": "fetch",
                "action": "http_request",
                "params": {"url": api.url("/items?token=t0p")},
            }
        )
        given = await start(
            client,
            task_queue,
            workspace,
            plan=fetch,
            review=False,
            policy={"allow_hosts": ["127.0.0.1"]},
        )
        async with asyncio.timeout(60):
            await planned.result()
            await given.result()
        metrics_url = f"http://{env['AGENT_METRICS_ADDRESS']}/metrics"
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(metrics_url)).text
    finally:
        api.stop()
        worker.terminate()
        _, raw = await worker.communicate()
    text = raw.decode()
    assert SECRET not in text and "t0p" not in text
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    steps = [r for r in records if r.get("step_id") == "write"]
    assert steps and steps[0]["workflow_id"] == planned.id and steps[0]["run_id"]
    assert "Step write (file_write) succeeded" in steps[0]["message"]
    calls = [r for r in records if r.get("step_id") == "fetch" and r.get("activity_type")]
    assert calls and calls[0]["attempt"] == 1
    assert calls[0]["message"] == f"GET http://127.0.0.1:{api.url('').split(':')[-1]}/items"
    for handle in (planned, given):
        assert SECRET not in (await handle.fetch_history()).to_json()
    assert "temporal_workflow_completed{" in metrics and 'activity_type="http_request"' in metrics


def test_the_json_formatter_keeps_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed" and "ValueError: boom" in entry["exception"]
