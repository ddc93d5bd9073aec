"""sql_query steps in a run: reads run freely, a write waits for a person, then runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import DATABASE_URL
from tests.workflows.runs import pending_approval, plan, start


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
