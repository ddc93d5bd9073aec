"""A list the goal filters holds the records it names, each with the value it names."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Review, Step, StepState, StepStatus
from durable_agents.contracts.deliverables import Bound, Ranking
from durable_agents.workflows.deliverables import check, deliverables_for
from durable_agents.workflows.filtered_lists import (
    amend_unasked_fields,
    as_filtered,
    as_ranked,
    mentions,
    named_bounds,
    named_filter,
    ranking,
    source_records,
)
from tests.fake_llm import FakeLlm
from tests.workflows.deliverable_plans import inspected
from tests.workflows.runs import plan, run_to_end

USERS = [
    {"id": 1, "name": "Ann", "city": "Paris"},
    {"id": 2, "name": "Bo", "city": "Rome"},
    {"id": 3, "name": "Cy", "city": "Paris"},
]
PARIS_USERS = [user for user in USERS if user["city"] == "Paris"]
GOAL = (
    "Read data/users.json, keep only those whose city is Paris, and save them as a JSON "
    "array to out/paris.json"
)


def test_a_field_is_named_as_a_word_or_its_plural() -> None:
    assert mentions("Write just the names of the users", "name")
    assert mentions("Count the users per city", "city")
    assert mentions("list the cities", "city")
    assert mentions("the order id of each", "order_id")
    assert not mentions("keep only those whose city is Paris", "id")
    assert not mentions("the users at /users/1", "user_id")


def users_plan(fields: list[str], content: str = "${steps.keep.output}") -> Plan:
    where = [{"field": "city", "op": "==", "value": "Paris"}]
    keep = {"input": "${steps.read.output}", "where": where, "fields": fields}
    return plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/users.json"}},
        {"id": "keep", "action": "records", "params": keep},
        {
            "id": "write",
            "action": "file_write",
            "params": {"path": "out/paris.json", "content": content},
        },
    )


def test_a_pick_of_fields_the_goal_never_names_keeps_whole_records() -> None:
    """Measured (fetch_paris, memory on): fields ["id"] for "keep only those whose city is
    Paris"; the file held ids and passed as a list."""
    amended, changes = amend_unasked_fields(GOAL, users_plan(["id"]))
    assert amended.steps[1].params["fields"] == []
    assert changes == ["step 'keep' keeps whole records: the goal names none of the fields ['id']"]
    names = "Write just the names of the users in Paris, as a JSON array, to out/paris.json"
    assert amend_unasked_fields(names, users_plan(["name"]))[1] == []  # asked for
    assert amend_unasked_fields(GOAL, users_plan([]))[1] == []  # nothing picked
    counted = users_plan(["id"])
    counted.steps[1].params["compute"] = "count"
    assert amend_unasked_fields(GOAL, counted)[1] == []  # not records


def read_state(output: object, action: str = "file_read") -> tuple[StepState, Step]:
    state = StepState.model_validate(
        {
            "id": "read",
            "title": "read",
            "action": action,
            "plan_version": 1,
            "status": StepStatus.SUCCEEDED,
            "output": output,
        }
    )
    params = {"path": "data/users.json"} if action == "file_read" else {"url": "http://x"}
    step = Step(id="read", title="read", action=action, params=params)
    return state, step


def filter_of(goal: str, output: object, action: str = "file_read") -> tuple[str, str] | None:
    state, step = read_state(output, action)
    return named_filter(goal, source_records([state], {"read": step}))


def test_the_goal_filters_by_a_value_of_a_field_it_names() -> None:
    assert filter_of(GOAL, USERS) == ("city", "Paris")
    assert filter_of(GOAL, {"status": 200, "body": USERS}, "http_request") == ("city", "Paris")
    assert filter_of(GOAL, {"rows": USERS, "row_count": 3}, "sql_query") == ("city", "Paris")
    lower = "keep the users whose city is paris as a JSON array in out/p.json"
    assert filter_of(lower, USERS) == ("city", "Paris")  # the data's spelling
    # none of these keeps whole records holding the value named
    assert filter_of("keep the users who are not in the city Paris", USERS) is None
    assert filter_of("keep the users whose city is Paris or Rome", USERS) is None
    assert filter_of("the names of the users whose city is Paris", USERS) is None
    assert filter_of("count the users whose city is Paris", USERS) is None
    assert filter_of("keep the users from Paris", USERS) is None  # no field named
    assert filter_of("In data/users.json, change the city Paris to Lyon", USERS) is None
    state, step = read_state(USERS)
    failed = state.model_copy(update={"status": StepStatus.FAILED})
    assert named_filter(GOAL, source_records([failed], {"read": step})) is None


