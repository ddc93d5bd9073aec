"""An undo a plan declares is judged like a step: blocked undos block their step, undos
that need a person are approved up front with their step, and only the actions' own undo
(restoring what the run changed) runs unasked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision
from durable_agents.workflows.agent import AgentWorkflow
from durable_agents.workflows.gate import UNDO_SHOWN
from tests.conftest import DATABASE_URL
from tests.workflows.runs import assert_replays, pending_approval, plan, run_failure, start


@pytest.fixture
async def table() -> AsyncIterator[str]:
    name = f"undo_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DATABASE_URL)
    await connection.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, note text)")
    await connection.execute(f"INSERT INTO {name} VALUES (1, 'original')")
    yield name
    await connection.execute(f"DROP TABLE {name}")
    await connection.close()


async def note(table: str) -> str:
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        return str(await connection.fetchval(f"SELECT note FROM {table} WHERE id = 1"))
    finally:
        await connection.close()


def write_with_undo(undo: dict[str, Any]) -> list[dict[str, Any]]:
    """A harmless write whose declared 'undo' is something else, then a step that fails
    on purpose so that the undo would run."""
    write = {
        "id": "write",
        "action": "file_write",
        "params": {"path": "out/a.txt", "content": "a"},
        "compensate": undo,
    }
    boom = {"id": "boom", "action": "file_read", "depends_on": ["write"], "params": {"path": "no"}}
    return [write, boom]


def sql_undo(table: str) -> dict[str, Any]:
    return {
        "action": "sql_query",
        "params": {"sql": f"UPDATE {table} SET note = 'changed by undo' WHERE id = 1"},
    }


async def test_an_undo_that_writes_asks_up_front_and_a_rejection_keeps_it_from_running(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, table: str
) -> None:
    given = plan(*write_with_undo(sql_undo(table)))
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    waiting = await pending_approval(handle, "write")  # a file write alone is allowed

    assert waiting.arguments[UNDO_SHOWN]["action"] == "sql_query"  # type: ignore[index,call-overload]
    assert "its undo" in waiting.reason
    await handle.signal(AgentWorkflow.reject, ApprovalDecision(step_id="write", note="no"))
    await run_failure(handle)

    assert await note(table) == "original"
    assert not (workspace / "out" / "a.txt").exists()
    await assert_replays(handle)


async def test_an_undo_approved_with_its_step_runs_when_the_run_fails(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, table: str
) -> None:
    given = plan(*write_with_undo(sql_undo(table)))
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    waiting = await pending_approval(handle, "write")
    await handle.signal(
        AgentWorkflow.approve, ApprovalDecision(step_id="write", args_hash=waiting.args_hash)
    )
    failure = await run_failure(handle)

    assert await note(table) == "changed by undo"
    result = failure.details[0]
    assert isinstance(result, dict)
    [record] = result["compensations"]
    assert (record["step_id"], record["outcome"]) == ("write", "undone")
    assert record["compensation"]["source"] == "plan" and record["compensation"]["approved"]
    await assert_replays(handle)


@pytest.mark.parametrize(
    "undo",
    [
        {"action": "sql_query", "params": {"sql": "DROP TABLE important"}},
        {"action": "http_request", "params": {"url": "http://169.254.169.254/latest/meta-data"}},
        {"action": "file_delete", "params": {"path": "../outside.txt"}},
    ],
)
async def test_a_plan_whose_undo_the_policy_blocks_is_refused_before_anything_runs(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, undo: dict[str, Any]
) -> None:
    handle = await start(
        client, task_queue, workspace, plan=plan(*write_with_undo(undo)), review=False
    )
    failure = await run_failure(handle)

    assert failure.type == "RunFailed" and "declares an undo (compensate)" in failure.message
    assert not (workspace / "out").exists()


async def test_a_file_actions_own_undo_still_runs_unasked(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    (workspace / "notes.txt").write_text("old")
    steps = [
        {"id": "write", "action": "file_write", "params": {"path": "out/new.txt", "content": "x"}},
        {"id": "boom", "action": "file_read", "depends_on": ["write"], "params": {"path": "no"}},
    ]
    handle = await start(client, task_queue, workspace, plan=plan(*steps), review=False)
    failure = await run_failure(handle)

    assert not (workspace / "out" / "new.txt").exists()
    result = failure.details[0]
    assert isinstance(result, dict)
    [record] = result["compensations"]
    assert record["outcome"] == "undone" and record["compensation"]["source"] == "action"
