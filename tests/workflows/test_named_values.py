"""Records the goal names by a value ("the open ones"): a total keeps only those records."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Review
from durable_agents.workflows.intent import amend_chained_records, unfiltered_values
from tests.fake_llm import FakeLlm
from tests.workflows.runs import plan, run_to_end

ORDERS = [
    {"id": 1, "amount": 120.0, "status": "open"},
    {"id": 2, "amount": 75.5, "status": "paid"},
    {"id": 3, "amount": 310.0, "status": "open"},
]


OPEN_TOTAL = "Read data/orders.json and write the total amount of the open ones to out/t.json"


def orders_plan(where: list[dict[str, object]]) -> Plan:
    total = {"input": "${steps.read.output}", "where": where, "compute": "sum", "field": "amount"}
    return plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/orders.json"}},
        {"id": "calc", "action": "records", "depends_on": ["read"], "params": total},
        {
            "id": "write",
            "action": "file_write",
            "depends_on": ["calc"],
            "params": {"path": "out/t.json", "content": "${steps.calc.output}"},
        },
    )


def test_a_total_must_keep_the_records_the_goal_names() -> None:
    unfiltered = orders_plan([])
    steps = {s.id: s for s in unfiltered.steps}
    outputs: dict[str, object] = {"read": ORDERS, "calc": 505.5}
    assert unfiltered_values(OPEN_TOTAL, "write", steps, outputs) == [
        'the goal names "open" (status in the data), but no step that computed it keeps '
        'only those records: add {"field": "status", "op": "==", "value": "open"} to the '
        "where of step 'calc'"
    ]
    filtered = {s.id: s for s in orders_plan([{"field": "status", "value": "open"}]).steps}
    assert unfiltered_values(OPEN_TOTAL, "write", filtered, outputs) == []
    everything = "Read data/orders.json and write the total amount to out/t.json"
    assert unfiltered_values(everything, "write", steps, outputs) == []
    response = {"read": {"status": 200, "body": ORDERS}}  # an HTTP response's data
    assert len(unfiltered_values(OPEN_TOTAL, "write", steps, response)) == 1


async def test_a_total_over_every_record_goes_back_when_the_goal_names_some(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Measured false success (open_orders_total): a re-plan summed every order, 547.5
    for the open ones' 472, and the reviewer agreed."""
    (workspace / "data/orders.json").write_text(json.dumps(ORDERS))
    fake_llm.plans.append(orders_plan([]))
    fake_llm.plans.append(orders_plan([{"field": "status", "op": "==", "value": "open"}]))
    fake_llm.reviews.append(Review(verdict="done", answer="the open orders total 430"))
    # the new plan replaces the run's own file
    result = await run_to_end(client, task_queue, workspace, goal=OPEN_TOTAL, approve=("write",))
    feedback = fake_llm.plan_requests[1].feedback or ""
    assert 'the goal names "open" (status in the data)' in feedback
    assert result.status == "succeeded"
    assert json.loads((workspace / "out/t.json").read_text()) == 430


OPEN_FILE = "Read data/orders.json and write the total amount of the open ones to out/open.json"


def open_file_plan(total_input: str) -> Plan:
    """The measured plan (open_orders_total, 2026-12-07, memory off): a step named for the
    open orders that the total depends on but does not read, and a file named "open"."""
    where = [{"field": "status", "op": "==", "value": "open"}]
    counted = {"input": "${steps.read.output}", "where": where, "compute": "count", "field": "id"}
    total = {"input": total_input, "compute": "sum", "field": "amount"}
    return plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/orders.json"}},
        {"id": "filter_open", "action": "records", "depends_on": ["read"], "params": counted},
        {"id": "calc", "action": "records", "depends_on": ["filter_open"], "params": total},
        {
            "id": "write",
            "action": "file_write",
            "depends_on": ["calc"],
            "params": {"path": "out/open.json", "content": "${steps.calc.output}"},
        },
    )


def test_a_file_path_or_a_step_id_naming_the_value_is_no_filter() -> None:
    steps = {s.id: s for s in open_file_plan("${steps.read.output}").steps}
    outputs: dict[str, object] = {"read": ORDERS, "filter_open": 2, "calc": 505.5}
    assert len(unfiltered_values(OPEN_FILE, "write", steps, outputs)) == 1
    # The first version read "open" in out/open.json as a filter: the false success.
    assert unfiltered_values(OPEN_FILE, "write", steps, outputs, precise=False) == []
    jmespath = open_file_plan("${steps.read.output[?status == 'open']}")
    filtered = {s.id: s for s in jmespath.steps}
    assert unfiltered_values(OPEN_FILE, "write", filtered, outputs) == []
    reopened = "Read data/orders.json and write the total amount of the reopened ones to o.json"
    assert unfiltered_values(reopened, "write", steps, outputs) == []  # no "reopened" value


def test_a_total_fed_to_records_keeps_the_records() -> None:
    """The measured first plan: filter and count the open orders, then sum the count."""
    chained = open_file_plan("${steps.filter_open.output}")
    amended, changes = amend_chained_records(OPEN_FILE, chained)
    assert amended.steps[1].params == {
        "input": "${steps.read.output}",
        "where": [{"field": "status", "op": "==", "value": "open"}],
        "compute": "rows",
    }
    assert changes == [
        "step 'filter_open' keeps the records, not their count: step 'calc' works on its records"
    ]
    assert amended.steps[2] == chained.steps[2]
    assert amend_chained_records(OPEN_FILE, open_file_plan("${steps.read.output}"))[1] == []


async def test_a_count_summed_again_runs_as_the_sum_of_the_records(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    (workspace / "data/orders.json").write_text(json.dumps(ORDERS))
    fake_llm.plans.append(open_file_plan("${steps.filter_open.output}"))
    fake_llm.reviews.append(Review(verdict="done", answer="the open orders total 430"))
    result = await run_to_end(client, task_queue, workspace, goal=OPEN_FILE)
    assert result.status == "succeeded"
    assert json.loads((workspace / "out/open.json").read_text()) == 430
    assert len(fake_llm.plan_requests) == 1
    assert "step 'filter_open' keeps the records" in result.plans[0].reason


async def test_a_total_named_like_its_filter_still_goes_back(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Measured false success at f3bcdf1: 547.5 written to out/open_total.json."""
    (workspace / "data/orders.json").write_text(json.dumps(ORDERS))
    fake_llm.plans.append(open_file_plan("${steps.read.output}"))
    fake_llm.plans.append(open_file_plan("${steps.read.output[?status == 'open']}"))
    fake_llm.reviews.append(Review(verdict="done", answer="the open orders total 430"))
    # the new plan replaces the run's own file
    result = await run_to_end(client, task_queue, workspace, goal=OPEN_FILE, approve=("write",))
    feedback = fake_llm.plan_requests[1].feedback or ""
    assert 'the goal names "open" (status in the data)' in feedback
    assert result.status == "succeeded"
    assert json.loads((workspace / "out/open.json").read_text()) == 430
