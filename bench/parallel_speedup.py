"""Parallel speed-up: W independent llm steps with latency L, the engine (independent
steps at once) vs the sequential baseline. Target: makespan <= 1.2 x L + overhead.
Rerun: .venv/bin/python bench/parallel_speedup.py [latency_seconds]"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from common import LatencyLlm, agent_worker, dev_server, llm_steps, run_plan
from sequential import run_sequentially


async def main(latency: float) -> None:
    env, llm = await dev_server(), LatencyLlm(latency)
    rows = []
    async with agent_worker(env.client, llm.base_url) as queue:
        for width in (1, 10, 50):
            plan = llm_steps(width, chained=False)
            started = time.perf_counter()
            await run_plan(env.client, queue, plan, max_parallel=64)
            engine = time.perf_counter() - started
            baseline, _ = await run_sequentially(plan, llm.base_url, full_context=False)
            rows.append((width, engine, baseline))
    llm.stop()
    await env.shutdown()
    print(f"LLM latency L = {latency:.2f} s; target: engine makespan <= 1.2 x L + overhead")
    print(f"{'W':>4} {'engine s':>9} {'sequential s':>13} {'speed-up':>9} {'overhead s':>11}")
    for width, engine, baseline in rows:
        print(
            f"{width:>4} {engine:>9.2f} {baseline:>13.2f} {baseline / engine:>8.1f}x "
            f"{engine - latency:>11.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5))
    sys.stdout.flush()
    os._exit(0)
