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
from collections.abc import Callable, Mapping

from pydantic import JsonValue

from durable_agents.contracts import Plan, Step
from durable_agents.workflows.amending import amend_each
from durable_agents.workflows.deliverables import RESPONSE_KEYS
from durable_agents.workflows.references import WHOLE_REFERENCE

# ${steps.X.output.field...}: one reference, a plain path into one step's output
_FIELD_OF_OUTPUT = re.compile(
    r"\$\{\s*steps\.(?P<step>[A-Za-z][A-Za-z0-9_]*)\.output(?P<path>(?:\.[A-Za-z_][\w]*)+)\s*\}"
)


def scalar_outputs(outputs: Mapping[str, JsonValue]) -> set[str]:
    """Steps whose recorded output is one number (or boolean)."""
    return {key for key, value in outputs.items() if isinstance(value, int | float)}


def _substituted(value: JsonValue, sub: Callable[[re.Match[str]], str]) -> JsonValue:
    """``value`` with every ``${steps.X.output.field}`` in its strings passed to ``sub``."""
    if isinstance(value, list):
        return [_substituted(item, sub) for item in value]
    if isinstance(value, dict):
        return {key: _substituted(item, sub) for key, item in value.items()}
    return _FIELD_OF_OUTPUT.sub(sub, value) if isinstance(value, str) else value


def _amend_field_references(
    plan: Plan, rewrite: Callable[[str, str], str | None], said: Callable[[str, str], str]
) -> tuple[Plan, list[str]]:
    """The plan with each ``${steps.X.output<path>}`` that ``rewrite(X, path)`` gives a
    new reference for rewritten, and ``said(step id, old reference)`` for each change."""

    def amend(step: Step) -> tuple[Step, list[str]]:
        changed: list[str] = []

        def sub(match: re.Match[str]) -> str:
            new = rewrite(match["step"], match["path"])
            if new is None:
                return match[0]
            changed.append(f"steps.{match['step']}.output{match['path']}")
            return new

        params = _substituted(dict(step.params), sub)
        if not changed or not isinstance(params, dict):
            return step, []
        return step.model_copy(update={"params": params}), [said(step.id, r) for r in changed]

    return amend_each(plan, amend)


def amend_fields_of_values(plan: Plan, scalars: set[str]) -> tuple[Plan, list[str]]:
    """The plan with ``${steps.X.output.field}`` written ``${steps.X.output}`` wherever
    X is a kept step whose output is a number, and what was changed."""
    if not scalars:
        return plan, []
    return _amend_field_references(
        plan,
        lambda step, path: f"${{steps.{step}.output}}" if step in scalars else None,
        lambda step_id, ref: (
            f"step '{step_id}' reads the value of {ref.split('.output')[0]} itself, not "
            f"{ref} (a field of a number)"
        ),
    )


def record_outputs(outputs: Mapping[str, JsonValue]) -> set[str]:
    """Steps whose recorded output is a non-empty list of objects (records)."""
    return {
        key
        for key, value in outputs.items()
        if isinstance(value, list) and value and all(isinstance(row, dict) for row in value)
    }


def amend_keys_of_records(plan: Plan, records: set[str]) -> tuple[Plan, list[str]]:
    """The plan with a ``set_keys`` step over a kept step's records, setting each key to
    its own name, made the ``records`` step it stands for (keep those fields), and what
    was changed. set_keys changes one object, so over records it can only fail. Measured
    (csv_to_json): "convert data/sales.csv to JSON" planned set_keys {"date": "date",
    ...} over the rows; told set_keys changes one object and to pass the rows to
    file_write, the 1.5B planner wrote the same step four times."""
    if not records:
        return plan, []

    def amend(step: Step) -> tuple[Step, list[str]]:
        source = step.params.get("input")
        found = WHOLE_REFERENCE.fullmatch(source.strip()) if isinstance(source, str) else None
        values = step.params.get("values")
        if (
            step.action != "set_keys"
            or found is None
            or found["step"] not in records
            or not isinstance(values, dict)
            or not values
            or any(key != value for key, value in values.items())
        ):
            return step, []
        params: dict[str, JsonValue] = {"input": source, "compute": "rows", "fields": list(values)}
        said = f"step '{step.id}' keeps the fields {', '.join(values)} of each record of "
        said += f"{found['step']} (records, not set_keys: that changes one object)"
        return step.model_copy(update={"action": "records", "params": params}), [said]

    return amend_each(plan, amend)


def amend_fields_of_responses(plan: Plan, responses: set[str]) -> tuple[Plan, list[str]]:
    """The plan with ``${steps.X.output.field}`` written ``${steps.X.output.body.field}``
    wherever X is an ``http_request`` step and field is none of a response's own keys,
    and what was changed: a response's data is under ``body``, and nothing else could
    have been meant. Measured (user_one): told ".name matched nothing; an HTTP
    response's data is under .body", the 1.5B planner wrote ``output.name`` four times."""
    if not responses:
        return plan, []

    def into_body(step: str, path: str) -> str | None:
        if step not in responses or path.split(".")[1] in RESPONSE_KEYS:
            return None
        return f"${{steps.{step}.output.body{path}}}"

    return _amend_field_references(
        plan,
        into_body,
        lambda step_id, ref: f"step '{step_id}' reads {ref} from the response's body",
    )


def amend_written_results(plan: Plan, queries: set[str]) -> tuple[Plan, list[str]]:
    """The plan with a file written from a ``sql_query`` step's whole output written from
    its rows, and what was changed: the output wraps the rows in {rows, row_count,
    truncated, status}, and a file of "the customers" means the rows. Measured
    (sql_select): "save them as JSON to out/big_customers.json" wrote the wrapper; the
    reviewer accepted it."""

    def amend(step: Step) -> tuple[Step, list[str]]:
        content = step.params.get("content") if step.action == "file_write" else None
        found = WHOLE_REFERENCE.fullmatch(content.strip()) if isinstance(content, str) else None
        if found is None or found["step"] not in queries:
            return step, []
        rows = f"${{steps.{found['step']}.output.rows}}"
        said = f"step '{step.id}' writes the rows of {found['step']}"
        return step.model_copy(update={"params": {**step.params, "content": rows}}), [said]

    return amend_each(plan, amend)
