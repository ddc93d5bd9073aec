"""Look before planning: the planner's first request (and every re-plan's) shows what
the goal's inputs look like; a run whose look fails plans without it."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.activities.files import file_list, file_read
from durable_agents.workflows.agent import AgentWorkflow
from tests.fake_llm import FakeLlm
from tests.workflows.runs import DEMO_PLAN, activity_types, assert_replays, plan, start

GOAL = "Total the revenue per region in data/sales.csv and write it to out/revenue.json."
COLUMNS = "columns date, region, product, units, revenue (numbers: units, revenue)"


async def test_the_planner_sees_the_columns_of_the_csv_the_goal_names(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.extend([plan(DEMO_PLAN.steps[0].model_dump()), DEMO_PLAN])
    # the first plan writes nothing: the goal's file is missing, so the run re-plans
    handle = await start(client, task_queue, workspace, goal=GOAL)
    result = await handle.result()

    assert result.status == "succeeded"
    first, again = fake_llm.plan_requests
    [seen] = first.observations  # out/revenue.json does not exist yet: not looked at
    assert seen == f"data/sales.csv: CSV, 12 rows, {COLUMNS}"
    assert again.observations == first.observations  # the re-plan sees them too
    assert (await activity_types(handle))[:2] == ["look", "plan"]
    await assert_replays(handle)


async def test_a_given_plan_does_not_look(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    handle = await start(client, task_queue, workspace, goal=GOAL, plan=DEMO_PLAN, review=False)
    await handle.result()
    assert "look" not in await activity_types(handle)


async def test_a_run_whose_look_fails_plans_without_it(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm
) -> None:
    fake_llm.plans.append(plan({"id": "ls", "action": "file_list", "params": {}}))
    worker = Worker(  # no look activity: the call fails (not registered), twice
        client,
        task_queue=task_queue,
        workflows=[AgentWorkflow],
        activities=[fake_llm.plan, fake_llm.review, file_read, file_list],
    )
    async with worker:
        goal = "List the folder that holds data/sales.csv"
        handle = await start(client, task_queue, workspace, goal=goal, review=False)
        result = await handle.result()

    assert result.status == "succeeded"
    assert fake_llm.plan_requests[0].observations == []
    assert await activity_types(handle) == ["look", "plan", "file_list"]
    await assert_replays(handle)
