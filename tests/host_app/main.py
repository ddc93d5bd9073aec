"""A host application that embeds agent runs next to its own workflow.

Run from this folder (so its own top-level ``workflows``, ``activities`` and ``runtime``
come first on sys.path) with durable-agents installed as a wheel:
``python main.py ADDRESS TASK_QUEUE WORKSPACE``. Agent settings (LLM provider, state
folder) come from the environment. Prints one JSON line: both results and where every
package was imported from.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import timedelta
from typing import Any

import durable_agents
from durable_agents.contracts import Plan, RunInput
from durable_agents.runtime.plugin import AgentPlugin
from durable_agents.workflows import agent
from durable_agents.workflows.agent import AgentWorkflow
from temporalio.client import Client
from temporalio.worker import Worker

import activities
import runtime
import workflows
from activities.shout import ANNOUNCE, shout
from runtime.settings import HostSettings
from workflows.greeting import HostGreeting

RUN_TIMEOUT = timedelta(seconds=30)
# A given plan of steps that need no LLM: read the CSV, total it, write the totals.
PLAN = Plan.model_validate(
    {
        "steps": [
            {
                "id": "read",
                "title": "Read the sales",
                "action": "file_read",
                "params": {"path": "data/sales.csv"},
            },
            {
                "id": "total",
                "title": "Total per region",
                "action": "transform",
                "params": {
                    "input": "${steps.read.output}",
                    "group_by": "region",
                    "aggregate": {"revenue": "sum"},
                },
            },
            {
                "id": "write",
                "title": "Write the totals",
                "action": "file_write",
                "params": {"path": "out/revenue.json", "content": "${steps.total.output}"},
            },
            {
                "id": "announce",
                "title": "Announce the totals",
                "action": "announce",
                "params": {"message": "totals for ${steps.total.output[0].region} are in"},
            },
        ]
    }
)


async def main(settings: HostSettings) -> dict[str, Any]:
    """Run the host's workflow and one agent run on one worker; report both."""
    async with AgentPlugin(actions=[ANNOUNCE]) as agents:
        client = await Client.connect(settings.address, plugins=[agents])
        async with Worker(
            client, task_queue=settings.task_queue, workflows=[HostGreeting], activities=[shout]
        ):
            greeting = await client.execute_workflow(
                HostGreeting.run,
                "ops",
                id=f"host-greeting-{uuid.uuid4()}",
                task_queue=settings.task_queue,
                execution_timeout=RUN_TIMEOUT,
            )
            run = RunInput(
                goal="total the revenue per region",
                workspace=str(settings.workspace),
                plan=PLAN,
                review=False,
            )
            result = await client.execute_workflow(
                AgentWorkflow.run,
                run,
                id=f"host-agent-{uuid.uuid4()}",
                task_queue=settings.task_queue,
                execution_timeout=RUN_TIMEOUT,
            )
    return {
        "greeting": greeting,
        "status": result.status,
        "steps": {step.id: step.status for step in result.steps},
        "announced": result.steps[-1].output,
        "modules": {
            module.__name__: module.__file__
            for module in (durable_agents, agent, workflows, activities, runtime)
        },
    }


if __name__ == "__main__":
    report = asyncio.run(main(HostSettings.from_argv()))
    print(json.dumps(report), flush=True)
    os._exit(0)  # a worker's threads can crash a normal interpreter exit (sdk-python#300)
