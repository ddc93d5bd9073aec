"""``pause`` / ``resume`` / ``event``: signals that steer a running run.

Signals are fire-and-forget, so the event's payload is checked here: a typo never reaches
the run, where it would be a step's output.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pydantic import ValidationError
from temporalio.client import WorkflowHandle

from durable_agents.cli.errors import UsageProblem, refused_for
from durable_agents.cli.server import running_server
from durable_agents.contracts import RunEvent
from durable_agents.contracts.errors import format_validation_error
from durable_agents.runtime.settings import Settings


async def pause(args: argparse.Namespace, settings: Settings) -> int:
    """``pause RUN``: start no new step or LLM call; running steps finish."""
    return await _signal(args, "pause")


async def resume(args: argparse.Namespace, settings: Settings) -> int:
    """``resume RUN``: continue a paused run."""
    return await _signal(args, "resume")


async def event(args: argparse.Namespace, settings: Settings) -> int:
    """``event RUN NAME [--payload JSON]``: what ``wait_for_event`` steps wait for."""
    return await _signal(args, "event")


async def _signal(args: argparse.Namespace, name: str) -> int:
    client = await running_server(args)
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(args.run)
    message = [event_input(args.name, args.payload)] if name == "event" else []
    with refused_for(args.run):
        await handle.signal(name, *message)
    print(f"sent {name} to {args.run}")
    return 0


def event_input(name: str, payload: str) -> RunEvent:
    """The ``event`` signal's input, checked here so a typo never reaches the run."""
    try:
        return RunEvent.model_validate({"name": name, "payload": json.loads(payload)})
    except json.JSONDecodeError as exc:
        raise UsageProblem(f"--payload is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise UsageProblem(f"event: {format_validation_error(exc)}") from exc
