"""``on_failure: recover``: the LLM proposes new params for a failed call (or to skip, or
to re-plan); a proposal passes the same gate as a planned step."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError

from durable_agents.contracts import ActionParams, RecoverOutcome, RecoverRequest, Step
from durable_agents.contracts.errors import format_validation_error
from durable_agents.contracts.run import WorkflowActivity
from durable_agents.workflows.budgets import FOR_LLM_CALL
from durable_agents.workflows.calls import CallFailed, activity_failure
from durable_agents.workflows.gate import Gate
from durable_agents.workflows.run import Run
from durable_agents.workflows.spending import Spending


async def recover(
    run: Run,
    spending: Spending,
    gate: Gate,
    step: Step,
    params: ActionParams,
    failed: CallFailed,
    attempt: int,
) -> tuple[ActionParams, bool]:
    """Ask the recover activity; new params are validated and judged like a plan step.

    Returns the params to retry with and whether a person approved them; a proposal to
    skip or re-plan (or an unusable one) raises with the original error kept.
    """
    await run.unpaused()
    await spending.within_budget(FOR_LLM_CALL)
    arguments = params.model_dump(mode="json")
    try:
        outcome = await workflow.execute_activity(
            WorkflowActivity.RECOVER,
            RecoverRequest(
                goal=run.input.goal,
                step=step,
                arguments=arguments,
                error=failed.error,
                attempt=attempt,
                custom_action=next((t for t in run.tools or [] if t.name == step.action), None),
            ),
            result_type=RecoverOutcome,
            **run.llm_options(f"recover {step.id}"),
        )
    except ActivityError as exc:
        detail = activity_failure(exc)
        raise CallFailed(f"{failed.error}; recovery failed: {detail}", for_good=False) from None
    spending.charge(outcome.usage)
    proposal = outcome.recovery
    run.steps[step.id].recoveries.append(
        f"{proposal.decision}: {proposal.reason}"
        + (f" {proposal.params}" if proposal.params is not None else "")
    )
    error = f"{failed.error}; recovery ({proposal.decision}): {proposal.reason}"
    if proposal.decision == "skip":
        raise CallFailed(error, for_good=failed.for_good, skip=True)
    if proposal.decision == "replan" or proposal.params is None:
        raise CallFailed(error, for_good=failed.for_good)
    try:
        retry = run.actions[step.action].params_model.model_validate(proposal.params)
    except ValidationError as exc:
        detail = format_validation_error(exc)
        raise CallFailed(f"{error}; its params are invalid: {detail}") from None
    new_arguments = retry.model_dump(mode="json")
    if new_arguments == arguments and failed.for_good:
        raise CallFailed(f"{error}; it proposed the same params, which cannot work")
    approved = await gate.clear(step, [new_arguments], items=False, context=f"{error}; ")
    return retry, approved
