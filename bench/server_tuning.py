"""Embedded server tuning: engine overhead per step (benchmark 1) on the project's tuned
dev server vs the dev server's defaults. Rerun: .venv/bin/python bench/server_tuning.py [N]"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

from common import agent_worker, dev_server, run_plan
from step_overhead import chain_plan


async def per_step_ms(tuned: bool, count: int, repeats: int = 3) -> float:
    env = await dev_server(tuned)
    timings = []
    async with agent_worker(env.client, "http://127.0.0.1:1/v1") as queue:
        plan = chain_plan(count)
        for _ in range(repeats):
            started = time.perf_counter()
            await run_plan(env.client, queue, plan)
            timings.append((time.perf_counter() - started) / count * 1000)
    await env.shutdown()
    return statistics.median(timings)


async def main(count: int) -> None:
    tuned = await per_step_ms(True, count)
    default = await per_step_ms(False, count)
    print(f"{count} sequential agent steps, median of 3")
    print(f"default dev server: {default:6.1f} ms/step")
    print(f"tuned dev server  : {tuned:6.1f} ms/step")
    print(f"speed-up          : {default / tuned:6.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
    sys.stdout.flush()
    os._exit(0)
