"""AgentWorkflow: plan -> check -> execute -> review, looping until done or out of re-plans.

Deterministic by construction: LLM calls and side effects are activities, references and
conditions are resolved here from recorded outputs, time is ``workflow.now()``. Business
failures raise a non-retryable ``ApplicationError`` carrying the partial ``RunResult``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from pydantic import JsonValue, ValidationError

    from contracts import (
        CATALOG,
        WORKFLOW_NAME,
        ActionContext,
        ActionResult,
        ApprovalDecision,
        ApprovalRecord,
        DecideRequest,
        Phase,
        Plan,
        PlanDraft,
        PlanRequest,
        PlanVersion,
        Review,
        ReviewOutcome,
        ReviewRequest,
        RunInput,
        RunResult,
        RunStatus,
        Step,
        StepDigest,
        StepState,
        StepStatus,
        Usage,
    )
    from contracts.actions import (
        HEARTBEAT_TIMEOUT,
        LLM_RETRY,
        LLM_TIMEOUT,
        NEEDS_APPROVAL,
        Risk,
        WaitParams,
    )
    from workflows.approvals import ApprovalDesk, Via, refusal
    from workflows.budgets import (
        FOR_LLM_CALL,
        FOR_LLM_STEP,
        FOR_STEP,
        Spent,
        describe,
        exhausted_limit,
        extended,
        priced,
        unpriced_problem,
    )
    from workflows.completion import missing_files
    from workflows.dag import next_moves
    from workflows.digest import approval_details, digest, summarize_sinks
    from workflows.plan_checks import (
        fingerprint,
        format_validation_error,
        repeated_failures,
        step_dependencies,
        validate_plan,
    )
    from workflows.policy import Verdict, blocked_steps, judge
    from workflows.rate_limits import rate_delay
    from workflows.references import ReferenceProblem, condition_holds, resolve


def _describe(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'Error'}: {cause.message}"
    return str(cause or error)


def _attempts(error: ActivityError, policy: RetryPolicy) -> int:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.details:
        detail = cause.details[0]
        if isinstance(detail, dict) and isinstance(detail.get("attempt"), int):
            return int(detail["attempt"])
    if error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED:
        return policy.maximum_attempts
    return 1


@workflow.defn(name=WORKFLOW_NAME)
class AgentWorkflow:
    """Runs a goal as a graph of steps; see the module docstring and README."""

    @workflow.init
    def __init__(self, run_input: RunInput) -> None:
        self._input = run_input
        self._phase = Phase.PLANNING
        self._steps: dict[str, StepState] = {}
        self._definitions: dict[str, Step] = {}
        self._dependencies: dict[str, set[str]] = {}
        self._superseded: list[StepState] = []
        self._plans: list[PlanVersion] = []
        self._usage = Usage()
        self._replans = 0
        self._hopeless: dict[str, str] = {}  # fingerprint -> error of a step failing for good
        timeout = timedelta(seconds=run_input.policy.approval_timeout_seconds)
        self._desk = ApprovalDesk(timeout, on_change=lambda: self._set_phase(self._phase))
        self._paused = False
        self._budget = run_input.budget
        self._started = 0  # steps started, for the step budget
        self._action_starts: dict[str, list[datetime]] = {}  # for rate limits

    @workflow.run
    async def run(self, run_input: RunInput) -> RunResult:
        if run_input.plan is not None:
            errors = validate_plan(run_input.plan) or blocked_steps(
                run_input.plan, run_input.policy
            )
            if errors:
                raise self._failure("the given plan is invalid: " + "; ".join(errors))
            self._adopt(run_input.plan, "given plan", kept={})
        else:
            await self._make_plan(PlanRequest(goal=run_input.goal), "initial plan")
        while True:
            refused = await self._sign_off() if run_input.policy.plan_signoff else None
            if refused is None:
                await self._execute()
                review = await self._judge()
            else:
                verdict = "replan" if run_input.plan is None or run_input.review else "fail"
                feedback = f"A person did not sign off the plan ({refused}). Change it."
                review = Review(
                    verdict=verdict, answer=f"plan not signed off: {refused}", feedback=feedback
                )
            if review.verdict == "done":
                self._set_phase(Phase.SUCCEEDED)
                return self._result("succeeded", review.answer)
            if review.verdict == "fail":
                raise self._failure(review.answer)
            if self._replans >= run_input.max_replans:
                raise self._failure(
                    f"re-plan limit ({run_input.max_replans}) reached; "
                    f"last feedback: {review.feedback}"
                )
            self._replans += 1
            request = PlanRequest(
                goal=run_input.goal,
                finished_steps=[self._digest(s) for s in self._in(StepStatus.SUCCEEDED)],
                failed_steps=[self._digest(s) for s in self._in(StepStatus.FAILED)],
                feedback=review.feedback,
                previous_answer=review.answer,
            )
            await self._make_plan(request, f"re-plan {self._replans}: {review.feedback}")

    @workflow.query
    def status(self) -> RunStatus:
        """Phase, current plan, each step's state/attempts/timing, and token usage."""
        return RunStatus(
            phase=self._phase,
            plan_version=len(self._plans),
            replans=self._replans,
            steps=list(self._steps.values()),
            usage=self._usage,
            plan=Plan(steps=list(self._definitions.values())) if self._definitions else None,
            pending_approvals=list(self._desk.pending.values()),
            approvals=self._desk.audit,
            paused=self._paused,
            budget=self._budget,
        )

    # -- messages: approvals, pause/resume ------------------------------------------

    @workflow.signal(
        description='Approve what awaits approval (a step, "plan" or "budget"). '
        'Input: {"step_id": "...", "note": "..."}'
    )
    def approve(self, decision: ApprovalDecision) -> None:
        self._decide(decision, approve=True, via="signal")

    @workflow.signal(
        description='Reject what awaits approval (a step, "plan" or "budget"). '
        'Input: {"step_id": "...", "note": "..."}'
    )
    def reject(self, decision: ApprovalDecision) -> None:
        self._decide(decision, approve=False, via="signal")

    @workflow.update(
        description="Approve or reject what awaits approval and get the audit record back. "
        'Input: {"step_id": "...", "approve": true, "note": "..."}'
    )
    def decide(self, request: DecideRequest) -> ApprovalRecord:
        record = self._decide(request, approve=request.approve, via="update")
        if record is None:  # the validator refuses these first; fail the update, not the run
            raise ApplicationError(self._desk.problem(request, self._steps) or "refused")
        return record

    @decide.validator
    def _validate_decide(self, request: DecideRequest) -> None:
        problem = self._desk.problem(request, self._steps)
        if problem:
            raise ValueError(problem)

    def _decide(
        self, decision: ApprovalDecision, *, approve: bool, via: Via
    ) -> ApprovalRecord | None:
        problem = self._desk.problem(decision, self._steps)
        if problem:
            workflow.logger.warning("Ignored %s decision: %s", via, problem)
            return None
        return self._desk.record(decision, approve=approve, via=via)

    @workflow.signal(description="Start no new step or LLM call until resume; running steps finish")
    def pause(self) -> None:
        self._paused = True
        self._set_phase(self._phase)

    @workflow.signal(description="Continue a paused run")
    def resume(self) -> None:
        self._paused = False
        self._set_phase(self._phase)

    async def _unpaused(self) -> None:
        await workflow.wait_condition(lambda: not self._paused, timeout_summary="paused")

    async def _await_approval(
        self, step: Step, verdict: Verdict, arguments: dict[str, JsonValue]
    ) -> ApprovalRecord:
        """Wait for a person's decision on the exact arguments."""
        self._steps[step.id].status = StepStatus.AWAITING_APPROVAL
        record = await self._desk.ask(
            step.id,
            title=step.title,
            action=step.action,
            risk=verdict.risk,
            reason=verdict.reason,
            arguments=arguments,
        )
        self._steps[step.id].status = StepStatus.RUNNING
        return record

    def _finish_refused(self, state: StepState, record: ApprovalRecord) -> None:
        """A rejection fails the step for good; a timeout may be asked again after a re-plan."""
        why_not = refusal(record) or "not approved"
        self._finish_failed(state, why_not, for_good=record.outcome != "timed_out")

    async def _sign_off(self) -> str | None:
        """With ``plan_signoff``: one approval of the whole current plan, shown in full."""
        plan = Plan(steps=list(self._definitions.values()))
        pending = [s for s in plan.steps if self._steps[s.id].status is StepStatus.PENDING]
        record = await self._desk.ask(
            "plan",
            title=f"Sign off plan v{len(self._plans)}",
            action="plan",
            risk=None,
            reason=f"the run's policy asks for a sign-off; {len(pending)} steps will run",
            arguments=Plan(steps=pending).model_dump(mode="json"),
        )
        return refusal(record)

    def _count(self, usage: Usage | None) -> Usage | None:
        """Add one call's usage, priced; a cost limit with an unpriced model fails clearly."""
        if usage is None:
            return None
        problem = unpriced_problem(usage, self._budget)
        if problem:
            raise self._failure(problem, "BudgetUnpriced")
        usage = priced(usage, self._budget)
        self._usage.add(usage)
        return usage

    def _spent(self) -> Spent:
        elapsed = workflow.now() - workflow.info().start_time
        return Spent(self._started, self._usage, elapsed.total_seconds())

    async def _within_budget(self, limits: tuple[str, ...], next_steps: int = 0) -> None:
        """Return once the run may go on; a used-up limit asks for an extension (or fails)."""
        while name := exhausted_limit(self._budget, self._spent(), limits, next_steps=next_steps):
            reason = describe(self._budget, self._spent(), name)
            if self._input.budget.on_exhausted == "fail":
                raise self._failure(reason, "BudgetExhausted")
            extension = extended(self._budget, self._input.budget, name)
            record = await self._desk.ask(
                "budget",
                title=f"Extend {name}",
                action="extend_budget",
                risk=None,
                reason=reason,
                arguments={
                    "limit": name,
                    "from": getattr(self._budget, name),
                    "to": getattr(extension, name),
                },
            )
            why_not = refusal(record)
            if why_not is not None:
                raise self._failure(f"{reason}; not extended: {why_not}", "BudgetExhausted")
            self._budget = extension

    # -- planning -------------------------------------------------------------------

    async def _make_plan(self, request: PlanRequest, reason: str) -> None:
        kept = {s.id: self._definitions[s.id] for s in self._in(StepStatus.SUCCEEDED)}
        errors: list[str] = []
        rejected: str | None = None
        for _ in range(self._input.max_plan_repairs + 1):
            self._set_phase(Phase.PLANNING)
            await self._unpaused()
            await self._within_budget(FOR_LLM_CALL)
            draft = await workflow.execute_activity(
                "plan",
                request.model_copy(update={"errors": errors, "rejected_plan": rejected}),
                result_type=PlanDraft,
                start_to_close_timeout=LLM_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=LLM_RETRY,
                summary="plan" if not errors else f"repair plan ({len(errors)} errors)",
            )
            self._count(draft.usage)
            rejected = draft.raw
            if draft.plan is None:
                errors = draft.errors or ["the answer held no plan"]
                continue
            fresh = Plan(steps=[s for s in draft.plan.steps if s.id not in kept])
            errors = (
                validate_plan(fresh, kept)
                or repeated_failures(fresh, self._hopeless)
                or blocked_steps(fresh, self._input.policy)
            )
            if not errors:
                self._adopt(fresh, reason, kept)
                return
        attempts = self._input.max_plan_repairs + 1
        raise self._failure(
            f"no valid plan after {attempts} attempts: " + "; ".join(errors), "InvalidPlan"
        )

    def _adopt(self, plan: Plan, reason: str, kept: dict[str, Step]) -> None:
        """Install a plan version; everything but ``kept`` steps is replaced."""
        version = len(self._plans) + 1
        for step_id in [i for i in self._steps if i not in kept]:
            self._superseded.append(self._steps.pop(step_id))
            del self._definitions[step_id], self._dependencies[step_id]
        for step in plan.steps:
            self._definitions[step.id] = step
            self._dependencies[step.id] = step_dependencies(step)
            self._steps[step.id] = StepState(
                id=step.id, title=step.title, action=step.action, plan_version=version
            )
        self._plans.append(
            PlanVersion(version=version, plan=plan, reason=reason, kept_step_ids=list(kept))
        )

    # -- execution ------------------------------------------------------------------

    async def _execute(self) -> None:
        self._set_phase(Phase.EXECUTING)
        running: dict[str, asyncio.Task[None]] = {}
        try:
            await self._schedule(running)
        except asyncio.CancelledError:
            await self._stop_all(running)
            raise

    async def _schedule(self, running: dict[str, asyncio.Task[None]]) -> None:
        """Start ready steps up to max_parallel until every step has finished."""
        while True:
            paused = self._paused
            moves = next_moves(
                list(self._steps),
                self._dependencies,
                {key: state.status for key, state in self._steps.items()},
                0 if paused else self._input.max_parallel - len(running),
            )
            for step_id, reason in moves.skip.items():
                self._skip(step_id, reason)
            settled_without_running = bool(moves.skip)
            for step_id in moves.start:
                if self._condition_allows(step_id):
                    action = self._definitions[step_id].action
                    limits = FOR_LLM_STEP if action == "llm" else FOR_STEP
                    await self._within_budget(limits, next_steps=1)
                    self._started += 1
                    self._steps[step_id].status = StepStatus.RUNNING
                    running[step_id] = asyncio.create_task(self._run_step(step_id))
                else:
                    settled_without_running = True
            if settled_without_running:
                continue  # a skip or failure may unblock or skip others; recompute
            if not running:
                if paused and self._in(StepStatus.PENDING):
                    await self._unpaused()
                    continue
                return
            await workflow.wait_condition(self._step_done_or_pause_flipped(running, paused))
            for step_id in [key for key, task in running.items() if task.done()]:
                running.pop(step_id).result()  # re-raises cancellation and bugs

    async def _stop_all(self, running: dict[str, asyncio.Task[None]]) -> None:
        """On cancellation: cancel running steps and wait until their activities stopped."""
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)

    def _step_done_or_pause_flipped(
        self, running: dict[str, asyncio.Task[None]], paused: bool
    ) -> Callable[[], bool]:
        return lambda: any(t.done() for t in running.values()) or self._paused != paused

    def _condition_allows(self, step_id: str) -> bool:
        when = self._definitions[step_id].when
        if not when:
            return True
        try:
            if condition_holds(when, self._reference_context()):
                return True
            self._skip(step_id, f"condition {when!r} was false")
        except ReferenceProblem as exc:
            self._finish_failed(self._steps[step_id], f"condition could not be evaluated: {exc}")
        return False

    async def _run_step(self, step_id: str) -> None:
        step, state = self._definitions[step_id], self._steps[step_id]
        spec = CATALOG[step.action]
        state.started_at = workflow.now()
        state.attempts = 1
        try:
            params = spec.params_model.model_validate(
                resolve(step.params, self._reference_context())
            )
        except ReferenceProblem as exc:
            return self._finish_failed(state, f"could not resolve a reference: {exc}")
        except ValidationError as exc:
            detail = format_validation_error(exc)
            return self._finish_failed(state, f"params invalid after resolving: {detail}")
        arguments = params.model_dump(mode="json")
        verdict = judge(step.action, arguments, self._input.policy)
        if verdict.decision == "block":
            return self._finish_failed(state, f"BlockedByPolicy: {verdict.reason}")
        approved = False
        if verdict.decision == "approve":
            record = await self._await_approval(step, verdict, arguments)
            if record.outcome != "approved":
                return self._finish_refused(state, record)
            approved = True
        if isinstance(params, WaitParams):
            await workflow.sleep(timedelta(seconds=params.seconds), summary=step.title)
            result = ActionResult(output={"waited_seconds": params.seconds})
        else:
            await self._respect_rate_limit(step.action)
            context = ActionContext(
                run_id=workflow.info().workflow_id,
                step_id=step.id,
                workspace=self._input.workspace,
                policy=self._input.policy,
                approved=approved,
            )
            while True:
                try:
                    result = await workflow.execute_activity(
                        spec.name,
                        args=[context, params],
                        result_type=ActionResult,
                        start_to_close_timeout=spec.start_to_close,
                        heartbeat_timeout=spec.heartbeat,
                        retry_policy=spec.retry_policy,
                        # a cancelled run ends once its calls have really stopped
                        cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                        summary=f"{step.id}: {step.title}"[:200],
                    )
                    break
                except ActivityError as exc:
                    cause = exc.cause
                    if (
                        isinstance(cause, ApplicationError)
                        and cause.type == NEEDS_APPROVAL
                        and not context.approved
                    ):  # the activity found it would replace something: a person decides
                        found = Verdict("approve", Risk.DESTRUCTIVE, cause.message)
                        record = await self._await_approval(step, found, arguments)
                        if record.outcome != "approved":
                            return self._finish_refused(state, record)
                        context = context.model_copy(update={"approved": True})
                        continue
                    state.attempts = _attempts(exc, spec.retry_policy)
                    for_good = isinstance(cause, ApplicationError) and cause.non_retryable
                    return self._finish_failed(state, _describe(exc), for_good=for_good)
        state.output, state.attempts = result.output, result.attempt
        state.usage = self._count(result.usage)
        state.status, state.finished_at = StepStatus.SUCCEEDED, workflow.now()

    async def _respect_rate_limit(self, action: str) -> None:
        """Wait (a durable timer) while ``action`` used its calls of the last minute."""
        per_minute = self._input.policy.rate_limits.get(action)
        if per_minute is None:
            return
        starts = self._action_starts.setdefault(action, [])
        while (delay := rate_delay(starts, workflow.now(), per_minute)) > timedelta(0):
            await workflow.sleep(delay, summary=f"rate limit: {per_minute} {action}/min")
        starts.append(workflow.now())

    def _reference_context(self) -> dict[str, object]:
        return {
            "steps": {
                key: {"output": state.output, "status": state.status.value}
                for key, state in self._steps.items()
            }
        }

    def _skip(self, step_id: str, reason: str) -> None:
        state = self._steps[step_id]
        state.status, state.skip_reason, state.finished_at = (
            StepStatus.SKIPPED,
            reason,
            workflow.now(),
        )

    def _finish_failed(self, state: StepState, error: str, *, for_good: bool = True) -> None:
        """``for_good``: the same step would fail the same way again, so a re-plan that
        repeats it is refused (transient errors that outlasted their retries may pass)."""
        state.status, state.error, state.finished_at = StepStatus.FAILED, error, workflow.now()
        if for_good:
            self._hopeless[fingerprint(self._definitions[state.id])] = error

    # -- review and result ----------------------------------------------------------

    async def _judge(self) -> Review:
        """Failed steps re-plan with their exact errors (when a planner may run), so does a
        run that did not write a file its goal names; a run whose steps all finished goes
        to the LLM reviewer, or is done without review."""
        planner_may_run = self._input.plan is None or self._input.review
        failed = self._in(StepStatus.FAILED)
        if failed:
            summary = "; ".join(f"step '{s.id}' failed: {s.error}" for s in failed)
            if not planner_may_run:
                return Review(verdict="fail", answer=summary)
            return Review(verdict="replan", answer=summary, feedback=f"{summary}. Fix this.")
        missing = missing_files(self._input.goal, self._steps.values())
        if missing and planner_may_run:
            summary = f"no step wrote {', '.join(missing)}, which the goal asks for"
            feedback = (
                f"All steps finished, but {summary}. Add a file_write step whose path is "
                f"{missing[0]} and whose content references the step with the result."
            )
            return Review(verdict="replan", answer=summary, feedback=feedback)
        if not self._input.review:
            return Review(
                verdict="done",
                answer=summarize_sinks(self._steps.values(), self._dependencies),
            )
        self._set_phase(Phase.REVIEWING)
        await self._unpaused()
        await self._within_budget(FOR_LLM_CALL)
        outcome = await workflow.execute_activity(
            "review",
            ReviewRequest(
                goal=self._input.goal,
                steps=[self._digest(state) for state in self._steps.values()],
                replans_left=self._input.max_replans - self._replans,
            ),
            result_type=ReviewOutcome,
            start_to_close_timeout=LLM_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=LLM_RETRY,
            summary="review results",
        )
        self._count(outcome.usage)
        review: Review = outcome.review
        return review

    def _in(self, status: StepStatus) -> list[StepState]:
        return [s for s in self._steps.values() if s.status is status]

    def _digest(self, state: StepState) -> StepDigest:
        return digest(state, self._definitions[state.id])

    def _set_phase(self, phase: Phase) -> None:
        self._phase = phase
        done = len(self._in(StepStatus.SUCCEEDED))
        summary = (
            f"**{phase.value}** · plan v{len(self._plans)} · {done}/{len(self._steps)} "
            f"steps succeeded · {self._usage.total_tokens} tokens"
        )
        if self._paused:
            summary += " · **paused** (signal resume to continue)"
        run_id = workflow.info().workflow_id
        waiting = [approval_details(run_id, p) for p in self._desk.pending.values()]
        workflow.set_current_details("\n\n".join([summary, *waiting]))

    def _result(
        self, status: Literal["succeeded", "failed"], answer: str, error: str | None = None
    ) -> RunResult:
        return RunResult(
            status=status,
            answer=answer,
            error=error,
            steps=list(self._steps.values()),
            superseded_steps=self._superseded,
            usage=self._usage,
            plans=self._plans,
            approvals=self._desk.audit,
        )

    def _failure(self, message: str, error_type: str = "RunFailed") -> ApplicationError:
        self._set_phase(Phase.FAILED)
        result = self._result("failed", "", message)
        return ApplicationError(message, result, type=error_type, non_retryable=True)
