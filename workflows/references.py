"""``${...}`` references and ``when`` conditions: parsing, checking and resolving.

Pure functions over JSON values, run in workflow code (so resolution is replayed, not
re-executed) and in the client (to reject a bad plan file before starting a run).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import jmespath
import jmespath.exceptions
from jmespath.parser import ParsedResult
from pydantic import JsonValue

from durable_agents.contracts.artifacts import artifact_size, is_artifact

OPEN = "${"
STEP_REFERENCE = re.compile(r"\bsteps\s*\.\s*([A-Za-z][A-Za-z0-9_]*)")
_BARE_REF = re.compile(r"^\s*steps\.[A-Za-z][A-Za-z0-9_]*\.output\b")
# ${steps.X.output}: one reference to one step's whole output
WHOLE_REFERENCE = re.compile(r"\$\{\s*steps\.(?P<step>[A-Za-z][A-Za-z0-9_]*)\.output\s*\}")
_WHOLE_OUTPUT = re.compile(r"\s*steps\.[A-Za-z][A-Za-z0-9_]*\.output\s*")
_ITEM_REF = re.compile(r"(?<![\w.])(item|index)\b")


class ReferenceProblem(ValueError):
    """A reference or condition cannot be parsed or evaluated; the message says why."""


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the reference whose body starts at ``start``."""
    depth, quote = 1, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == quote and text[index - 1] != "\\":
                quote = ""
        elif char in "'\"`":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ReferenceProblem(f"unclosed reference in {text!r}: add the closing '}}'")


def split_references(text: str) -> list[tuple[str, bool]]:
    """Split text into (chunk, is_expression) parts; raises on an unclosed ``${``."""
    parts: list[tuple[str, bool]] = []
    position = 0
    while (start := text.find(OPEN, position)) != -1:
        if start > position:
            parts.append((text[position:start], False))
        end = _closing_brace(text, start + len(OPEN))
        parts.append((text[start + len(OPEN) : end].strip(), True))
        position = end + 1
    if position < len(text):
        parts.append((text[position:], False))
    return parts


def iter_strings(value: JsonValue) -> Iterator[str]:
    """Every string inside a JSON value, keys excluded."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_strings(item)


def check_expression(expression: str, *, per_item: bool = False) -> list[str]:
    """Syntax and root checks for one JMESPath expression; returns problems, if any.

    ``per_item``: the expression belongs to a ``foreach`` step, so ``item`` and ``index``
    (the current element and its position) are roots too.
    """
    if not expression:
        return ["empty expression; write e.g. steps.<id>.output"]
    try:
        _parsed(expression)
    except ReferenceProblem as exc:
        return [str(exc)]
    if STEP_REFERENCE.search(expression):
        return []
    if uses_item(expression):
        if per_item:
            return []
        return [f"expression {expression!r} uses item/index, which only a foreach step has"]
    return [f"expression {expression!r} must start from steps.<id>, e.g. steps.<id>.output"]


def uses_item(expression: str) -> bool:
    """Whether an expression reads ``item`` or ``index`` (a foreach step's element)."""
    return bool(_ITEM_REF.search(expression))


def _stored_outputs(expression: str, context: Mapping[str, Any]) -> str | None:
    """The first step the expression reads whose output is an artifact reference."""
    steps = context.get("steps")
    if not isinstance(steps, Mapping):
        return None
    for step_id in sorted(referenced_steps(expression)):
        state = steps.get(step_id)
        if isinstance(state, Mapping) and is_artifact(state.get("output")):
            return step_id
    return None


def referenced_steps(expression: str) -> set[str]:
    """Step ids an expression reads (``steps.<id>``)."""
    return set(STEP_REFERENCE.findall(expression))


def param_expressions(params: Mapping[str, JsonValue]) -> tuple[list[str], list[str]]:
    """All ``${...}`` expressions in params, and problems found while scanning."""
    expressions: list[str] = []
    problems: list[str] = []
    for text in iter_strings(dict(params)):
        try:
            expressions += [chunk for chunk, is_expr in split_references(text) if is_expr]
        except ReferenceProblem as exc:
            problems.append(str(exc))
        if OPEN not in text and _BARE_REF.match(text):
            problems.append(
                f"{text!r} looks like a reference but is plain text; write ${{{text.strip()}}}"
            )
    return expressions, problems


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of one JMESPath expression over ``context``.

    An output kept as an artifact (too big for history) can be passed on whole, to an
    action that gets the full value; workflow code cannot look inside it.
    """
    stored = _stored_outputs(expression, context)
    if stored and not _WHOLE_OUTPUT.fullmatch(expression):
        raise ReferenceProblem(
            f"{expression!r} looks inside steps.{stored}.output, which is stored as an "
            f"artifact ({artifact_size(context['steps'][stored]['output'])} bytes, too big "
            f"for history); pass ${{steps.{stored}.output}} whole to a transform step and "
            "use that step's (smaller) output"
        )
    parsed = _parsed(expression)
    try:
        return parsed.search(context)
    except (jmespath.exceptions.JMESPathError, ValueError, TypeError) as exc:
        raise ReferenceProblem(f"cannot evaluate {expression!r}: {exc}") from exc


def _parsed(expression: str) -> ParsedResult:
    """The compiled expression; any way it can be malformed becomes a ReferenceProblem
    (found by fuzzing: a bad JSON literal raises a plain ValueError, and a bare `text`
    literal only warns that it is deprecated)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PendingDeprecationWarning)
            return jmespath.compile(expression)
    except PendingDeprecationWarning:
        raise ReferenceProblem(
            f'invalid JMESPath {expression!r}: a `literal` must be JSON, e.g. `"text"` or '
            "`1`; or write 'text' for a string"
        ) from None
    except (jmespath.exceptions.JMESPathError, ValueError) as exc:
        raise ReferenceProblem(
            f"invalid JMESPath {expression!r}: {str(exc).splitlines()[0]}"
        ) from exc


def resolve(value: JsonValue, context: Mapping[str, Any]) -> JsonValue:
    """Replace references in a JSON value with values from ``context`` (``{"steps": ...}``)."""
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, context) for key, item in value.items()}
    if not isinstance(value, str) or OPEN not in value:
        return value
    parts = split_references(value)
    if len(parts) == 1 and parts[0][1]:
        result: JsonValue = evaluate(parts[0][0], context)
        return result
    pieces = []
    for chunk, is_expr in parts:
        if not is_expr:
            pieces.append(chunk)
            continue
        found = evaluate(chunk, context)
        pieces.append(found if isinstance(found, str) else json.dumps(found))
    return "".join(pieces)


def condition_holds(expression: str, context: Mapping[str, Any]) -> bool:
    """JMESPath truthiness: false, null, "", [] and {} are false; everything else true."""
    found = evaluate(expression, context)
    return found not in (None, False, "", [], {})
