"""Connecting to a dev server the starter just started: retried until its frontend is ready."""

from __future__ import annotations

import socket
import time

import pytest
from temporalio.testing import WorkflowEnvironment

from durable_agents.runtime.connection import connect_when_ready


async def test_connect_when_ready_retries_then_gives_up_or_succeeds(
    temporal_env: WorkflowEnvironment,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once it closes
    started = time.monotonic()
    with pytest.raises(RuntimeError):
        await connect_when_ready({}, closed, timeout=0.6)
    assert time.monotonic() - started >= 0.6  # it kept trying until the deadline
    target = temporal_env.client.service_client.config.target_host
    client = await connect_when_ready({}, target, timeout=5)
    assert client.namespace == "default"
