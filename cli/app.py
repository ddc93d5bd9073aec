"""``starter.py``'s command line: parse it, run the command, map failures to exit codes.

Exit codes: 0 success, 1 a failed run (or one this code no longer replays), 2 bad input
(one ``error:`` line, no traceback), 130 interrupted (the run goes on on the server).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from temporalio.service import RPCError

from durable_agents.cli.commands import BY_NAME, add_commands, epilog
from durable_agents.cli.decisions import DecisionRefused
from durable_agents.cli.errors import UsageProblem
from durable_agents.cli.options import add_run_options
from durable_agents.cli.server import stop_server
from durable_agents.cli.start import start_run
from durable_agents.runtime import devserver
from durable_agents.runtime.offline_model import OfflineModelUnavailable
from durable_agents.runtime.process import exit_now
from durable_agents.runtime.settings import Settings, SettingsProblem

DESCRIPTION = 'Run a goal as a durable agent workflow: ``python starter.py --goal "..."``.'
BAD_INPUT = (
    UsageProblem,
    DecisionRefused,
    OfflineModelUnavailable,
    SettingsProblem,
    devserver.DevServerError,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options of a new run, then an optional command (see ``commands.COMMANDS``);
    the run options may also follow the command (``retry RUN --workflow-id X``)."""
    parser = argparse.ArgumentParser(description=DESCRIPTION, epilog=epilog())
    add_run_options(parser)
    add_commands(parser)  # last, so ``COMMAND ...`` ends the usage line
    args, rest = parser.parse_known_args(argv)
    if rest:
        if args.command is None:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        after = argparse.ArgumentParser(prog=f"{parser.prog} {args.command}", add_help=False)
        add_run_options(after)
        after.parse_args(rest, namespace=args)  # sets only what is given: defaults are there
    return args


async def run(args: argparse.Namespace) -> int:
    """``--stop-server``, else the command, else (no command) start a run."""
    settings = Settings.from_env()
    if args.stop_server:
        return stop_server(settings)
    handler = BY_NAME[args.command].handler if args.command else start_run
    return await handler(args, settings)


def main(argv: list[str] | None = None) -> int:
    """Run ``starter.py`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except BAD_INPUT as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted; the run continues on the server.", file=sys.stderr)
        return 130
    except RPCError as exc:  # the server refused: an unknown run, a closed one, ...
        print(f"error: the Temporal server refused: {exc.message}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # connection failures from the Temporal client
        print(f"error: {exc}", file=sys.stderr)
        return 2


def entry() -> None:
    """The console script (and ``starter.py``)."""
    exit_now(main(sys.argv[1:]))
