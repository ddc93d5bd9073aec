"""The Temporal server a command talks to.

Starting a run may start the dev server (a first run needs nothing configured); the
other commands only talk to a server that is already there, so an unreachable one is
bad input with a hint rather than a server started to answer about runs it never had.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from temporalio.client import Client, Interceptor

from durable_agents.cli.errors import UsageProblem
from durable_agents.runtime import devserver
from durable_agents.runtime.connection import (
    connect,
    connect_config,
    connect_when_ready,
    default_address,
    explicit_address,
)
from durable_agents.runtime.settings import Settings


async def open_client(
    args: argparse.Namespace, settings: Settings, interceptors: Sequence[Interceptor] = ()
) -> Client:
    """Connect as configured; with nothing configured, start the dev server if needed."""
    config = connect_config(args.profile)
    if explicit_address(config) is None:
        host, port = devserver.DEFAULT_HOST, devserver.DEFAULT_PORT
        if not devserver.port_open(host, port):
            pid = devserver.start_detached(settings.state_dir, port)
            print(
                f"Started the Temporal dev server (pid {pid}, data in "
                f"{settings.state_dir}); stop it with: python starter.py --stop-server"
            )
        print(f"Temporal Web UI: http://{host}:{port + devserver.UI_PORT_OFFSET}")
        return await connect_when_ready(config, default_address(), interceptors)
    return await connect(config, interceptors=interceptors)


async def running_server(args: argparse.Namespace) -> Client:
    """A client of the server the runs live on; unreachable is bad input."""
    config = connect_config(args.profile)
    try:
        return await connect(config)
    except RuntimeError as exc:
        where = explicit_address(config) or default_address()
        raise UsageProblem(
            f"cannot reach the Temporal server at {where} ({str(exc)[:120]}); is it running? "
            "Set TEMPORAL_ADDRESS or --profile for another server"
        ) from exc


def stop_server(settings: Settings) -> int:
    """``--stop-server``: stop the dev server a run started; nothing to stop is fine."""
    pid = devserver.stop(settings.state_dir)
    print(f"Stopped the dev server (pid {pid})." if pid else "No dev server to stop.")
    return 0


async def server(args: argparse.Namespace, settings: Settings) -> int:
    """``server start|stop|status``: the local dev server this project runs."""
    host, port = devserver.DEFAULT_HOST, devserver.DEFAULT_PORT
    ui = f"http://{host}:{port + devserver.UI_PORT_OFFSET}"
    if args.action == "stop":
        return stop_server(settings)
    running = devserver.port_open(host, port)
    if args.action == "start":
        if running:
            print(f"A Temporal server already listens on {host}:{port} (Web UI: {ui}).")
            return 0
        pid = devserver.start_detached(settings.state_dir, port)
        print(f"Started the Temporal dev server (pid {pid}, data in {settings.state_dir}).")
        print(f"Temporal Web UI: {ui}")
        return 0
    pid_file = settings.state_dir / "temporal.pid"
    ours = f" (started here, pid {pid_file.read_text().strip()})" if pid_file.exists() else ""
    if running:
        print(f"running: {host}:{port}{ours}; Web UI: {ui}; data in {settings.state_dir}")
        return 0
    print(f"stopped: nothing listens on {host}:{port}; start it: python starter.py server start")
    return 1
