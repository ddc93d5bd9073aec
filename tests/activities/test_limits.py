"""Bounds on data from outside: nesting depth and number of values (activities/limits.py),
and what reading a CSV costs in memory per byte (structural: tracemalloc, no timing)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from pydantic import JsonValue
from temporalio.exceptions import ApplicationError

from durable_agents.activities.artifacts import ArtifactStore
from durable_agents.activities.files import file_read
from durable_agents.activities.formats import parse_csv
from durable_agents.activities.limits import (
    MAX_DEPTH,
    MAX_VALUES,
    check_result,
    check_shape,
    parse_json,
)
from durable_agents.contracts import ActionContext, ActionResult, Plan, PlanDraft, Usage
from durable_agents.contracts.actions import FileReadParams
from durable_agents.contracts.artifacts import is_artifact
from tests.activities.intercepted import intercepted

# Measured on CPython 3.11 (bench/input_memory.py): a 2 MB sales-like CSV read through
# file_read and the artifact interceptor peaks at ~7.8x its size (18x before the bounds);
# a CSV of one-character rows costs ~96 bytes per value, refused at MAX_VALUES.
READ_PEAK_PER_BYTE = 10
PEAK_PER_VALUE = 128


def nested(depth: int) -> JsonValue:
    value: JsonValue = []
    for _ in range(depth - 1):
        value = [value]
    return value


def kind(error: pytest.ExceptionInfo[ApplicationError]) -> str | None:
    assert error.value.non_retryable
    return error.value.type


def test_depth_up_to_the_limit_passes_and_one_more_fails() -> None:
    check_shape(nested(MAX_DEPTH), "x")
    check_shape({"a": [{"b": nested(MAX_DEPTH - 3)}]}, "x")
    with pytest.raises(ApplicationError, match="more than 64 levels deep") as error:
        check_shape({"a": nested(MAX_DEPTH)}, "the file_read output")
    assert kind(error) == "DataTooDeep"
    check_shape([[]] * 100_000, "x")  # wide is not deep


def test_too_many_values_fail_even_when_shared() -> None:
    row: JsonValue = {"a": 1, "b": 2, "c": 3, "d": 4}
    check_shape([row] * (MAX_VALUES // 5 - 1), "x")
    with pytest.raises(ApplicationError, match="over the limit") as error:
        check_shape([row] * (MAX_VALUES // 5 + 1), "x")  # one dict, counted where it occurs
    assert kind(error) == "DataTooLarge"


def test_every_kind_of_result_is_checked() -> None:
    deep = nested(MAX_DEPTH + 1)
    with pytest.raises(ApplicationError, match="the plan result"):
        check_result(PlanDraft(plan=_plan(deep), raw="", usage=Usage(model="m")), "plan")
    with pytest.raises(ApplicationError, match="the llm output"):
        check_result(ActionResult(output=deep), "llm")


def _plan(params: JsonValue) -> Plan:
    step = {"id": "s", "title": "s", "action": "transform", "params": {"input": params}}
    return Plan.model_validate({"steps": [step]})


@pytest.mark.parametrize(
    ("text", "error_type"),
    [
        ("[" * 100_000 + "]" * 100_000, "DataTooDeep"),  # beyond Python's parser
        ("[" + "0," * MAX_VALUES + "0]", "DataTooLarge"),  # refused before parsing
        ("{not json", "InvalidData"),
    ],
)
def test_json_parsing_is_bounded(text: str, error_type: str) -> None:
    with pytest.raises(ApplicationError) as error:
        parse_json(text, "data.json")
    assert kind(error) == error_type


def test_commas_inside_strings_do_not_count() -> None:
    assert parse_json('["' + "," * (MAX_VALUES + 5) + '"]', "x") == ["," * (MAX_VALUES + 5)]


def test_csv_parsing_stops_at_the_limit() -> None:
    assert parse_csv("a,b\n1,x\n") == [{"a": 1, "b": "x"}]
    with pytest.raises(ApplicationError, match="values") as error:
        parse_csv("a\n" + "1\n" * MAX_VALUES, "tiny.csv")
    assert kind(error) == "DataTooLarge"
    with pytest.raises(ApplicationError, match="not valid CSV") as error:
        parse_csv("a\n" + '"' + "x" * 200_000 + '"\n')  # a field over the csv module's limit
    assert kind(error) == "InvalidData"


def sales_csv(path: Path, size: int) -> int:
    regions = ("North", "South", "East", "West")
    rows = ["date,region,product,units,revenue"]
    total, n = 0, 0
    while total < size:
        rows.append(f"2026-01-{n % 28 + 1:02d},{regions[n % 4]},Widget,{n % 50},{n % 997}.50")
        total += len(rows[-1]) + 1
        n += 1
    path.write_text("\n".join(rows) + "\n")
    return path.stat().st_size


async def read_peak(root: Path, name: str) -> tuple[int, ActionResult | ApplicationError]:
    """tracemalloc's peak while file_read runs inside the artifact interceptor."""
    store = ArtifactStore(root / "artifacts")
    context = ActionContext(run_id="r", step_id="s", workspace=str(root))
    tracemalloc.start()
    try:
        outcome: ActionResult | ApplicationError = await intercepted(
            store, file_read, context, FileReadParams(path=name), activity="file_read"
        )
    except ApplicationError as exc:
        outcome = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, outcome


async def test_reading_a_2_mb_csv_costs_a_bounded_multiple_of_its_size(tmp_path: Path) -> None:
    size = sales_csv(tmp_path / "sales.csv", 2_000_000)
    peak, outcome = await read_peak(tmp_path, "sales.csv")
    assert isinstance(outcome, ActionResult) and is_artifact(outcome.output)  # kept aside
    assert peak < READ_PEAK_PER_BYTE * size, f"{peak / size:.1f}x the file size"


async def test_a_csv_of_tiny_rows_is_refused_before_memory_grows_with_it(tmp_path: Path) -> None:
    (tmp_path / "tiny.csv").write_text("x\n" + "1\n" * 2_000_000)  # 4 MB: 4 million values
    peak, outcome = await read_peak(tmp_path, "tiny.csv")
    assert isinstance(outcome, ApplicationError) and outcome.type == "DataTooLarge"
    assert peak < PEAK_PER_VALUE * MAX_VALUES, f"{peak / MAX_VALUES:.0f} bytes per value"
