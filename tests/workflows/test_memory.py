"""Cross-run memory: a finished run leaves a lesson in PostgreSQL; the planner of a later
run with a similar goal sees it; an unrelated goal does not."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Review
from tests.conftest import DATABASE_URL, MEMORY_TABLE
from tests.fake_llm import FakeLlm
from tests.workflows.runs import DEMO_PLAN, activity_types, assert_replays, plan, run_failure, start

GOAL = "Total the revenue per region in data/sales.csv"


async def test_a_lesson_is_recalled_for_a_similar_goal_only(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    missing = {"id": "read", "action": "file_read", "params": {"path": "data/sale.csv"}}
    fake_llm.plans.extend([plan(missing), DEMO_PLAN])
    fake_llm.reviews.append(Review(verdict="done", answer="North 643, South 379.5"))
    first = await start(client, task_queue, workspace, goal=GOAL, memory=True)
    await first.result()
    assert await activity_types(first) == [
        "recall",
        "look",
        "plan",
        "file_read",
        "plan",
        "file_read",
        "transform",
        "file_write",
        "review",
        "remember",
    ]
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        row = await connection.fetchrow(
            f"SELECT outcome, lesson FROM {MEMORY_TABLE} WHERE workflow_id = $1", first.id
        )
    finally:
        await connection.close()
    assert row is not None and row["outcome"] == "succeeded"
    assert "worked: file_read (read) -> transform (total) -> file_write (write)" in row["lesson"]
    assert "failed: file_read: FileNotFound" in row["lesson"]

    fake_llm.plans.append(DEMO_PLAN)
    similar = await start(
        client, task_queue, workspace, goal="Revenue per region from sales", memory=True
    )
    await similar.result()
    lessons = fake_llm.plan_requests[2].lessons
    assert len(lessons) >= 1 and lessons[0].startswith(f"succeeded run for {GOAL!r}")
    await assert_replays(similar)

    fake_llm.plans.append(plan({"id": "ls", "action": "file_list", "params": {}}))
    unrelated = await start(
        client, task_queue, workspace, goal="List the weather stations", memory=True
    )
    await unrelated.result()
    assert fake_llm.plan_requests[3].lessons == []


async def test_a_failed_run_leaves_a_lesson_too_and_memory_off_touches_nothing(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    broken = plan({"id": "read", "action": "file_read", "params": {"path": "nope.csv"}})
    failed = await start(
        client,
        task_queue,
        workspace,
        goal="Read nope.csv quickly",
        plan=broken,
        review=False,
        memory=True,
    )
    await run_failure(failed)
    assert (await activity_types(failed))[-1] == "remember"

    quiet = await start(client, task_queue, workspace, plan=broken, review=False)
    await run_failure(quiet)
    assert "remember" not in await activity_types(quiet)
