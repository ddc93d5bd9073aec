"""Throughput: R concurrent runs of S steps on one worker, the engine vs raw Temporal
workflows running S no-op activities each, on the same server.
Rerun: .venv/bin/python bench/throughput.py [runs] [steps]"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid

from common import agent_worker, dev_server, run_plan
from step_overhead import RawChain, chain_plan, noop
from temporalio.worker import Worker


async def main(runs: int, steps: int) -> None:
    env = await dev_server()
    client = env.client
    async with (
        agent_worker(client, "http://127.0.0.1:1/v1") as queue,
        Worker(client, task_queue=f"{queue}-raw", workflows=[RawChain], activities=[noop]),
    ):
        started = time.perf_counter()
        await asyncio.gather(
            *(
                client.execute_workflow(
                    RawChain.run, steps, id=str(uuid.uuid4()), task_queue=f"{queue}-raw"
                )
                for _ in range(runs)
            )
        )
        raw = time.perf_counter() - started
        plan = chain_plan(steps)
        started = time.perf_counter()
        await asyncio.gather(*(run_plan(client, queue, plan) for _ in range(runs)))
        engine = time.perf_counter() - started
    await env.shutdown()
    print(f"{runs} concurrent runs x {steps} sequential steps, one worker, tuned dev server")
    print(f"{'':<8} {'seconds':>8} {'runs/s':>8} {'steps/s':>8}")
    for name, seconds in (("raw", raw), ("engine", engine)):
        print(f"{name:<8} {seconds:>8.2f} {runs / seconds:>8.1f} {runs * steps / seconds:>8.1f}")
    print(f"engine / raw throughput: {raw / engine:.2f}x")


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 50,
            int(sys.argv[2]) if len(sys.argv) > 2 else 5,
        )
    )
    sys.stdout.flush()
    os._exit(0)
