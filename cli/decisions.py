"""Client-side approval commands: decide, show a run's status, list what waits, prompt.

Decisions go through the ``decide`` Update, so a typo'd step or a stale decision is
refused with the workflow's own message instead of being silently ignored like a signal.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import IO, Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from durable_agents.cli.listing import WAITING, status_or_none, visible_status
from durable_agents.cli.progress import OnApproval, approval_lines, compensation_line, step_line
from durable_agents.contracts import (
    ApprovalRecord,
    DecideRequest,
    PendingApproval,
)
from durable_agents.contracts.visibility import AGENT_PHASE, AWAITING_APPROVAL


class DecisionRefused(Exception):
    """The run refused the decision (unknown step, not waiting, stale); says why."""


def who() -> str:
    """The deciding person for the audit trail: the OS user name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "someone"


async def decide(
    client: Client, run_id: str, step_id: str, *, approve: bool, note: str = ""
) -> ApprovalRecord:
    """Approve or reject one waiting step through the ``decide`` update."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(run_id)
    request = DecideRequest(step_id=step_id, approve=approve, note=note, by=who())
    try:
        record: ApprovalRecord = await handle.execute_update(
            "decide", request, result_type=ApprovalRecord
        )
        return record
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise DecisionRefused(f"run {run_id}: {reason}") from exc
    except RPCError as exc:
        raise DecisionRefused(f"run {run_id}: {exc.message}") from exc


async def status_text(client: Client, run_id: str) -> str:
    """A run's phase, steps and pending approvals, as printed by ``starter.py status``;
    what visibility knows when no worker answers."""
    status = await status_or_none(client, run_id)
    if status is None:
        return await visible_status(client, run_id)
    lines = [
        f"run {run_id}: {status.phase.value}, plan v{status.plan_version}, "
        f"{status.replans} re-plan(s), {status.usage.total_tokens} tokens"
    ]
    lines += [step_line(state) for state in status.steps]
    lines += [approval_lines(run_id, pending) for pending in status.pending_approvals]
    lines += [
        f"  waiting for event {name!r}: python starter.py event {run_id} {name} --payload JSON"
        for name in status.awaited_events
    ]
    lines += [f"  {compensation_line(record)}" for record in status.compensations]
    for record in status.approvals:
        lines.append(
            f"  audit: {record.step_id} {record.outcome} by {record.by} at "
            f"{record.at:%Y-%m-%d %H:%M:%S} via {record.via}"
            + (f" ({record.note})" if record.note else "")
        )
    return "\n".join(lines)


async def pending_text(client: Client) -> str:
    """Every running agent run with a step awaiting a decision. A run that publishes its
    phase is asked only when visibility says it waits, and is listed even when no worker
    answers; one that does not (an older run, another client's) is asked."""
    blocks = []
    async for execution in client.list_workflows(WAITING):
        phase = execution.typed_search_attributes.get(AGENT_PHASE)
        if phase is not None and phase != AWAITING_APPROVAL:
            continue
        try:
            status = await status_or_none(client, execution.id)
        except RPCError:
            continue  # ended meanwhile
        if status is None:
            if phase == AWAITING_APPROVAL:
                blocks.append(await visible_status(client, execution.id))
            continue
        blocks += [approval_lines(execution.id, p) for p in status.pending_approvals]
    return "\n".join(blocks) if blocks else "No step is awaiting approval."


def prompter(client: Client, run_id: str, *, auto_approve: bool, out: IO[str]) -> OnApproval:
    """An ``on_approval`` callback: ask on the terminal, or approve when ``auto_approve``."""

    async def ask(pending: PendingApproval) -> None:
        if auto_approve:
            answer, note = "y", "auto-approved (--yes)"
        else:
            question = f"Approve step '{pending.step_id}'? [y/N, or a note to reject with] "
            reply = (await asyncio.to_thread(_read_line, question)).strip()
            answer = "y" if reply.lower() in ("y", "yes") else "n"
            note = "" if reply.lower() in ("", "n", "no", "y", "yes") else reply
        try:
            record = await decide(client, run_id, pending.step_id, approve=answer == "y", note=note)
            print(f"  {record.outcome} step '{record.step_id}'", file=out, flush=True)
        except DecisionRefused as exc:  # decided elsewhere meanwhile, or timed out
            print(f"  decision not taken: {exc}", file=out, flush=True)

    return ask


def _read_line(question: str) -> str:
    print(question, end="", flush=True)
    return sys.stdin.readline()
