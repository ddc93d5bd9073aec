"""``starter.py memory``: what memory keeps, and forgetting a misleading lesson, on the
machine's PostgreSQL (a table of the test's own)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from durable_agents.activities.memory import MemoryActivities
from durable_agents.activities.sql import SqlActions
from durable_agents.cli.app import main
from durable_agents.contracts import Lesson, RecallRequest
from tests.conftest import DATABASE_URL

PARIS = "Fetch the users, keep only those whose city is Paris, save them as a JSON array"
POISONED = Lesson(
    workflow_id="run-ids-only",
    goal=PARIS,
    outcome="succeeded",
    lesson="Plans that worked: records where city == Paris, fields [id]; file_write",
)


@pytest.fixture
async def store(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MemoryActivities]:
    table = f"lessons_cli_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("AGENT_MEMORY_TABLE", table)
    sql = SqlActions(DATABASE_URL)
    try:
        yield MemoryActivities(sql, table)
    finally:
        await sql.aclose()
        connection = await asyncpg.connect(DATABASE_URL)
        try:
            await connection.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            await connection.close()


async def cli(*argv: str) -> int:
    """``main`` runs its own event loop: off this test's loop, in a thread."""
    return await asyncio.to_thread(main, list(argv))


async def test_a_misleading_lesson_is_listed_and_forgotten(
    store: MemoryActivities, capsys: pytest.CaptureFixture[str]
) -> None:
    await store.remember(POISONED)
    other = Lesson(workflow_id="run-total", goal="Total the revenue", outcome="failed", lesson="x")
    await store.remember(other)

    assert await cli("memory", "list", "--goal", "paris") == 0
    shown = capsys.readouterr().out
    assert "run-ids-only  succeeded" in shown and f"goal: {PARIS}" in shown
    assert "run-total" not in shown  # another goal
    assert await store.recall(RecallRequest(goal=PARIS)) == [POISONED]

    assert await cli("memory", "forget", "run-ids-only") == 0
    assert "Forgot the lesson of run-ids-only." in capsys.readouterr().out
    assert await store.recall(RecallRequest(goal=PARIS)) == []  # never recalled again
    assert [lesson.workflow_id for lesson in await store.stored(10)] == ["run-total"]


async def test_forgetting_an_unknown_run_or_nothing_is_bad_input(
    store: MemoryActivities, capsys: pytest.CaptureFixture[str]
) -> None:
    await store.remember(POISONED)
    assert await cli("memory", "forget", "run-ids-only", "no-such-run") == 2
    out, err = capsys.readouterr()
    assert "Forgot the lesson of run-ids-only." in out
    assert "error: no lesson stored for no-such-run" in err
    assert await cli("memory", "forget") == 2
    assert "needs the workflow ids" in capsys.readouterr().err
    assert await cli("memory", "list", "--goal", "nothing like it") == 0
    assert "No lessons stored for goals containing 'nothing like it'." in capsys.readouterr().out


async def test_memory_without_a_database_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert await cli("memory", "list") == 2
    assert "set DATABASE_URL" in capsys.readouterr().err
