"""AgentPlugin embeds agent runs in an existing worker that runs its own workflow too."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_agents.runtime.plugin import AgentPlugin
from durable_agents.runtime.settings import Settings
from tests.greeting_workflow import Greeting
from tests.workflows.runs import DEMO_PLAN, start


async def test_one_plugin_line_adds_agent_runs_to_an_existing_worker(
    temporal_env: WorkflowEnvironment, task_queue: str, workspace: Path
) -> None:
    target = temporal_env.client.service_client.config.target_host
    async with AgentPlugin(Settings()) as agents:
        client = await Client.connect(target, plugins=[agents])
        async with Worker(client, task_queue=task_queue, workflows=[Greeting]):
            greeting = await client.execute_workflow(
                Greeting.run, "ops", id=f"greet-{uuid.uuid4()}", task_queue=task_queue
            )
            handle = await start(client, task_queue, workspace, plan=DEMO_PLAN, review=False)
            result = await handle.result()

    assert greeting == "hello ops"
    assert result.status == "succeeded"
    totals = json.loads((workspace / "out/revenue.json").read_text())
    assert {row["region"] for row in totals} == {"North", "South", "East", "West"}
