"""Live progress of a run, from the ``status`` query: phase changes and step changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import IO, Any

from temporalio.client import WorkflowHandle, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from durable_agents.contracts import (
    CompensationRecord,
    PendingApproval,
    RunResult,
    RunStatus,
    StepState,
)
from durable_agents.workflows.digest import kind

QUERY_ERRORS = (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError)
POLL_SECONDS = 0.5
QUERY_TIMEOUT_SECONDS = 5.0
WRITING_EVERY_SECONDS = 5.0  # how often a model's progress is looked up and shown
LLM_ACTIVITIES = frozenset({"plan", "review", "recover", "agent_turn", "llm"})

MARKS = {
    "pending": " ",
    "awaiting_approval": "?",
    "running": ">",
    "succeeded": "+",
    "failed": "x",
    "skipped": "-",
}


def step_line(state: StepState) -> str:
    """One line per step: mark, status, id, title and why (for failures and skips)."""
    line = f"  [{MARKS[state.status.value]}] {state.status.value:<9} {state.id}: {state.title}"
    if state.status.value == "awaiting_approval":
        line = f"  [?] awaiting approval {state.id}: {state.title}"
    if state.attempts > 1:
        line += f" (attempt {state.attempts})"
    reason = state.error or state.skip_reason
    return f"{line} -- {reason}" if reason else line


def compensation_line(record: CompensationRecord) -> str:
    """One undo after a failure or cancel: what it was and how it went."""
    where = record.step_id if record.item is None else f"{record.step_id}[{record.item}]"
    what = record.compensation.description or str(record.compensation.action)
    line = f"undo {where}: {record.outcome} -- {what}"
    return f"{line} ({record.error})" if record.error and record.outcome != "impossible" else line


class ProgressPrinter:
    """Prints only what changed since the last snapshot."""

    def __init__(self, out: IO[str], run_id: str = "RUN") -> None:
        self._out = out
        self._run_id = run_id
        self._phase = ""
        self._plan_version = 0
        self._seen: dict[tuple[int, str], str] = {}
        self._asked: set[tuple[str, str, datetime]] = set()  # one prompt per wait
        self._written: set[str] = set()

    def show(self, status: RunStatus) -> list[PendingApproval]:
        """Render the differences between ``status`` and what was printed before; returns
        approvals that appeared since."""
        if status.plan_version != self._plan_version and status.plan:
            self._plan_version = status.plan_version
            self._print(f"plan v{status.plan_version}: {len(status.plan.steps)} steps")
        if status.phase.value != self._phase:
            self._phase = status.phase.value
            self._print(f"phase: {self._phase}")
        for state in status.steps:
            key = (state.plan_version, state.id)
            if self._seen.get(key) != state.status.value:
                self._seen[key] = state.status.value
                self._print(step_line(state))
        # a re-planned step waits again with the same arguments: a new wait, asked again
        # (measured: --yes approved it once, and the second wait timed out unanswered)
        fresh = [p for p in status.pending_approvals if _wait(p) not in self._asked]
        for pending in fresh:
            self._asked.add(_wait(pending))
            self._print(approval_lines(self._run_id, pending))
        return fresh

    def writing(self, lines: list[str]) -> None:
        """Models' progress lines, each printed once (the same numbers are not repeated)."""
        for line in lines:
            if line not in self._written:
                self._written.add(line)
                self._print(line)

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)


def _wait(pending: PendingApproval) -> tuple[str, str, datetime]:
    return pending.step_id, pending.args_hash, pending.requested_at


def approval_lines(run_id: str, pending: PendingApproval) -> str:
    """What a person needs to decide: the step, why it asks, its exact arguments, how."""
    arguments = json.dumps(pending.arguments, indent=2, ensure_ascii=False)
    indented = "\n".join(f"      {line}" for line in arguments.splitlines())
    return (
        f"  '{pending.step_id}' needs approval ({kind(pending)}: {pending.reason}); "
        f"arguments (hash {pending.args_hash}):\n{indented}\n"
        f"    approve: python starter.py approve {run_id} {pending.step_id} [--note TEXT]\n"
        f"    reject:  python starter.py reject {run_id} {pending.step_id} [--note TEXT]\n"
        f"    (denied automatically at {pending.deadline:%Y-%m-%d %H:%M:%S} UTC)"
    )


OnApproval = Callable[[PendingApproval], Awaitable[None]]


async def model_writing(handle: WorkflowHandle[Any, Any], converter: DataConverter) -> list[str]:
    """One line per LLM call in flight that reports its progress in heartbeats (streamed
    answers): how many tokens it has written and for how long."""
    description = await handle.describe()
    lines = []
    for pending in description.raw_description.pending_activities:
        name = pending.activity_type.name
        if name not in LLM_ACTIVITIES or not pending.heartbeat_details.payloads:
            continue
        details = (await converter.decode(pending.heartbeat_details.payloads))[0]
        if isinstance(details, dict) and "tokens_written" in details:
            seconds, tokens = details.get("seconds", 0), details["tokens_written"]
            if tokens:
                lines.append(f"  model writing ({name}): {tokens} tokens, {seconds} s")
            else:
                lines.append(f"  model reading its prompt ({name}): {seconds} s")
    return lines


async def follow(
    handle: WorkflowHandle[Any, RunResult],
    out: IO[str],
    on_approval: OnApproval | None = None,
    converter: DataConverter | None = None,
) -> RunResult:
    """Print progress until the run closes; returns its result (or raises its failure).
    ``on_approval`` is awaited for each new pending approval (an interactive prompt);
    with ``converter`` (the client's), a model's progress is shown while it writes."""
    printer = ProgressPrinter(out, handle.id)
    result = asyncio.ensure_future(handle.result())
    looked = time.monotonic()
    try:
        while not result.done():
            try:
                status = await asyncio.wait_for(
                    handle.query("status", result_type=RunStatus), QUERY_TIMEOUT_SECONDS
                )
                fresh = printer.show(status)
                if converter is not None and time.monotonic() - looked >= WRITING_EVERY_SECONDS:
                    looked = time.monotonic()
                    printer.writing(await model_writing(handle, converter))
            except (*QUERY_ERRORS, TimeoutError):
                fresh = []  # not started by a worker yet, or just closed: try again
            if on_approval is not None:
                for pending in fresh:
                    await on_approval(pending)
            await asyncio.wait([result], timeout=POLL_SECONDS)
        with contextlib.suppress(*QUERY_ERRORS):
            printer.show(await handle.query("status", result_type=RunStatus))
        return await result
    finally:
        result.cancel()
