"""How a finished run is shown: its answer and totals, or why it failed and what was undone."""

from __future__ import annotations

import contextlib
import sys

from pydantic import ValidationError
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from durable_agents.cli.progress import compensation_line
from durable_agents.contracts import Risk, RunResult, StepStatus
from durable_agents.rules.sql_guard import sql_effect

UNVERIFIED_EXIT = 3  # succeeded, but nothing the goal asks for was checked in code
READ_METHODS = frozenset({"GET", "HEAD"})
FILE_EFFECTS = frozenset({"file_write", "file_append", "file_delete", "file_move"})


def print_result(result: RunResult, accept_unverified: bool = False) -> int:
    """The answer, what was checked of the deliverables, then one line of totals; the exit
    code: 0, or ``UNVERIFIED_EXIT`` when the success rests on a model's word alone."""
    tokens = result.usage.prompt_tokens + result.usage.completion_tokens
    print(f"\nAnswer:\n{result.answer}\n")
    for line in deliverable_lines(result):
        print(line)
    print(
        f"{len(result.steps)} steps, {len(result.plans)} plan version(s), "
        f"{result.usage.calls} LLM calls, {tokens} tokens"
        + (f", ${result.usage.cost_usd:.4f}" if result.usage.cost_usd else "")
    )
    if unverified(result):
        accepted = " (accepted: --accept-unverified)" if accept_unverified else ""
        print(
            f"Unverified{accepted}: the goal names no file to check and no step changed "
            "anything, so this answer rests on the model's word; check it yourself, or pass "
            "--accept-unverified to exit 0 on such answers.",
            file=sys.stderr,
        )
        return 0 if accept_unverified else UNVERIFIED_EXIT
    return 0


def unverified(result: RunResult) -> bool:
    """Whether nothing backs the success but the reviewer: no deliverable was checked and
    no step had an effect that reports itself (a write, a POST's 2xx, a SQL write)."""
    return not result.deliverables and not effects(result)


def effects(result: RunResult) -> list[str]:
    """The succeeded steps whose own success is evidence: files written or moved, HTTP
    calls that change something (an error status fails the step), SQL writes, custom
    actions that are not declared reads (the app's code reported their success)."""
    params = {step.id: step.params for version in result.plans for step in version.plan.steps}
    custom = {tool.name: tool for tool in result.custom_actions}
    found = []
    for step in result.steps:
        if step.status != StepStatus.SUCCEEDED:
            continue
        given = params.get(step.id, {})
        if step.action in FILE_EFFECTS:
            found.append(step.id)
        elif step.action == "http_request":
            if str(given.get("method", "GET")).upper() not in READ_METHODS:
                found.append(step.id)
        elif step.action == "sql_query":
            sql = given.get("sql")
            if not isinstance(sql, str) or sql_effect(sql)[0] != "read":
                found.append(step.id)
        elif step.action in custom and custom[step.action].risk != Risk.READ:
            found.append(step.id)
    return found


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
