"""Budget checks as pure functions: which limit a run has used up, and how to extend it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from durable_agents.contracts.policy import Budget
from durable_agents.contracts.run import Usage

LIMITS = ("max_steps", "max_llm_calls", "max_tokens", "max_cost_usd", "max_wall_seconds")
# Which limits guard what: a step that makes no LLM call is not stopped by a token limit.
FOR_STEP = ("max_steps", "max_wall_seconds")
FOR_LLM_CALL = ("max_llm_calls", "max_tokens", "max_cost_usd", "max_wall_seconds")
FOR_LLM_STEP = LIMITS


@dataclass(frozen=True)
class Spent:
    """What a run has used so far."""

    steps: int
    usage: Usage
    seconds: float


def exhausted_limit(
    budget: Budget, spent: Spent, limits: tuple[str, ...], *, next_steps: int = 0
) -> str | None:
    """The first of ``limits`` that is used up (or that ``next_steps`` more steps pass)."""
    used = {
        "max_steps": spent.steps + next_steps,
        "max_llm_calls": spent.usage.calls,
        "max_tokens": spent.usage.total_tokens,
        "max_cost_usd": spent.usage.cost_usd,
        "max_wall_seconds": spent.seconds,
    }
    for name in limits:
        limit = getattr(budget, name)
        if limit is None:
            continue
        over = used[name] > limit if name == "max_steps" else used[name] >= limit
        if over:
            return name
    return None


def describe(budget: Budget, spent: Spent, name: str) -> str:
    """A sentence a person can decide on."""
    used = {
        "max_steps": spent.steps,
        "max_llm_calls": spent.usage.calls,
        "max_tokens": spent.usage.total_tokens,
        "max_cost_usd": spent.usage.cost_usd,
        "max_wall_seconds": round(spent.seconds, 1),
    }[name]
    return f"budget {name} = {getattr(budget, name):g} is used up ({used:g} used)"


def extended(budget: Budget, original: Budget, name: str) -> Budget:
    """``budget`` with limit ``name`` raised by its original amount."""
    raised = getattr(budget, name) + getattr(original, name)
    return budget.model_copy(update={name: raised})


def priced(usage: Usage, budget: Budget) -> Usage:
    """One call's usage with its cost from the run's price table (0 if unpriced)."""
    price = budget.price_of(usage.model) if usage.model else None
    if price is None:
        return usage
    cost = (usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion) / 1e6
    return usage.model_copy(update={"cost_usd": round(cost, 6)})


def unpriced_problem(usage: Usage, budget: Budget) -> str | None:
    """A cost limit cannot be kept for a model without a price: say how to fix it."""
    if (
        budget.max_cost_usd is None
        or not usage.calls
        or (usage.model and budget.price_of(usage.model))
    ):
        return None
    return (
        f"budget max_cost_usd is set but model {usage.model or '(unknown)'!r} has no price; "
        'add it to the budget\'s prices, e.g. {"prices": {"<model>": {"prompt": 0.5, '
        '"completion": 1.5}}} (USD per million tokens)'
    )


def remaining(budget: Budget, spent: Spent) -> Budget:
    """What is left of ``budget``: the limits a sub-goal run gets (its usage counts here
    too once it finishes). A limit never drops below its smallest valid value."""
    left = {
        "max_steps": (budget.max_steps, spent.steps, 1),
        "max_llm_calls": (budget.max_llm_calls, spent.usage.calls, 1),
        "max_tokens": (budget.max_tokens, spent.usage.total_tokens, 1),
        "max_cost_usd": (budget.max_cost_usd, spent.usage.cost_usd, 1e-6),
        "max_wall_seconds": (budget.max_wall_seconds, spent.seconds, 1e-3),
    }
    return budget.model_copy(
        update={
            name: None if limit is None else max(floor, type(floor)(limit - used))
            for name, (limit, used, floor) in left.items()
        }
    )


def reserved_spending(spent: Spent, reserved: Iterable[Budget]) -> Spent:
    """``spent`` plus the budgets handed to running sub-goal runs (their limited parts):
    until a child finishes, what it may spend counts as spent, so parallel children
    cannot each spend everything that is left."""
    steps, usage = spent.steps, spent.usage
    for budget in reserved:
        usage = usage.model_copy()
        steps += budget.max_steps or 0
        usage.calls += budget.max_llm_calls or 0
        usage.prompt_tokens += budget.max_tokens or 0
        usage.cost_usd = round(usage.cost_usd + (budget.max_cost_usd or 0.0), 6)
    return Spent(steps, usage, spent.seconds)
