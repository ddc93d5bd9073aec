from durable_agents.contracts import Budget, ModelPrice, Usage
from durable_agents.workflows.budgets import (
    FOR_LLM_CALL,
    FOR_STEP,
    Spent,
    exhausted_limit,
    extended,
    priced,
    unpriced_problem,
)

SPENT = Spent(steps=2, usage=Usage(calls=3, prompt_tokens=900, completion_tokens=100), seconds=9)


def test_only_the_limits_that_guard_the_next_move_count() -> None:
    budget = Budget(max_steps=3, max_llm_calls=3, max_tokens=5000)
    assert exhausted_limit(budget, SPENT, FOR_STEP, next_steps=1) is None  # the 3rd step
    assert exhausted_limit(budget, SPENT, FOR_LLM_CALL) == "max_llm_calls"  # a 4th call
    assert exhausted_limit(Budget(max_tokens=1000), SPENT, FOR_LLM_CALL) == "max_tokens"
    assert exhausted_limit(Budget(max_wall_seconds=9), SPENT, FOR_STEP) == "max_wall_seconds"
    assert exhausted_limit(Budget(), SPENT, FOR_LLM_CALL) is None


def test_an_extension_adds_the_original_amount_again() -> None:
    original = Budget(max_steps=2, max_tokens=100)
    twice = extended(extended(original, original, "max_steps"), original, "max_steps")
    assert (twice.max_steps, twice.max_tokens) == (6, 100)


def test_a_call_is_priced_from_the_run_table_then_the_built_in_one() -> None:
    call = Usage(calls=1, prompt_tokens=1_000_000, completion_tokens=500_000, model="gpt-4o-mini")
    assert priced(call, Budget()).cost_usd == 0.45  # 0.15 + 0.5 * 0.60
    cheaper = Budget(prices={"gpt-4o-mini": ModelPrice(prompt=0.1, completion=0.2)})
    assert priced(call, cheaper).cost_usd == 0.2
    assert priced(call.model_copy(update={"model": "mystery"}), Budget()).cost_usd == 0
    assert unpriced_problem(call, Budget(max_cost_usd=1)) is None
    mystery = call.model_copy(update={"model": "mystery"})
    assert unpriced_problem(mystery, Budget()) is None  # no cost limit, no problem
    assert "'mystery' has no price" in (unpriced_problem(mystery, Budget(max_cost_usd=1)) or "")
