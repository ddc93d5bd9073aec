"""Deeply nested data from outside fails its step cleanly (DataTooDeep), instead of a
result the workflow cannot decode and a workflow task that fails forever."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Policy, RunEvent
from durable_agents.workflows.agent import AgentWorkflow
from tests.local_http import LocalHttp
from tests.workflows.runs import assert_replays, plan, run_failure, start

DEEP = b"[" * 220 + b"]" * 220  # ~0.4 KB; pydantic's JSON parser stops at 200 levels
DEEPER = b"[" * 100_000 + b"]" * 100_000  # beyond Python's own parser


async def failed_cleanly(handle: WorkflowHandle[Any, Any]) -> str:
    """The run's failure message; no workflow task failed on the way."""
    async with asyncio.timeout(60):  # a wedged run would never end
        failure = await run_failure(handle)
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    await assert_replays(handle)
    return str(failure.message)


@pytest.mark.parametrize("body", [DEEP, DEEPER], ids=["220", "100000"])
async def test_a_deep_json_file_fails_the_step(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, body: bytes
) -> None:
    (workspace / "deep.json").write_bytes(body)
    given = plan({"id": "read", "action": "file_read", "params": {"path": "deep.json"}})
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    message = await failed_cleanly(handle)
    assert "DataTooDeep" in message and "more than 64 levels deep" in message, message


async def test_a_deep_http_body_fails_the_step(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    server = LocalHttp(
        {"/deep": lambda handler, body: (200, {"Content-Type": "application/json"}, DEEP)}
    )
    try:
        given: Plan = plan(
            {"id": "get", "action": "http_request", "params": {"url": server.url("/deep")}}
        )
        policy = Policy(allow_hosts=["127.0.0.1"])
        handle = await start(client, task_queue, workspace, plan=given, review=False, policy=policy)
        message = await failed_cleanly(handle)
    finally:
        server.stop()
    assert "DataTooDeep" in message and "the http_request output" in message, message


@pytest.mark.parametrize("depth", [100, 250])
async def test_a_deep_event_payload_is_ignored_not_kept(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, depth: int
) -> None:
    given = plan({"id": "wait", "action": "wait_for_event", "params": {"event": "hook"}})
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    deep: Any = []
    for _ in range(depth - 1):
        deep = [deep]
    await handle.signal("event", {"name": "hook", "payload": deep})  # e.g. a hostile webhook
    await handle.signal(AgentWorkflow.event, RunEvent(name="hook", payload={"ok": True}))
    async with asyncio.timeout(60):
        result = await handle.result()
    assert result.steps[0].output == {"ok": True}
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    with pytest.raises(ValueError, match="more than 64 levels deep"):
        RunEvent(name="hook", payload=deep)  # what starter.py event says, too
