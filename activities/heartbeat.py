"""Heartbeats from a background task while a long call runs.

A cancellation reaches an activity only in the answer to a heartbeat, so an HTTP call or
an LLM completion that runs for minutes must heartbeat to be cancellable; a dead worker
is also noticed after the heartbeat timeout instead of the whole start-to-close timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

BEAT_SECONDS = 1.0  # the SDK throttles what it sends to 0.8 x the heartbeat timeout


@contextlib.asynccontextmanager
async def heartbeating(every: float = BEAT_SECONDS) -> AsyncIterator[None]:
    """Heartbeat every ``every`` seconds until the block ends; a cancel raises inside it."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
