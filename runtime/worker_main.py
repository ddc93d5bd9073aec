"""A standalone agent worker: ``python worker.py`` or ``durable-agents-worker``
(``[--profile NAME] [--log-format json]``).

Connects with ``temporalio.envconfig`` (TEMPORAL_ADDRESS etc.; localhost:7233 by
default), and polls AGENT_TASK_QUEUE until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from temporalio.client import Client

from durable_agents.runtime.connection import connect, connect_config, metrics_runtime
from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.logs import configure_logging
from durable_agents.runtime.offline_model import OfflineModelUnavailable
from durable_agents.runtime.process import exit_now
from durable_agents.runtime.settings import Settings, SettingsProblem
from durable_agents.runtime.telemetry import configure_tracing, tracing_interceptors
from durable_agents.runtime.workers import agent_worker


async def serve(profile: str | None) -> None:
    settings = Settings.from_env()
    tracing = configure_tracing()
    try:
        client = await connect(
            connect_config(profile),
            interceptors=tracing_interceptors(tracing),
            runtime=metrics_runtime(os.environ.get("AGENT_METRICS_ADDRESS")),
        )
        await _serve(settings, client)
    finally:
        if tracing is not None:
            tracing.shutdown()  # sends the last spans


async def _serve(settings: Settings, client: Client) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with agent_worker(client, settings):
        logging.info(
            "worker polling task queue %r on %s; LLM: %s; workspace root: %s",
            settings.task_queue,
            client.service_client.config.target_host,
            LlmProvider(settings).describe(),
            settings.workspace_root or "none (runs name absolute folders)",
        )
        await stop.wait()
    logging.info("worker stopped")


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit code (2: bad settings)."""
    parser = argparse.ArgumentParser(description="Run a standalone agent worker.")
    parser.add_argument("--profile", help="Temporal envconfig profile")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("AGENT_LOG_FORMAT") or "text",
        help="text (default) or one JSON object per line (AGENT_LOG_FORMAT)",
    )
    args = parser.parse_args(argv)
    configure_logging(args.log_format)
    try:
        asyncio.run(serve(args.profile))
    except (OfflineModelUnavailable, SettingsProblem, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def entry() -> None:
    """The console script (and ``worker.py``)."""
    exit_now(main(sys.argv[1:]))
