"""A list the goal filters holds the records it names: "keep the users whose city is Paris
and save them as a JSON array" writes users, each with city == Paris; "the rows with
revenue above 200" writes rows, each with revenue > 200; "the 3 rows with the highest
revenue" writes those rows, highest first.

Measured (fetch_paris, memory on, 2026-12-07): the 1.5B planner kept the Paris users but
picked only their ids (``fields: ["id"]``); out/paris_api.json held ``[{"id": 1}, ...]``,
the list check passed and the reviewer agreed: a false success. The goal's words and the
data the run read settle both the fields to keep and the value every item must have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import JsonValue

from durable_agents.contracts import Plan, Step, StepState, StepStatus
from durable_agents.contracts.deliverables import Bound, BoundOp, Deliverable, Ranking
from durable_agents.workflows.amending import amend_each
from durable_agents.workflows.completion import edited_files, per_group
from durable_agents.workflows.deliverables import number_of
from durable_agents.workflows.intent import asked_total, records_of

SOURCES = frozenset({"file_read", "http_request", "sql_query"})  # where records come from
_NEGATION = re.compile(
    r"\b(?:not|except|excluding|exclude|without|other\s+than|outside|isn't|aren't)\b|!=",
    re.IGNORECASE,
)
_KEEPS_RECORDS = frozenset({None, "", "rows"})  # records computes that return records
Sources = list[list[dict[str, object]]]  # the records of each source step the run read


def mentions(goal: str, field: str) -> bool:
    """Whether the goal names a field, as a word or its plural ("names" for ``name``;
    ``order_id`` as "order id")."""
    return re.search(rf"\b{_field_words(field)}\b", goal, re.IGNORECASE) is not None


def amend_unasked_fields(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with every ``records`` step that keeps records but picks only fields the
    goal never names keeping whole records, and what changed: "keep the users whose city
    is Paris" asks for users, not their ids. A pick the goal names ("just the names")
    stays."""

    def amend(step: Step) -> tuple[Step, list[str]]:
        params = step.params
        fields = params.get("fields")
        keeps = step.action == "records" and params.get("compute") in _KEEPS_RECORDS
        if not keeps or not isinstance(fields, list) or not fields:
            return step, []
        if any(isinstance(f, str) and mentions(goal, f) for f in fields):
            return step, []
        said = f"step '{step.id}' keeps whole records: the goal names none of the fields {fields}"
        return step.model_copy(update={"params": {**params, "fields": []}}), [said]

    return amend_each(plan, amend)


def named_filter(goal: str, sources: Sources) -> tuple[str, str] | None:
    """The one field and value the goal keeps records by ("whose city is Paris": city,
    Paris), found in the records the run read (``source_records``); None when the goal
    names none, several, a negation, an edit, a total, a grouping or another field of the
    records (its list then holds that field, not the records)."""
    if not _keeps_records(goal):
        return None
    rows = [row for source in sources for row in source]
    named: dict[tuple[str, str], None] = {}
    for row in rows:
        for field, value in row.items():
            if _names_value(goal, value) and mentions(goal, field):
                named[(field, str(value))] = None
    if len(named) != 1:
        return None
    ((field, value),) = named
    return None if _names_others(goal, rows, {field}) else (field, value)


def named_bounds(goal: str, sources: Sources) -> list[Bound]:
    """The numbers the goal keeps records by ("the rows with revenue above 200": revenue >
    200), for numeric fields of the records the run read; none under the same conditions
    as ``named_filter``."""
    if not _keeps_records(goal):
        return []
    rows = [row for source in sources for row in source]
    numeric = {
        field for row in rows for field, value in row.items() if number_of(value) is not None
    }
    found: list[Bound] = []
    for field in sorted(numeric):
        for match in _bound_pattern(field).finditer(goal):
            op = next(op for op, words in _BOUND_WORDS.items() if re.fullmatch(words, match["op"]))
            found.append(Bound(field=field, op=op, value=float(match["value"])))
    if not found or _names_others(goal, rows, {bound.field for bound in found}):
        return []
    return found


_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}
_RANKED = re.compile(
    r"\b(?:top\s+)?(?P<n>\d{1,3}|two|three|four|five|ten)\s+(?:[a-z]+\s+){0,2}?"
    r"(?:rows|records|entries|items|[a-z]+s)\b(?:[^.;:]|\.(?=\S))*?\b(?:with|by|having)\s+the\s+"
    r"(?P<first>highest|largest|biggest|greatest|most|lowest|smallest|least)\s+"
    r"(?P<field>[a-z_][\w]*)",
    re.IGNORECASE,
)
_FIRST_HIGHEST = frozenset({"highest", "largest", "biggest", "greatest", "most"})


