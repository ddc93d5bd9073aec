"""One tuned Temporal dev server per session; each test gets its own task queue."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import settings
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_agents.activities.artifacts import ArtifactInterceptor, ArtifactStore
from durable_agents.activities.http import HttpActions
from durable_agents.activities.memory import MemoryActivities
from durable_agents.activities.sql import SqlActions
from durable_agents.runtime.custom_actions import CustomAction, Toolbox
from durable_agents.runtime.devserver import SPEED_ARGS, find_temporal_cli
from durable_agents.runtime.mcp_tools import McpTools
from durable_agents.runtime.visibility import dev_server_args
from durable_agents.runtime.workers import action_activities
from durable_agents.workflows.agent import AgentWorkflow
from tests.fake_llm import FakeLlm
from tests.scripted_llm import ScriptedLlm

# Fuzz tests replay the same examples on every run (CI must not go red by luck); set
# HYPOTHESIS_PROFILE=explore to search with fresh random examples.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=2_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# The machine's PostgreSQL (CI has the same); tests fail loudly when it is missing.
# The session's cross-run memory table (dropped at the end), so runs never meet old lessons.
MEMORY_TABLE = f"lessons_{uuid.uuid4().hex[:12]}"
# One artifact store for the session's workers (content-addressed, so sharing is safe).
ARTIFACTS = Path(tempfile.mkdtemp(prefix="agent-artifacts-"))
atexit.register(shutil.rmtree, ARTIFACTS, True)
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_temporal_cli(),  # raises with install advice if absent
        dev_server_extra_args=[*SPEED_ARGS, *dev_server_args(), "--log-level", "error"],
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / "data").mkdir(parents=True)
    shutil.copy(Path(__file__).parents[1] / "data" / "sales.csv", root / "data" / "sales.csv")
    return root


@pytest.fixture
def fake_llm() -> FakeLlm:
    return FakeLlm()


@contextlib.asynccontextmanager
async def running_worker(
    client: Client,
    task_queue: str,
    fake_llm: FakeLlm,
    actions: Sequence[CustomAction[Any]] = (),
    mcp: McpTools | None = None,
    extra: Sequence[Callable[..., Any]] = (),
) -> AsyncIterator[Worker]:
    """A worker with the real actions (and ``actions``, custom ones, ``mcp``'s tools and
    ``extra`` activities, such as a scripted ``llm`` action) and the LLM activities faked
    by name."""
    sql = SqlActions(DATABASE_URL)
    memory = MemoryActivities(sql, MEMORY_TABLE)
    async with httpx.AsyncClient() as http_client:
        with ThreadPoolExecutor(4) as pool:
            http = HttpActions(http_client)
            worker = Worker(
                client,
                task_queue=task_queue,
                workflows=[AgentWorkflow],
                activities=[
                    fake_llm.plan,
                    fake_llm.review,
                    fake_llm.recover,
                    fake_llm.agent_turn,
                    *action_activities(http, sql),
                    memory.remember,
                    memory.recall,
                    *Toolbox(actions, mcp).activities,
                    *extra,
                ],
                activity_executor=pool,
                interceptors=[ArtifactInterceptor(ArtifactStore(ARTIFACTS))],
            )
            try:
                async with worker:
                    yield worker
            finally:
                await sql.aclose()


@pytest.fixture
async def agent_worker(client: Client, task_queue: str, fake_llm: FakeLlm) -> AsyncIterator[Worker]:
    async with running_worker(client, task_queue, fake_llm) as worker:
        yield worker


@pytest.fixture(scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: timers of hours pass at once while nothing runs."""
    server = shutil.which("temporal-test-server") or str(
        Path(sys.executable).parent / "temporal-test-server"
    )
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def skipping_worker(
    skipping_env: WorkflowEnvironment, task_queue: str, fake_llm: FakeLlm
) -> AsyncIterator[Worker]:
    async with running_worker(skipping_env.client, task_queue, fake_llm) as worker:
        yield worker


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLlm]:
    server = ScriptedLlm().start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
async def drop_memory_table() -> AsyncIterator[None]:
    yield
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        await connection.execute(f"DROP TABLE IF EXISTS {MEMORY_TABLE}")
    finally:
        await connection.close()
