from contracts import Budget, Usage
from workflows.budgets import FOR_LLM_CALL, FOR_STEP, Spent, exhausted_limit, extended

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
