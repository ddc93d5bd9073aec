"""Helpers for workflow tests: build plans, start runs, read history, replay."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from durable_agents.contracts import (
    ApprovalDecision,
    PendingApproval,
    Plan,
    RunInput,
    RunResult,
)
from durable_agents.contracts.tools import LIST_TOOLS
from durable_agents.workflows.agent import AgentWorkflow


def plan(*steps: dict[str, Any]) -> Plan:
    return Plan.model_validate(
        {"steps": [{"title": s["id"], "depends_on": [], **s} for s in steps]}
    )


DEMO_PLAN = plan(
    {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}},
    {
        "id": "total",
        "action": "transform",
        "params": {
            "input": "${steps.read.output}",
            "group_by": "region",
            "aggregate": {"revenue": "sum"},
        },
    },
    {
        "id": "write",
        "action": "file_write",
        "params": {"path": "out/revenue.json", "content": "${steps.total.output}"},
    },
)


async def start(
    client: Client, task_queue: str, workspace: Path, **fields: Any
) -> WorkflowHandle[AgentWorkflow, RunResult]:
    fields.setdefault("goal", "total revenue per region")
    run_input = RunInput(workspace=str(workspace), **fields)
    return await client.start_workflow(
        AgentWorkflow.run, run_input, id=f"test-{uuid.uuid4()}", task_queue=task_queue
    )


async def activity_types(
    handle: WorkflowHandle[Any, Any], *, local: bool = True, listing: bool = False
) -> list[str]:
    """The run's activities in history order; ``local``: with local activities (pure
    actions), recorded as markers instead of scheduled tasks; ``listing``: with the
    ``list_tools`` call a run makes before planning (or for a plan of custom actions)."""
    types = []
    for event in (await handle.fetch_history()).events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            types.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        marker = event.marker_recorded_event_attributes
        if local and marker.marker_name == "core_local_activity":
            data = json.loads(marker.details["data"].payloads[0].data)
            types.append(data["activity_type"])
    return types if listing else [name for name in types if name != LIST_TOOLS]


async def assert_replays(handle: WorkflowHandle[Any, Any]) -> None:
    replayer = Replayer(workflows=[AgentWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await handle.fetch_history())


async def pending_approval(
    handle: WorkflowHandle[AgentWorkflow, RunResult], step_id: str, timeout: float = 60
) -> PendingApproval:
    """Wait (on the status query, not a fixed sleep) until ``step_id`` awaits approval."""
    async with asyncio.timeout(timeout):
        while True:
            status = await handle.query(AgentWorkflow.status)
            for pending in status.pending_approvals:
                if pending.step_id == step_id:
                    return pending
            await asyncio.sleep(0.05)


async def run_to_end(
    client: Client,
    task_queue: str,
    workspace: Path,
    *,
    approve: tuple[str, ...] = (),
    **fields: Any,
) -> RunResult:
    """Start a run (``fields`` as for ``start``), approve each step of ``approve`` in turn
    when it waits, and return the run's result once its history replays."""
    handle = await start(client, task_queue, workspace, **fields)
    for step_id in approve:
        await pending_approval(handle, step_id)
        await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id=step_id))
    result = await handle.result()
    await assert_replays(handle)
    return result


async def run_failure(handle: WorkflowHandle[AgentWorkflow, RunResult]) -> ApplicationError:
    """The typed error a run failed with (the test fails if it did not fail that way)."""
    try:
        await handle.result()
    except WorkflowFailureError as failure:
        cause = failure.cause
        assert isinstance(cause, ApplicationError), f"unexpected cause: {cause!r}"
        return cause
    raise AssertionError("the run succeeded; a failure was expected")


def replace_file_plan(workspace: Path, name: str = "notes.txt") -> Plan:
    """A one-step plan whose file_write would replace an existing file (needs approval)."""
    (workspace / name).write_text("old")
    params = {"path": name, "content": "new"}
    return plan({"id": "write", "action": "file_write", "params": params})
