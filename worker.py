"""Run a standalone agent worker: ``python worker.py [--profile NAME]``.

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

from runtime.connection import connect, connect_config
from runtime.llm_provider import LlmProvider
from runtime.offline_model import OfflineModelUnavailable
from runtime.settings import Settings, SettingsProblem
from runtime.workers import agent_worker


async def serve(profile: str | None) -> None:
    settings = Settings.from_env()
    client = await connect(connect_config(profile))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with agent_worker(client, settings):
        logging.info(
            "worker polling task queue %r on %s; LLM: %s",
            settings.task_queue,
            client.service_client.config.target_host,
            LlmProvider(settings).describe(),
        )
        await stop.wait()
    logging.info("worker stopped")


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a standalone agent worker.")
    parser.add_argument("--profile", help="Temporal envconfig profile")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(args.profile))
    except (OfflineModelUnavailable, SettingsProblem, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # avoids a known crash at interpreter exit (temporalio/sdk-python#300)
