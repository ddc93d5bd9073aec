"""Long waits on the time-skipping test server: approval timeouts and rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_agents.contracts import Policy
from tests.workflows.runs import activity_types, assert_replays, plan, replace_file_plan, start


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
