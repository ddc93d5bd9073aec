"""What a planner's answer gets before its plan is checked: repeats dropped and short
references written out (pure text fixes a small model needs, measured)."""

from __future__ import annotations

import re

from pydantic import JsonValue

from durable_agents.contracts import Plan


def with_full_references(plan: Plan, finished: set[str]) -> Plan:
    """``${read.output}`` where ``read`` is a step of the plan (or a finished one) means
    ``${steps.read.output}``: written out, the one reading there is. Measured: the 1.5B
    model left ``steps.`` out four repairs in a row although each error said so."""
    ids = {step.id for step in plan.steps} | finished
    if not ids:
        return plan
    short = re.compile(
        r"(\$\{\s*)("
        + "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        + r")(\s*(?:\.|\[|\}))"
    )

    def fixed(value: JsonValue) -> JsonValue:
        if isinstance(value, str):
            return short.sub(r"\1steps.\2\3", value)
        if isinstance(value, list):
            return [fixed(item) for item in value]
        if isinstance(value, dict):
            return {key: fixed(item) for key, item in value.items()}
        return value

    def bare(expression: str | None) -> str | None:  # when/foreach take no ${...}
        if expression is None:
            return None
        head = expression.strip().split(".", 1)[0].split("[", 1)[0]
        return f"steps.{expression.strip()}" if head in ids else expression

    steps = [
        step.model_copy(
            update={
                "params": fixed(step.params),
                "when": bare(step.when),
                "foreach": bare(step.foreach),
            }
        )
        for step in plan.steps
    ]
    return plan.model_copy(update={"steps": steps})


def without_repeats(plan: Plan) -> Plan:
    """Drop exact copies of a step: a small model sometimes loops, re-emitting one step."""
    seen: set[str] = set()
    steps = []
    for step in plan.steps:
        key = step.model_dump_json()
        if key not in seen:
            seen.add(key)
            steps.append(step)
    return Plan(steps=steps)
