"""Bounds on data activities take in from outside and hand back: how deep it nests and
how many values it holds.

- Depth: Temporal payloads are decoded by pydantic, whose JSON parser stops at 200
  levels. A result nested deeper would be recorded in history but the workflow could
  never decode it, and its workflow task would fail and retry forever. Every activity
  result is checked once, in the artifact interceptor (``check_result``), against
  ``MAX_DEPTH``, far below that, leaving room for the envelopes a value is later wrapped
  in (foreach lists, sub-goal and agent outputs, run results).
- Size: parsed data costs memory per value, not per byte (a 2 MB CSV of one-character
  rows is a million records, ~200 MB per copy), so CSV and JSON parsing stop at
  ``MAX_VALUES`` values, and so does every result.

Both fail the step with a non-retryable ``DataTooDeep`` / ``DataTooLarge`` error that
states the limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, JsonValue
from temporalio.exceptions import ApplicationError

from durable_agents.activities.errors import action_error
from durable_agents.contracts import ActionResult
from durable_agents.contracts.limits import MAX_DEPTH

MAX_VALUES = 1_000_000
SHARED_CHARS = 40  # repeated strings up to this long are shared between records
SHARED_MAX = 50_000  # distinct shared strings at most, per parse
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def too_deep(what: str) -> ApplicationError:
    return action_error(
        f"{what} nests lists/objects more than {MAX_DEPTH} levels deep, the limit; "
        "flatten the data or pick the part you need",
        error_type="DataTooDeep",
        retryable=False,
    )


def too_large(what: str, count: str) -> ApplicationError:
    return action_error(
        f"{what} holds {count} values (records, cells, list items, object fields), over "
        f"the limit of {MAX_VALUES:,}; use a smaller file or response, or filter it at "
        "the source",
        error_type="DataTooLarge",
        retryable=False,
    )


def check_shape(value: object, what: str) -> None:
    """Raise ``DataTooDeep`` / ``DataTooLarge`` for ``value``; iterative (deep data cannot
    exhaust the stack) and stops at the first excess. Shared sub-values count each time
    they occur, as they do once serialized."""
    if not isinstance(value, dict | list | tuple):
        return
    stack: list[tuple[dict[Any, Any] | list[Any] | tuple[Any, ...], int]] = [(value, 1)]
    count = 1
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise too_deep(what)
        children: Collection[Any] = item.values() if isinstance(item, dict) else item
        count += len(children)
        if count > MAX_VALUES:
            raise too_large(what, f"over {MAX_VALUES:,}")
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))


def check_result(result: object, what: str) -> None:
    """The bounds on one activity result: an action's output and undo params, or any
    other result (plans, reviews, agent turns) as the JSON it becomes."""
    if isinstance(result, ActionResult):
        check_shape(result.output, f"the {what} output")
        for undo in result.undo:
            check_shape(undo.params, f"the {what} undo")
    elif isinstance(result, BaseModel):
        check_shape(result.model_dump(mode="json"), f"the {what} result")
    else:
        check_shape(result, f"the {what} result")


def load_json(data: str | bytes) -> JsonValue:
    """``json.loads``, with repeated short strings in objects shared as they are parsed
    (a column of regions or dates then costs a pointer per record, not a string)."""
    seen: dict[str, str] = {}

    def share(record: dict[str, Any]) -> dict[str, Any]:
        for key, value in record.items():
            if type(value) is str and len(value) <= SHARED_CHARS and len(seen) < SHARED_MAX:
                record[key] = seen.setdefault(value, value)
        return record

    parsed: JsonValue = json.loads(data, object_hook=share)
    return parsed


def parse_json(text: str, source: str) -> JsonValue:
    """JSON text -> data, refused before parsing when it would hold over ``MAX_VALUES``
    values (commas and brackets outside strings count them) and when it nests deeper than
    Python's parser goes; a syntax error is ``InvalidData``. All non-retryable."""
    bound = text.count(",") + text.count("[") + text.count("{")
    if bound > MAX_VALUES:  # commas inside strings may inflate the quick count: recount
        outside = _STRING.sub("", text)
        bound = outside.count(",") + outside.count("[") + outside.count("{")
        if bound > MAX_VALUES:
            raise too_large(source, f"about {bound:,}")
    try:
        parsed = load_json(text)
    except json.JSONDecodeError as exc:
        raise action_error(
            f"{source} is not valid JSON: {exc}", error_type="InvalidData", retryable=False
        ) from exc
    except RecursionError:
        raise too_deep(source) from None
    return parsed
