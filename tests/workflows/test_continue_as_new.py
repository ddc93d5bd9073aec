"""Continue-as-new at re-plan boundaries: the chain of runs ends with one result; steps,
usage, approvals and undo carry over; finished steps are not run again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision, Policy, Review, StepStatus
from durable_agents.workflows.agent import AgentWorkflow
from tests.fake_llm import FakeLlm
from tests.workflows.runs import (
    DEMO_PLAN,
    activity_types,
    assert_replays,
    pending_approval,
    plan,
    start,
)

READ = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}
MISSING = {"id": "other", "action": "file_read", "params": {"path": "data/nope.csv"}}


async def test_a_replan_continues_as_new_and_the_chain_finishes_the_goal(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.extend([plan(READ, MISSING), DEMO_PLAN])
    fake_llm.reviews.append(Review(verdict="done", answer="North 643"))
    handle = await start(
        client,
        task_queue,
        workspace,
        continue_after_events=1,  # at every re-plan boundary
        policy=Policy(plan_signoff=True),
    )
    latest = client.get_workflow_handle(handle.id)  # follows the chain
    await pending_approval(latest, "plan")
    await latest.signal(AgentWorkflow.approve, ApprovalDecision(step_id="plan", note="v1"))
    async with asyncio.timeout(20):
        while True:  # the next run of the chain asks about plan v2
            status = await latest.query(AgentWorkflow.status)
            if status.plan_version == 2 and status.pending_approvals:
                break
            await asyncio.sleep(0.05)
    await latest.signal(AgentWorkflow.approve, ApprovalDecision(step_id="plan", note="v2"))
    result = await handle.result()  # follows continue-as-new

    assert result.status == "succeeded" and result.answer == "North 643"
    assert [p.reason.split(":")[0] for p in result.plans] == ["initial plan", "re-plan 1"]
    assert [a.note for a in result.approvals] == ["v1", "v2"]
    assert result.usage.calls == 3  # two plans and a review, across both runs
    assert {s.id: s.status for s in result.steps} == {
        "read": StepStatus.SUCCEEDED,
        "total": StepStatus.SUCCEEDED,
        "write": StepStatus.SUCCEEDED,
    }
    assert [s.id for s in result.superseded_steps] == ["other"]

    first = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    events = (await first.fetch_history()).events
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert await activity_types(first) == ["look", "plan", "file_read", "file_read"]
    kept_read = ["plan", "transform", "file_write", "review"]  # no file_read: it was kept
    assert await activity_types(latest) == kept_read
    await assert_replays(first)
    await assert_replays(latest)
