"""The saga: a failed or cancelled run undoes its finished steps, newest first, and the
world (files, rows) is as it was."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from durable_agents.contracts import Policy, Review
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import DATABASE_URL
from tests.fake_llm import FakeLlm
from tests.workflows.runs import assert_replays, plan, run_failure, start

CHANGES_FILES = [
    {"id": "create", "action": "file_write", "params": {"path": "out/new.txt", "content": "x"}},
    {"id": "replace", "action": "file_write", "params": {"path": "notes.txt", "content": "new"}},
    {"id": "log", "action": "file_append", "params": {"path": "log.txt", "content": "run\n"}},
]
ALLOW_CHANGES = Policy(decisions={"destructive": "allow", "external": "allow"})


def world(workspace: Path) -> dict[str, str]:
    return {
        p.relative_to(workspace).as_posix(): p.read_text()
        for p in sorted(workspace.rglob("*"))
        if p.is_file()
    }


def then_fail(*after: str) -> dict[str, object]:
    return {
        "id": "boom",
        "action": "file_read",
        "depends_on": list(after),
        "params": {"path": "no"},
    }


@pytest.fixture
async def table() -> AsyncIterator[str]:
    name = f"saga_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DATABASE_URL)
    await connection.execute(f"CREATE TABLE {name} (id serial PRIMARY KEY, note text)")
    yield name
    await connection.execute(f"DROP TABLE {name}")
    await connection.close()


async def rows(table: str) -> list[str]:
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        return [r["note"] for r in await connection.fetch(f"SELECT note FROM {table}")]
    finally:
        await connection.close()


async def test_a_failed_run_restores_files_and_rows(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, table: str
) -> None:
    (workspace / "notes.txt").write_text("old")
    (workspace / "log.txt").write_text("earlier\n")
    before = world(workspace)
    insert = {
        "id": "insert",
        "action": "sql_query",
        "params": {"sql": f"INSERT INTO {table} (note) VALUES ($1) RETURNING id", "params": ["a"]},
        "compensate": {
            "action": "sql_query",
            "params": {
                "sql": f"DELETE FROM {table} WHERE id = $1",
                "params": ["${steps.insert.output.rows[0].id}"],
            },
            "description": "delete the inserted row",
        },
    }
    steps = [*CHANGES_FILES, insert, then_fail("create", "replace", "log", "insert")]
    handle = await start(
        client, task_queue, workspace, plan=plan(*steps), review=False, policy=ALLOW_CHANGES
    )
    failure = await run_failure(handle)

    assert world(workspace) == before and await rows(table) == []
    result = failure.details[0]
    assert isinstance(result, dict)
    undone = [(c["step_id"], c["outcome"]) for c in result["compensations"]]
    assert sorted(undone) == [
        ("create", "undone"),
        ("insert", "undone"),
        ("log", "undone"),
        ("replace", "undone"),
    ]
    assert result["undo"] == []
    assert (await handle.query(AgentWorkflow.status)).phase.value == "failed"
    await assert_replays(handle)


async def test_undo_runs_newest_first_and_reports_what_it_could_not_do(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    (workspace / "big.bin").write_bytes(b"\xff\xfe")
    steps = [
        {"id": "first", "action": "file_write", "params": {"path": "a.txt", "content": "1"}},
        {
            "id": "second",
            "action": "file_append",
            "depends_on": ["first"],
            "params": {"path": "a.txt", "content": "2"},
        },
        {
            "id": "binary",
            "action": "file_delete",
            "depends_on": ["second"],
            "params": {"path": "big.bin"},
        },
        then_fail("binary"),
    ]
    handle = await start(
        client, task_queue, workspace, plan=plan(*steps), review=False, policy=ALLOW_CHANGES
    )
    result = (await run_failure(handle)).details[0]
    assert isinstance(result, dict)
    assert [(c["step_id"], c["outcome"]) for c in result["compensations"]] == [
        ("binary", "impossible"),
        ("second", "undone"),
        ("first", "undone"),
    ]
    assert "big.bin: it is not text" in result["compensations"][0]["error"]
    assert not (workspace / "a.txt").exists()


async def test_a_cancelled_run_undoes_what_it_did(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    steps = [
        CHANGES_FILES[0],
        {
            "id": "wait",
            "action": "wait_for_event",
            "depends_on": ["create"],
            "params": {"event": "never"},
        },
    ]
    handle = await start(client, task_queue, workspace, plan=plan(*steps), review=False)
    async with asyncio.timeout(20):
        while (await handle.query(AgentWorkflow.status)).awaited_events != ["never"]:
            await asyncio.sleep(0.05)
    assert (workspace / "out/new.txt").exists()
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    assert not (workspace / "out/new.txt").exists()
    status = await handle.query(AgentWorkflow.status)
    assert [(c.step_id, c.outcome) for c in status.compensations] == [("create", "undone")]
    assert status.phase.value == "cancelled"
    await assert_replays(handle)


async def test_without_compensate_a_failed_run_leaves_its_changes(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    steps = [CHANGES_FILES[0], then_fail("create")]
    handle = await start(
        client, task_queue, workspace, plan=plan(*steps), review=False, compensate=False
    )
    result = (await run_failure(handle)).details[0]
    assert isinstance(result, dict) and result["compensations"] == []
    assert (workspace / "out/new.txt").read_text() == "x"


async def test_a_parent_undoes_what_its_finished_sub_goal_did(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.extend(
        [
            plan(
                {"id": "part", "action": "sub_goal", "params": {"goal": "create the file"}},
                then_fail("part"),
            ),
            plan(CHANGES_FILES[0]),
        ]
    )
    fake_llm.reviews.append(Review(verdict="done", answer="created"))
    handle = await start(client, task_queue, workspace, max_replans=0)
    result = (await run_failure(handle)).details[0]

    assert isinstance(result, dict)
    assert [(c["step_id"], c["outcome"]) for c in result["compensations"]] == [("part", "undone")]
    assert not (workspace / "out/new.txt").exists()
