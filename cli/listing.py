"""What visibility knows about runs, without asking their worker: ``list``, and the
fallback of ``status`` and ``pending`` when no worker answers (the agent's search
attributes, ``contracts.visibility``)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.service import RPCError

from durable_agents.cli.errors import UsageProblem
from durable_agents.cli.server import running_server
from durable_agents.contracts import WORKFLOW_NAME, RunStatus
from durable_agents.contracts.visibility import (
    AGENT_PENDING,
    AGENT_PHASE,
    AGENT_TITLE,
)
from durable_agents.runtime.settings import Settings

QUERY_SECONDS = 5.0  # a worker answers a status query in milliseconds; none answers never
WAITING = f"WorkflowType = '{WORKFLOW_NAME}' AND ExecutionStatus = 'Running'"
NO_WORKER = "no worker answered (start one: python worker.py)"


async def status_or_none(client: Client, run_id: str) -> RunStatus | None:
    """The run's ``status`` query, or None when no worker answers in time."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(run_id)
    try:
        return await asyncio.wait_for(handle.query("status", result_type=RunStatus), QUERY_SECONDS)
    except TimeoutError:
        return None
    except RPCError as exc:
        if "not found" in exc.message:
            raise  # an unknown run: the caller says so
        return None


def visible_line(execution: WorkflowExecution) -> str:
    """One run as visibility shows it: id, state, phase, waiting steps, title."""
    found = execution.typed_search_attributes
    phase = found.get(AGENT_PHASE)
    pending = found.get(AGENT_PENDING) or []
    title = found.get(AGENT_TITLE)
    state = execution.status.name.lower() if execution.status else "unknown"
    line = f"{execution.id}  {state}"
    if phase:
        line += f"  {phase}"
    if pending:
        line += f" ({', '.join(pending)})"
    started = f"{execution.start_time:%Y-%m-%d %H:%M}" if execution.start_time else ""
    line += f"  {started}"
    return line + (f"  {title}" if title else "")


async def visible_status(client: Client, run_id: str) -> str:
    """``status`` when no worker answers: what visibility knows, and how to get more."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(run_id)
    description = await handle.describe()
    found = description.typed_search_attributes
    phase = found.get(AGENT_PHASE)
    lines = [f"run {run_id}: {visible_line(description)}"]
    if phase is None:
        lines.append("  (this run publishes no phase: started before search attributes)")
    for step in found.get(AGENT_PENDING) or []:
        lines.append(
            f"  '{step}' awaits approval; its arguments need a worker: "
            f"python starter.py approve {run_id} {step} | reject {run_id} {step}"
        )
    if description.status and description.status.name == "RUNNING":
        lines.append(f"  {NO_WORKER}")
    return "\n".join(lines)


async def list_runs(args: argparse.Namespace, settings: Settings) -> int:
    """``list``: recent runs, newest first, with their phase and what they wait for."""
    if args.limit < 1:
        raise UsageProblem("--limit must be at least 1")
    client = await running_server(args)
    query = f"WorkflowType = '{WORKFLOW_NAME}'"
    if not args.all:
        query += " AND ExecutionStatus = 'Running'"
    lines = []
    async for execution in client.list_workflows(query, limit=args.limit):
        lines.append(visible_line(execution))
    print("\n".join(lines) if lines else "No runs." if args.all else "No running runs.")
    return 0
