"""The goal-shaped ``records`` and ``set_keys`` actions: pure functions over the shipped
sales data, and one real run through the worker (read, filter, total, write)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from durable_agents.activities.formats import parse_csv
from durable_agents.activities.prompts import catalog_text, plan_schema
from durable_agents.activities.records import apply_records, apply_set_keys, as_records
from durable_agents.contracts.actions import RecordsParams, SetKeysParams
from tests.workflows.runs import assert_replays, plan, run_failure, start

SALES = parse_csv((Path(__file__).parents[2] / "data" / "sales.csv").read_text())


def records(**params: Any) -> Any:
    return apply_records(RecordsParams(input=SALES, **params))


def totals(field: str, group: str, how: str) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for row in SALES:
        assert isinstance(row, dict)
        groups.setdefault(str(row[group]), []).append(float(row[field]))  # type: ignore[arg-type]
    if how == "sum":
        return {key: sum(values) for key, values in groups.items()}
    return {key: sum(values) / len(values) for key, values in groups.items()}


def test_count_sum_average_min_max_as_goals_say_them() -> None:
    assert records(compute="count") == len(SALES)
    assert records(compute="sum", field="revenue", group_by="region") == pytest.approx(
        totals("revenue", "region", "sum")
    )
    assert records(compute="average", field="revenue", group_by="product") == pytest.approx(
        totals("revenue", "product", "avg")
    )
    revenues = [float(row["revenue"]) for row in SALES]  # type: ignore[index, arg-type]
    assert records(compute="max", field="revenue") == max(revenues)
    assert records(compute="min", field="revenue") == min(revenues)
    assert records(compute="sum", field="revenue") == pytest.approx(sum(revenues))


def test_count_with_a_field_counts_its_values_as_sql_does() -> None:
    people = [{"name": "Ann", "email": "a@x"}, {"name": "Bo", "email": None}, {"name": "Cy"}]
    assert apply_records(RecordsParams(input=people, compute="count")) == 3
    assert apply_records(RecordsParams(input=people, compute="count", field="email")) == 1
    assert records(compute="count", field="units") == len(SALES)


def test_a_total_with_a_label_in_fields_ignores_the_label() -> None:
    """Measured: count per city planned as compute count, fields ["count"]: the label is
    not a field, so it changes nothing (the per-group check then asks for group_by)."""
    assert records(compute="count", fields=["count"]) == len(SALES)
    with pytest.raises(ApplicationError, match="for a result per region, set group_by"):
        records(compute="sum", field="revenue", fields=["region"])


def test_the_one_field_named_in_fields_is_the_field_to_compute() -> None:
    names = [{"name": "Ann", "city": "Paris"}, {"name": "Bo", "city": "Oslo"}]
    assert apply_records(RecordsParams(input=names, compute="values", fields=["name"])) == [
        "Ann",
        "Bo",
    ]
    with pytest.raises(ApplicationError, match='compute "values" needs field'):
        apply_records(RecordsParams(input=names, compute="values", fields=["name", "city"]))


def test_grouping_by_a_field_pinned_to_one_value_is_refused() -> None:
    """Measured false success: "the sum of revenue for each region" planned as where
    region == North, group_by region: {"North": 643} passed as a result per region."""
    north = {"field": "region", "op": "==", "value": "North"}
    with pytest.raises(ApplicationError, match="for a result per region, drop that where"):
        records(compute="sum", field="revenue", group_by="region", where=[north])
    assert records(compute="sum", field="revenue", where=[north]) == 643
    other = {"field": "product", "op": "==", "value": "Widget"}  # another field: fine
    assert set(records(compute="sum", field="revenue", group_by="region", where=[other])) == {
        "North",
        "South",
        "East",
        "West",
    }


def test_two_inputs_join_on_a_key_then_total_per_group() -> None:
    orders = [
        {"id": 1, "customer_id": 7, "amount": 120.0},
        {"id": 2, "customer_id": 8, "amount": 30.5},
        {"id": 3, "customer_id": 7, "amount": 10},
        {"id": 4, "customer_id": 9, "amount": 5},  # no such customer: kept, no name
    ]
    customers = [{"customer_id": 7, "name": "Ann"}, {"customer_id": "8", "name": "Bo"}]
    per_name = RecordsParams(
        input=orders,
        join=customers,
        join_on="customer_id",
        where=[{"field": "name", "op": "!="}],
        compute="sum",
        field="amount",
        group_by="name",
    )
    assert apply_records(per_name) == {"Ann": 130, "Bo": 30.5}
    counted = per_name.model_copy(update={"compute": "count", "field": None, "where": []})
    assert apply_records(counted) == {"Ann": 2, "Bo": 1, "null": 1}
    with pytest.raises(ApplicationError, match="needs both join"):
        apply_records(RecordsParams(input=orders, join_on="customer_id"))
    with pytest.raises(ApplicationError, match="join_on \\(in join\\)"):
        apply_records(RecordsParams(input=orders, join=[{"x": 1}], join_on="customer_id"))


def test_null_in_a_condition_matches_a_missing_value() -> None:
    people = [{"name": "Ann", "email": "a@x"}, {"name": "Bo", "email": None}, {"name": "Cy"}]
    unset = [{"field": "email", "op": "==", "value": None}]
    assert apply_records(RecordsParams(input=people, where=unset, compute="count")) == 2
    given = [{"field": "email", "op": "!="}]  # value left out: null
    assert apply_records(RecordsParams(input=people, where=given, compute="count")) == 1


def test_where_compares_numbers_as_numbers_and_text_without_case() -> None:
    north = records(where=[{"field": "region", "op": "==", "value": "north"}])
    assert north and all(row["region"] == "North" for row in north)
    assert len(north) == sum(1 for row in SALES if row["region"] == "North")  # type: ignore[index]
    big = records(where=[{"field": "revenue", "op": ">", "value": "200"}], compute="count")
    assert big == sum(1 for row in SALES if float(row["revenue"]) > 200)  # type: ignore[index, arg-type]
    widgets = records(where=[{"field": "product", "op": "contains", "value": "idg"}])
    assert {row["product"] for row in widgets} == {"Widget"}


def test_top_n_pick_fields_values_and_distinct() -> None:
    top = records(sort_by="revenue", descending=True, limit=3, fields=["date", "revenue"])
    best = sorted((float(row["revenue"]) for row in SALES), reverse=True)[:3]  # type: ignore[index, arg-type]
    assert [row["revenue"] for row in top] == best
    assert all(set(row) == {"date", "revenue"} for row in top)
    regions = records(compute="distinct", field="region")
    assert sorted(regions) == sorted({row["region"] for row in SALES})  # type: ignore[index]
    assert records(compute="values", field="units", limit=2) == [
        SALES[0]["units"],  # type: ignore[index]
        SALES[1]["units"],  # type: ignore[index]
    ]


def test_groups_sort_by_their_result() -> None:
    ranked = records(compute="sum", field="revenue", group_by="region", descending=True, limit=2)
    expected = sorted(totals("revenue", "region", "sum").items(), key=lambda i: -i[1])[:2]
    assert list(ranked) == [key for key, _ in expected]
    assert list(ranked.values()) == pytest.approx([value for _, value in expected])


def test_inputs_are_taken_as_records_the_way_other_actions_return_them() -> None:
    assert as_records("one\ntwo\nthree\n") == [{"line": "one"}, {"line": "two"}, {"line": "three"}]
    response = {"status": 200, "headers": {}, "body": [{"city": "Paris"}]}
    assert as_records(response) == [{"city": "Paris"}]
    assert as_records({"rows": [{"id": 1}], "row_count": 1, "truncated": False}) == [{"id": 1}]
    assert as_records({"name": "Ann"}) == [{"name": "Ann"}]
    assert as_records([1, 2]) == [{"value": 1}, {"value": 2}]
    with pytest.raises(ApplicationError, match="one item is"):
        as_records([{"a": 1}, [2]])


def test_errors_name_the_fields_there_are_and_the_closest_one() -> None:
    with pytest.raises(ApplicationError) as caught:
        records(compute="sum", field="units_sold", group_by="product")
    message = str(caught.value)
    assert "'units_sold'" in message and "date, region, product, units, revenue" in message
    assert "did you mean 'units'?" in message
    assert caught.value.non_retryable
    with pytest.raises(ApplicationError, match='compute "average" needs field'):
        records(compute="average", group_by="product")
    with pytest.raises(ApplicationError, match="for a result per product, set group_by"):
        records(compute="average", field="revenue", fields=["product"])
    with pytest.raises(ApplicationError, match="to keep records with the fields"):
        records(compute="values", field="revenue", fields=["region", "revenue"])
    both = [{"field": "region", "op": "==", "value": v} for v in ("North", "South")]
    with pytest.raises(ApplicationError, match="for a result per region, set group_by"):
        records(where=both, compute="sum", field="revenue")
    named = records(compute="average", field="revenue", group_by="product", fields=["product"])
    assert named == records(compute="average", field="revenue", group_by="product")
    with pytest.raises(ApplicationError, match="'region' must be a number"):
        records(compute="sum", field="region")


def test_set_keys_changes_only_the_keys_named() -> None:
    config = {"name": "shop", "debug": False, "port": 8080}
    assert apply_set_keys(SetKeysParams(input=config, values={"debug": True})) == {
        "name": "shop",
        "debug": True,
        "port": 8080,
    }
    text = json.dumps(config)
    assert apply_set_keys(SetKeysParams(input=text, values={"port": 9090}))["port"] == 9090  # type: ignore[index, call-overload]
    with pytest.raises(ApplicationError, match="changes keys of one JSON object"):
        apply_set_keys(SetKeysParams(input=[1, 2], values={"a": 1}))


def test_a_small_planner_is_offered_no_jmespath() -> None:
    """The embedded model is not offered transform (JMESPath: measured as the main cause of
    its failed plans), agent or sub_goal; a configured (expert) model is."""
    basic, expert = json.dumps(plan_schema(False)), json.dumps(plan_schema(True))
    for action in ("transform", "agent", "sub_goal"):
        assert f'"const": "{action}"' not in basic and f'"const": "{action}"' in expert
        assert f"\n{action}:" not in catalog_text(False) and f"\n{action}:" in catalog_text(True)
    assert '"const": "records"' in basic and "\nrecords:" in catalog_text(False)


async def test_a_run_filters_totals_and_writes_with_records(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}},
        {
            "id": "totals",
            "action": "records",
            "params": {
                "input": "${steps.read.output}",
                "where": [{"field": "revenue", "op": ">", "value": 100}],
                "compute": "sum",
                "field": "revenue",
                "group_by": "region",
            },
            "depends_on": ["read"],
        },
        {
            "id": "save",
            "action": "file_write",
            "params": {"path": "out/totals.json", "content": "${steps.totals.output}"},
            "depends_on": ["totals"],
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    await handle.result()
    written = json.loads((workspace / "out/totals.json").read_text())
    expected: dict[str, float] = {}
    for row in SALES:
        assert isinstance(row, dict)
        if float(row["revenue"]) > 100:  # type: ignore[arg-type]
            expected[str(row["region"])] = expected.get(str(row["region"]), 0) + float(
                row["revenue"]  # type: ignore[arg-type]
            )
    assert written == pytest.approx(expected)
    await assert_replays(handle)


async def test_a_reference_that_computes_is_told_where_computing_belongs(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}},
        {
            "id": "top",
            "action": "records",
            "params": {"input": "${steps.read.output.revenue.max()}"},
            "depends_on": ["read"],
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    failure = await run_failure(handle)
    assert "could not resolve a reference" in str(failure.message)
    assert "compute totals, sorts and top N in a records step" in str(failure.message)


async def test_a_param_whose_reference_matches_nothing_fails_with_what_is_there(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    """Measured: 'write their name' wrote null from ${steps.user.output.name}."""
    (workspace / "data/user.json").write_text(json.dumps({"status": 200, "body": {"name": "Ann"}}))
    given = plan(
        {"id": "user", "action": "file_read", "params": {"path": "data/user.json"}},
        {
            "id": "save",
            "action": "file_write",
            "params": {"path": "out/name.txt", "content": "${steps.user.output.name}"},
            "depends_on": ["user"],
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    failure = await run_failure(handle)
    assert (
        "param 'content': ${steps.user.output.name} matched nothing in steps.user.output; "
        "it has the keys status, body (an HTTP response's data is under .body)"
    ) in str(failure.message)
    assert not (workspace / "out/name.txt").exists()
    await assert_replays(handle)


async def test_a_reference_inside_a_body_that_matches_nothing_fails_too(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    """Measured false success: POST {"total": null} from ${steps.sum.output.total}, the
    output being the total itself; the run said the total was 2430."""
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}
    total = {
        "id": "sum",
        "action": "records",
        "params": {"input": "${steps.read.output}", "compute": "sum", "field": "revenue"},
        "depends_on": ["read"],
    }
    body = {"total": "${steps.sum.output.total}", "items": ["${steps.sum.output.n}"]}
    save = {"id": "save", "action": "file_write", "depends_on": ["sum"]}
    save["params"] = {"path": "out/total.json", "content": body}
    handle = await start(client, task_queue, workspace, plan=plan(read, total, save), review=False)
    failure = await run_failure(handle)
    assert (
        "param 'content.total': ${steps.sum.output.total} matched nothing in steps.sum.output; "
        "it is int 2430: write ${steps.sum.output} for it"
    ) in str(failure.message)
    assert not (workspace / "out/total.json").exists()
    await assert_replays(handle)
