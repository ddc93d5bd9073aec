"""Long waits: approval timeouts and rate limits on the time-skipping test server, waits
within the run's wall-clock budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_agents.contracts import Budget, Policy, Review
from durable_agents.workflows.plan_checks import overlong_waits
from tests.fake_llm import FakeLlm
from tests.workflows.runs import (
    activity_types,
    assert_replays,
    plan,
    replace_file_plan,
    run_to_end,
    start,
)


async def test_the_default_approval_timeout_denies_after_a_day(
    skipping_env: WorkflowEnvironment, task_queue: str, workspace: Path, skipping_worker: Worker
) -> None:
    given = replace_file_plan(workspace)
    handle = await start(skipping_env.client, task_queue, workspace, plan=given, review=False)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()  # the test server skips the 24 h the run waits
    assert "ApprovalTimedOut: no decision within 86400 s" in str(failed.value.cause)
    assert (workspace / "notes.txt").read_text() == "old"
    status = await handle.query("status")
    assert status["approvals"][0]["outcome"] == "timed_out"


async def test_a_rate_limit_spaces_calls_a_minute_apart(
    skipping_env: WorkflowEnvironment, task_queue: str, workspace: Path, skipping_worker: Worker
) -> None:
    steps = [{"id": f"ls_{n}", "action": "file_list", "params": {}} for n in range(3)]
    policy = Policy(rate_limits={"file_list": 1})
    handle = await start(
        skipping_env.client, task_queue, workspace, plan=plan(*steps), review=False, policy=policy
    )
    result = await handle.result()

    finishes = sorted(s.finished_at for s in result.steps if s.finished_at)
    gaps = [(finishes[n + 1] - finishes[n]).total_seconds() for n in range(2)]
    assert all(gap >= 59 for gap in gaps), gaps
    assert await activity_types(handle) == ["file_list"] * 3
    await assert_replays(handle)


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ({"action": "wait", "params": {"seconds": 3600}}, "the wait of 3600 s"),
        (
            {"action": "wait_for_event", "params": {"event": "go", "timeout_seconds": 3600}},
            "waiting 3600 s for event 'go'",
        ),
    ],
)
async def test_no_wait_outlives_the_runs_wall_clock_budget(
    skipping_env: WorkflowEnvironment,
    task_queue: str,
    workspace: Path,
    skipping_worker: Worker,
    step: dict[str, object],
    said: str,
) -> None:
    """Measured: a planned wait_for_event of an hour held a run of a 10-minute budget."""
    budget = Budget(max_wall_seconds=600, on_exhausted="fail")
    given = plan({"id": "hold", **step})
    handle = await start(
        skipping_env.client, task_queue, workspace, plan=given, review=False, budget=budget
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert f"WallBudgetSpent: {said} outlasts the run's wall-clock budget (600 s)" in str(
        failed.value.cause
    )
    description = await handle.describe()
    assert description.close_time is not None and description.start_time is not None
    assert (description.close_time - description.start_time).total_seconds() < 700
    await assert_replays(handle)


def test_a_wait_longer_than_the_budget_left_is_refused() -> None:
    waits = plan(
        {"id": "hour", "action": "wait", "params": {"seconds": 3600}},
        {"id": "blink", "action": "wait", "params": {"seconds": 1}},
        {"id": "event", "action": "wait_for_event", "params": {"event": "go"}},  # cut instead
    )
    assert overlong_waits(waits, 540.4) == [
        "step 'hour' waits 3600 s, but the run has 540 s of its wall-clock budget left: wait "
        "less, or run the goal with a larger budget (--max-minutes)"
    ]
    assert overlong_waits(waits, 4000) == []


async def test_a_planned_wait_past_the_budget_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Refused before any step runs: the wait could only end the run at the budget."""
    write = {"id": "note", "action": "file_write", "params": {"path": "n.txt", "content": "x"}}
    fake_llm.plans.append(plan(write, {"id": "hold", "action": "wait", "params": {"seconds": 900}}))
    fake_llm.plans.append(plan(write, {"id": "hold", "action": "wait", "params": {"seconds": 0.1}}))
    fake_llm.reviews.append(Review(verdict="done", answer="noted"))
    budget = Budget(max_wall_seconds=600)
    result = await run_to_end(client, task_queue, workspace, goal="Write x to n.txt", budget=budget)
    assert result.status == "succeeded", result.error
    assert "step 'hold' waits 900 s" in fake_llm.plan_requests[1].errors[0]
    assert [version.version for version in result.plans] == [1]  # the refused plan never ran
