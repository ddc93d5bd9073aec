"""A re-plan's references into the outputs of steps it keeps, set right where the
recorded output settles it: a field of a number is always null, and the only value it
can have meant is the number itself (a string is left alone: a field of a file's text
more likely meant data that was never parsed, and the whole text would be written).

Measured (notify_total, 2026-12-07): told "${steps.sum_revenue.output.revenue} matched
nothing; it is int 2430: write ${steps.sum_revenue.output} for it", the 1.5B planner
wrote the same reference in a new step, and again, until the run ran out of repairs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import JsonValue

from durable_agents.contracts import Plan, Step

# ${steps.X.output.field...}: one reference, a plain path into one step's output
_FIELD_OF_OUTPUT = re.compile(
    r"\$\{\s*steps\.(?P<step>[A-Za-z][A-Za-z0-9_]*)\.output(?P<path>(?:\.[A-Za-z_][\w]*)+)\s*\}"
)


def scalar_outputs(outputs: Mapping[str, JsonValue]) -> set[str]:
    """Steps whose recorded output is one number (or boolean)."""
    return {key for key, value in outputs.items() if isinstance(value, int | float)}


def _whole(value: JsonValue, scalars: set[str], changed: list[str]) -> JsonValue:
    if isinstance(value, list):
        return [_whole(item, scalars, changed) for item in value]
    if isinstance(value, dict):
        return {key: _whole(item, scalars, changed) for key, item in value.items()}
    if not isinstance(value, str):
        return value

    def whole(match: re.Match[str]) -> str:
        if match["step"] not in scalars:
            return match[0]
        changed.append(f"steps.{match['step']}.output{match['path']}")
        return f"${{steps.{match['step']}.output}}"

    return _FIELD_OF_OUTPUT.sub(whole, value)


def amend_fields_of_values(plan: Plan, scalars: set[str]) -> tuple[Plan, list[str]]:
    """The plan with ``${steps.X.output.field}`` written ``${steps.X.output}`` wherever
    X is a kept step whose output is a number, and what was changed."""
    if not scalars:
        return plan, []
    steps: list[Step] = []
    changes: list[str] = []
    for step in plan.steps:
        changed: list[str] = []
        params = _whole(dict(step.params), scalars, changed)
        if changed and isinstance(params, dict):
            step = step.model_copy(update={"params": params})
            changes += [
                f"step '{step.id}' reads the value of {ref.split('.output')[0]} itself, not "
                f"{ref} (a field of a number)"
                for ref in changed
            ]
        steps.append(step)
    return (plan.model_copy(update={"steps": steps}) if changes else plan), changes
