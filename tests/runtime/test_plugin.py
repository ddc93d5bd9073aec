"""AgentPlugin embeds agent runs in an existing worker that runs its own workflow too."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_agents.runtime.plugin import AgentPlugin
from durable_agents.runtime.settings import Settings
from tests.greeting_workflow import Greeting
from tests.scripted_llm import ScriptedLlm
from tests.test_starter import GOAL, REPO, clean_env
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


async def test_a_goal_started_against_an_embedded_worker_gets_its_llm_calls_served(
    temporal_env: WorkflowEnvironment, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    """The plugin serves every activity on the app's one queue: a ``--goal`` run must not
    send its LLM calls to ``<queue>-llm``, which nobody polls (it hung in planning)."""
    scripted_llm.queue("plan", DEMO_PLAN.model_dump(mode="json"))
    scripted_llm.queue("review", {"answer": "totals written", "verdict": "done"})
    target = temporal_env.client.service_client.config.target_host
    settings = Settings(openai_base_url=scripted_llm.base_url, openai_api_key="sk-test")
    env = clean_env(
        OPENAI_BASE_URL=scripted_llm.base_url,
        OPENAI_API_KEY="sk-test",
        TEMPORAL_ADDRESS=target,
        AGENT_TASK_QUEUE=task_queue,
        AGENT_STATE_DIR=str(workspace / ".state"),
    )
    command = [sys.executable, str(REPO / "starter.py"), "--goal", GOAL, "--workspace"]
    async with AgentPlugin(settings) as agents:
        client = await Client.connect(target, plugins=[agents])
        async with Worker(client, task_queue=task_queue, workflows=[Greeting]):
            done = await asyncio.to_thread(
                subprocess.run,
                [*command, str(workspace)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No worker is polling" not in done.stdout  # the embedded worker served it
    assert scripted_llm.kinds() == ["plan", "review"]
