"""A worker inside the starter's process, for when nobody runs ``python worker.py``.

A first run should work with nothing set up, so the starter serves its own run; with a
real worker polling the task queue it stays a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from temporalio.client import Client, WorkflowHandle

from durable_agents.contracts import RunResult
from durable_agents.runtime.connection import pollers
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.workers import agent_worker
from durable_agents.workflows.agent import AgentWorkflow

EXTERNAL_WORKER_GRACE_SECONDS = 3.0


async def needs_local_worker(
    client: Client, handle: WorkflowHandle[AgentWorkflow, RunResult], task_queue: str
) -> bool:
    """True unless another worker picks up the run's first workflow task quickly.

    The server keeps listing a stopped worker's poller for a while, so the list alone
    cannot tell a live worker from a dead one; watching the run can.
    """
    if not await pollers(client, task_queue):
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EXTERNAL_WORKER_GRACE_SECONDS
    while loop.time() < deadline:
        if (await handle.describe()).history_length > 2:  # beyond started + scheduled
            return False
        await asyncio.sleep(0.1)
    return True


@contextlib.asynccontextmanager
async def maybe_local_worker(
    enabled: bool, client: Client, settings: Settings
) -> AsyncIterator[None]:
    """Run the agent worker while the body runs (if ``enabled``); it logs to a file so
    the terminal shows only the run's progress."""
    if not enabled:
        yield
        return
    log_file = settings.state_dir / "worker.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    print(
        f"No worker is polling task queue '{settings.task_queue}'; running one in this "
        f"process (log: {log_file})."
    )
    async with agent_worker(client, settings):
        yield
