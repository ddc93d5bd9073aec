"""sql_query steps in a run: reads run freely, a write waits for a person, then runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision, Review
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import DATABASE_URL
from tests.fake_llm import FakeLlm
from tests.workflows.runs import assert_replays, pending_approval, plan, start


@pytest.fixture
async def orders() -> AsyncIterator[str]:
    name = f"orders_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DATABASE_URL)
    await connection.execute(f"CREATE TABLE {name} (region text, amount numeric)")
    await connection.execute(f"INSERT INTO {name} VALUES ('North', 10.5), ('North', 4.5)")
    yield name
    await connection.execute(f"DROP TABLE {name}")
    await connection.close()


async def test_a_read_feeds_a_write_that_waits_for_approval(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, orders: str
) -> None:
    total = f"SELECT region, sum(amount) AS amount FROM {orders} GROUP BY region"
    insert = f"INSERT INTO {orders} VALUES ($1, $2)"
    given = plan(
        {"id": "total", "action": "sql_query", "params": {"sql": total}},
        {
            "id": "record",
            "action": "sql_query",
            "params": {"sql": insert, "params": ["Total", "${steps.total.output.rows[0].amount}"]},
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    waiting = await pending_approval(handle, "record")
    assert waiting.arguments["params"] == ["Total", 15]  # type: ignore[index,call-overload]
    assert "changes data" in waiting.reason

    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="record"))
    result = await handle.result()
    assert result.steps[1].output["status"] == "INSERT 0 1"  # type: ignore[index,call-overload]
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        assert (
            await connection.fetchval(f"SELECT amount FROM {orders} WHERE region = 'Total'") == 15
        )
    finally:
        await connection.close()


async def test_a_planned_file_of_a_query_holds_its_rows(
    client: Client,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    agent_worker: Worker,
    orders: str,
) -> None:
    """Measured (sql_select eval): the whole result, {"rows": ..., "row_count": ...},
    written where the goal asked for the records; the reviewer accepted it."""
    select = f"SELECT region, amount FROM {orders} WHERE amount > 5"
    fake_llm.plans.append(
        plan(
            {"id": "q", "action": "sql_query", "params": {"sql": select}},
            {
                "id": "save",
                "action": "file_write",
                "params": {"path": "out/big.json", "content": "${steps.q.output}"},
            },
        )
    )
    fake_llm.reviews.append(Review(verdict="done", answer="one order"))
    goal = f"Select the orders above 5 from the PostgreSQL table {orders}, save to out/big.json"
    handle = await start(client, task_queue, workspace, goal=goal)
    result = await handle.result()
    assert result.status == "succeeded", result.error
    assert json.loads((workspace / "out/big.json").read_text()) == [
        {"region": "North", "amount": 10.5}
    ]
    await assert_replays(handle)
