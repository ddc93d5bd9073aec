"""Pure actions (transform, records, set_keys) run as local activities: their results are
markers in history, not a task-queue round trip each; failures still reach the planner
and the run still replays (real dev server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from durable_agents.contracts import CATALOG
from tests.workflows.runs import DEMO_PLAN, activity_types, assert_replays, plan, run_failure, start
from tests.workflows.test_agent import TOTALS


async def local_activity_markers(handle: WorkflowHandle[Any, Any]) -> int:
    return len(await activity_types(handle)) - len(await activity_types(handle, local=False))


def test_only_side_effect_free_actions_are_pure() -> None:
    pure = sorted(name for name, spec in CATALOG.items() if spec.pure)
    assert pure == ["records", "set_keys", "transform"]


async def test_a_pure_step_is_a_marker_in_history_not_an_activity_task(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    handle = await start(client, task_queue, workspace, plan=DEMO_PLAN, review=False)
    result = await handle.result()
    assert result.status == "succeeded"
    assert await activity_types(handle, local=False) == ["file_read", "file_write"]
    assert await activity_types(handle) == ["file_read", "transform", "file_write"]
    assert await local_activity_markers(handle) == 1
    assert json.loads((workspace / "out/revenue.json").read_text()) == TOTALS
    await assert_replays(handle)


async def test_a_failing_pure_step_fails_with_its_teaching_error(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}
    count = {
        "id": "count",
        "action": "records",
        "depends_on": ["read"],
        "params": {"input": "${steps.read.output}", "compute": "sum", "field": "units_sold"},
    }
    handle = await start(client, task_queue, workspace, plan=plan(read, count), review=False)
    failure = await run_failure(handle)
    assert failure.type == "RunFailed"  # the step failed, not the workflow task
    assert "units_sold" in str(failure.message) and "units" in str(failure.message)
    assert await activity_types(handle, local=False) == ["file_read"]
    assert await local_activity_markers(handle) >= 1  # the failed attempt is recorded too
    await assert_replays(handle)


async def test_a_step_reads_the_steps_it_depends_on_and_no_others(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    """A step's references resolve against the steps it depends on (and itself), not
    the whole run: resolving costs the same in a long plan as in a short one."""
    first = {"id": "a", "action": "transform", "params": {"input": 1}}
    other = {"id": "c", "action": "transform", "params": {"input": 2}}
    sees = {
        "id": "b",
        "action": "transform",
        "params": {"input": "${steps.a.output && keys(steps)}"},
    }
    handle = await start(client, task_queue, workspace, plan=plan(first, other, sees), review=False)
    result = await handle.result()
    assert result.status == "succeeded"
    assert {s.id: s.output for s in result.steps}["b"] == ["a", "b"]
    await assert_replays(handle)
