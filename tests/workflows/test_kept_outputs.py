"""Re-plans amended from the outputs a run kept: a kept number, the fields of kept records."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Review
from durable_agents.workflows.kept_outputs import (
    amend_fields_of_values,
    amend_keys_of_records,
    record_outputs,
    scalar_outputs,
)
from tests.fake_llm import FakeLlm
from tests.workflows.runs import plan, run_to_end


def test_a_field_of_a_kept_number_is_read_as_the_number() -> None:
    nested = {"url": "u", "json_body": {"total": "${steps.calc.output.revenue}"}}
    post = {"id": "post", "action": "http_request", "params": nested}
    text = {
        "id": "note",
        "action": "file_write",
        "params": {"path": "n.txt", "content": "${steps.read.output.x}"},
    }
    amended, changes = amend_fields_of_values(plan(post, text), {"calc"})
    assert amended.steps[0].params["json_body"] == {"total": "${steps.calc.output}"}
    assert amended.steps[1].params == text["params"]  # read's output is not a number
    assert changes == [
        "step 'post' reads the value of steps.calc itself, not "
        "steps.calc.output.revenue (a field of a number)"
    ]
    assert scalar_outputs({"calc": 2430, "read": "a,b\n1,2", "rows": [1], "obj": {}}) == {"calc"}


async def test_a_replan_reading_a_field_of_a_kept_number_reads_the_number(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Measured (notify_total): told the field matched nothing and to write
    ${steps.sum_revenue.output}, the 1.5B planner wrote the same reference again."""
    rows = [{"revenue": 10}, {"revenue": 20}]
    calc = {
        "id": "calc",
        "action": "records",
        "params": {"input": rows, "compute": "sum", "field": "revenue"},
    }
    content = {"total": "${steps.calc.output.revenue}"}
    write = {
        "id": "write",
        "action": "file_write",
        "depends_on": ["calc"],
        "params": {"path": "out/total.json", "content": content},
    }
    fake_llm.plans += [plan(calc, write), plan(calc, write)]
    fake_llm.reviews.append(Review(verdict="done", answer="the total is 30"))
    result = await run_to_end(
        client, task_queue, workspace, goal="Sum the revenue into out/total.json"
    )
    assert "matched nothing" in (fake_llm.plan_requests[1].feedback or "")
    assert result.status == "succeeded"
    assert json.loads((workspace / "out/total.json").read_text()) == {"total": 30}
    assert "amended from recorded outputs" in result.plans[1].reason


# every column: a conversion keeps every field of every record (conversions-checked-v1)
FIELDS = {name: name for name in ("date", "region", "product", "units", "revenue")}


def keys_plan() -> Plan:
    keys = {"input": "${steps.read.output}", "values": FIELDS}
    return plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}},
        {"id": "convert", "action": "set_keys", "depends_on": ["read"], "params": keys},
        {
            "id": "write",
            "action": "file_write",
            "depends_on": ["convert"],
            "params": {"path": "out/sales.json", "content": "${steps.convert.output}"},
        },
    )


def test_set_keys_naming_the_fields_of_records_keeps_those_fields() -> None:
    amended, changes = amend_keys_of_records(keys_plan(), {"read"})
    assert amended.steps[1].action == "records"
    assert amended.steps[1].params == {
        "input": "${steps.read.output}",
        "compute": "rows",
        "fields": ["date", "region", "product", "units", "revenue"],
    }
    assert changes == [
        "step 'convert' keeps the fields date, region, product, units, revenue of each record "
        "of read (records, not set_keys: that changes one object)"
    ]
    assert amend_keys_of_records(keys_plan(), set())[1] == []  # read's output is no records
    renamed = (
        keys_plan()
        .steps[1]
        .model_copy(update={"params": {"input": "${steps.read.output}", "values": {"debug": True}}})
    )
    assert amend_keys_of_records(plan(renamed.model_dump()), {"read"})[1] == []
    assert record_outputs({"rows": [{"a": 1}], "text": "a", "empty": [], "nums": [1]}) == {"rows"}


async def test_a_replan_converting_records_with_set_keys_keeps_their_fields(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Measured (csv_to_json): the same set_keys step over the rows, four plans in a row."""
    fake_llm.plans += [keys_plan(), keys_plan()]
    fake_llm.reviews.append(Review(verdict="done", answer="converted"))
    goal = "Convert data/sales.csv to JSON and save it as out/sales.json"
    result = await run_to_end(client, task_queue, workspace, goal=goal)
    assert "set_keys changes keys of one JSON object" in (fake_llm.plan_requests[1].feedback or "")
    assert result.status == "succeeded", result.error
    rows = json.loads((workspace / "out/sales.json").read_text())
    assert rows and set(rows[0]) == set(FIELDS)
    assert "amended from recorded outputs" in result.plans[1].reason
