"""Heartbeats from a background task while a long call runs.

A cancellation reaches an activity only in the answer to a heartbeat, so an HTTP call or
an LLM completion that runs for minutes must heartbeat to be cancellable; a dead worker
is also noticed after the heartbeat timeout instead of the whole start-to-close timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from temporalio import activity

BEAT_SECONDS = 1.0  # the SDK throttles what it sends to 0.8 x the heartbeat timeout


@contextlib.asynccontextmanager
async def heartbeating(
    every: float = BEAT_SECONDS, details: Callable[[], object] | None = None
) -> AsyncIterator[None]:
    """Heartbeat every ``every`` seconds until the block ends; a cancel raises inside it.
    ``details`` gives what each beat carries (progress a person can see in the Web UI's
    pending activities and in ``starter.py``'s progress). A local activity (an llm step of
    a run with ``local_llm_steps``) cannot heartbeat: the server does not know it, and
    every beat would be refused as an unknown activity, so it beats not at all."""
    if activity.info().is_local:
        yield
        return

    async def beat() -> None:
        while True:
            if details is None:
                activity.heartbeat()
            else:
                activity.heartbeat(details())
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