def test_each_item_of_a_filtered_list_has_the_value_named() -> None:
    (paris,) = deliverables_for(GOAL, [], listed=True)
    filtered = as_filtered(paris, {"city": "Paris"}, [])
    assert filtered.where == {"city": "Paris"}
    ids = check(filtered, inspected([{"id": 1}, {"id": 3}]))
    assert ids.problems == [
        'out/paris.json: 2 of 2 items do not have city == "Paris" (item 0 has null, item 1 '
        "has null)"
    ]
    assert check(filtered, inspected(PARIS_USERS)).passed
    text = deliverables_for("... and write a note to out/paris.txt", [])[0]
    assert as_filtered(text, {"city": "Paris"}, []) == text  # text has no items
    counted = paris.model_copy(update={"shape": "number"})
    assert as_filtered(counted, {"city": "Paris"}, []) == counted


async def test_ids_of_the_kept_records_are_amended_into_the_records(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    (workspace / "data/users.json").write_text(json.dumps(USERS))
    fake_llm.plans.append(users_plan(["id"]))
    fake_llm.reviews.append(Review(verdict="done", answer="the Paris users are saved"))
    result = await run_to_end(client, task_queue, workspace, goal=GOAL)
    assert result.status == "succeeded", result.error
    assert json.loads((workspace / "out/paris.json").read_text()) == PARIS_USERS
    assert "keeps whole records" in result.plans[0].reason
    assert result.deliverables[0].content_checked


async def test_a_list_missing_the_value_named_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """The false success measured on fetch_paris, made by a write the amend cannot see."""
    (workspace / "data/users.json").write_text(json.dumps(USERS))
    fake_llm.plans.append(users_plan([], content='[{"id": 1}, {"id": 3}]'))
    fake_llm.plans.append(users_plan([]))
    fake_llm.reviews.append(Review(verdict="done", answer="the Paris users are saved"))
    # the new plan replaces the run's own file
    result = await run_to_end(client, task_queue, workspace, goal=GOAL, approve=("write",))
    feedback = fake_llm.plan_requests[1].feedback or ""
    assert 'do not have city == "Paris"' in feedback
    assert len(fake_llm.review_requests) == 1  # the reviewer never saw the ids
    assert result.status == "succeeded", result.error
    assert json.loads((workspace / "out/paris.json").read_text()) == PARIS_USERS


SALES = [
    {"region": "North", "product": "Widget", "revenue": "250.0"},
    {"region": "South", "product": "Gadget", "revenue": "120.5"},
]
BIG = "Write the rows of data/sales.csv with revenue above 200 to out/big.csv"


def bounds_of(goal: str, output: object = SALES) -> list[Bound]:
    state, step = read_state(output)
    return named_bounds(goal, source_records([state], {"read": step}))


def test_the_goal_keeps_records_by_a_number_of_a_field_it_names() -> None:
    assert bounds_of(BIG) == [Bound(field="revenue", op=">", value=200)]
    assert bounds_of("the rows whose revenue is at least 99.5 as a JSON array in o.json") == [
        Bound(field="revenue", op=">=", value=99.5)
    ]
    assert bounds_of("rows with revenue no more than 100 to out/s.json") == [
        Bound(field="revenue", op="<=", value=100)
    ]
    customers = [{"customer": "acme", "amount": 150}]
    sql = "Select the customers with an amount above 100 and save them as JSON to out/c.json"
    assert bounds_of(sql, {"rows": customers, "row_count": 1}) == []  # names customer too
    only = "Select the orders with an amount above 100 and save them as JSON to out/c.json"
    assert bounds_of(only, {"rows": customers}) == [Bound(field="amount", op=">", value=100)]
    assert bounds_of("the regions with revenue above 200") == []  # a field, not the rows
    assert bounds_of("rows with revenue not above 200 to out/s.json") == []
    assert bounds_of("the total revenue of rows with revenue above 200") == []  # a total
    assert bounds_of("rows with more than 200 revenue") == []  # not said the usual way


def test_each_item_of_a_bounded_list_keeps_to_the_bound() -> None:
    (big,) = deliverables_for(BIG, [])
    bounded = as_filtered(big, {}, [Bound(field="revenue", op=">", value=200)])
    assert check(bounded, inspected([{"revenue": "250.0"}, {"revenue": 300}])).passed
    small = check(bounded, inspected([{"revenue": "250.0"}, {"revenue": "120.5"}, {"x": 1}]))
    assert small.problems == [
        'out/big.csv: 2 of 3 items do not have revenue > 200 (item 1 has "120.5", item 2 has null)'
    ]


async def test_rows_outside_the_bound_go_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}

    def keep(where: list[dict[str, object]]) -> dict[str, object]:
        rows = {"input": "${steps.read.output}", "where": where}
        return {"id": "keep", "action": "records", "params": rows}

    write = {
        "id": "write",
        "action": "file_write",
        "params": {"path": "out/big.csv", "content": "${steps.keep.output}"},
    }
    fake_llm.plans.append(plan(read, keep([]), write))
    fake_llm.plans.append(plan(keep([{"field": "revenue", "op": ">", "value": 200}]), write))
    fake_llm.reviews.append(Review(verdict="done", answer="the big rows are written"))
    # the new plan replaces the run's own file
    result = await run_to_end(client, task_queue, workspace, goal=BIG, approve=("write",))
    assert "items do not have revenue > 200" in (fake_llm.plan_requests[1].feedback or "")
    assert len(fake_llm.review_requests) == 1
    assert result.status == "succeeded", result.error
    assert result.deliverables[0].content_checked and result.deliverables[0].passed


