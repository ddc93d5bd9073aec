"""Worker memory per run waiting for approval: N runs (10, 100, 300) each stopped at a
POST that needs a person, against N raw workflows waiting for a signal. Each case runs
in a fresh worker process on the same dev server; the figure is the growth of the
worker's resident memory from one warmed-up waiting run to N+1, per run, after a
garbage collection.
Rerun: .venv/bin/python bench/waiting_memory.py [counts, comma-separated]"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import json
import os
import subprocess
import sys
import uuid
from typing import Any

from common import agent_worker, dev_server, start_plan
from raw_waiting import RawWaiting
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Policy
from durable_agents.workflows.agent import AgentWorkflow

POST = Plan.model_validate(
    {
        "steps": [
            {
                "id": "post",
                "title": "post",
                "action": "http_request",
                "params": {"url": "http://127.0.0.1:9/x", "method": "POST", "text_body": "x"},
            }
        ]
    }
)


def resident_kib() -> int:
    """Resident memory after a collection, with freed heap given back to the system
    (glibc keeps it otherwise, and transient peaks would count as held per run)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def waiting(handle: WorkflowHandle[Any, Any], engine: str) -> None:
    """Until the run waits (its query says so): a condition, not a fixed sleep."""
    while True:
        if engine == "agent":
            if (await handle.query(AgentWorkflow.status)).pending_approvals:
                return
        elif await handle.query(RawWaiting.waiting):
            return
        await asyncio.sleep(0.02)


async def child(engine: str, count: int, address: str) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    policy = Policy(allow_hosts=["127.0.0.1"])
    handles: list[WorkflowHandle[Any, Any]] = []

    async def start_waiting(queue: str) -> None:
        if engine == "agent":
            handle = await start_plan(client, queue, POST, policy=policy)
        else:
            handle = await client.start_workflow(
                RawWaiting.run, id=f"raw-{uuid.uuid4()}", task_queue=queue
            )
        handles.append(handle)
        await waiting(handle, engine)

    async def measure(queue: str) -> float:
        for _ in range(5):  # warm up: modules, caches, connections, the first pages of heap
            await start_waiting(queue)
        before = resident_kib()
        await asyncio.gather(*(start_waiting(queue) for _ in range(count)))
        return (resident_kib() - before) / count

    if engine == "agent":
        async with agent_worker(client, "http://127.0.0.1:1/v1") as queue:
            per_run = await measure(queue)
            await asyncio.gather(*(h.terminate() for h in handles))
    else:
        queue = f"raw-{uuid.uuid4().hex[:6]}"
        async with Worker(client, task_queue=queue, workflows=[RawWaiting]):
            per_run = await measure(queue)
            await asyncio.gather(*(h.terminate() for h in handles))
    print(json.dumps({"per_run_kib": per_run, "rss_kib": resident_kib()}))


async def main(counts: list[int]) -> None:
    env = await dev_server()
    address = env.client.service_client.config.target_host
    print("worker memory per waiting run (RSS growth / runs), fresh worker per case")
    print(f"{'runs':>5} {'agent KiB/run':>14} {'raw KiB/run':>12} {'ratio':>6}")
    for count in counts:
        figures = {}
        for engine in ("agent", "raw"):
            output = subprocess.run(
                [sys.executable, __file__, "child", engine, str(count), address],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            figures[engine] = json.loads(output.strip().splitlines()[-1])["per_run_kib"]
        ratio = figures["agent"] / figures["raw"]
        print(f"{count:>5} {figures['agent']:>14.0f} {figures['raw']:>12.0f} {ratio:>6.2f}")
    await env.shutdown()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        asyncio.run(child(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    else:
        counts = sys.argv[1] if len(sys.argv) > 1 else "10,100,300"
        asyncio.run(main([int(n) for n in counts.split(",")]))
    sys.stdout.flush()
    os._exit(0)
