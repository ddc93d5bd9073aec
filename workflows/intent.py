"""Does the computation behind a deliverable match the one the goal names? A pure check
over the goal's words and the recorded plan: "the largest revenue" written from a
``records`` step that summed is a wrong file, whatever a reviewer model says (measured:
the 1.5B model summed for "largest" and its reviewer accepted 2430 as the maximum).

Only a goal that names exactly one kind of total is checked, and only ``records`` steps
that compute a total: sorting, filtering and picking are never second-guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from durable_agents.contracts import Plan, Step
from durable_agents.workflows.amending import amend_each
from durable_agents.workflows.completion import (
    asks_list,
    named_paths,
    one_number,
    per_group,
    promised_files,
)
from durable_agents.workflows.plan_checks import steps_read
from durable_agents.workflows.references import STEP_REFERENCE, WHOLE_REFERENCE, iter_strings

_ASKED = {
    "max": r"largest|highest|maximum|max|biggest|greatest",
    "min": r"smallest|lowest|minimum|min",
    "average": r"average|mean|avg",
    "sum": r"total|totals|sum|summed",
    "count": r"count|counts|how many|number of",
}
ASKED = {name: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for name, words in _ASKED.items()}
TOTALS = frozenset(_ASKED)  # records computes that are totals
WORDS = {
    "max": "largest",
    "min": "smallest",
    "average": "average",
    "sum": "total",
    "count": "count",
}


def asked_total(goal: str) -> str | None:
    """The one kind of total the goal asks for, or None (none, or several)."""
    found = [name for name, pattern in ASKED.items() if pattern.search(goal)]
    return found[0] if len(found) == 1 else None


ONE_TOTALS = frozenset({"count", "sum", "average"})  # "the 3 highest" sorts: no max asked


def one_total(goal: str) -> bool:
    """Whether the goal asks for one count, sum or average (not one per group, not a list,
    not "the number", which is checked as such) and names one JSON file, the one it asks
    to be written: that file holds one number. Measured: "write the count to
    out/count.json" was judged by the reviewer alone, whatever the file held."""
    if asked_total(goal) not in ONE_TOTALS or per_group(goal) is not None:
        return False
    if asks_list(goal) or one_number(goal):
        return False
    named = [path for path in named_paths(goal) if path.lower().endswith(".json")]
    return len(named) == 1 and named[0] in promised_files(goal)


def wrong_totals(
    goal: str,
    writer: str,
    definitions: Mapping[str, Step],
    dependencies: Mapping[str, set[str]],
) -> list[str]:
    """Problems with the totals that went into what ``writer`` wrote: each ``records``
    step among its sources that computes another total than the goal asks for."""
    asked = asked_total(goal)
    if asked is None:
        return []
    problems = []
    seen: set[str] = set()
    todo = list(dependencies.get(writer, set()))
    while todo:
        step_id = todo.pop()
        if step_id in seen or step_id not in definitions:
            continue
        seen.add(step_id)
        step = definitions[step_id]
        compute = step.params.get("compute")
        if step.action == "records" and compute in TOTALS and compute != asked:
            problems.append(
                f'the goal asks for the {WORDS[asked]} (compute "{asked}"), but step '
                f'\'{step_id}\' computed "{compute}": set "compute": "{asked}" in it'
            )
        todo.extend(dependencies.get(step_id, set()))
    return sorted(problems)