TOP3 = (
    "Write the 3 rows of data/sales.csv with the highest revenue, highest first, to out/top3.json"
)
REVENUES = [
    {"region": "North", "revenue": "240.0"},
    {"region": "West", "revenue": "400.0"},
    {"region": "East", "revenue": "177.0"},
    {"region": "South", "revenue": "295.0"},
]


def ranking_of(goal: str, output: object = REVENUES) -> Ranking | None:
    state, step = read_state(output)
    sources = source_records([state], {"read": step})
    return ranking(goal, sources, named_bounds(goal, sources))


def test_the_top_of_the_data_is_its_highest_values_in_order() -> None:
    assert ranking_of(TOP3) == Ranking(field="revenue", descending=True, values=[400, 295, 240])
    lowest = "Save the two records with the lowest revenue to out/low.json"
    assert ranking_of(lowest) == Ranking(field="revenue", descending=False, values=[177, 240])
    assert ranking_of("Write the 3 North rows with the highest revenue to out/t.json") is None
    assert ranking_of("Write the regions of the 3 rows with the highest revenue") is None
    assert ranking_of("Write the 3 rows with the highest units to out/t.json") is None  # none
    assert ranking_of("Write the rows sorted by revenue to out/s.json") is None  # no count


def test_a_top_list_holds_those_records_in_order() -> None:
    (top,) = deliverables_for(TOP3, [])
    ranked = as_ranked(top, Ranking(field="revenue", descending=True, values=[400, 295, 240]))
    best = [{"revenue": 400.0}, {"revenue": "295.0"}, {"revenue": 240}]
    assert check(ranked, inspected(best)).passed
    unsorted = check(ranked, inspected([best[1], best[0], best[2]]))
    assert unsorted.problems == [
        "out/top3.json: the goal asks for the 3 records with the highest revenue, highest "
        "first, so their revenue values are 400, 295, 240; the file's are 295, 400, 240: sort "
        "by revenue descending and keep 3"
    ]
    assert not check(ranked, inspected(best[:2])).passed
    assert not check(ranked, inspected([{"id": 1}])).passed


async def test_a_top_list_in_the_wrong_order_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}

    def top(descending: bool) -> dict[str, object]:
        sort = {"sort_by": "revenue", "descending": descending, "limit": 3}
        return {
            "id": "top",
            "action": "records",
            "params": {"input": "${steps.read.output}", **sort},
        }

    write = {
        "id": "write",
        "action": "file_write",
        "params": {"path": "out/top3.json", "content": "${steps.top.output}"},
    }
    fake_llm.plans.append(plan(read, top(False), write))
    fake_llm.plans.append(plan(top(True), write))
    fake_llm.reviews.append(Review(verdict="done", answer="the top 3 rows are written"))
    # the new plan replaces the run's own file
    result = await run_to_end(client, task_queue, workspace, goal=TOP3, approve=("write",))
    assert "sort by revenue descending and keep 3" in (fake_llm.plan_requests[1].feedback or "")
    assert result.status == "succeeded", result.error
    revenues = [row["revenue"] for row in json.loads((workspace / "out/top3.json").read_text())]
    assert revenues == [400.0, 354.0, 295.0]
