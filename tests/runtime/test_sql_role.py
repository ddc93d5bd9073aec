"""The start-up warning for a superuser DATABASE_URL, against the real PostgreSQL (the
tests connect as ``postgres``, a superuser); a database that is down never stops a worker."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from temporalio.client import Client

from durable_agents.runtime.plugin import AgentPlugin
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.sql_role import privileged_role_warning
from durable_agents.runtime.workers import agent_worker
from tests.conftest import DATABASE_URL
from tests.scripted_llm import ScriptedLlm

DOWN = "postgresql://postgres@127.0.0.1:9/test"


@pytest.fixture
async def role() -> AsyncIterator[str]:
    """A fresh LOGIN role without superuser (trust auth lets it connect)."""
    name = f"agent_sql_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DATABASE_URL)
    await connection.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER")
    yield name
    await connection.execute(f"DROP ROLE {name}")
    await connection.close()


def as_role(name: str) -> str:
    return DATABASE_URL.replace("postgres@", f"{name}@", 1)


async def test_a_superuser_is_named_with_what_it_reaches_and_the_way_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="durable_agents.runtime.sql_role"):
        warning = await privileged_role_warning(DATABASE_URL)
    assert warning is not None and "'postgres'" in warning
    assert "COPY ... PROGRAM" in warning and "least-privilege role" in warning
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert caplog.records[0].getMessage() == warning


async def test_a_least_privilege_role_is_quiet_and_a_file_role_is_not(role: str) -> None:
    assert await privileged_role_warning(as_role(role)) is None
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        await connection.execute(f"GRANT pg_read_server_files TO {role}")
        warning = await privileged_role_warning(as_role(role))
        await connection.execute(f"REVOKE pg_read_server_files FROM {role}")
    finally:
        await connection.close()
    assert warning is not None and "member of pg_read_server_files" in warning


async def test_no_database_or_a_database_that_is_down_is_not_an_error() -> None:
    assert await privileged_role_warning(None) is None
    assert await privileged_role_warning(DOWN) is None


async def test_the_worker_warns_at_start_and_starts_when_the_database_is_down(
    client: Client, task_queue: str, scripted_llm: ScriptedLlm, caplog: pytest.LogCaptureFixture
) -> None:
    def settings(database_url: str) -> Settings:
        return Settings(
            openai_base_url=scripted_llm.base_url,
            model="m",
            task_queue=task_queue,
            max_activities=8,  # no more than the worker's activity threads
            database_url=database_url,
        )

    with caplog.at_level(logging.WARNING, logger="durable_agents.runtime.sql_role"):
        async with agent_worker(client, settings(DATABASE_URL)):
            pass
    assert ["'postgres'" in r.getMessage() for r in caplog.records] == [True]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="durable_agents.runtime.sql_role"):
        async with agent_worker(client, settings(DOWN)):
            pass
    assert caplog.records == []


async def test_the_plugin_warns_when_entered(
    scripted_llm: ScriptedLlm, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(openai_base_url=scripted_llm.base_url, database_url=DATABASE_URL)
    with caplog.at_level(logging.WARNING, logger="durable_agents.runtime.sql_role"):
        async with AgentPlugin(settings):
            pass
    assert ["'postgres'" in r.getMessage() for r in caplog.records] == [True]
