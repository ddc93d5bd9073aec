"""Does Temporal's eager activity dispatch pay on the fan-out workload? The same 50 x
0.5 s LLM-bound fan-out (`bench/peers.py`) on two tuned dev servers, one with
``system.enableActivityEagerExecution=true`` (the SDK asks for eager dispatch whenever
an activity runs on the workflow's own task queue, as here), blocks interleaved.
Rerun: .venv/bin/python bench/eager_dispatch.py [blocks] [runs per block]"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from common import LatencyLlm, agent_worker, llm_steps, run_plan
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from durable_agents.runtime.devserver import SPEED_ARGS, find_temporal_cli

EAGER = ["--dynamic-config-value", "system.enableActivityEagerExecution=true"]
WIDTH, LATENCY = 50, 0.5


async def block(extra: list[str], model: LatencyLlm, runs: int) -> list[float]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_temporal_cli(),
        dev_server_extra_args=[*SPEED_ARGS, *extra, "--log-level", "error"],
        data_converter=pydantic_data_converter,
    )
    seconds = []
    async with agent_worker(env.client, model.base_url) as queue:
        fan = llm_steps(WIDTH, chained=False)
        await run_plan(env.client, queue, fan, max_parallel=64)  # warm up
        for _ in range(runs):
            started = time.perf_counter()
            result = await run_plan(env.client, queue, fan, max_parallel=64)
            assert result.status == "succeeded", result.error
            seconds.append(time.perf_counter() - started)
    await env.shutdown()
    return seconds


async def main(blocks: int, runs: int) -> None:
    model = LatencyLlm(LATENCY)
    rows: dict[str, list[float]] = {"default": [], "eager": []}
    for _ in range(blocks):
        rows["default"] += await block([], model, runs)
        rows["eager"] += await block(EAGER, model, runs)
    model.stop()
    print(f"fan-out of {WIDTH} LLM-bound steps of {LATENCY} s, {blocks} x {runs} runs each")
    for name, values in rows.items():
        low, mid, high = min(values), statistics.median(values), max(values)
        print(f"{name:8} s min {low:.3f} median {mid:.3f} max {high:.3f}")
    ratio = statistics.median(rows["eager"]) / statistics.median(rows["default"])
    print(f"  eager / default: {ratio:.2f}x (median)")


if __name__ == "__main__":
    numbers = [int(arg) for arg in sys.argv[1:3]]
    asyncio.run(main(*(numbers + [3, 3][len(numbers) :])))
