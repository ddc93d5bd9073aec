"""Checking deliverables in workflow code: pure functions over files as read back (an
``inspect`` activity reads them; its result is in history, so replay decides the same).

The files a goal names ("write ... to out/x.json") are deliverables even when a plan
states none: they must exist, parse in their format and not be empty. A plan may state
more (shape, fields, values); a failed check goes back to the planner with the actual
content, and the reviewer sees that content next to the goal.
"""

from __future__ import annotations

import json
import operator
import posixpath
import re
from collections.abc import Callable, Iterable
from functools import partial

from pydantic import JsonValue

from durable_agents.contracts.deliverables import (
    SHOWN_CHARS,
    Bound,
    Deliverable,
    DeliverableCheck,
    Inspected,
    Ranking,
)
from durable_agents.workflows.completion import promised_files

MAX_EXAMPLES = 3  # offending items quoted per problem
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def deliverables_for(
    goal: str,
    stated: Iterable[Deliverable],
    per: str | None = None,
    data: bool = False,
    sentences: int | None = None,
    written: Iterable[str] = (),
    number: bool = False,
    listed: bool = False,
    total: bool = False,
) -> list[Deliverable]:
    """What the run must produce: the plan's deliverables, and every file the goal names;
    with ``per`` (the goal asks for a result per group), a goal-named JSON file must hold
    one value per group (a list or an object), not one number; with ``data``, it must not
    hold a whole HTTP response unless the goal speaks of headers or status; ``written``:
    more goal-named files the run wrote, checked the same way; ``number``: the goal asks
    for one number, so a goal-named JSON file holds a number; ``listed``: the goal asks for
    a list, so a goal-named JSON file holds a list; ``total``: the goal asks for one count,
    sum or average, so a goal-named JSON file holds that number (alone or as the one value
    of an object or list)."""
    found: dict[str, Deliverable] = {}
    for deliverable in stated:
        path = posixpath.normpath(deliverable.path)
        found[path] = deliverable.model_copy(update={"path": path})
    wants_envelope = bool(_ENVELOPE_WORDS.search(goal))
    for path in [*promised_files(goal), *written]:
        named = Deliverable(path=path)
        if per is not None and named.file_format() == "json":
            named = named.model_copy(update={"shape": "collection", "per": per})
        if data and not wants_envelope:
            named = named.model_copy(update={"holds_data": True})
        if number and per is None and named.file_format() == "json":
            named = named.model_copy(update={"shape": "number"})
        elif listed and per is None and named.file_format() == "json":
            named = named.model_copy(update={"shape": "list"})
        elif total and per is None and named.file_format() == "json":
            named = named.model_copy(update={"shape": "total"})
        if sentences is not None and named.file_format() == "text":
            named = named.model_copy(update={"max_sentences": sentences})
        found.setdefault(path, named)
    return list(found.values())


_ENVELOPE_WORDS = re.compile(r"\b(headers?|status|response)\b", re.IGNORECASE)
RESPONSE_KEYS = frozenset({"status", "headers", "body"})  # what http_request returns
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
NULLS = frozenset({"null", "None", "undefined"})  # a text file holding only a missing value


def check(deliverable: Deliverable, inspected: Inspected) -> DeliverableCheck:
    """The deliverable's checks on the file as read back."""
    problems = _problems(deliverable, inspected)
    if inspected.too_large:
        text = f"({inspected.size} bytes: too large to check or show)"
    else:
        text = shown(inspected.content) if inspected.exists else ""
    return DeliverableCheck(
        path=deliverable.path,
        passed=not problems,
        problems=problems,
        content_checked=deliverable.checks_content() and not inspected.too_large,
        shown=text,
        size=inspected.size,
    )


