"""Plans: asking the planner (with repairs), checking what it proposes, installing a
plan version that keeps finished steps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from temporalio import workflow

from durable_agents.contracts import (
    Phase,
    Plan,
    PlanDraft,
    PlanRequest,
    PlanVersion,
    Step,
    StepState,
    StepStatus,
)
from durable_agents.contracts.run import WorkflowActivity
from durable_agents.rules.policy import blocked_steps, limit_problems
from durable_agents.workflows.budgets import FOR_LLM_CALL
from durable_agents.workflows.filtered_lists import amend_unasked_fields
from durable_agents.workflows.gate import judges_undo
from durable_agents.workflows.intent import (
    amend_chained_records,
    amend_fields_of_totals,
    amend_listed,
    amend_one_number,
    amend_per_group,
    amend_self_filtered_lists,
    amend_totals,
)
from durable_agents.workflows.kept_outputs import (
    amend_fields_of_responses,
    amend_fields_of_values,
    amend_keys_of_records,
    amend_written_results,
    record_outputs,
    scalar_outputs,
)
from durable_agents.workflows.plan_checks import (
    nesting_problems,
    overlong_waits,
    placeholder_requests,
    repeated_failures,
    step_dependencies,
    validate_plan,
)
from durable_agents.workflows.quoted_data import amend_missing_reads
from durable_agents.workflows.run import Run
from durable_agents.workflows.spending import Spending
from durable_agents.workflows.summaries import amend_summary_budgets, text_words

SAME_BLOCK_STOPS = "same-block-stops-v1"  # workflow.patched id: a repeated block ends planning
TOTALS_AMENDED = "totals-amended-v1"  # workflow.patched id: records totals follow the goal
PER_GROUP_AMENDED = "per-group-amended-v1"  # workflow.patched id: and its grouping
LISTED_AMENDED = "listed-amended-v1"  # workflow.patched id: a list asked for, not a total
ONE_NUMBER_AMENDED = "one-number-amended-v1"  # workflow.patched id: "the number", ungrouped
CHAINED_AMENDED = "chained-records-amended-v1"  # workflow.patched id: records feed records
TOTAL_FIELDS_DROPPED = "total-fields-dropped-v1"  # workflow.patched id: a total picks no fields
LISTS_UNPINNED = "self-filtered-lists-amended-v1"  # workflow.patched id: list every value
VALUES_READ_WHOLE = "values-read-whole-v1"  # workflow.patched id: no field of a kept value
RECORD_KEYS_KEPT = "record-keys-kept-v1"  # workflow.patched id: set_keys naming fields of records
BODY_FIELDS_READ = "body-fields-read-v1"  # workflow.patched id: a response's fields are in body
PLACEHOLDERS_REFUSED = "placeholders-refused-v1"  # workflow.patched id: no api.example.com
ROWS_WRITTEN = "query-rows-written-v1"  # workflow.patched id: a file of a query's rows
QUOTED_DATA_USED = "quoted-data-used-v1"  # workflow.patched id: the goal's JSON, not a lost file
SUMMARIES_BUDGETED = "summary-words-budgeted-v1"  # workflow.patched id: half the text's words
WAITS_FIT_BUDGET = "waits-fit-budget-v1"  # workflow.patched id: no wait past the wall budget
UNASKED_FIELDS_KEPT = "unasked-fields-kept-v1"  # workflow.patched id: records, not their ids


def given_plan_problems(run: Run, plan: Plan) -> list[str]:
    """Why a plan given with the run (``--plan``) cannot run, or nothing."""
    return (
        validate_plan(plan, actions=run.actions)
        or nesting_problems(plan, run.input.depth)
        or limit_problems(plan, run.input.policy, run.actions)
        or blocked_steps(plan, run.input.policy, undo=judges_undo(*plan.steps), actions=run.actions)
    )


def replan_request(run: Run, feedback: str, previous_answer: str) -> PlanRequest:
    """What the planner sees for a re-plan: finished and failed work, and why."""
    state = run.state
    return PlanRequest(
        goal=run.input.goal,
        finished_steps=[run.digest(s) for s in state.in_status(StepStatus.SUCCEEDED)],
        failed_steps=[run.digest(s) for s in state.in_status(StepStatus.FAILED)],
        feedback=feedback,
        previous_answer=previous_answer,
        lessons=state.lessons,
        observations=state.observations,
    )


async def make_plan(run: Run, spending: Spending, request: PlanRequest, reason: str) -> None:
    """Ask for a plan until one passes every check (errors go back verbatim), or fail."""
    await run.list_tools()  # the planner is offered the worker's custom actions too
    request = request.model_copy(update={"custom_actions": run.tools or []})
    state = run.state
    kept = {s.id: state.definitions[s.id] for s in state.in_status(StepStatus.SUCCEEDED)}
    errors: list[str] = []
    rejected: str | None = None
    blocked_before: set[str] = set()
    for repair in range(run.input.max_plan_repairs + 1):
        run.set_phase(Phase.PLANNING)
        await run.unpaused()
        await spending.within_budget(FOR_LLM_CALL)
        # every plan and repair of the run samples differently: a small model asked again
        # with the same seed repeated the same failed step (measured, 4 times in a row)
        variation = len(state.plans) + repair
        draft: PlanDraft = await run.llm_activity(
            WorkflowActivity.PLAN,
            request.model_copy(
                update={"errors": errors, "rejected_plan": rejected, "variation": variation}
            ),
            result_type=PlanDraft,
            **run.llm_options("plan" if not errors else f"repair plan ({len(errors)} errors)"),
        )
        spending.charge(draft.usage)
        rejected = draft.raw
        if draft.plan is None:
            errors = draft.errors or ["the answer held no plan"]
            continue
        fresh = draft.plan.model_copy(
            update={"steps": [s for s in draft.plan.steps if s.id not in kept]}
        )
        fresh, reason = _amended_references(run, fresh, reason, kept)
        blocked: list[str] = []
        errors = (
            validate_plan(fresh, kept, run.actions)
            or nesting_problems(fresh, run.input.depth)
            or repeated_failures(fresh, state.hopeless)
            or _placeholders(fresh, run.input.goal)
            or _overlong_waits(run, spending, fresh)
            or limit_problems(fresh, run.input.policy, run.actions)
            or (
                blocked := blocked_steps(
                    fresh,
                    run.input.policy,
                    undo=judges_undo(*fresh.steps),
                    actions=run.actions,
                )
            )
        )
        if not errors:
            fresh, reason = _amended(run.input.goal, fresh, reason)
            adopt(run, fresh, reason, kept)
            return
        reasons = {error.split(": ", 1)[-1] for error in blocked}
        if reasons and reasons == blocked_before and workflow.patched(SAME_BLOCK_STOPS):
            raise run.failure(  # the goal needs what the policy forbids: asking again won't help
                "the run's policy blocks what the goal needs (two plans in a row): "
                + "; ".join(blocked),
                "BlockedByPolicy",
            )
        blocked_before = reasons
    attempts = run.input.max_plan_repairs + 1
    raise run.failure(
        f"no valid plan after {attempts} attempts: " + "; ".join(errors), "InvalidPlan"
    )


def _overlong_waits(run: Run, spending: Spending, plan: Plan) -> list[str]:
    limit = run.state.budget.max_wall_seconds
    if limit is None:
        return []
    found = overlong_waits(plan, max(limit - spending.spent().seconds, 0.0))
    return found if found and workflow.patched(WAITS_FIT_BUDGET) else []


def _placeholders(plan: Plan, goal: str) -> list[str]:
    found = placeholder_requests(plan, goal)
    return found if found and workflow.patched(PLACEHOLDERS_REFUSED) else []


def _amended_references(
    run: Run, plan: Plan, reason: str, kept: dict[str, Step]
) -> tuple[Plan, str]:
    """Before the checks (which would refuse the repeated step): references to a field
    of a kept step's single-value output read the value itself, set_keys naming the
    fields of a kept step's records keeps those fields, a field of an HTTP response is
    read from its body, a file of a query's result holds its rows, a file that was not
    there gives way to the goal's own JSON, and a summary of a read text gets a word
    budget."""
    goal, outputs = run.input.goal, {step_id: run.steps[step_id].output for step_id in kept}

    def of(action: str, plan: Plan) -> set[str]:
        return {s.id for s in [*plan.steps, *kept.values()] if s.action == action}

    words = text_words(run.state.text_words, kept.values(), outputs)
    plan, said = _applied(
        plan,
        (
            (lambda p: amend_fields_of_responses(p, of("http_request", p)), BODY_FIELDS_READ),
            (lambda p: amend_fields_of_values(p, scalar_outputs(outputs)), VALUES_READ_WHOLE),
            (lambda p: amend_keys_of_records(p, record_outputs(outputs)), RECORD_KEYS_KEPT),
            (lambda p: amend_written_results(p, of("sql_query", p)), ROWS_WRITTEN),
            (lambda p: amend_missing_reads(goal, p, run.state.hopeless), QUOTED_DATA_USED),
            (
                lambda p: amend_summary_budgets(goal, p, words, kept.values()),
                SUMMARIES_BUDGETED,
            ),
        ),
    )
    if not said:
        return plan, reason
    workflow.logger.info("Plan amended: %s", "; ".join(said))
    return plan, f"{reason} (amended from recorded outputs: {'; '.join(said)})"


def _amended(goal: str, plan: Plan, reason: str) -> tuple[Plan, str]:
    """The plan with what the goal itself settles set right (the kind of total, the
    grouping, records where a total was fed to records, whole records where the goal
    names none of the fields picked), each behind its patch; the plan
    version's reason says what changed."""
    amends = (
        (amend_chained_records, CHAINED_AMENDED),  # first: an inner count is no total
        (amend_totals, TOTALS_AMENDED),
        (amend_per_group, PER_GROUP_AMENDED),
        (amend_listed, LISTED_AMENDED),
        (amend_one_number, ONE_NUMBER_AMENDED),
        (amend_self_filtered_lists, LISTS_UNPINNED),
        (amend_fields_of_totals, TOTAL_FIELDS_DROPPED),
        (amend_unasked_fields, UNASKED_FIELDS_KEPT),
    )
    plan, said = _applied(plan, [(partial(amend, goal), patch) for amend, patch in amends])
    if not said:
        return plan, reason
    workflow.logger.info("Plan amended from the goal: %s", "; ".join(said))
    return plan, f"{reason} (amended from the goal: {'; '.join(said)})"


def _applied(
    plan: Plan, amends: Iterable[tuple[Callable[[Plan], tuple[Plan, list[str]]], str]]
) -> tuple[Plan, list[str]]:
    """The plan through each amend in turn, each kept only behind its own patch (asked
    only when it changes something, as runs recorded it), and what changed."""
    said: list[str] = []
    for amend, patch in amends:
        amended, changes = amend(plan)
        if changes and workflow.patched(patch):
            plan, said = amended, [*said, *changes]
    return plan, said


def adopt(run: Run, plan: Plan, reason: str, kept: dict[str, Step]) -> None:
    """Install a plan version; everything but ``kept`` steps is replaced."""
    state = run.state
    version = len(state.plans) + 1
    for step_id in [i for i in state.steps if i not in kept]:
        state.superseded.append(state.steps.pop(step_id))
        del state.definitions[step_id], run.dependencies[step_id]
    for step in plan.steps:
        state.definitions[step.id] = step
        run.dependencies[step.id] = step_dependencies(step)
        state.steps[step.id] = StepState(
            id=step.id, title=step.title, action=step.action, plan_version=version
        )
    state.plans.append(
        PlanVersion(version=version, plan=plan, reason=reason, kept_step_ids=list(kept))
    )
