"""``approve`` / ``reject`` / ``status`` / ``pending``: people deciding on waiting steps.

A decision goes through the run's ``decide`` Update (see ``decisions``), so a wrong step
id or a stale decision is refused with the workflow's reason, exit code 2.
"""

from __future__ import annotations

import argparse

from durable_agents.cli.decisions import decide, pending_text, status_text
from durable_agents.cli.server import running_server
from durable_agents.runtime.settings import Settings


async def approve(args: argparse.Namespace, settings: Settings) -> int:
    """``approve RUN STEP``: let the waiting step run."""
    return await _decide(args, approve=True)


async def reject(args: argparse.Namespace, settings: Settings) -> int:
    """``reject RUN STEP``: the step fails with the note as its reason."""
    return await _decide(args, approve=False)


async def _decide(args: argparse.Namespace, *, approve: bool) -> int:
    client = await running_server(args)
    record = await decide(client, args.run, args.step, approve=approve, note=args.note)
    print(f"{record.outcome} step '{record.step_id}' of {args.run} (as {record.by})")
    return 0


async def status(args: argparse.Namespace, settings: Settings) -> int:
    """``status RUN``: phase, steps, pending approvals and the audit trail."""
    client = await running_server(args)
    print(await status_text(client, args.run))
    return 0


async def pending(args: argparse.Namespace, settings: Settings) -> int:
    """``pending``: every step awaiting approval, across open runs."""
    client = await running_server(args)
    print(await pending_text(client))
    return 0
