"""Live progress of a run, from the ``status`` query: phase changes and step changes."""

from __future__ import annotations

import asyncio
import contextlib
from typing import IO, Any

from temporalio.client import WorkflowHandle, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from contracts import RunResult, RunStatus, StepState

QUERY_ERRORS = (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError)
POLL_SECONDS = 0.5
QUERY_TIMEOUT_SECONDS = 5.0

MARKS = {
    "pending": " ",
    "running": ">",
    "succeeded": "+",
    "failed": "x",
    "skipped": "-",
}


def step_line(state: StepState) -> str:
    """One line per step: mark, status, id, title and why (for failures and skips)."""
    line = f"  [{MARKS[state.status.value]}] {state.status.value:<9} {state.id}: {state.title}"
    if state.attempts > 1:
        line += f" (attempt {state.attempts})"
    reason = state.error or state.skip_reason
    return f"{line} -- {reason}" if reason else line


class ProgressPrinter:
    """Prints only what changed since the last snapshot."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._phase = ""
        self._plan_version = 0
        self._seen: dict[tuple[int, str], str] = {}

    def show(self, status: RunStatus) -> None:
        """Render the differences between ``status`` and what was printed before."""
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

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)


async def follow(handle: WorkflowHandle[Any, RunResult], out: IO[str]) -> RunResult:
    """Print progress until the run closes; returns its result (or raises its failure)."""
    printer = ProgressPrinter(out)
    result = asyncio.ensure_future(handle.result())
    try:
        while not result.done():
            try:
                status = await asyncio.wait_for(
                    handle.query("status", result_type=RunStatus), QUERY_TIMEOUT_SECONDS
                )
                printer.show(status)
            except (*QUERY_ERRORS, TimeoutError):
                pass  # not started by a worker yet, or just closed: try again
            await asyncio.wait([result], timeout=POLL_SECONDS)
        with contextlib.suppress(*QUERY_ERRORS):
            printer.show(await handle.query("status", result_type=RunStatus))
        return await result
    finally:
        result.cancel()
