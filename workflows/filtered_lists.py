"""A list the goal filters holds the records it names: "keep the users whose city is Paris
and save them as a JSON array" writes users, each with city == Paris.

Measured (fetch_paris, memory on, 2026-12-07): the 1.5B planner kept the Paris users but
picked only their ids (``fields: ["id"]``); out/paris_api.json held ``[{"id": 1}, ...]``,
the list check passed and the reviewer agreed: a false success. The goal's words and the
data the run read settle both the fields to keep and the value every item must have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from durable_agents.contracts import Plan, Step, StepState, StepStatus
from durable_agents.contracts.deliverables import Deliverable
from durable_agents.workflows.amending import amend_each
from durable_agents.workflows.completion import edited_files, per_group
from durable_agents.workflows.intent import asked_total, records_of

SOURCES = frozenset({"file_read", "http_request", "sql_query"})  # where records come from
_NEGATION = re.compile(
    r"\b(?:not|except|excluding|exclude|without|other\s+than|outside|isn't|aren't)\b|!=",
    re.IGNORECASE,
)
_KEEPS_RECORDS = frozenset({None, "", "rows"})  # records computes that return records


def mentions(goal: str, field: str) -> bool:
    """Whether the goal names a field, as a word or its plural ("names" for ``name``;
    ``order_id`` as "order id")."""
    stem = re.escape(field.lower()).replace("_", "[ _]")
    plural = rf"{stem[:-1]}ies" if field.lower().endswith("y") else rf"{stem}e?s"
    return re.search(rf"\b(?:{stem}|{plural})\b", goal, re.IGNORECASE) is not None


def amend_unasked_fields(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with every ``records`` step that keeps records but picks only fields the
    goal never names keeping whole records, and what changed: "keep the users whose city
    is Paris" asks for users, not their ids. A pick the goal names ("just the names")
    stays."""

    def amend(step: Step) -> tuple[Step, list[str]]:
        params = step.params
        fields = params.get("fields")
        picks = isinstance(fields, list) and bool(fields)
        if step.action != "records" or params.get("compute") not in _KEEPS_RECORDS or not picks:
            return step, []
        assert isinstance(fields, list)
        if any(isinstance(f, str) and mentions(goal, f) for f in fields):
            return step, []
        said = f"step '{step.id}' keeps whole records: the goal names none of the fields {fields}"
        return step.model_copy(update={"params": {**params, "fields": []}}), [said]

    return amend_each(plan, amend)


def named_filter(
    goal: str, states: Iterable[StepState], definitions: Mapping[str, Step]
) -> tuple[str, str] | None:
    """The one field and value the goal keeps records by ("whose city is Paris": city,
    Paris), found in the records the run read; None when the goal names none, several,
    a negation, an edit, a total, a grouping or another field of the records (its list
    then holds that field, not the records)."""
    if _NEGATION.search(goal) or edited_files(goal):  # "set region North to Nord in ..."
        return None
    if asked_total(goal) is not None or per_group(goal) is not None:
        return None
    named: dict[tuple[str, str], None] = {}
    fields: set[str] = set()
    for state in states:
        step = definitions.get(state.id)
        if step is None or step.action not in SOURCES or state.status is not StepStatus.SUCCEEDED:
            continue
        for row in _rows(state.output):
            fields.update(row)
            for field, value in row.items():
                if _names_value(goal, value) and mentions(goal, field):
                    named[(field, str(value))] = None
    if len(named) != 1:
        return None
    ((field, value),) = named
    others = [other for other in fields if other != field and mentions(goal, other)]
    return None if others else (field, value)


def as_filtered(deliverable: Deliverable, field: str, value: str) -> Deliverable:
    """A JSON or CSV list deliverable of a filtering goal: every item has ``field ==
    value``. Deliverables with another shape or filter are left as they are."""
    shaped = deliverable.shape in ("any", "list") and not deliverable.where
    if not shaped or deliverable.file_format() not in ("json", "csv"):
        return deliverable
    return deliverable.model_copy(update={"where": {field: value}})


def _names_value(goal: str, value: object) -> bool:
    """Whether the goal names a text value of the data, as a whole word ("Paris")."""
    if not isinstance(value, str) or len(value) < 3 or not any(c.isalpha() for c in value):
        return False
    return re.search(rf"\b{re.escape(value)}\b", goal, re.IGNORECASE) is not None


def _rows(output: object) -> list[dict[str, object]]:
    """The records in a recorded output, a query's rows included."""
    if isinstance(output, dict) and isinstance(output.get("rows"), list):
        output = output["rows"]
    return records_of(output)
