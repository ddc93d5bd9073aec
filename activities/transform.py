"""The ``transform`` action: parse, JMESPath, then group and aggregate.

A plain (non-async) activity: it is CPU work, so the worker runs it in a thread pool
instead of stalling the event loop that carries heartbeats and other activities.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import jmespath
import jmespath.exceptions
from pydantic import JsonValue
from temporalio import activity

from durable_agents.activities.errors import action_error
from durable_agents.activities.formats import parse_text, to_csv
from durable_agents.contracts import ActionContext, ActionResult
from durable_agents.contracts.actions import Aggregate, TransformParams


def _numbers(values: list[JsonValue], field: str) -> list[float]:
    numbers: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise action_error(
                f"cannot aggregate field {field!r}: value {value!r} is not a number",
                error_type="InvalidData",
                retryable=False,
            )
        numbers.append(value)
    return numbers


def _round(value: float) -> float | int:
    """Sums of decimal money fields should print as 1234.5, not 1234.4999999999998."""
    rounded = round(value, 10)
    return int(rounded) if rounded == int(rounded) else rounded


AGGREGATES: dict[Aggregate, Callable[[list[float]], float]] = {
    "sum": lambda values: _round(sum(values)),
    "count": len,
    "min": min,
    "max": max,
    "avg": lambda values: _round(sum(values) / len(values)),
}


def _totals(
    members: list[dict[str, JsonValue]], aggregate: Mapping[str, Aggregate]
) -> dict[str, JsonValue]:
    row: dict[str, JsonValue] = {}
    for field, function in aggregate.items():
        if function == "count":
            row[field] = len(members)
            continue
        if members and not any(field in member for member in members):
            fields = ", ".join(members[0])
            raise action_error(
                f"cannot aggregate field {field!r}: no record has it (fields: {fields})",
                error_type="InvalidData",
                retryable=False,
            )
        values = _numbers([m.get(field) for m in members], field)
        if values:
            row[field] = AGGREGATES[function](values)
        else:  # no records: a sum is 0, a min/max/avg does not exist
            row[field] = 0 if function == "sum" else None
    return row


def _records(data: JsonValue, purpose: str) -> list[dict[str, JsonValue]]:
    if not isinstance(data, list):
        raise action_error(
            f"{purpose} needs a list of records, got {shape(data)}",
            error_type="InvalidData",
            retryable=False,
        )
    records = [record for record in data if isinstance(record, dict)]
    if len(records) != len(data):
        odd = next(item for item in data if not isinstance(item, dict))
        raise action_error(
            f"{purpose} needs records (objects), got {str(odd)[:200]}",
            error_type="InvalidData",
            retryable=False,
        )
    return records


def group_records(
    records: JsonValue, group_by: str | None, aggregate: Mapping[str, Aggregate]
) -> list[JsonValue]:
    """SQL-style GROUP BY: one record per distinct ``group_by`` value, in first-seen order;
    without ``group_by``, one record of grand totals."""
    rows = _records(records, "group_by" if group_by else "aggregate")
    if group_by is None:
        return [_totals(rows, aggregate)]
    groups: dict[str, list[dict[str, JsonValue]]] = {}
    keys: dict[str, JsonValue] = {}
    for record in rows:
        if group_by not in record:
            raise action_error(
                f"record {str(record)[:200]} has no field {group_by!r} to group by",
                error_type="InvalidData",
                retryable=False,
            )
        marker = repr(record[group_by])
        keys.setdefault(marker, record[group_by])
        groups.setdefault(marker, []).append(record)
    return [{group_by: keys[m], **_totals(members, aggregate)} for m, members in groups.items()]


# Functions models write that JMESPath does not have, and what it has instead.
JMESPATH_INSTEAD = {
    "count": "length(@) counts a list",
    "len": "length(@) counts a list",
    "size": "length(@) counts a list",
    "average": "avg(@[*].<field>) averages a field",
    "mean": "avg(@[*].<field>) averages a field",
    "total": "sum(@[*].<field>) totals a field",
    "distinct": "the records action lists distinct values (compute: distinct)",
    "unique": "the records action lists distinct values (compute: distinct)",
    "group_by": "group_by and aggregate are params of transform, not functions",
    "filter": "[?<field> == `value`] filters a list",
}


def jmespath_hint(message: str) -> str:
    """What to write instead, when the error names a function JMESPath lacks."""
    lowered = message.lower()
    if "unknown function" not in lowered:
        return ""
    for name, instead in JMESPATH_INSTEAD.items():
        if f"{name}()" in lowered or f"function: {name}" in lowered:
            return f"; JMESPath has no {name}(): {instead}"
    return ""


GROUPING_HINT = (
    "; the expression runs before group_by: to total per group, set expression to null "
    "and use aggregate"
)


def shape(data: JsonValue) -> str:
    """A one-line description of data, so an error tells the planner what it had."""
    if isinstance(data, list):
        first = data[0] if data else None
        fields = f" with fields {', '.join(first)}" if isinstance(first, dict) else ""
        return f"a list of {len(data)} items{fields}"
    if isinstance(data, dict):
        return f"an object with keys {', '.join(list(data)[:20])}"
    return f"a {type(data).__name__} value"


def apply_transform(params: TransformParams) -> JsonValue:
    """The whole transform, as a pure function (unit-tested without Temporal)."""
    data = params.input
    if params.parse != "none" and isinstance(data, str):
        data = parse_text(data, params.parse, "input")  # data already parsed passes through
    if params.expression:
        hint = GROUPING_HINT if params.group_by else ""
        try:
            found: JsonValue = jmespath.search(params.expression, data)
        except jmespath.exceptions.JMESPathError as exc:
            raise action_error(
                f"JMESPath {params.expression!r} failed: {exc}{jmespath_hint(str(exc))}; "
                f"the input is {shape(data)}{hint}",
                error_type="InvalidExpression",
                retryable=False,
            ) from exc
        if found is None:
            raise action_error(
                f"JMESPath {params.expression!r} matched nothing; the input is {shape(data)}{hint}",
                error_type="InvalidExpression",
                retryable=False,
            )
        data = found
    if params.group_by or params.aggregate:
        data = group_records(data, params.group_by, params.aggregate)
    if params.output == "csv":
        return to_csv(data)
    if params.output == "json":
        return json.dumps(data, ensure_ascii=False)
    return data


@activity.defn(name="transform")
def transform(context: ActionContext, params: TransformParams) -> ActionResult:
    """Reshape earlier outputs; see ``TransformParams``."""
    return ActionResult(output=apply_transform(params), attempt=activity.info().attempt)
