import pytest

from durable_agents.workflows.references import (
    ReferenceProblem,
    condition_holds,
    param_expressions,
    resolve,
    split_references,
)

CONTEXT = {
    "steps": {
        "read": {"output": [{"region": "North", "revenue": 10}], "status": "succeeded"},
        "count": {"output": 3, "status": "succeeded"},
    }
}


def test_whole_reference_keeps_the_value_type() -> None:
    assert resolve("${steps.read.output}", CONTEXT) == [{"region": "North", "revenue": 10}]
    assert resolve("${ steps.count.output }", CONTEXT) == 3


def test_embedded_reference_is_spliced_as_text() -> None:
    assert resolve("n=${steps.count.output}!", CONTEXT) == "n=3!"
    assert resolve("first: ${steps.read.output[0]}", CONTEXT) == (
        'first: {"region": "North", "revenue": 10}'
    )


def test_references_resolve_inside_nested_params() -> None:
    params = {"a": ["${steps.read.output[0].region}"], "b": {"c": "${steps.count.output}"}}
    assert resolve(params, CONTEXT) == {"a": ["North"], "b": {"c": 3}}


def test_braces_and_quotes_inside_expressions() -> None:
    expression = "${steps.read.output[0].{r: region, s: 'a}b'}}"
    assert split_references(expression) == [("steps.read.output[0].{r: region, s: 'a}b'}", True)]
    assert resolve(expression, CONTEXT) == {"r": "North", "s": "a}b"}


def test_unclosed_reference_is_a_readable_problem() -> None:
    with pytest.raises(ReferenceProblem, match="unclosed"):
        split_references("${steps.read.output")


def test_bare_reference_text_is_flagged() -> None:
    _, problems = param_expressions({"content": "steps.read.output"})
    assert problems and "${steps.read.output}" in problems[0]


def test_conditions_use_jmespath_truthiness() -> None:
    assert condition_holds("steps.count.output > `2`", CONTEXT)
    assert not condition_holds("steps.count.output > `5`", CONTEXT)
    assert not condition_holds("steps.read.output[?revenue > `100`]", CONTEXT)


def test_evaluation_errors_are_reference_problems() -> None:
    with pytest.raises(ReferenceProblem, match="cannot evaluate"):
        resolve("${sum(steps.read.output)}", CONTEXT)