def shown(content: JsonValue) -> str:
    """The start of a file's content, as a person or a model reads it."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + " [...]"


def _problems(deliverable: Deliverable, inspected: Inspected) -> list[str]:
    path = deliverable.path
    if not inspected.exists:
        return [f"{path} was not written"]
    if inspected.problem is not None:
        return [f"{path}: {inspected.problem}"]
    if inspected.too_large:
        return []  # present; its content is not checked (``content_checked`` says so)
    content = inspected.content
    nothing = deliverable.holds_data and isinstance(content, str) and content.strip() in NULLS
    if deliverable.non_empty and (_empty(content) or nothing):
        return [f"{path} is empty ({shown(content) or 'no content'})"]
    problems: list[str] = []
    if deliverable.holds_data and isinstance(content, dict) and set(content) == RESPONSE_KEYS:
        return [
            f"{path} holds a whole HTTP response (status, headers, body), not its data: "
            "write the response's body, ${steps.<id>.output.body}"
        ]
    if deliverable.max_sentences is not None and isinstance(content, str):
        count = len([part for part in _SENTENCE_END.split(content.strip()) if part.strip()])
        if count > deliverable.max_sentences:
            problems.append(
                f"{path} has {count} sentences; the goal asks for at most "
                f"{deliverable.max_sentences}: shorten it (e.g. ask the llm step for exactly "
                f"{deliverable.max_sentences})"
            )
    if not _has_shape(content, deliverable.shape):
        if deliverable.shape == "collection":
            per = f"per {deliverable.per}" if deliverable.per else "per group"
            group = f'"group_by": "{deliverable.per}"' if deliverable.per else "group_by"
            problems.append(
                f"{path} holds {_kind(content)}, but the goal asks for a result {per}: one "
                f"value for each (a JSON object or list): set {group} in the records step"
            )
        elif deliverable.shape == "total":
            problems.append(
                f"{path} holds {_kind(content)}, but the goal asks for one number: write the "
                'number alone (e.g. 12) or as the one value of an object (e.g. {"count": 12})'
            )
        else:
            problems.append(f"{path} should hold a JSON {deliverable.shape}, not {_kind(content)}")
        return problems
    counted = deliverable.items
    if counted is not None and isinstance(content, list) and len(content) != counted:
        problems.append(
            f"{path} holds {len(content)} items; the goal converts {counted} records, and a "
            "conversion keeps every one: write the rows as read"
        )
    if deliverable.item_fields or deliverable.where or deliverable.bounds:
        problems += _item_problems(deliverable, content)
    if deliverable.ranked is not None:
        problems += _ranking_problems(path, deliverable.ranked, content)
    if deliverable.value_type != "any":
        problems += _value_problems(deliverable, content)
    if deliverable.keys:
        if not isinstance(content, dict):
            problems.append(f"{path} should be an object with keys {deliverable.keys}")
        else:
            missing = [key for key in deliverable.keys if key not in content]
            if missing:
                problems.append(f"{path} lacks keys {missing}; it has {sorted(content)[:20]}")
    return problems


def _item_problems(deliverable: Deliverable, content: JsonValue) -> list[str]:
    path = deliverable.path
    if not isinstance(content, list):
        return [f"{path} should be a list of records, not {_kind(content)}"]
    problems: list[str] = []
    missing: list[tuple[int, list[str]]] = []
    for index, item in enumerate(content):
        record = item if isinstance(item, dict) else {}
        lacking = [field for field in deliverable.item_fields if field not in record]
        if lacking or not isinstance(item, dict):
            missing.append((index, lacking or ["(it is not a record)"]))
    if missing:
        examples = ", ".join(
            f"item {index} lacks {fields}" for index, fields in missing[:MAX_EXAMPLES]
        )
        problems.append(f"{path}: {len(missing)} of {len(content)} items: {examples}")
    for field, expected in deliverable.where.items():
        said = f"{field} == {json.dumps(expected)}"
        problems += _failing_items(path, content, field, partial(_same, expected=expected), said)
    for bound in deliverable.bounds:
        said = f"{bound.field} {bound.op} {bound.value:g}"
        problems += _failing_items(path, content, bound.field, partial(_within, bound=bound), said)
    return problems


def _failing_items(
    path: str,
    content: list[JsonValue],
    field: str,
    holds: Callable[[JsonValue], bool],
    said: str,
) -> list[str]:
    """The problem, if any, of the items whose ``field`` value fails ``holds``."""
    wrong = [
        (index, item.get(field) if isinstance(item, dict) else item)
        for index, item in enumerate(content)
        if not (isinstance(item, dict) and holds(item.get(field)))
    ]
    if not wrong:
        return []
    examples = ", ".join(
        f"item {index} has {json.dumps(actual)}" for index, actual in wrong[:MAX_EXAMPLES]
    )
    return [f"{path}: {len(wrong)} of {len(content)} items do not have {said} ({examples})"]


def _ranking_problems(path: str, ranked: Ranking, content: JsonValue) -> list[str]:
    """The items' values of the ranked field must be the data's top values, in order."""
    if not isinstance(content, list):
        return [f"{path} should be a list of records, not {_kind(content)}"]
    found = [
        number_of(item.get(ranked.field)) if isinstance(item, dict) else None for item in content
    ]
    if found == ranked.values:
        return []
    first = "highest" if ranked.descending else "lowest"
    shown = ", ".join("null" if value is None else f"{value:g}" for value in found[:10])
    wanted = ", ".join(f"{value:g}" for value in ranked.values)
    return [
        f"{path}: the goal asks for the {len(ranked.values)} records with the {first} "
        f"{ranked.field}, {first} first, so their {ranked.field} values are {wanted}; the "
        f"file's are {shown or 'none'}: sort by {ranked.field}"
        + (" descending" if ranked.descending else "")
        + f" and keep {len(ranked.values)}"
    ]


def number_of(value: object) -> float | None:
    """A number, or a CSV cell holding one; None otherwise."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _within(value: JsonValue, bound: Bound) -> bool:
    """Whether a value (a number, or a CSV cell holding one) keeps to the bound."""
    number = number_of(value)
    return number is not None and COMPARE[bound.op](number, bound.value)