def ranking(goal: str, sources: Sources, bounds: list[Bound]) -> Ranking | None:
    """The top of the data the goal asks for ("the 3 rows with the highest revenue"): the
    field's values those records hold, in order, from the one source the run read that
    has the field. None when the goal also filters (``bounds``: its ``named_bounds``),
    names a value or another field of the records, negates, groups, or when sources
    disagree."""
    found = _RANKED.search(goal)
    if found is None or _NEGATION.search(goal) or per_group(goal) is not None:
        return None
    count = _COUNTS.get(found["n"].lower()) or int(found["n"])
    holding = [
        (field, rows)
        for rows in sources
        for field in {field for row in rows for field in row}
        if re.fullmatch(_field_words(field), found["field"], re.IGNORECASE)
    ]
    if len(holding) != 1 or count < 1:
        return None
    ((field, rows),) = holding
    if bounds or _names_others(goal, rows, {field}):
        return None
    if any(_names_value(goal, value) for row in rows for value in row.values()):
        return None
    values = [number for row in rows if (number := number_of(row.get(field))) is not None]
    descending = found["first"].lower() in _FIRST_HIGHEST
    top = sorted(values, reverse=descending)[:count]
    return Ranking(field=field, descending=descending, values=top) if top else None


def as_ranked(deliverable: Deliverable, ranked: Ranking) -> Deliverable:
    """A JSON or CSV list deliverable of a goal asking for the top of the data: its items
    are those records, in order."""
    if not _list_file(deliverable) or deliverable.ranked is not None:
        return deliverable
    return deliverable.model_copy(update={"ranked": ranked})


def as_filtered(
    deliverable: Deliverable, where: dict[str, JsonValue], bounds: list[Bound]
) -> Deliverable:
    """A JSON or CSV list deliverable of a filtering goal: every item has the values of
    ``where`` and keeps to ``bounds``, where the deliverable states none of its own.
    Deliverables of another shape or format are left as they are."""
    if not _list_file(deliverable):
        return deliverable
    update: dict[str, object] = {}
    if where and not deliverable.where:
        update["where"] = where
    if bounds and not deliverable.bounds:
        update["bounds"] = bounds
    return deliverable.model_copy(update=update) if update else deliverable


def _list_file(deliverable: Deliverable) -> bool:
    """Whether the deliverable may be a list of records: JSON or CSV, a list or any shape."""
    return deliverable.shape in ("any", "list") and deliverable.file_format() in ("json", "csv")


_BOUND_WORDS: dict[BoundOp, str] = {  # "no more than" before "more than"
    "<=": r"at\s+most|no\s+more\s+than",
    ">=": r"at\s+least|no\s+less\s+than",
    ">": r"above|over|greater\s+than|more\s+than|higher\s+than|larger\s+than|exceeding",
    "<": r"below|under|less\s+than|lower\s+than|smaller\s+than",
}


def _bound_pattern(field: str) -> re.Pattern[str]:
    """ "<field> [is] above <number>", the field as a word or its plural."""
    ops = "|".join(_BOUND_WORDS.values())
    return re.compile(
        rf"\b{_field_words(field)}\s+(?:(?:is|are|was|of)\s+)?(?P<op>{ops})\s+\$?"
        r"(?P<value>-?\d+(?:\.\d+)?)\b",
        re.IGNORECASE,
    )


def _field_words(field: str) -> str:
    """A pattern for a field as a word or its plural ("order_id" also as "order id")."""
    stem = re.escape(field.lower()).replace("_", "[ _]")
    plural = rf"{stem[:-1]}ies" if field.lower().endswith("y") else rf"{stem}e?s"
    return rf"(?:{stem}|{plural})"


def _keeps_records(goal: str) -> bool:
    """Whether the goal could ask for records kept by a value: no negation, edit, total
    or grouping (each changes what its file holds)."""
    if _NEGATION.search(goal) or edited_files(goal):  # "set region North to Nord in ..."
        return False
    return asked_total(goal) is None and per_group(goal) is None


def source_records(states: Iterable[StepState], definitions: Mapping[str, Step]) -> Sources:
    """The records of each succeeded read, request and query, source by source: what the
    goal's values, numbers and rankings are looked up in."""
    found: Sources = []
    for state in states:
        step = definitions.get(state.id)
        if step is None or step.action not in SOURCES or state.status is not StepStatus.SUCCEEDED:
            continue
        output = state.output
        if isinstance(output, dict) and isinstance(output.get("rows"), list):
            output = output["rows"]  # a query's result
        rows = records_of(output)
        if rows:
            found.append(rows)
    return found


def _names_others(goal: str, rows: list[dict[str, object]], kept_by: set[str]) -> bool:
    """Whether the goal names a field of the records beyond those it keeps them by: its
    list then holds that field ("the names of the users in Paris"), not the records."""
    fields = {field for row in rows for field in row}
    return any(mentions(goal, field) for field in fields - kept_by)


def _names_value(goal: str, value: object) -> bool:
    """Whether the goal names a text value of the data, as a whole word ("Paris")."""
    if not isinstance(value, str) or len(value) < 3 or not any(c.isalpha() for c in value):
        return False
    return re.search(rf"\b{re.escape(value)}\b", goal, re.IGNORECASE) is not None
