"""Tokens per run: a chain of K llm steps where each reads only the step before it, run by
the engine (each call gets its dependency's output) vs a full-context executor (every
earlier result in every call). Target: engine / full context <= 0.4x.
Rerun: .venv/bin/python bench/context_tokens.py [K]"""

from __future__ import annotations

import asyncio
import os
import sys

from common import ANSWER, LatencyLlm, agent_worker, dev_server, llm_steps, run_plan
from sequential import run_sequentially


async def main(count: int) -> None:
    env, llm = await dev_server(), LatencyLlm(0.0)
    plan = llm_steps(count, chained=True)
    async with agent_worker(env.client, llm.base_url) as queue:
        result = await run_plan(env.client, queue, plan)
    engine = result.usage.total_tokens
    _, dependency_only = await run_sequentially(plan, llm.base_url, full_context=False)
    _, full = await run_sequentially(plan, llm.base_url, full_context=True)
    llm.stop()
    await env.shutdown()
    print(f"{count} chained llm steps (answers of {len(ANSWER)} characters)")
    print(f"engine (dependency outputs only): {engine:>7} tokens")
    print(f"sequential, dependency only     : {dependency_only:>7} tokens")
    print(f"sequential, full context        : {full:>7} tokens")
    print(f"ratio engine / full context     : {engine / full:>7.2f}x (target <= 0.4x)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
    sys.stdout.flush()
    os._exit(0)
