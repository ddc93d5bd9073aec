"""History growth: bytes of history per step for runs of 10, 100 and 300 sequential steps
(flat means linear growth). Rerun: .venv/bin/python bench/history_growth.py"""

from __future__ import annotations

import asyncio
import os
import sys

from common import agent_worker, dev_server, start_plan
from step_overhead import chain_plan


async def main() -> None:
    env = await dev_server()
    rows = []
    async with agent_worker(env.client, "http://127.0.0.1:1/v1") as queue:
        for steps in (10, 100, 300):
            handle = await start_plan(env.client, queue, chain_plan(steps), max_parallel=1)
            assert (await handle.result()).status == "succeeded"
            history = await handle.fetch_history()
            size = sum(event.ByteSize() for event in history.events)
            rows.append((steps, len(history.events), size))
    await env.shutdown()
    print(f"{'steps':>6} {'events':>7} {'history bytes':>14} {'bytes/step':>11}")
    for steps, events, size in rows:
        print(f"{steps:>6} {events:>7} {size:>14} {size / steps:>11.0f}")
    print(f"bytes/step 300 vs 10: {rows[2][2] / 300 / (rows[0][2] / 10):.2f}x (1.0 = linear)")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
