"""Throughput: R concurrent runs of S steps on one worker, the engine vs raw Temporal
workflows running S no-op activities each, on the same server; after a warm-up of each,
repetitions interleaved, the median of the per-repetition ratios.
Rerun: .venv/bin/python bench/throughput.py [runs] [steps] [repeats]"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

from common import agent_worker, dev_server, run_plan
from step_overhead import RawChain, chain_plan, noop
from temporalio.worker import Worker


async def main(runs: int, steps: int, repeats: int) -> None:
    env = await dev_server()
    client = env.client
    seconds: dict[str, list[float]] = {"raw": [], "engine": []}
    async with (
        agent_worker(client, "http://127.0.0.1:1/v1") as queue,
        Worker(
            client,
            task_queue=f"{queue}-raw",
            workflows=[RawChain],
            activities=[noop],
            max_concurrent_activities=200,
            max_concurrent_workflow_tasks=200,
        ),
    ):
        plan = chain_plan(steps)

        async def raw() -> None:
            await asyncio.gather(
                *(
                    client.execute_workflow(
                        RawChain.run, steps, id=str(uuid.uuid4()), task_queue=f"{queue}-raw"
                    )
                    for _ in range(runs)
                )
            )

        async def engine() -> None:
            await asyncio.gather(*(run_plan(client, queue, plan) for _ in range(runs)))

        batches: dict[str, Callable[[], Awaitable[None]]] = {"raw": raw, "engine": engine}
        for batch in batches.values():  # warm up: connections, caches, first compiles
            await batch()
        for _ in range(repeats):
            for name, batch in batches.items():
                started = time.perf_counter()
                await batch()
                seconds[name].append(time.perf_counter() - started)
    await env.shutdown()
    print(f"{runs} concurrent runs x {steps} sequential steps, one worker, tuned dev server")
    print(f"{repeats} interleaved repetitions after a warm-up; median seconds")
    print(f"{'':<8} {'seconds':>8} {'runs/s':>8} {'steps/s':>8}")
    for name, measured in seconds.items():
        mid = statistics.median(measured)
        print(f"{name:<8} {mid:>8.2f} {runs / mid:>8.1f} {runs * steps / mid:>8.1f}")
    ratios = [r / e for r, e in zip(seconds["raw"], seconds["engine"], strict=True)]
    print(f"engine / raw throughput: {statistics.median(ratios):.2f}x (median per rep)")


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 100,
            int(sys.argv[2]) if len(sys.argv) > 2 else 5,
            int(sys.argv[3]) if len(sys.argv) > 3 else 3,
        )
    )
    sys.stdout.flush()
    os._exit(0)
