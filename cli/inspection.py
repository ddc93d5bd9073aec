"""``report`` / ``watch`` / ``replay``: looking at a run started anywhere.

They need no worker: a closed run's result, a failed run's partial result and its
history are on the server.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowHandle

from durable_agents.cli.errors import refused_for
from durable_agents.cli.outcome import failed, print_result
from durable_agents.cli.progress import follow
from durable_agents.cli.replay import replay_run
from durable_agents.cli.report import fetch_report, report_text
from durable_agents.cli.server import running_server
from durable_agents.contracts import RunResult
from durable_agents.runtime.settings import Settings


async def report(args: argparse.Namespace, settings: Settings) -> int:
    """``report RUN [--json]``: per-step time, tokens and cost; critical path; waits."""
    client = await running_server(args)
    with refused_for(args.run):
        found = await fetch_report(client, args.run)
    print(found.model_dump_json(indent=2) if args.json else report_text(found))
    return 0


async def watch(args: argparse.Namespace, settings: Settings) -> int:
    """``watch RUN``: live progress until the run ends; exit code 1 if it failed."""
    client = await running_server(args)
    handle: WorkflowHandle[Any, RunResult] = client.get_workflow_handle(
        args.run, result_type=RunResult
    )
    try:
        with refused_for(args.run):
            result = await follow(handle, sys.stdout, converter=client.data_converter)
    except WorkflowFailureError as exc:
        return failed(exc)
    return print_result(result)


async def replay(args: argparse.Namespace, settings: Settings) -> int:
    """``replay RUN``: exit code 0 if this code still replays the run's history, else 1."""
    client = await running_server(args)
    with refused_for(args.run):
        verdict = await replay_run(client, args.run)
    print(verdict.text())
    return 0 if verdict.compatible else 1
