"""The command table: every ``starter.py COMMAND`` with its help, arguments and handler.

The subcommands argparse knows, the help epilog and dispatch all come from ``COMMANDS``,
so adding a command is one entry here plus its handler, and its help cannot drift from
what it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from durable_agents.cli import (
    approvals,
    control,
    inspection,
    listing,
    memory,
    schedules,
    server,
    start,
)
from durable_agents.runtime.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]
"""Runs a command; returns the exit code (0 success, 1 failed run); bad input raises."""


@dataclass(frozen=True)
class Command:
    """One subcommand: ``name`` and ``synopsis`` (its arguments) make its epilog entry."""

    name: str
    help: str
    synopsis: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: Handler


def _run_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="workflow id of the run")


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """``pending`` looks across runs."""


def _decision(parser: argparse.ArgumentParser) -> None:
    _run_id(parser)
    parser.add_argument("step", help="id of the waiting step")
    parser.add_argument("--note", default="", help="why, for the audit trail")


def _event(parser: argparse.ArgumentParser) -> None:
    _run_id(parser)
    parser.add_argument("name", help="the event name a wait_for_event step waits for")
    parser.add_argument("--payload", default="null", help="JSON payload (the step's output)")


def _report(parser: argparse.ArgumentParser) -> None:
    _run_id(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable")


def _listing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="closed runs too")
    parser.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")


def _server(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status"))


def _retry(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="workflow id of the earlier run")
    parser.add_argument(
        "--from-step", metavar="STEP", help="run STEP and everything after it again"
    )


COMMANDS = (
    Command(
        name="approve",
        help="approve a step awaiting approval",
        synopsis="RUN STEP",
        add_arguments=_decision,
        handler=approvals.approve,
    ),
    Command(
        name="reject",
        help="reject a step awaiting approval",
        synopsis="RUN STEP",
        add_arguments=_decision,
        handler=approvals.reject,
    ),
    Command(
        name="status",
        help="a run's phase, steps and pending approvals",
        synopsis="RUN",
        add_arguments=_run_id,
        handler=approvals.status,
    ),
    Command(
        name="list",
        help="runs, newest first: state, phase (awaiting_approval: which steps), title",
        synopsis="[--all] [--limit N]",
        add_arguments=_listing,
        handler=listing.list_runs,
    ),
    Command(
        name="pending",
        help="every step awaiting approval, across runs",
        synopsis="",
        add_arguments=_no_arguments,
        handler=approvals.pending,
    ),
    Command(
        name="pause",
        help="start no new step or LLM call (running steps finish)",
        synopsis="RUN",
        add_arguments=_run_id,
        handler=control.pause,
    ),
    Command(
        name="resume",
        help="continue (running steps finish)",
        synopsis="RUN",
        add_arguments=_run_id,
        handler=control.resume,
    ),
    Command(
        name="event",
        help="send a named event to wait_for_event steps",
        synopsis="RUN NAME [--payload JSON]",
        add_arguments=_event,
        handler=control.event,
    ),
    Command(
        name="replay",
        help="replay a run's history against this code: is it still compatible?",
        synopsis="RUN",
        add_arguments=_run_id,
        handler=inspection.replay,
    ),
    Command(
        name="report",
        help="per-step time, tokens and cost; critical path; missed parallelism",
        synopsis="RUN [--json]",
        add_arguments=_report,
        handler=inspection.report,
    ),
    Command(
        name="watch",
        help="follow a run (started anywhere) until it ends",
        synopsis="RUN",
        add_arguments=_run_id,
        handler=inspection.watch,
    ),
    Command(
        name="server",
        help="the local Temporal dev server: start it, stop it, or is it running?",
        synopsis="start|stop|status",
        add_arguments=_server,
        handler=server.server,
    ),
    Command(
        name="retry",
        help="run a run's plan again, reusing what already succeeded",
        synopsis="RUN [--from-step STEP]",
        add_arguments=_retry,
        handler=start.retry,
    ),
    Command(
        name="schedule",
        help="run a goal or plan on a cron expression or an interval (Temporal Schedules)",
        synopsis="create|list|pause|unpause|trigger|delete [NAME]",
        add_arguments=schedules.add_arguments,
        handler=schedules.schedule,
    ),
    Command(
        name="memory",
        help="the lessons cross-run memory keeps (list), or remove misleading ones (forget)",
        synopsis="list [--goal TEXT] [--full] | forget RUN...",
        add_arguments=memory.add_arguments,
        handler=memory.memory,
    ),
)
BY_NAME = {command.name: command for command in COMMANDS}


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Every command as an argparse subcommand (``args.command`` is its name, or None)."""
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_arguments(subcommands.add_parser(command.name, help=command.help))


def epilog() -> str:
    """One line listing every command with its arguments."""
    usage = (f"{command.name} {command.synopsis}".strip() for command in COMMANDS)
    return "Commands: " + " | ".join(usage)
