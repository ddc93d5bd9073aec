"""Engine overhead per step: N sequential agent steps vs N raw no-op activities.

Both run on the same tuned dev server in one process; prints per-step times and the
ratio. Rerun: .venv/bin/python bench/step_overhead.py [N] [repeats]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from temporalio import activity, workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from durable_agents.activities.transform import transform
    from durable_agents.contracts import Plan, RunInput
    from durable_agents.runtime.devserver import SPEED_ARGS, find_temporal_cli
    from durable_agents.workflows.agent import AgentWorkflow


@activity.defn
async def noop(value: int) -> int:
    return value


@workflow.defn
class RawChain:
    @workflow.run
    async def run(self, count: int) -> int:
        for index in range(count):
            await workflow.execute_activity(
                noop, index, start_to_close_timeout=timedelta(seconds=10)
            )
        return count


def chain_plan(count: int) -> Plan:
    steps = [{"id": "s0", "title": "s0", "action": "transform", "params": {"input": 0}}]
    steps += [
        {
            "id": f"s{i}",
            "title": f"s{i}",
            "action": "transform",
            "params": {"input": f"${{steps.s{i - 1}.output}}"},
        }
        for i in range(1, count)
    ]
    return Plan.model_validate({"steps": steps})


async def main(count: int, repeats: int) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_temporal_cli(),
        dev_server_extra_args=[*SPEED_ARGS, "--log-level", "error"],
        data_converter=pydantic_data_converter,
    )
    client, queue = env.client, f"bench-{uuid.uuid4().hex[:6]}"
    raw, agent = [], []
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[AgentWorkflow, RawChain],
            activities=[noop, transform],
            activity_executor=pool,
        ):
            run_input = RunInput(
                goal="bench", workspace=os.getcwd(), plan=chain_plan(count), review=False
            )
            for _ in range(repeats):
                started = time.perf_counter()
                await client.execute_workflow(
                    RawChain.run, count, id=str(uuid.uuid4()), task_queue=queue
                )
                raw.append((time.perf_counter() - started) / count)
                started = time.perf_counter()
                await client.execute_workflow(
                    AgentWorkflow.run, run_input, id=str(uuid.uuid4()), task_queue=queue
                )
                agent.append((time.perf_counter() - started) / count)
    await env.shutdown()
    raw_ms, agent_ms = statistics.median(raw) * 1000, statistics.median(agent) * 1000
    print(f"{count} sequential steps, median of {repeats} runs")
    print(f"raw no-op activity : {raw_ms:6.1f} ms/step")
    print(f"agent workflow step: {agent_ms:6.1f} ms/step")
    print(f"ratio              : {agent_ms / raw_ms:6.2f}x")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    r = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    asyncio.run(main(n, r))
    sys.stdout.flush()
    os._exit(0)
