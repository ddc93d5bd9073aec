"""The ``records`` and ``set_keys`` actions: the operations goals ask for (filter, count,
sum, average, min, max, sort, top N, pick fields, distinct values; change keys of an
object) as plain params, so a small planner fills in a form instead of writing JMESPath.

Errors teach: a field that is not in the data is named with the fields that are (and the
closest one), and a value that is not a number is quoted. Plain (non-async) activities:
CPU work runs in the worker's thread pool.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Callable
from typing import Any

from pydantic import JsonValue
from temporalio import activity

from durable_agents.activities.errors import action_error
from durable_agents.contracts import ActionContext, ActionResult
from durable_agents.contracts.actions import Comparison, Condition, RecordsParams, SetKeysParams

Record = dict[str, JsonValue]
# Wrappers other actions return around their records (http_request's response, sql_query's
# result): the field holding the records, and a field that marks the wrapper.
RECORD_HOLDERS = (("body", "status"), ("rows", "row_count"))


def _invalid(message: str) -> Exception:
    return action_error(message, error_type="InvalidData", retryable=False)


def as_records(data: JsonValue) -> list[Record]:
    """The input as records: a list of objects; a response or query result as its records;
    one object as one record; text as its lines ({"line": ...})."""
    if isinstance(data, str):
        return [{"line": line} for line in data.splitlines()]
    if isinstance(data, dict):
        for holder, marker in RECORD_HOLDERS:
            if holder in data and marker in data:
                return as_records(data[holder])
        return [data]
    if not isinstance(data, list):
        raise _invalid(f"records needs a list of records, got {json.dumps(data)[:200]}")
    if all(isinstance(item, dict) for item in data):
        return [item for item in data if isinstance(item, dict)]
    if not any(isinstance(item, dict | list) for item in data):
        return [{"value": item} for item in data]  # a list of plain values
    odd = next(item for item in data if not isinstance(item, dict))
    raise _invalid(f"records needs a list of objects; one item is {json.dumps(odd)[:200]}")


def _known_field(records: list[Record], field: str, purpose: str) -> str:
    """``field`` if some record has it; else an error naming the fields there are."""
    if not records or any(field in record for record in records):
        return field
    fields = list(dict.fromkeys(key for record in records[:50] for key in record))
    close = difflib.get_close_matches(field, fields, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise _invalid(
        f"{purpose}: no record has the field {field!r}; the fields are {', '.join(fields)}{hint}"
    )


def _number(value: JsonValue) -> float | None:
    """A number, or text that is one ("12.5"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text(value: JsonValue) -> str:
    return value.strip().casefold() if isinstance(value, str) else json.dumps(value)


def _compares(actual: JsonValue, op: Comparison, expected: JsonValue) -> bool:
    """Numbers compare as numbers (a CSV's "5" is 5); text compares without case; null
    matches a missing or null field."""
    if expected is None and op in ("==", "!="):
        return (actual is None) == (op == "==")
    if op == "contains":
        return _text(expected).strip('"') in _text(actual)
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        pair: tuple[Any, Any] = (left, right)
    elif op in ("==", "!="):
        pair = (_text(actual), _text(expected))
    else:
        return False  # "abc" > 200: not a number, so not above it
    tests: dict[str, Callable[[Any, Any], bool]] = {
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    return tests[op](*pair)


def _keep(records: list[Record], where: list[Condition]) -> list[Record]:
    equal: dict[str, list[str]] = {}
    for condition in where:
        if condition.op == "==":
            equal.setdefault(condition.field, []).append(_text(condition.value))
    for field, values in equal.items():
        if len(set(values)) > 1:  # measured: the 1.5B model's way of saying "per region"
            raise _invalid(
                f"where: every condition must hold, and {field} cannot equal "
                f"{' and '.join(sorted(set(values)))} at once; for a result per {field}, "
                f"set group_by to {field!r} and drop these conditions"
            )
    for condition in where:
        field = _known_field(records, condition.field, "where")
        records = [r for r in records if _compares(r.get(field), condition.op, condition.value)]
    return records


def _joined(records: list[Record], params: RecordsParams) -> list[Record]:
    """Each record with the fields of the ``join`` record sharing its ``join_on`` value
    (a left join: a record without a match keeps its own fields; its own win clashes)."""
    if params.join is None and params.join_on is None:
        return records
    if params.join is None or params.join_on is None:
        raise _invalid("a join needs both join (the other records) and join_on (their key)")
    others = as_records(params.join)
    key = _known_field(records, params.join_on, "join_on")
    _known_field(others, key, "join_on (in join)")
    by_key: dict[str, Record] = {}
    for other in others:
        by_key.setdefault(_text(other.get(key)), other)
    return [{**by_key.get(_text(record.get(key)), {}), **record} for record in records]


def _round(value: float) -> float | int:
    """Totals of money print as 1234.5, not 1234.4999999999998."""
    rounded = round(value, 10)
    return int(rounded) if rounded == int(rounded) else rounded


def _numbers(records: list[Record], field: str) -> list[float]:
    numbers = []
    for record in records:
        value = record.get(field)
        number = _number(value)
        if number is None:
            raise _invalid(
                f"{field!r} must be a number in every record to compute with it; "
                f"one record has {json.dumps(value)[:100]}: {json.dumps(record)[:200]}"
            )
        numbers.append(number)
    return numbers


def _compute(records: list[Record], params: RecordsParams, field: str | None) -> JsonValue:
    """One result over ``records``: the records themselves, a count, a number or values."""
    how = params.compute  # fields only pick from records; with a total they change nothing
    if how == "rows":
        if params.fields:
            return [{name: r.get(name) for name in params.fields if name in r} for r in records]
        return list(records)
    if how == "count":  # as SQL's count(field): the records where field has a value
        return sum(1 for r in records if field is None or r.get(field) is not None)
    assert field is not None  # checked by records()
    if how == "values":
        return [r.get(field) for r in records if field in r]
    if how == "distinct":
        seen = {json.dumps(r.get(field), sort_keys=True): r.get(field) for r in records}
        return list(seen.values())
    numbers = _numbers(records, field)
    if not numbers:
        return 0 if how == "sum" else None
    totals: dict[str, Callable[[list[float]], float]] = {
        "sum": sum,
        "average": lambda values: sum(values) / len(values),
        "min": min,
        "max": max,
    }
    return _round(totals[how](numbers))


def _sorted(records: list[Record], params: RecordsParams) -> list[Record]:
    if params.sort_by is None:
        return records
    field = _known_field(records, params.sort_by, "sort_by")

    def key(record: Record) -> tuple[int, float, str]:
        value = record.get(field)
        number = _number(value)
        missing = 1 if value is None else 0  # records without the field go last
        return (missing, number if number is not None else 0.0, _text(value))

    present = [r for r in records if r.get(field) is not None]
    absent = [r for r in records if r.get(field) is None]
    return sorted(present, key=key, reverse=params.descending) + absent


def apply_records(params: RecordsParams) -> JsonValue:
    """The whole ``records`` action as a pure function: where, then group, compute, sort
    and limit (per group: groups sorted by their result when sort_by or descending)."""
    records = _keep(_joined(as_records(params.input), params), params.where)
    field = params.field
    if params.compute == "count" and field is not None:
        field = _known_field(records, field, "count")
    if params.compute in ("sum", "average", "min", "max", "values", "distinct"):
        if field is None and len(params.fields) == 1:
            # measured: "the names as a JSON array" planned as compute "values", fields
            # ["name"], twice: one field named, so that is the field
            field, params = params.fields[0], params.model_copy(update={"fields": []})
        if field is None:
            raise _invalid(
                f'compute "{params.compute}" needs field: the field to {params.compute} '
                f"(the fields are {', '.join(records[0]) if records else 'unknown'})"
            )
        field = _known_field(records, field, params.compute)
    present = {key for record in records for key in record}
    # with a total, a name that is no field is a label for the result (measured: "count")
    others = [
        name
        for name in params.fields
        if name not in (field, params.group_by) and (name in present or params.compute == "rows")
    ]
    if params.compute in ("values", "distinct") and others:
        raise _invalid(
            f'compute "{params.compute}" gives a plain list of {field!r}; to keep records '
            f'with the fields {params.fields}, use compute "rows"'
        )
    if params.compute != "rows" and others and params.group_by is None:
        # "average revenue, fields [product]" most likely meant per product: say so
        # rather than return one overall number the goal did not ask for
        raise _invalid(
            f'fields only applies to compute "rows" (it picks fields of the records); '
            f"for a result per {others[0]}, set group_by to {others[0]!r} and fields to []"
        )
    for name in params.fields if params.compute == "rows" else ():
        _known_field(records, name, "fields")
    if params.group_by is None:
        kept = _sorted(records, params)[: params.limit]
        return _compute(kept, params, field)
    group_by = _known_field(records, params.group_by, "group_by")
    pinned = [c for c in params.where if c.field == group_by and c.op == "=="]
    if pinned:
        # measured: told to group "per region", the planner kept where region == North
        # and wrote {"North": 643}, one group where the goal asks for each of them
        raise _invalid(
            f"where {group_by} == {json.dumps(pinned[0].value)} keeps one {group_by}, so "
            f"group_by {group_by!r} makes a single group; for a result per {group_by}, drop "
            f"that where condition; for {json.dumps(pinned[0].value)} alone, drop group_by"
        )
    groups: dict[str, list[Record]] = {}
    for record in records:
        value = record.get(group_by)
        groups.setdefault(value if isinstance(value, str) else json.dumps(value), []).append(record)
    results = {key: _compute(members, params, field) for key, members in groups.items()}
    if params.sort_by is not None or params.descending:
        results = dict(
            sorted(
                results.items(), key=lambda item: _number(item[1]) or 0.0, reverse=params.descending
            )
        )
    return dict(list(results.items())[: params.limit])


def apply_set_keys(params: SetKeysParams) -> JsonValue:
    """The object with ``values`` set; every other key kept, in its place."""
    data = params.input
    if isinstance(data, str):
        with contextlib.suppress(json.JSONDecodeError):  # text that is no JSON: refused below
            data = json.loads(data)
    if not isinstance(data, dict):
        raise _invalid(
            f"set_keys changes keys of one JSON object (e.g. a config file's content), got "
            f"{json.dumps(data)[:200]}; to save or convert data, pass "
            "${steps.<id>.output} to file_write (a .json path writes JSON, .csv writes CSV)"
        )
    return {**data, **params.values}


@activity.defn(name="records")
def records(context: ActionContext, params: RecordsParams) -> ActionResult:
    """Filter, count, total, sort and pick from records; see ``RecordsParams``."""
    return ActionResult(output=apply_records(params), attempt=activity.info().attempt)


@activity.defn(name="set_keys")
def set_keys(context: ActionContext, params: SetKeysParams) -> ActionResult:
    """Change keys of a JSON object; see ``SetKeysParams``."""
    return ActionResult(output=apply_set_keys(params), attempt=activity.info().attempt)
