"""A conversion keeps every record: "convert data/sales.csv to JSON and save it as
out/sales.json" must write the file's rows, all of them, as a JSON list.

Measured (csv_to_json, memory on, a table holding an earlier run's lesson): the 1.5B
planner filtered region == "North" and counted, out/sales.json held 3, and the reviewer
accepted "created with 3 records": a false success. The goal's words settle the shape,
and the rows the run read settle the fields and the count.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping

from pydantic import JsonValue

from durable_agents.contracts import Step, StepState, StepStatus
from durable_agents.contracts.deliverables import Deliverable

_CONVERT = re.compile(
    r"\bconvert\s+[`'\"]?(?P<path>[\w./-]*\w\.(?:csv|json|tsv))[`'\"]?\s+(?:in)?to\s+"
    r"(?:an?\s+)?(?:JSON|CSV)\b",
    re.IGNORECASE,
)
MAX_FIELDS = 30  # of the source's columns, checked on every item


def converted_file(goal: str) -> str | None:
    """The file the goal converts to another format, or None."""
    found = _CONVERT.search(goal)
    return posixpath.normpath(found["path"]) if found else None


def rows_read(
    source: str, states: Iterable[StepState], definitions: Mapping[str, Step]
) -> list[dict[str, JsonValue]] | None:
    """The records a succeeded ``file_read`` of ``source`` returned, or None."""
    for state in states:
        step = definitions.get(state.id)
        path = step.params.get("path") if step is not None else None
        if state.action != "file_read" or state.status is not StepStatus.SUCCEEDED:
            continue
        if not isinstance(path, str) or posixpath.normpath(path) != source:
            continue
        output = state.output
        if isinstance(output, list) and output and all(isinstance(r, dict) for r in output):
            return [r for r in output if isinstance(r, dict)]
    return None


def as_conversion(
    deliverable: Deliverable, source: str, rows: list[dict[str, JsonValue]]
) -> Deliverable:
    """A JSON deliverable of the conversion: a list of every row, each with its fields."""
    if deliverable.path == source or deliverable.file_format() != "json":
        return deliverable
    fields = list(rows[0])[:MAX_FIELDS]
    return deliverable.model_copy(
        update={"shape": "list", "item_fields": fields, "items": len(rows), "per": None}
    )
