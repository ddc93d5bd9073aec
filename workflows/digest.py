"""Compact views of step results for LLM prompts and summaries: previews, not payloads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from pydantic import JsonValue

from durable_agents.contracts.llm import ERRORS_MET, StepDigest
from durable_agents.contracts.plan import Step
from durable_agents.contracts.policy import PendingApproval
from durable_agents.contracts.run import StepState, StepStatus

PREVIEW_CHARS = 600


def preview(value: JsonValue, limit: int = PREVIEW_CHARS) -> str:
    """JSON text of ``value``, cut at ``limit`` characters with a note of what was cut."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def digest(state: StepState, step: Step) -> StepDigest:
    """What a prompt needs to know about one step."""
    return StepDigest(
        id=state.id,
        title=state.title,
        action=state.action,
        status=state.status.value,
        params_preview=preview(step.params, 300),
        output_preview=preview(state.output) if state.status is StepStatus.SUCCEEDED else "",
        error=state.error or state.skip_reason,
    )


def summarize_sinks(states: Iterable[StepState], dependencies: Mapping[str, set[str]]) -> str:
    """An answer without a reviewer: the outputs of steps nothing else depends on."""
    states = list(states)
    needed = set().union(*dependencies.values()) if dependencies else set()
    lines = [f"All {len(states)} steps finished."]
    for state in states:
        if state.id not in needed and state.status is StepStatus.SUCCEEDED:
            lines.append(f"{state.id}: {preview(state.output, 300)}")
    return "\n".join(lines)


def kind(pending: PendingApproval) -> str:
    """``http_request, external`` for a step; ``plan`` / ``extend_budget`` otherwise."""
    return f"{pending.action}, {pending.risk.value}" if pending.risk else pending.action


ARGUMENTS_CHARS = 4000  # of a waiting step's arguments in the Web UI's details


def shown_arguments(arguments: JsonValue) -> str:
    """The arguments as a person reads them: indented JSON (a POST's body on its own
    lines, not one clipped line), cut only when very long."""
    text = json.dumps(arguments, ensure_ascii=False, indent=2)
    if len(text) <= ARGUMENTS_CHARS:
        return text
    return f"{text[:ARGUMENTS_CHARS]}\n... ({len(text) - ARGUMENTS_CHARS} more characters)"


TIMELINE_ARGUMENTS_CHARS = 600


def approval_summary(pending: PendingApproval) -> str:
    """The approval wait's label in the Web UI's default Timeline tab (clicked, it shows
    in full): which step, its action and its exact arguments, so a person sees what is
    asked without opening the User Metadata tab."""
    return (
        f"approval of {pending.step_id}: {pending.action} "
        f"{preview(pending.arguments, TIMELINE_ARGUMENTS_CHARS)}"
    )


def approval_details(workflow_id: str, pending: PendingApproval) -> str:
    """Markdown for the Web UI: what waits, its exact arguments, how to decide."""
    payload = json.dumps({"step_id": pending.step_id, "note": "..."})
    signal = f"temporal workflow signal --workflow-id {workflow_id} --input '{payload}' --name"
    return (
        f"**Awaiting approval: {pending.step_id}** ({kind(pending)}): "
        f"{pending.reason}. Arguments (hash {pending.args_hash}):\n\n"
        f"```json\n{shown_arguments(pending.arguments)}\n```\n\n"
        f"Approve: `{signal} approve`\n\nReject: `{signal} reject`\n\n"
        f"Or in this UI: Send a Signal named approve or reject with input `{payload}`. "
        f"Denied automatically at {pending.deadline:%Y-%m-%d %H:%M:%S} UTC."
    )


def event_details(workflow_id: str, name: str) -> str:
    """Markdown for the Web UI: the event a step waits for, and how to send it."""
    payload = json.dumps({"name": name, "payload": {}})
    return (
        f"**Waiting for event: {name}**. Send it: `temporal workflow signal --workflow-id "
        f"{workflow_id} --name event --input '{payload}'` (the payload becomes the step's "
        "output), or Send a Signal named event in this UI."
    )


LESSON_CHARS = 1500


def lesson_text(
    outcome: str, summary: str, steps: list[StepState], superseded: list[StepState]
) -> str:
    """What a finished run teaches a later one: its outcome, the steps that worked (action
    and what they were given, in order) and the errors met on the way."""
    worked = [s for s in steps if s.status.value == "succeeded"]
    failed = [s for s in [*superseded, *steps] if s.status.value == "failed" and s.error]
    parts = [f"{outcome}: {summary[:300]}"]
    if worked:
        parts.append("worked: " + " -> ".join(f"{s.action} ({s.title})" for s in worked))
    if failed:
        parts.append(
            ERRORS_MET + "; ".join(f"{s.action}: {s.error[:150]}" for s in failed if s.error)
        )
    return ". ".join(parts)[:LESSON_CHARS]
