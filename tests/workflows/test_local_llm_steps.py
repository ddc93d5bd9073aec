"""``RunInput.local_llm_steps``: llm steps run as local activities (a marker in history,
no task queue round trip), with the same result, and replay; off by default."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ActionContext, ActionResult, Plan
from durable_agents.contracts.actions import LlmParams
from durable_agents.workflows.agent import AgentWorkflow
from tests.workflows.runs import activity_types, assert_replays, plan, start

FAN_OUT = plan(
    *({"id": f"ask{n}", "action": "llm", "params": {"prompt": f"fact {n}"}} for n in range(3))
)


async def run_llm_steps(
    client: Client, task_queue: str, workspace: Path, given: Plan, **fields: bool
) -> tuple[dict[str, object], list[str], list[str]]:
    """The run's step outputs, its scheduled activities, and all of them with local ones."""
    seen: list[tuple[str, str]] = []

    @activity.defn(name="llm")
    async def llm(context: ActionContext, params: LlmParams) -> ActionResult:
        seen.append((context.step_id, params.prompt))
        return ActionResult(output=f"answer to {params.prompt}")

    worker = Worker(client, task_queue=task_queue, workflows=[AgentWorkflow], activities=[llm])
    async with worker:
        handle = await start(client, task_queue, workspace, plan=given, review=False, **fields)
        result = await handle.result()
        await assert_replays(handle)
    assert sorted(seen) == [(f"ask{n}", f"fact {n}") for n in range(3)]
    outputs = {s.id: s.output for s in result.steps}
    return outputs, await activity_types(handle, local=False), await activity_types(handle)


async def test_llm_steps_run_as_local_activities_when_the_run_asks(
    client: Client, task_queue: str, workspace: Path
) -> None:
    outputs, scheduled, every = await run_llm_steps(
        client, task_queue, workspace, FAN_OUT, local_llm_steps=True
    )
    assert outputs == {f"ask{n}": f"answer to fact {n}" for n in range(3)}
    assert scheduled == []  # no task queue round trip
    assert every == ["llm", "llm", "llm"]  # each call recorded as a marker: replay reads it


async def test_llm_steps_are_activities_by_default(
    client: Client, task_queue: str, workspace: Path
) -> None:
    outputs, scheduled, _ = await run_llm_steps(client, task_queue, workspace, FAN_OUT)
    assert outputs == {f"ask{n}": f"answer to fact {n}" for n in range(3)}
    assert scheduled == ["llm", "llm", "llm"]
