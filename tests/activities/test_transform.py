import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from durable_agents.activities.formats import parse_csv, render, to_csv
from durable_agents.activities.transform import apply_transform
from durable_agents.contracts.actions import TransformParams

RECORDS = [
    {"region": "North", "revenue": 240.0},
    {"region": "South", "revenue": 140.0},
    {"region": "North", "revenue": 0.1},
    {"region": "North", "revenue": 0.2},
]


def transform(**params: object) -> object:
    return apply_transform(TransformParams.model_validate(params))


def test_group_and_sum_keeps_first_seen_order_and_clean_decimals() -> None:
    assert transform(input=RECORDS, group_by="region", aggregate={"revenue": "sum"}) == [
        {"region": "North", "revenue": 240.3},
        {"region": "South", "revenue": 140},
    ]


def test_count_min_max_avg() -> None:
    result = transform(input=RECORDS, group_by="region", aggregate={"revenue": "max", "n": "count"})
    assert result == [
        {"region": "North", "revenue": 240.0, "n": 3},
        {"region": "South", "revenue": 140.0, "n": 1},
    ]


def test_csv_text_is_parsed_with_numbers_and_already_parsed_data_passes() -> None:
    text = "region,revenue,code\nNorth,1.5,007\nSouth,2,x\n"
    parsed = [
        {"region": "North", "revenue": 1.5, "code": 7},
        {"region": "South", "revenue": 2, "code": "x"},
    ]
    assert transform(input=text, parse="csv") == parsed
    assert transform(input=parsed, parse="csv") == parsed


def test_expression_then_grouping() -> None:
    result = transform(
        input=RECORDS,
        expression="[?revenue > `1`]",
        group_by="region",
        aggregate={"revenue": "sum"},
    )
    assert result == [{"region": "North", "revenue": 240}, {"region": "South", "revenue": 140}]


def test_expression_that_matches_nothing_describes_the_input() -> None:
    with pytest.raises(ApplicationError) as caught:
        transform(input=RECORDS, expression="items[].revenue")
    assert caught.value.non_retryable
    assert "matched nothing; the input is a list of 4 items with fields region, revenue" in str(
        caught.value
    )


def test_non_numeric_aggregate_is_a_typed_error() -> None:
    with pytest.raises(ApplicationError, match=r"'revenue'.*not a number") as caught:
        transform(
            input=[{"region": "N", "revenue": "n/a"}],
            group_by="region",
            aggregate={"revenue": "sum"},
        )
    assert caught.value.type == "InvalidData"


def test_aggregate_without_group_by_gives_grand_totals() -> None:
    grand = transform(input=RECORDS, aggregate={"revenue": "sum", "region": "count"})
    assert grand == [{"revenue": 380.3, "region": 4}]
    assert transform(input=[], aggregate={"revenue": "sum", "units": "max"}) == [
        {"revenue": 0, "units": None}
    ]


def test_aggregating_a_field_no_record_has_names_the_fields() -> None:
    with pytest.raises(ApplicationError) as caught:
        transform(input=RECORDS, group_by="region", aggregate={"sales": "sum"})
    assert caught.value.type == "InvalidData"
    assert "no record has it (fields: region, revenue)" in caught.value.message


def test_a_totalling_expression_next_to_group_by_is_refused_before_running() -> None:
    with pytest.raises(ValidationError, match="set expression to null and name the totals"):
        TransformParams(
            input=[], expression="sum(revenue)", group_by="region", aggregate={"revenue": "sum"}
        )
    with pytest.raises(ValidationError, match="names a field, but it runs before group_by"):
        TransformParams(input=[], expression="region", group_by="region")
    with pytest.raises(ValidationError, match="names a field, but it runs before group_by"):
        TransformParams(input=[], expression="revenue", group_by="r", aggregate={"revenue": "sum"})
    nested = TransformParams(input={}, expression="items", group_by="region")
    assert nested.expression == "items"  # picking the list out of an object is fine
    filtering = TransformParams(input=[], expression="[?length(region) > `1`]", group_by="r")
    assert filtering.expression is not None


def test_csv_round_trip() -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2, "c": [1]}]
    assert to_csv(rows) == "a,b,c\n1,x,\n2,,[1]\n"
    assert parse_csv(to_csv([{"a": 1, "b": "x"}])) == [{"a": 1, "b": "x"}]
    assert render({"k": 1}, "json") == '{\n  "k": 1\n}\n'
    with pytest.raises(ApplicationError, match="CSV output needs a list of records"):
        to_csv({"a": 1})


def test_conversions_between_csv_text_json_data_and_json_text() -> None:
    csv_text = "region,revenue\nNorth,1.5\nSouth,2\n"
    as_json = transform(input=csv_text, parse="csv", output="json")
    assert as_json == '[{"region": "North", "revenue": 1.5}, {"region": "South", "revenue": 2}]'
    back = transform(input=as_json, parse="json", output="csv")
    assert back == csv_text
    totals = transform(input=csv_text, parse="csv", aggregate={"revenue": "sum"}, output="csv")
    assert totals == "revenue\n3.5\n"
    with pytest.raises(ApplicationError, match="CSV output needs a list of records"):
        transform(input={"not": "records"}, output="csv")


def test_a_function_jmespath_lacks_is_answered_with_the_one_it_has() -> None:
    with pytest.raises(ApplicationError) as caught:
        apply_transform(TransformParams(input=[1, 2, 3], expression="count(*)"))
    assert "JMESPath has no count(): length(@) counts a list" in str(caught.value)
