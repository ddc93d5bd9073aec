"""Per-step cost against plan length: chains of 10, 100, 500 and 1,000 cheap steps, each
step passing the previous output on, repetitions interleaved. A plan may hold 500 steps
(more work is split into sub-goals); to show the cost stays flat beyond that, the bench
raises the limit for its own in-process worker, and says so. Flat means nothing the engine does per
step grows with the plan: no scan of every step per scheduling pass, no reference
context holding every output. Prints ms/step and workflow-task CPU per step.
Rerun: .venv/bin/python bench/step_scaling.py [lengths, comma-separated] [repeats]"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

from common import agent_worker, dev_server, run_plan
from step_overhead import chain_plan

from durable_agents.workflows import plan_checks


async def main(lengths: list[int], repeats: int) -> None:
    if max(lengths) > plan_checks.MAX_STEPS:
        print(
            f"(the engine refuses plans of more than {plan_checks.MAX_STEPS} steps; raised to "
            f"{max(lengths)} for this bench's worker only)"
        )
        plan_checks.MAX_STEPS = max(lengths)
    env = await dev_server()
    rows: dict[int, list[tuple[float, float]]] = {length: [] for length in lengths}
    async with agent_worker(env.client, "http://127.0.0.1:1/v1") as queue:
        plans = {length: chain_plan(length) for length in lengths}
        await run_plan(env.client, queue, plans[lengths[0]])  # warm up
        for _ in range(repeats):
            for length in lengths:
                cpu, wall = time.process_time(), time.perf_counter()
                result = await run_plan(env.client, queue, plans[length])
                assert result.status == "succeeded", result.error
                rows[length].append(
                    ((time.perf_counter() - wall) / length, (time.process_time() - cpu) / length)
                )
    await env.shutdown()
    print(f"chains of cheap steps, {repeats} interleaved repetitions")
    print(f"{'steps':>6} {'ms/step min  median     max':>27} {'CPU ms/step':>12}")
    for length, measured in rows.items():
        walls = [wall * 1000 for wall, _ in measured]
        cpu = statistics.median(c for _, c in measured) * 1000
        low, mid, high = min(walls), statistics.median(walls), max(walls)
        print(f"{length:>6} {low:7.2f} {mid:7.2f} {high:7.2f} {cpu:12.2f}")
    first, last = lengths[0], lengths[-1]
    ratios = [a[0] / b[0] for a, b in zip(rows[last], rows[first], strict=True)]
    print(f"  {last} steps / {first} steps, per step: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    asyncio.run(
        main(
            [int(n) for n in (sys.argv[1] if len(sys.argv) > 1 else "10,100,500,1000").split(",")],
            int(sys.argv[2]) if len(sys.argv) > 2 else 3,
        )
    )
    sys.stdout.flush()
    os._exit(0)