def amend_totals(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with every ``records`` total set to the one the goal names, and what was
    changed. A check that knows the fix applies it: told 'set "compute": "max"', the 1.5B
    planner wrote "sum" again (measured, twice in a row); the goal's words decide, and
    only when they name exactly one kind of total."""
    asked = asked_total(goal)
    if asked is None:
        return plan, []

    def amend(step: Step) -> tuple[Step, list[str]]:
        compute = step.params.get("compute")
        if step.action != "records" or compute not in TOTALS or compute == asked:
            return step, []
        said = f'step \'{step.id}\' computes "{asked}", not "{compute}": the goal asks for '
        said += f"the {WORDS[asked]}"
        return step.model_copy(update={"params": {**step.params, "compute": asked}}), [said]

    return amend_each(plan, amend)


def amend_per_group(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with every ``records`` total grouped the way the goal asks ("per region":
    group_by region, no where pinning region to one value), and what was changed.
    Measured: told 'set "group_by": "region"', the 1.5B planner kept where region ==
    North (one group), then dropped group_by again, three plans in a row."""
    group = per_group(goal)
    if group is None:
        return plan, []

    def amend(step: Step) -> tuple[Step, list[str]]:
        params = step.params
        if step.action != "records" or params.get("compute") not in TOTALS:
            return step, []
        where = params.get("where")
        conditions = where if isinstance(where, list) else []
        kept = [c for c in conditions if not _pins(c, group)]
        updated, said = dict(params), []
        if len(kept) < len(conditions):
            updated["where"] = kept
            said.append(f"step '{step.id}' keeps every {group}, not one")
        if params.get("group_by") in (None, ""):
            updated["group_by"] = group
            said.append(f"step '{step.id}' computes one result per {group}")
        return (step.model_copy(update={"params": updated}) if said else step), said

    return amend_each(plan, amend)


def amend_listed(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with every ``records`` total turned back into the records, when the goal
    asks for a list ("save them as a JSON array") and names no total, and what changed.
    Measured: told 'out/paris_api.json should hold a JSON list, not the number 3', the
    1.5B planner counted again; the goal's words decide, as for the kind of total."""
    if not asks_list(goal) or asked_total(goal) is not None:
        return plan, []

    def amend(step: Step) -> tuple[Step, list[str]]:
        compute = step.params.get("compute")
        if step.action != "records" or compute not in TOTALS:
            return step, []
        said = f"step '{step.id}' keeps the records, not their {WORDS[str(compute)]}: the "
        return _as_rows(step), [said + "goal asks for a list"]

    return amend_each(plan, amend)


def amend_chained_records(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with a ``records`` total that another ``records`` step takes as its input
    turned back into the records, and what changed: a number is never records, so the
    plan could only fail. Measured (open_orders_total): the 1.5B planner filtered the open
    orders and counted them, then summed the amounts of the count; the total amend made
    the count a sum of ids, and the re-plan summed every order instead."""
    del goal  # the plan's own shape decides
    totals = {
        step.id: str(step.params.get("compute"))
        for step in plan.steps
        if step.action == "records" and step.params.get("compute") in TOTALS
    }
    readers: dict[str, str] = {}
    for step in plan.steps:
        source = step.params.get("input") if step.action == "records" else None
        found = WHOLE_REFERENCE.fullmatch(source.strip()) if isinstance(source, str) else None
        if found and found[1] in totals and found[1] != step.id:
            readers.setdefault(found[1], step.id)

    def amend(step: Step) -> tuple[Step, list[str]]:
        if step.id not in readers:
            return step, []
        said = f"step '{step.id}' keeps the records, not their {WORDS[totals[step.id]]}: "
        return _as_rows(step), [said + f"step '{readers[step.id]}' works on its records"]

    return amend_each(plan, amend)


def _as_rows(step: Step) -> Step:
    """The ``records`` total made the records themselves: without the total's field and
    grouping, which a list of records has neither of."""
    params = {k: v for k, v in step.params.items() if k not in ("field", "group_by")}
    return step.model_copy(update={"params": {**params, "compute": "rows"}})


def amend_self_filtered_lists(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan without a where that pins the very field a ``records`` step lists (its
    values or distinct values), and what changed: "the distinct regions where region is
    X" is at most [X], never a list worth asking for. Measured (distinct_regions): the
    1.5B planner listed the distinct regions where region == "North America", a value
    neither the goal nor the data holds, and planned the same after the empty file."""
    del goal  # the plan's own shape decides

    def amend(step: Step) -> tuple[Step, list[str]]:
        params = step.params
        field = params.get("field")
        where = params.get("where")
        lists = step.action == "records" and params.get("compute") in ("distinct", "values")
        if not lists or not isinstance(field, str) or not isinstance(where, list):
            return step, []
        kept = [condition for condition in where if not _pins(condition, field)]
        if len(kept) == len(where):
            return step, []
        said = f"step '{step.id}' lists every {field}, not only the records whose {field} "
        said += "is one value"
        return step.model_copy(update={"params": {**params, "where": kept}}), [said]

    return amend_each(plan, amend)


def amend_fields_of_totals(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan without ``fields`` on a ``records`` total, and what changed: fields pick
    the fields of records a step returns, and a total returns none, so the step could
    only fail. Measured (total_revenue, memory on): sum of revenue with fields [region,
    revenue], twice; the error's advice was for a per-region result, not the number."""
    del goal  # the plan's own shape decides

    def amend(step: Step) -> tuple[Step, list[str]]:
        params = step.params
        total = params.get("compute")
        if step.action != "records" or total not in TOTALS or not params.get("fields"):
            return step, []
        said = f"step '{step.id}' computes a {WORDS[str(total)]}, which has no fields to pick"
        return step.model_copy(update={"params": {**params, "fields": []}}), [said]

    return amend_each(plan, amend)


def amend_one_number(goal: str, plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with every grouped ``records`` total made one total, when the goal asks
    for "the number" (not per group), and what changed. Measured (memory on, twice):
    told 'out/total.json should hold a JSON number, not an object', the 1.5B planner
    grouped by region again after a recalled per-region lesson."""
    if not one_number(goal):
        return plan, []

    def amend(step: Step) -> tuple[Step, list[str]]:
        params = step.params
        grouped = params.get("group_by") not in (None, "")
        if step.action != "records" or params.get("compute") not in TOTALS or not grouped:
            return step, []
        said = f"step '{step.id}' computes one {WORDS[str(params['compute'])]}, not one per "
        said += f"{params['group_by']}: the goal asks for the number"
        return step.model_copy(update={"params": {**params, "group_by": None}}), [said]

    return amend_each(plan, amend)


def _pins(condition: object, field: str) -> bool:
    """Whether a where condition keeps one value of ``field`` (``field == value``)."""
    if not isinstance(condition, dict):
        return False
    named = str(condition.get("field", "")).lower() == field.lower()
    return named and condition.get("op", "==") == "=="


_MAX_ROWS_READ = 1000  # rows of a source looked at for the values the goal names


def records_of(output: object) -> list[dict[str, object]]:
    """The records in a recorded output: a list of objects (a CSV or JSON file as read)
    or an HTTP response's body."""
    if isinstance(output, dict) and "body" in output:
        output = output["body"]
    if isinstance(output, list):
        return [row for row in output[:_MAX_ROWS_READ] if isinstance(row, dict)]
    return []


_NOT_FILTERS = frozenset({"path", "source", "destination", "content", "pattern"})  # places, data


def _filter_text(step: Step) -> str:
    """The words a step could filter with (a where value, an expression, a query, a URL),
    without file paths, written content or the ids of steps it reads: measured on
    open_orders_total, the path out/open_total.json counted as filtering on "open"."""
    kept = [value for key, value in step.params.items() if key not in _NOT_FILTERS]
    return " ".join(STEP_REFERENCE.sub("steps", text) for text in iter_strings(kept)).lower()


def _filters_on(value: str, used: str, precise: bool) -> bool:
    if precise:  # a word, not a substring: "open" is not in "reopened"
        return re.search(rf"\b{re.escape(value.lower())}\b", used) is not None
    return value.lower() in used


def unfiltered_values(
    goal: str,
    writer: str,
    definitions: Mapping[str, Step],
    outputs: Mapping[str, object],
    *,
    precise: bool = True,
) -> list[str]:
    """Values of the data that the goal names ("the total amount of the open ones":
    status "open") but that no step feeding ``writer`` filters on, when that data was
    totalled: a total over every record looks as right as one over the named ones.
    Measured (open_orders_total, 2026-12-07): a re-plan summed every order's amount, 547.5
    for 472; the reviewer agreed."""
    lineage: set[str] = set()
    todo = [writer]
    while todo:
        step_id = todo.pop()
        if step_id in lineage or step_id not in definitions:
            continue
        lineage.add(step_id)
        todo.extend(steps_read(definitions[step_id]))
    totals = [
        s
        for s in lineage
        if definitions[s].action == "records" and definitions[s].params.get("compute") in TOTALS
    ]
    if not totals:
        return []
    if precise:
        used = " ".join(_filter_text(definitions[s]) for s in lineage)
    else:  # runs whose review recorded the first version (patch named-values-filtered-v1)
        used = " ".join(json.dumps(definitions[s].params) for s in lineage).lower()
    grouped = {str(definitions[s].params.get("group_by") or "") for s in totals}
    named: dict[tuple[str, str], None] = {}
    for step_id in sorted(lineage):
        for row in records_of(outputs.get(step_id)):
            for field, value in row.items():
                if (
                    isinstance(value, str)
                    and len(value) >= 3
                    and any(c.isalpha() for c in value)
                    and field not in grouped
                    and not _filters_on(value, used, precise)
                    and re.search(rf"\b{re.escape(value)}\b", goal, re.IGNORECASE)
                ):
                    named[(str(field), value)] = None
    return [
        f'the goal names "{value}" ({field} in the data), but no step that computed it keeps '
        f'only those records: add {{"field": "{field}", "op": "==", "value": "{value}"}} to '
        f"the where of step '{sorted(totals)[0]}'"
        for field, value in named
    ]