def _value_problems(deliverable: Deliverable, content: JsonValue) -> list[str]:
    values: list[tuple[str, JsonValue]]
    if isinstance(content, dict):
        values = list(content.items())
    elif isinstance(content, list):
        values = [(f"item {index}", item) for index, item in enumerate(content)]
    else:
        values = [("the content", content)]
    wrong = [(key, value) for key, value in values if not _is(value, deliverable.value_type)]
    if not wrong:
        return []
    examples = ", ".join(f"{key}: {json.dumps(value)}" for key, value in wrong[:MAX_EXAMPLES])
    return [
        f"{deliverable.path}: {len(wrong)} of {len(values)} values are not "
        f"{deliverable.value_type}s ({examples})"
    ]


def _empty(content: JsonValue) -> bool:
    if isinstance(content, str):
        return not content.strip()
    return content is None or content == [] or content == {}


def _has_shape(content: JsonValue, shape: str) -> bool:
    return shape == "any" or _is(content, shape)


def _is(value: JsonValue, kind: str) -> bool:
    if kind == "total":  # 12, {"count": 12} or [12]
        if isinstance(value, dict) and len(value) == 1:
            (value,) = value.values()
        elif isinstance(value, list) and len(value) == 1:
            (value,) = value
        return _is(value, "number")
    if kind == "collection":
        return isinstance(value, list | dict)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    return True


def _kind(value: JsonValue) -> str:
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else "null"


def _same(actual: JsonValue, expected: JsonValue) -> bool:
    """Equal, or equal as text (CSV cells are strings: "5" is 5)."""
    if actual == expected:
        return True
    if isinstance(actual, str) and not isinstance(expected, str):
        return actual.strip() == json.dumps(expected)
    return False
