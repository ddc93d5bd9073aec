"""One walk over a plan's steps for the plan amends (``intent``, ``kept_outputs``,
``quoted_data``, ``summaries``): each says how one step changes; this applies it to all."""

from __future__ import annotations

from collections.abc import Callable

from durable_agents.contracts import Plan, Step

StepAmend = Callable[[Step], tuple[Step, list[str]]]


def amend_each(plan: Plan, amend: StepAmend) -> tuple[Plan, list[str]]:
    """The plan with ``amend`` applied to every step, and what each change was; the
    plan itself when nothing changed."""
    steps: list[Step] = []
    changes: list[str] = []
    for step in plan.steps:
        step, said = amend(step)
        steps.append(step)
        changes += said
    return (plan.model_copy(update={"steps": steps}) if changes else plan), changes
