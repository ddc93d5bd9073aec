"""Connecting to Temporal: ``temporalio.envconfig`` profiles, the pydantic converter,
and whether any worker is polling a task queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, Interceptor
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from durable_agents.runtime.codec import codec_from_env, data_converter
from durable_agents.runtime.devserver import DEFAULT_HOST, DEFAULT_PORT

LIVE_POLLER_WINDOW = timedelta(seconds=90)
READY_TIMEOUT_SECONDS = 30.0


def connect_config(profile: str | None = None) -> dict[str, Any]:
    """Profile from the TOML file (TEMPORAL_CONFIG_FILE or the OS default) + TEMPORAL_*."""
    return dict(ClientConfigProfile.load(profile=profile).to_client_connect_config())


def explicit_address(config: dict[str, Any]) -> str | None:
    """The configured address, or None when nothing was configured."""
    address = config.get("target_host")
    return str(address) if address else None


def default_address() -> str:
    """Where the auto-started dev server listens."""
    return f"{DEFAULT_HOST}:{DEFAULT_PORT}"


def metrics_runtime(address: str | None) -> Runtime | None:
    """A Temporal runtime that serves the SDK's metrics for Prometheus at ``address``
    (host:port, e.g. AGENT_METRICS_ADDRESS=0.0.0.0:9464); None keeps the default runtime."""
    if not address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


async def connect(
    config: dict[str, Any],
    address: str | None = None,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
) -> Client:
    """A client with the pydantic converter (every client must use the same one), which
    encrypts payloads when AGENT_PAYLOAD_KEY is set; ``interceptors`` (tracing) reach the
    workers made from it too."""
    options = dict(config)
    options["target_host"] = address or explicit_address(config) or default_address()
    return await Client.connect(
        **options,
        data_converter=data_converter(codec_from_env()),
        interceptors=interceptors,
        runtime=runtime,
    )


async def pollers(
    client: Client,
    task_queue: str,
    kind: TaskQueueType.ValueType = TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
) -> list[datetime]:
    """Last poll times of workers seen on ``task_queue`` (workflow tasks, or ``kind``)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
        )
    )
    return [p.last_access_time.ToDatetime(tzinfo=UTC) for p in response.pollers]


async def llm_queue_for(client: Client, task_queue: str, llm_queue: str) -> str | None:
    """Where a new run sends its LLM calls: ``llm_queue`` when a worker serves it, or when
    no worker serves the run's queue yet (the starter's own worker serves both); None
    (the run's own queue) when workers poll the run's queue but none the LLM queue: an
    app that embeds ``AgentPlugin`` serves every activity on its one queue."""
    if not await pollers(client, task_queue):
        return llm_queue
    if await pollers(client, llm_queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        return llm_queue
    return None


async def connect_when_ready(
    config: dict[str, Any],
    address: str,
    interceptors: Sequence[Interceptor] = (),
    timeout: float = READY_TIMEOUT_SECONDS,
) -> Client:
    """``connect`` to a server that was just started: its port opens before its frontend
    is healthy ("Frontend is not healthy yet", measured under load), so retry briefly."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await connect(config, address, interceptors)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
