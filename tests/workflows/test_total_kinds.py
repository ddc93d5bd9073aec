"""The kind of total the goal's words name (the largest: "max"), checked and amended."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Review
from durable_agents.workflows.intent import amend_totals, asked_total, wrong_totals
from durable_agents.workflows.plan_checks import step_dependencies
from tests.fake_llm import FakeLlm
from tests.workflows.runs import plan, run_to_end


def test_the_goal_names_one_kind_of_total_and_a_records_step_must_compute_it() -> None:
    assert asked_total("Find the largest revenue value in data/sales.csv") == "max"
    assert asked_total("Count the users per city") == "count"
    assert asked_total("Write the 3 rows with the highest revenue") == "max"
    assert asked_total("Total the revenue, then write the largest region") is None  # two
    assert asked_total("Convert data/sales.csv to JSON") is None
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}

    def made_by(compute: str) -> list[str]:
        steps = plan(
            read,
            {
                "id": "calc",
                "action": "records",
                "params": {"input": "${steps.read.output}", "compute": compute, "field": "revenue"},
            },
            {
                "id": "write",
                "action": "file_write",
                "params": {"path": "out/max.json", "content": "${steps.calc.output}"},
            },
        ).steps
        definitions = {s.id: s for s in steps}
        dependencies = {s.id: step_dependencies(s) for s in steps}
        return wrong_totals("Find the largest revenue", "write", definitions, dependencies)

    assert made_by("sum") == [
        'the goal asks for the largest (compute "max"), but step \'calc\' computed "sum": '
        'set "compute": "max" in it'
    ]
    assert made_by("max") == [] and made_by("rows") == []  # sorting and picking: not judged


def largest_plan(compute: str) -> Plan:
    return plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}},
        {
            "id": "calc",
            "action": "records",
            "depends_on": ["read"],
            "params": {"input": "${steps.read.output}", "compute": compute, "field": "revenue"},
        },
        {
            "id": "write",
            "action": "file_write",
            "depends_on": ["calc"],
            "params": {"path": "out/max.json", "content": "${steps.calc.output}"},
        },
    )


LARGEST = "Find the largest revenue value in data/sales.csv and write it to out/max.json"


def test_a_plans_totals_are_amended_to_the_one_the_goal_names() -> None:
    amended, changes = amend_totals(LARGEST, largest_plan("sum"))
    assert [s.params.get("compute") for s in amended.steps] == [None, "max", None]
    assert changes == ['step \'calc\' computes "max", not "sum": the goal asks for the largest']
    assert amend_totals(LARGEST, largest_plan("rows")) == (largest_plan("rows"), [])
    two_kinds = "Total the revenue, then write the largest region to out/max.json"
    assert amend_totals(two_kinds, largest_plan("sum"))[1] == []  # the goal's words decide


async def test_a_sum_planned_for_the_largest_value_is_amended_before_it_runs(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Measured with the embedded model: told 'set "compute": "max"', the planner summed
    again. The goal names the total, so workflow code sets it in the plan."""
    fake_llm.plans.append(largest_plan("sum"))
    fake_llm.reviews.append(Review(verdict="done", answer="the largest is 400"))
    result = await run_to_end(client, task_queue, workspace, goal=LARGEST)
    assert result.status == "succeeded"
    assert json.loads((workspace / "out/max.json").read_text()) == 400
    assert len(fake_llm.plan_requests) == 1
    assert "amended from the goal" in result.plans[0].reason


async def test_a_given_plans_sum_for_the_largest_value_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """A person's plan is never amended; its wrong total is found by the check and a
    reviewed run asks the planner, with the fix named (measured: 2430 accepted as the
    largest before the computation was checked in code)."""
    fake_llm.plans.append(largest_plan("max"))
    fake_llm.reviews.append(Review(verdict="done", answer="the largest is 400"))
    given = largest_plan("sum")
    # the new plan replaces the run's own file
    result = await run_to_end(
        client, task_queue, workspace, goal=LARGEST, plan=given, review=True, approve=("write",)
    )
    feedback = fake_llm.plan_requests[0].feedback or ""
    assert "the goal asks for the largest (compute \"max\"), but step 'calc' computed" in feedback
    assert json.loads((workspace / "out/max.json").read_text()) == 400
    assert result.status == "succeeded"
