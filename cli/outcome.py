"""How a finished run is shown: its answer and totals, or why it failed and what was undone."""

from __future__ import annotations

import contextlib
import sys

from pydantic import ValidationError
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from durable_agents.cli.progress import compensation_line
from durable_agents.contracts import RunResult


def print_result(result: RunResult) -> None:
    """The answer, what was checked of the deliverables, then one line of totals."""
    tokens = result.usage.prompt_tokens + result.usage.completion_tokens
    print(f"\nAnswer:\n{result.answer}\n")
    for line in deliverable_lines(result):
        print(line)
    print(
        f"{len(result.steps)} steps, {len(result.plans)} plan version(s), "
        f"{result.usage.calls} LLM calls, {tokens} tokens"
        + (f", ${result.usage.cost_usd:.4f}" if result.usage.cost_usd else "")
    )


def deliverable_lines(result: RunResult) -> list[str]:
    """One line per deliverable: checked, or only present (its content not checked)."""
    lines = []
    for check in result.deliverables:
        if not check.passed:
            lines.append(f"  FAILED {check.path}: {'; '.join(check.problems)}")
        elif check.content_checked:
            lines.append(f"  checked {check.path}: present, and its content passed its checks")
        else:
            lines.append(
                f"  present {check.path}: written and readable; its content was not "
                "checked in code (the reviewer judged it)"
            )
    return ["Deliverables:", *lines, ""] if lines else []


def failed(error: WorkflowFailureError) -> int:
    """Print why the run failed (and its partial result, if it carries one); exit code 1."""
    cause = error.cause
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    print(f"\nRun failed: {message}", file=sys.stderr)
    if isinstance(cause, ApplicationError) and cause.details:
        with contextlib.suppress(ValidationError, TypeError):
            partial = RunResult.model_validate(cause.details[0])
            done = sum(1 for s in partial.steps if s.status.value == "succeeded")
            print(
                f"{done}/{len(partial.steps)} steps succeeded before the failure.", file=sys.stderr
            )
            for record in partial.compensations:
                print(f"  {compensation_line(record)}", file=sys.stderr)
    return 1
