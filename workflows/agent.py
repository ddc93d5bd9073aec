"""AgentWorkflow: plan -> check -> execute -> review, looping until done or out of re-plans.

Deterministic by construction: LLM calls and side effects are activities, references and
conditions are resolved here from recorded outputs, time is ``workflow.now()``. Business
failures raise a non-retryable ``ApplicationError`` carrying the partial ``RunResult``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

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
        PendingApproval,
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
    from contracts.actions import LLM_RETRY, LLM_TIMEOUT, WaitParams
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
    from workflows.policy import Verdict, arguments_hash, blocked_steps, judge
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
        self._pending: dict[str, PendingApproval] = {}
        self._decided: dict[str, ApprovalRecord] = {}  # step id -> decision not yet consumed
        self._approvals: list[ApprovalRecord] = []

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
            await self._execute()
            review = await self._judge()
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
            pending_approvals=list(self._pending.values()),
            approvals=self._approvals,
        )

    # -- approvals ------------------------------------------------------------------

    @workflow.signal(
        description='Approve a step awaiting approval. Input: {"step_id": "...", "note": "..."}'
    )
    def approve(self, decision: ApprovalDecision) -> None:
        self._record_decision(decision, approve=True, via="signal")

    @workflow.signal(
        description='Reject a step awaiting approval. Input: {"step_id": "...", "note": "..."}'
    )
    def reject(self, decision: ApprovalDecision) -> None:
        self._record_decision(decision, approve=False, via="signal")

    @workflow.update(
        description="Approve or reject a waiting step and get the audit record back. Input: "
        '{"step_id": "...", "approve": true, "note": "..."}'
    )
    def decide(self, request: DecideRequest) -> ApprovalRecord:
        record = self._record_decision(request, approve=request.approve, via="update")
        if record is None:  # the validator refuses these first; fail the update, not the run
            raise ApplicationError(self._decision_problem(request) or "decision refused")
        return record

    @decide.validator
    def _validate_decide(self, request: DecideRequest) -> None:
        problem = self._decision_problem(request)
        if problem:
            raise ValueError(problem)

    def _decision_problem(self, decision: ApprovalDecision) -> str | None:
        step_id = decision.step_id
        if step_id not in self._steps:
            return f"no step '{step_id}' in this run; steps: {', '.join(self._steps) or 'none'}"
        pending = self._pending.get(step_id)
        if pending is None or step_id in self._decided:
            status = self._steps[step_id].status.value
            return f"step '{step_id}' is not awaiting approval (it is {status})"
        if decision.args_hash is not None and decision.args_hash != pending.args_hash:
            return (
                f"stale decision: step '{step_id}' now waits with arguments hash "
                f"{pending.args_hash}, not {decision.args_hash}; review its arguments again"
            )
        return None

    def _record_decision(
        self, decision: ApprovalDecision, *, approve: bool, via: Literal["signal", "update"]
    ) -> ApprovalRecord | None:
        problem = self._decision_problem(decision)
        if problem:
            workflow.logger.warning("Ignored %s decision: %s", via, problem)
            return None
        record = ApprovalRecord(
            step_id=decision.step_id,
            outcome="approved" if approve else "rejected",
            by=decision.by,
            at=workflow.now(),
            args_hash=self._pending[decision.step_id].args_hash,
            note=decision.note,
            via=via,
        )
        self._approvals.append(record)
        self._decided[decision.step_id] = record
        return record

    async def _await_approval(
        self, step: Step, verdict: Verdict, arguments: dict[str, JsonValue]
    ) -> str | None:
        """Wait for a person's decision on the exact arguments; None means approved,
        otherwise the reason the step may not run."""
        timeout = timedelta(seconds=self._input.policy.approval_timeout_seconds)
        now = workflow.now()
        pending = PendingApproval(
            step_id=step.id,
            title=step.title,
            action=step.action,
            risk=verdict.risk,
            reason=verdict.reason,
            args_hash=arguments_hash(step.action, arguments),
            arguments=arguments,
            requested_at=now,
            deadline=now + timeout,
        )
        self._pending[step.id] = pending
        self._steps[step.id].status = StepStatus.AWAITING_APPROVAL
        self._set_phase(self._phase)
        try:
            await workflow.wait_condition(
                lambda: step.id in self._decided,
                timeout=timeout,
                timeout_summary=f"approval of {step.id}",
            )
        except TimeoutError:
            self._decided[step.id] = ApprovalRecord(
                step_id=step.id,
                outcome="timed_out",
                by="policy",
                at=workflow.now(),
                args_hash=pending.args_hash,
                note=f"no decision within {timeout.total_seconds():g} s",
                via="timeout",
            )
            self._approvals.append(self._decided[step.id])
        # No try/finally: on eviction the coroutine is closed and must not touch the run.
        del self._pending[step.id]
        self._steps[step.id].status = StepStatus.RUNNING
        self._set_phase(self._phase)
        record = self._decided.pop(step.id)
        if record.outcome == "approved":
            return None
        if record.outcome == "timed_out":
            return f"ApprovalTimedOut: {record.note}, so it did not run"
        note = f": {record.note}" if record.note else ""
        return f"Rejected by {record.by}{note}"

    # -- planning -------------------------------------------------------------------

    async def _make_plan(self, request: PlanRequest, reason: str) -> None:
        kept = {s.id: self._definitions[s.id] for s in self._in(StepStatus.SUCCEEDED)}
        errors: list[str] = []
        rejected: str | None = None
        for _ in range(self._input.max_plan_repairs + 1):
            self._set_phase(Phase.PLANNING)
            draft = await workflow.execute_activity(
                "plan",
                request.model_copy(update={"errors": errors, "rejected_plan": rejected}),
                result_type=PlanDraft,
                start_to_close_timeout=LLM_TIMEOUT,
                retry_policy=LLM_RETRY,
                summary="plan" if not errors else f"repair plan ({len(errors)} errors)",
            )
            self._usage.add(draft.usage)
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
        while True:
            moves = next_moves(
                list(self._steps),
                self._dependencies,
                {key: state.status for key, state in self._steps.items()},
                self._input.max_parallel - len(running),
            )
            for step_id, reason in moves.skip.items():
                self._skip(step_id, reason)
            settled_without_running = bool(moves.skip)
            for step_id in moves.start:
                if self._condition_allows(step_id):
                    self._steps[step_id].status = StepStatus.RUNNING
                    running[step_id] = asyncio.create_task(self._run_step(step_id))
                else:
                    settled_without_running = True
            if settled_without_running:
                continue  # a skip or failure may unblock or skip others; recompute
            if not running:
                return
            await workflow.wait(list(running.values()), return_when=asyncio.FIRST_COMPLETED)
            for step_id in [key for key, task in running.items() if task.done()]:
                running.pop(step_id).result()  # re-raises cancellation and bugs

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
        if verdict.decision == "approve":
            refusal = await self._await_approval(step, verdict, arguments)
            if refusal is not None:
                timed_out = refusal.startswith("ApprovalTimedOut")
                return self._finish_failed(state, refusal, for_good=not timed_out)
        try:
            if isinstance(params, WaitParams):
                await workflow.sleep(timedelta(seconds=params.seconds), summary=step.title)
                result = ActionResult(output={"waited_seconds": params.seconds})
            else:
                context = ActionContext(
                    run_id=workflow.info().workflow_id,
                    step_id=step.id,
                    workspace=self._input.workspace,
                    policy=self._input.policy,
                )
                result = await workflow.execute_activity(
                    spec.name,
                    args=[context, params],
                    result_type=ActionResult,
                    start_to_close_timeout=spec.start_to_close,
                    retry_policy=spec.retry_policy,
                    summary=f"{step.id}: {step.title}"[:200],
                )
        except ActivityError as exc:
            state.attempts = _attempts(exc, spec.retry_policy)
            cause = exc.cause
            for_good = isinstance(cause, ApplicationError) and cause.non_retryable
            return self._finish_failed(state, _describe(exc), for_good=for_good)
        state.output, state.attempts, state.usage = result.output, result.attempt, result.usage
        self._usage.add(result.usage)
        state.status, state.finished_at = StepStatus.SUCCEEDED, workflow.now()

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
        outcome = await workflow.execute_activity(
            "review",
            ReviewRequest(
                goal=self._input.goal,
                steps=[self._digest(state) for state in self._steps.values()],
                replans_left=self._input.max_replans - self._replans,
            ),
            result_type=ReviewOutcome,
            start_to_close_timeout=LLM_TIMEOUT,
            retry_policy=LLM_RETRY,
            summary="review results",
        )
        self._usage.add(outcome.usage)
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
        waiting = [approval_details(workflow.info().workflow_id, p) for p in self._pending.values()]
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
            approvals=self._approvals,
        )

    def _failure(self, message: str, error_type: str = "RunFailed") -> ApplicationError:
        self._set_phase(Phase.FAILED)
        result = self._result("failed", "", message)
        return ApplicationError(message, result, type=error_type, non_retryable=True)
