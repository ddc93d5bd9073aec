"""Run an activity as a worker does, inside the artifact interceptor, without a server."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from temporalio.testing import ActivityEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from durable_agents.activities.artifacts import ArtifactInterceptor, ArtifactStore


class _Call(ActivityInboundInterceptor):
    """The innermost link of the chain: the activity function itself."""

    def __init__(self) -> None:
        pass

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = input.fn(*input.args)
        return await result if inspect.isawaitable(result) else result


async def intercepted(
    store: ArtifactStore, fn: Any, *args: Any, workflow_id: str = "run-a", activity: str = "x"
) -> Any:
    """``fn(*args)`` through the interceptor, as called by workflow ``workflow_id``."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id, activity_type=activity)
    inbound = ArtifactInterceptor(store).intercept_activity(_Call())

    async def call() -> Any:
        input = ExecuteActivityInput(fn=fn, args=list(args), executor=None, headers={})
        return await inbound.execute_activity(input)

    return await env.run(call)
