"""A chain of cheap steps survives ``kill -9`` of its worker: a 500-step chain (pure
``transform`` steps, recorded as local-activity markers) runs on ``worker.py`` in its own
process; 0.5 s after the worker took the run, mid-chain, the process is killed with
SIGKILL, a new one starts, and the run finishes. Prints how many steps history held at
the kill, how long the new worker took to finish, and checks that every step is in
history exactly once. Local activities are written to history when their workflow task
completes (core keeps a task open while they run, up to ~8 s), so the steps of the task
a crash interrupts run again: pure steps, without side effects.
Rerun: .venv/bin/python bench/chain_resume.py [steps] [seconds before the kill]"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from common import dev_server, start_plan
from step_overhead import chain_plan
from temporalio.client import WorkflowHandle

REPO = Path(__file__).parents[1]


async def worker(address: str, queue: str) -> asyncio.subprocess.Process:
    """``python worker.py``, as an operator runs it, on ``queue``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TEMPORAL_"))}
    env |= {
        "TEMPORAL_ADDRESS": address,
        "AGENT_TASK_QUEUE": queue,
        "AGENT_MEMORY": "0",
        "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",  # no LLM call is made
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "worker.py"),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def step_markers(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The local-activity markers in the run's history (one per pure step), by activity id."""
    steps = []
    async for event in handle.fetch_history_events():
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_local_activity":
            data = json.loads(marker.details["data"].payloads[0].data)
            steps.append(data["activity_id"])
    return steps


async def taken(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether a worker has started the run's first workflow task."""
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_task_started_event_attributes"):
            return True
    return False


async def main(count: int, kill_after: float) -> None:
    env = await dev_server()
    address = env.client.service_client.config.target_host
    queue = f"bench-resume-{uuid.uuid4().hex[:6]}"
    first = await worker(address, queue)
    handle = await start_plan(env.client, queue, chain_plan(count))
    while not await taken(handle):  # the worker process is up and working on the run
        if first.returncode is not None:
            raise RuntimeError("the worker exited before the kill")
        await asyncio.sleep(0.01)
    await asyncio.sleep(kill_after)  # mid-chain: the whole chain takes ~2 s
    first.send_signal(signal.SIGKILL)
    await first.wait()
    done_at_kill = len(await step_markers(handle))
    killed = time.perf_counter()
    second = await worker(address, queue)
    try:
        result = await handle.result()
        resumed = time.perf_counter() - killed
    finally:
        second.terminate()
        await second.wait()
    markers = await step_markers(handle)
    await env.shutdown()
    succeeded = [s for s in result.steps if s.status.value == "succeeded"]
    print(f"chain of {count} cheap steps, worker.py killed with SIGKILL {kill_after} s in")
    print(f"step markers at the kill  : {done_at_kill}")
    print(f"run status                : {result.status}")
    print(f"steps succeeded           : {len(succeeded)} of {count}")
    print(f"new worker to the end     : {resumed:.2f} s (its start-up included)")
    print(f"step markers in history   : {len(markers)} ({len(set(markers))} distinct)")
    assert result.status == "succeeded" and len(succeeded) == count
    assert len(markers) == len(set(markers)) == count, "every step in history exactly once"


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 500,
            float(sys.argv[2]) if len(sys.argv) > 2 else 0.5,
        )
    )
    sys.stdout.flush()
    os._exit(0)
