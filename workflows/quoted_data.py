"""A goal that carries its own data ("POST the JSON {...} to <url>"): a plan that reads
it from a file the goal never names, which turned out not to exist, gets the quoted data
instead. Measured (post_ticket, 2026-12-07): told the goal names no workspace file, and
then that data/post_ticket.json does not exist, the 1.5B planner read that same file in
five plans in a row, and the run failed without a POST.

Only a read that already failed with FileNotFound is replaced, so an existing file the
planner rightly guessed is always read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from pydantic import JsonValue

from durable_agents.contracts import Plan, Step
from durable_agents.workflows.plan_checks import fingerprint
from durable_agents.workflows.references import WHOLE_REFERENCE

_DECODER = json.JSONDecoder()
MISSING = "FileNotFound:"  # how a read of an absent file fails (activities.workspace)


def quoted_json(goal: str) -> JsonValue | None:
    """The one JSON object or list quoted in the goal, or None (none, or several)."""
    found: list[JsonValue] = []
    position = 0
    while (start := _next_opening(goal, position)) != -1:
        try:
            value, end = _DECODER.raw_decode(goal, start)
        except ValueError:
            position = start + 1
            continue
        if isinstance(value, dict | list) and value:
            found.append(value)
        position = end
    return found[0] if len(found) == 1 else None


def _next_opening(text: str, start: int) -> int:
    openings = [index for index in (text.find("{", start), text.find("[", start)) if index >= 0]
    return min(openings, default=-1)


def amend_missing_reads(
    goal: str, plan: Plan, hopeless: Mapping[str, str]
) -> tuple[Plan, list[str]]:
    """The plan with each read of a file the goal does not name and that was not there
    replaced by the JSON the goal quotes, and what changed."""
    data = quoted_json(goal)
    if data is None:
        return plan, []
    for step in plan.steps:
        path = step.params.get("path")
        missing = hopeless.get(fingerprint(step), "").startswith(MISSING)
        if step.action == "file_read" and missing and isinstance(path, str) and path not in goal:
            replaced = _without(plan, step.id, data)
            if replaced is not None:
                change = f"the goal's own JSON instead of step '{step.id}' ({path} does not exist)"
                return replaced, [change]  # one read at a time: the plan changed
    return plan, []


class _ReadOtherwise(Exception):
    """A step reads the output some way other than whole (a field, inside text)."""


def _without(plan: Plan, step_id: str, data: JsonValue) -> Plan | None:
    """The plan with ``step_id`` left out and its whole output replaced by ``data``, or
    None when a step reads it some other way (a field, inside text, a condition)."""
    anywhere = re.compile(rf"\bsteps\s*\.\s*{re.escape(step_id)}\b")

    def replaced(value: JsonValue) -> JsonValue:
        if isinstance(value, str):
            found = WHOLE_REFERENCE.fullmatch(value.strip())
            if found is not None and found["step"] == step_id:
                return data
            if anywhere.search(value):
                raise _ReadOtherwise
            return value
        if isinstance(value, list):
            return [replaced(item) for item in value]
        if isinstance(value, dict):
            return {key: replaced(item) for key, item in value.items()}
        return value

    steps: list[Step] = []
    try:
        for step in plan.steps:
            if step.id == step_id:
                continue
            if anywhere.search(f"{step.when or ''} {step.foreach or ''}"):
                return None
            params = {key: replaced(value) for key, value in step.params.items()}
            depends_on = [other for other in step.depends_on if other != step_id]
            steps.append(step.model_copy(update={"params": params, "depends_on": depends_on}))
    except _ReadOtherwise:
        return None
    return plan.model_copy(update={"steps": steps})
