"""AgentWorkflow: plan -> check -> execute -> review, looping until done or out of re-plans.

Deterministic by construction: LLM calls and side effects are activities, references and
conditions are resolved here from recorded outputs, time is ``workflow.now()``. Business
failures raise a non-retryable ``ApplicationError`` carrying the partial ``RunResult``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    # The SQL guard's parser (C extension) imports its own submodules while it parses:
    # registered here, those imports find the host's modules in every sandbox.
    import pglast  # noqa: F401
    from pydantic import BaseModel, JsonValue, ValidationError

    from contracts import (
        CATALOG,
        WORKFLOW_NAME,
        ActionContext,
        ActionParams,
        ActionResult,
        AgentTurn,
        AgentTurnRequest,
        ApprovalDecision,
        ApprovalRecord,
        Budget,
        DecideRequest,
        Lesson,
        Phase,
        Plan,
        PlanDraft,
        PlanRequest,
        PlanVersion,
        RecallRequest,
        RecoverOutcome,
        RecoverRequest,
        Review,
        ReviewOutcome,
        ReviewRequest,
        RunEvent,
        RunInput,
        RunResult,
        RunStatus,
        Step,
        StepDigest,
        StepState,
        StepStatus,
        ToolCall,
        Usage,
    )
    from contracts.actions import (
        HEARTBEAT_TIMEOUT,
        LLM_RETRY,
        LLM_TIMEOUT,
        NEEDS_APPROVAL,
        AgentParams,
        Risk,
        SubGoalParams,
        WaitForEventParams,
        WaitParams,
    )
    from contracts.plan import Compensation
    from contracts.run import MAX_SUB_GOAL_DEPTH, CarriedState, CompensationRecord
    from workflows.approvals import ApprovalDesk, Via, refusal
    from workflows.budgets import (
        FOR_LLM_CALL,
        FOR_LLM_STEP,
        FOR_STEP,
        LIMITS,
        Spent,
        describe,
        exhausted_limit,
        extended,
        priced,
        remaining,
        reserved_spending,
        unpriced_problem,
    )
    from workflows.calls import (
        Call,
        CallFailed,
        activity_failure,
        attempts_of,
        declared_undo,
        step_calls,
    )
    from workflows.completion import missing_files
    from workflows.dag import next_moves
    from workflows.digest import (
        approval_details,
        digest,
        event_details,
        lesson_text,
        preview,
        summarize_sinks,
    )
    from workflows.plan_checks import (
        fingerprint,
        format_validation_error,
        nesting_problems,
        repeated_failures,
        step_dependencies,
        validate_plan,
    )
    from workflows.policy import Verdict, arguments_hash, blocked_steps, judge, undo_verdict
    from workflows.rate_limits import rate_delay
    from workflows.references import ReferenceProblem, condition_holds
    from workflows.saga import Saga

# on_failure "retry": the whole step again after a durable timer, for transient errors
STEP_RETRIES = 2
STEP_RETRY_DELAY = timedelta(seconds=30)
MAX_RECOVERIES = 2  # on_failure "recover": LLM proposals per call
AGENT_TOOL_PREVIEW = 2000  # characters of a tool result the agent's model sees
MAX_UNCLAIMED_EVENTS = 1000  # events kept for wait_for_event steps that have not asked yet
MEMORY_TIMEOUT = timedelta(seconds=30)
MEMORY_RETRY = RetryPolicy(maximum_attempts=3)  # memory is a help: never hold a run up long
UNDO_SHOWN = "undo_if_the_run_fails"  # where an approval shows the step's declared undo


SignalInput = TypeVar("SignalInput", bound=BaseModel)


def _signal_input(
    name: str, payloads: tuple[Any, ...], model: type[SignalInput]
) -> SignalInput | None:
    """A signal's input, or None (logged) when it is not what the signal takes.

    Anyone who may signal can send anything: no input (``temporal workflow signal``
    without ``--input``, an empty Web UI form), several inputs, ``null``, a string. None of
    it may fail a workflow task, which would leave the run stuck, so handlers take
    ``*payloads`` (the SDK then passes what it decoded, never a count mismatch).
    """
    if len(payloads) != 1:
        workflow.logger.warning(
            "Ignored %s signal with %d inputs; send exactly one JSON object", name, len(payloads)
        )
        return None
    value = payloads[0]
    try:
        if isinstance(value, RawValue):
            value = workflow.payload_converter().from_payload(value.payload)
        return model.model_validate(value)
    except (ValidationError, ValueError, TypeError) as exc:
        workflow.logger.warning("Ignored %s signal with unusable input: %s", name, exc)
        return None


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
        self._halted: str | None = None  # why an on_failure=fail step stopped the run
        self._last_failures: set[str] = set()  # "action: error" of the last round
        self._events: dict[str, list[JsonValue]] = {}  # unclaimed, oldest first
        self._awaited: list[str] = []  # events wait_for_event steps wait for now
        self._asking: dict[str, asyncio.Lock] = {}  # one approval at a time per step
        self._saga = Saga()
        self._lessons: list[str] = []  # recalled once, shown to every planning call
        self._reserved: dict[str, Budget] = {}  # what running sub-goal runs may spend

    @workflow.run
    async def run(self, run_input: RunInput) -> RunResult:
        """The loop, and the saga around it: a failed or cancelled run undoes what it did."""
        try:
            result = await self._plan_execute_review(run_input)
        except ApplicationError as failure:
            compensated = await self._compensate(f"failed: {failure.message}")
            await self._remember("failed", failure.message)
            if not compensated:
                raise
            raise self._failure(failure.message, failure.type or "RunFailed") from None
        except asyncio.CancelledError:
            await self._compensate("was cancelled")
            self._set_phase(Phase.CANCELLED)
            raise
        await self._remember("succeeded", result.answer)
        return result

    # -- cross-run memory (RunInput.memory: lessons in the worker's PostgreSQL) -------

    async def _recall(self) -> list[str]:
        """Lessons of earlier runs with similar goals, for the planner; none on trouble."""
        try:
            found: list[Lesson] = await workflow.execute_activity(
                "recall",
                RecallRequest(goal=self._input.goal),
                result_type=list[Lesson],
                start_to_close_timeout=MEMORY_TIMEOUT,
                retry_policy=MEMORY_RETRY,
                summary="recall lessons",
            )
        except ActivityError as exc:
            workflow.logger.warning("No lessons recalled: %s", activity_failure(exc))
            return []
        return [f"{lesson.outcome} run for {lesson.goal!r}: {lesson.lesson}" for lesson in found]

    async def _remember(self, outcome: Literal["succeeded", "failed"], summary: str) -> None:
        """Store what this run learned; the run's outcome never depends on it."""
        if not self._input.memory:
            return
        text = lesson_text(outcome, summary, list(self._steps.values()), self._superseded)
        lesson = Lesson(
            workflow_id=workflow.info().workflow_id,
            goal=self._input.goal[:2000],
            outcome=outcome,
            lesson=text,
        )
        try:
            await workflow.execute_activity(
                "remember",
                lesson,
                start_to_close_timeout=MEMORY_TIMEOUT,
                retry_policy=MEMORY_RETRY,
                summary="remember the lesson",
            )
        except ActivityError as exc:
            workflow.logger.warning("Lesson not stored: %s", activity_failure(exc))

    async def _plan_execute_review(self, run_input: RunInput) -> RunResult:
        if run_input.carried is not None:  # continued: pick up at the re-plan it stopped at
            carried = run_input.carried
            self._restore(carried)
            request = self._replan_request(carried.feedback, carried.previous_answer)
            await self._make_plan(request, carried.reason)
        elif run_input.plan is not None:
            errors = (
                validate_plan(run_input.plan)
                or nesting_problems(run_input.plan, run_input.depth)
                or blocked_steps(
                    run_input.plan, run_input.policy, undo=self._judges_undo(*run_input.plan.steps)
                )
            )
            if errors:
                raise self._failure("the given plan is invalid: " + "; ".join(errors))
            self._adopt(run_input.plan, "given plan", kept={})
        else:
            self._lessons = await self._recall() if run_input.memory else []
            await self._make_plan(
                PlanRequest(goal=run_input.goal, lessons=self._lessons), "initial plan"
            )
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
            self._stop_without_progress()
            if self._replans >= run_input.max_replans:
                raise self._failure(
                    f"re-plan limit ({run_input.max_replans}) reached; "
                    f"last feedback: {review.feedback}"
                )
            self._replans += 1
            reason = f"re-plan {self._replans}: {review.feedback}"
            if self._continue_due():
                workflow.continue_as_new(
                    run_input.model_copy(update={"carried": self._carry(review, reason)}),
                    memo=self._memo(),
                )
            request = self._replan_request(review.feedback, review.answer)
            await self._make_plan(request, reason)

    def _replan_request(self, feedback: str, previous_answer: str) -> PlanRequest:
        return PlanRequest(
            goal=self._input.goal,
            finished_steps=[self._digest(s) for s in self._in(StepStatus.SUCCEEDED)],
            failed_steps=[self._digest(s) for s in self._in(StepStatus.FAILED)],
            feedback=feedback,
            previous_answer=previous_answer,
            lessons=self._lessons,
        )

    # -- continue-as-new: long runs keep a bounded history ---------------------------

    def _continue_due(self) -> bool:
        """At a re-plan boundary: past the run's event threshold, or the server asks."""
        info = workflow.info()
        due = (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._input.continue_after_events
        )
        return due and workflow.patched("continue-as-new-v1")

    def _carry(self, review: Review, reason: str) -> CarriedState:
        carried = self._input.carried
        return CarriedState(
            steps=list(self._steps.values()),
            definitions=list(self._definitions.values()),
            superseded=self._superseded,
            plans=self._plans,
            usage=self._usage,
            replans=self._replans,
            budget=self._budget,
            started_steps=self._started,
            first_started_at=self._first_started_at(),
            hopeless=self._hopeless,
            last_failures=sorted(self._last_failures),
            undo=self._saga.export(),
            approvals=self._desk.audit,
            events=self._events,
            lessons=self._lessons,
            feedback=review.feedback,
            previous_answer=review.answer,
            reason=reason,
            continued=(carried.continued + 1) if carried else 1,
        )

    def _restore(self, carried: CarriedState) -> None:
        self._definitions = {step.id: step for step in carried.definitions}
        self._dependencies = {
            key: step_dependencies(step) for key, step in self._definitions.items()
        }
        self._steps = {state.id: state for state in carried.steps}
        self._superseded = carried.superseded
        self._plans = carried.plans
        self._usage = carried.usage
        self._replans = carried.replans
        self._budget = carried.budget
        self._started = carried.started_steps
        self._hopeless = carried.hopeless
        self._last_failures = set(carried.last_failures)
        self._saga.restore(carried.undo)
        self._desk.audit = carried.approvals
        self._events = carried.events
        self._lessons = carried.lessons

    def _first_started_at(self) -> datetime:
        """When the first run of this chain started (the wall-time budget counts from it)."""
        carried = self._input.carried
        return carried.first_started_at if carried else workflow.info().start_time

    @staticmethod
    def _memo() -> dict[str, object] | None:
        manifest = workflow.memo_value("manifest", None)
        return {"manifest": manifest} if manifest is not None else None

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
            awaited_events=list(self._awaited),
            compensations=self._saga.records,
        )

    def _stop_without_progress(self) -> None:
        """Fail with a report when a re-plan met the very failure the last round met."""
        failures = {f"{s.action}: {s.error}" for s in self._in(StepStatus.FAILED)}
        repeated = sorted(failures & self._last_failures)
        if repeated and workflow.patched("no-progress-v1"):
            raise self._failure(
                "no progress: after a re-plan the same failure happened again: "
                + "; ".join(repeated)
                + ". Fix the cause (data, service, permissions) or change the goal, "
                "then start a new run.",
                "NoProgress",
            )
        self._last_failures = failures

    async def _compensate(self, why: str) -> bool:
        """Undo finished calls newest first, if the run allows it and there is any."""
        if not (self._input.compensate and self._saga.pending()):
            return False
        if not workflow.patched("saga-v1"):
            return False
        self._set_phase(Phase.COMPENSATING)
        workflow.logger.info("The run %s; undoing %d calls", why, len(self._saga.pending()))
        await self._saga.unwind(self._undo)
        return True

    async def _undo(self, step_id: str, item: int | None, undo: Compensation) -> CompensationRecord:
        """Run one undo as its action's activity, judged again on its resolved arguments:
        an action's own undo runs approved (it restores what was); a plan's runs only as
        far as the policy and the approval given with its step allow."""

        def record(outcome: str, error: str | None = None) -> CompensationRecord:
            return CompensationRecord.model_validate(
                {"step_id": step_id, "item": item, "compensation": undo}
                | {"outcome": outcome, "error": error}
            )

        if undo.action is None or undo.action not in CATALOG:
            return record("impossible", undo.description or "no undo is known")
        spec = CATALOG[undo.action]
        try:
            params = spec.params_model.model_validate(undo.params)
        except ValidationError as exc:
            return record("failed", f"params invalid: {format_validation_error(exc)}")
        verdict = judge(undo.action, params.model_dump(mode="json"), self._input.policy)
        if verdict.decision == "block":
            return record("blocked", verdict.reason)
        approved = True  # an action's own undo restores what this run changed
        if undo.source == "plan":  # judged like a step on its resolved arguments
            if verdict.decision == "approve" and not undo.approved:
                return record(
                    "blocked",
                    f"needs a person's approval ({verdict.reason}), and it was not approved "
                    "together with its step",
                )
            approved = verdict.decision == "approve"
        context = self._action_context(step_id, approved=approved)
        try:
            await workflow.execute_activity(
                spec.name,
                args=[context, params],
                result_type=ActionResult,
                start_to_close_timeout=spec.start_to_close,
                heartbeat_timeout=spec.heartbeat,
                retry_policy=spec.retry_policy,
                summary=f"undo {step_id}: {undo.description}"[:200],
            )
        except ActivityError as exc:
            return record("failed", activity_failure(exc))
        return record("undone")

    # -- messages: approvals, pause/resume ------------------------------------------

    @workflow.signal(
        description='Approve what awaits approval (a step, "plan" or "budget"). '
        'Input: {"step_id": "...", "note": "..."}'
    )
    def approve(self, *payloads: Any) -> None:
        decision = _signal_input("approve", payloads, ApprovalDecision)
        if decision is not None:
            self._decide(decision, approve=True, via="signal")

    @workflow.signal(
        description='Reject what awaits approval (a step, "plan" or "budget"). '
        'Input: {"step_id": "...", "note": "..."}'
    )
    def reject(self, *payloads: Any) -> None:
        decision = _signal_input("reject", payloads, ApprovalDecision)
        if decision is not None:
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

    @workflow.signal(
        description="A named event for wait_for_event steps (kept until one asks for it). "
        'Input: {"name": "...", "payload": <any JSON>}'
    )
    def event(self, *payloads: Any) -> None:
        event = _signal_input("event", payloads, RunEvent)
        if event is None:
            return
        unclaimed = sum(len(queue) for queue in self._events.values())
        if unclaimed >= MAX_UNCLAIMED_EVENTS:
            workflow.logger.warning("Dropped event %r: %d unclaimed", event.name, unclaimed)
            return
        self._events.setdefault(event.name, []).append(event.payload)

    @workflow.signal(description="Start no new step or LLM call until resume; running steps finish")
    def pause(self, *_ignored: Any) -> None:  # any input is accepted and ignored
        self._paused = True
        self._set_phase(self._phase)

    @workflow.signal(description="Continue a paused run")
    def resume(self, *_ignored: Any) -> None:
        self._paused = False
        self._set_phase(self._phase)

    async def _unpaused(self) -> None:
        await workflow.wait_condition(lambda: not self._paused, timeout_summary="paused")

    async def _approve(self, step: Step, verdict: Verdict, arguments: dict[str, JsonValue]) -> None:
        """Wait for a person's decision on the exact arguments; anything but yes raises.

        A rejection fails the step for good; a timeout may be asked again after a re-plan.
        """
        async with self._asking.setdefault(step.id, asyncio.Lock()):  # foreach items queue
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
        why_not = refusal(record)
        if why_not is not None:
            raise CallFailed(why_not, for_good=record.outcome != "timed_out", refused=True)

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
        """What the run used, counting what running sub-goals may still spend as used:
        parallel children share the budget instead of each getting all that is left."""
        elapsed = workflow.now() - self._first_started_at()
        return reserved_spending(
            Spent(self._started, self._usage, elapsed.total_seconds()), self._reserved.values()
        )

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
            draft = await self._llm_activity(
                "plan",
                request.model_copy(update={"errors": errors, "rejected_plan": rejected}),
                result_type=PlanDraft,
                start_to_close_timeout=LLM_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=LLM_RETRY,
                task_queue=self._input.llm_task_queue,
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
                or nesting_problems(fresh, self._input.depth)
                or repeated_failures(fresh, self._hopeless)
                or blocked_steps(fresh, self._input.policy, undo=self._judges_undo(*fresh.steps))
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
            if self._halted:  # an on_failure=fail step failed: start nothing more
                for state in self._in(StepStatus.PENDING):
                    self._skip(state.id, f"not started: {self._halted}")
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
        """Resolve, check, approve and run a step (once, or once per foreach item)."""
        step, state = self._definitions[step_id], self._steps[step_id]
        state.started_at = workflow.now()
        state.attempts = 1
        try:
            calls = step_calls(step, dict(self._reference_context()))
            arguments = [call.params.model_dump(mode="json") for call in calls]
            state.args_hash = arguments_hash(step.action, {"calls": list(arguments)})
            if self._take_reused(step, state):
                return
            approved = await self._permission(step, arguments)
            results = await self._run_calls(step, calls, approved)
        except CallFailed as failed:
            state.attempts = max(state.attempts, failed.attempts)
            return self._settle_failure(step, state, failed)
        if step.foreach is None:
            state.output, state.attempts = results[0].output, results[0].attempt
        else:
            state.output = [result.output for result in results]
            state.attempts = max((result.attempt for result in results), default=1)
        for result in results:
            self._add_step_usage(state, self._count(result.usage))
        state.status, state.finished_at = StepStatus.SUCCEEDED, workflow.now()
        workflow.logger.info(
            "Step %s (%s) succeeded after %d attempt(s)",
            step.id,
            step.action,
            state.attempts,
            extra={"step_id": step.id},
        )

    def _take_reused(self, step: Step, state: StepState) -> bool:
        """``starter.py retry``: the same step with the same arguments finished in an
        earlier run, so take its output instead of doing it (and its side effects) again."""
        reused = next(
            (
                r
                for r in self._input.reuse
                if (r.step_id, r.action, r.args_hash) == (step.id, step.action, state.args_hash)
            ),
            None,
        )
        if reused is None:
            return False
        state.output, state.reused_from = reused.output, reused.run_id
        state.status, state.finished_at = StepStatus.SUCCEEDED, workflow.now()
        self._started -= 1  # nothing ran: the step budget is not spent
        return True

    async def _permission(self, step: Step, arguments: list[dict[str, JsonValue]]) -> bool:
        """The policy on the resolved arguments and on the step's declared undo: blocked
        raises; "approve" asks a person once for the whole step (every item's arguments,
        and the undo); True when a person approved."""
        verdicts = [judge(step.action, args, self._input.policy) for args in arguments]
        for index, verdict in enumerate(verdicts):
            if verdict.decision == "block":
                where = "" if step.foreach is None else f"item {index}: "
                raise CallFailed(f"BlockedByPolicy: {where}{verdict.reason}")
        undo = self._undo_gate(step)
        asking = [verdict for verdict in verdicts if verdict.decision == "approve"]
        if not asking and undo is None:
            return False
        asked: Verdict | None = asking[0] if asking else None
        shown: dict[str, JsonValue] = arguments[0]
        if step.foreach is not None:
            shown = {"items": list(arguments)}
            if asked is not None:
                reason = f"{len(asking)} of {len(arguments)} items: {asked.reason}"
                asked = Verdict("approve", asked.risk, reason)
        await self._approve(step, *self._with_undo(step, asked, undo, shown))
        return True

    @staticmethod
    def _judges_undo(*steps: Step) -> bool:
        """Whether undos that plans declare are judged like steps (not in runs that
        started on older code, which ran them unasked: replay must decide the same)."""
        return any(s.compensate is not None for s in steps) and workflow.patched("undo-judged-v1")

    def _undo_gate(self, step: Step) -> Verdict | None:
        """The policy on the step's declared undo, when it is judged and asks a person;
        a blocked undo blocks its step (a plan check refuses it earlier, too)."""
        if not self._judges_undo(step):
            return None
        verdict = undo_verdict(step, self._input.policy)
        if verdict is None or verdict.decision == "allow":
            return None
        if verdict.decision == "block":
            raise CallFailed(f"BlockedByPolicy: its undo (compensate) is blocked: {verdict.reason}")
        return verdict

    @staticmethod
    def _with_undo(
        step: Step, verdict: Verdict | None, undo: Verdict | None, shown: dict[str, JsonValue]
    ) -> tuple[Verdict, dict[str, JsonValue]]:
        """What a person approves: the step's arguments, and its declared undo if judged
        (so the approval, bound to the hash of what it showed, covers both)."""
        if undo is None or step.compensate is None:
            assert verdict is not None  # callers ask only when something needs approval
            return verdict, shown
        declared = step.compensate.model_dump(mode="json", include={"action", "params"})
        shown = {**shown, UNDO_SHOWN: declared}
        reason = (
            f"its undo {undo.reason}"
            if verdict is None
            else f"{verdict.reason}; its undo {undo.reason}"
        )
        risk = undo.risk if verdict is None else verdict.risk
        return Verdict("approve", risk, reason), shown

    async def _run_calls(self, step: Step, calls: list[Call], approved: bool) -> list[ActionResult]:
        """Every call, up to max_parallel at a time; results in call order. A failed item
        fails the step once all items settled (finished items stay recorded for undo)."""
        if len(calls) == 1:
            return [await self._call(step, calls[0], approved)]
        gate = asyncio.Semaphore(self._input.max_parallel)

        async def bounded(call: Call) -> ActionResult:
            async with gate:
                return await self._call(step, call, approved)

        outcomes = await asyncio.gather(*(bounded(c) for c in calls), return_exceptions=True)
        failures: list[tuple[int, CallFailed]] = []
        results: list[ActionResult] = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, CallFailed):
                failures.append((index, outcome))
            elif isinstance(outcome, BaseException):
                raise outcome  # cancellation, or a bug: a workflow task failure to fix
            else:
                results.append(outcome)
        if not failures:
            return results
        index, first = failures[0]
        more = f" (and {len(failures) - 1} more items)" if len(failures) > 1 else ""
        raise CallFailed(
            f"item {index} of {len(calls)} failed{more}: {first.error}",
            for_good=all(f.for_good for _, f in failures),
            attempts=max(f.attempts for _, f in failures),
            refused=first.refused,
            skip=all(f.skip for _, f in failures),
        )

    async def _call(self, step: Step, call: Call, approved: bool) -> ActionResult:
        """One call, with the step's ``on_failure`` retry or recovery around it."""
        params, retries, recoveries = call.params, 0, 0
        while True:
            try:
                result = await self._perform(step, call.item, params, approved)
            except CallFailed as failed:
                if failed.refused:
                    raise
                if step.on_failure == "retry" and not failed.for_good and retries < STEP_RETRIES:
                    retries += 1
                    await workflow.sleep(
                        STEP_RETRY_DELAY * 2 ** (retries - 1),
                        summary=f"retry {step.id} ({retries}/{STEP_RETRIES}) after: {failed.error}"[
                            :200
                        ],
                    )
                    continue
                if step.on_failure == "recover" and recoveries < MAX_RECOVERIES:
                    recoveries += 1
                    params, approved = await self._recover(step, params, failed, recoveries)
                    continue
                raise
            judged = self._judges_undo(step)
            undo = (
                declared_undo(step, call, result.output, judged=judged, approved=approved)
                or result.undo
            )
            self._saga.record(step.id, call.item, undo)
            return result

    async def _perform(
        self, step: Step, item: int | None, params: ActionParams, approved: bool
    ) -> ActionResult:
        """Run the action once: in workflow code (timers, events, child runs) or as its
        activity with the action's retry policy; an activity that finds it needs a
        person's approval (replacing a file) waits for one and runs again."""
        if isinstance(params, WaitParams):
            await workflow.sleep(timedelta(seconds=params.seconds), summary=step.title)
            return ActionResult(output={"waited_seconds": params.seconds})
        if isinstance(params, WaitForEventParams):
            return await self._wait_for_event(params)
        if isinstance(params, SubGoalParams):
            return await self._sub_goal(step, item, params)
        if isinstance(params, AgentParams):
            return await self._agent(step, item, params)
        spec = CATALOG[step.action]
        await self._respect_rate_limit(step.action)
        context = self._action_context(step.id, approved=approved)
        label = step.id if item is None else f"{step.id}[{item}]"
        while True:
            try:
                result: ActionResult = await workflow.execute_activity(
                    spec.name,
                    args=[context, params],
                    result_type=ActionResult,
                    start_to_close_timeout=spec.start_to_close,
                    heartbeat_timeout=spec.heartbeat,
                    retry_policy=spec.retry_policy,
                    task_queue=self._input.llm_task_queue if spec.uses_llm else None,
                    # a cancelled run ends once its calls have really stopped
                    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                    summary=f"{label}: {step.title}"[:200],
                )
                return result
            except ActivityError as exc:
                cause = exc.cause
                if (
                    isinstance(cause, ApplicationError)
                    and cause.type == NEEDS_APPROVAL
                    and not context.approved
                ):  # the activity found it would replace something: a person decides
                    found = Verdict("approve", Risk.DESTRUCTIVE, cause.message)
                    await self._approve(step, found, params.model_dump(mode="json"))
                    context = context.model_copy(update={"approved": True})
                    continue
                for_good = isinstance(cause, ApplicationError) and cause.non_retryable
                attempts = attempts_of(exc, spec.retry_policy)
                raise CallFailed(
                    activity_failure(exc), for_good=for_good, attempts=attempts
                ) from None

    def _action_context(self, step_id: str, *, approved: bool) -> ActionContext:
        return ActionContext(
            run_id=workflow.info().workflow_id,
            step_id=step_id,
            workspace=self._input.workspace,
            policy=self._input.policy,
            approved=approved,
            # starter.py retry: the runs whose outputs this run reuses (and their artifacts)
            artifact_runs=sorted({r.run_id for r in self._input.reuse}),
        )

    async def _wait_for_event(self, params: WaitForEventParams) -> ActionResult:
        """Take the oldest unclaimed event of that name, waiting (a durable timer) for one."""
        name = params.event
        deadline = workflow.now() + timedelta(seconds=params.timeout_seconds)
        self._awaited.append(name)
        self._set_phase(self._phase)
        timed_out = False
        while not self._events.get(name) and not timed_out:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._events.get(name)),
                    timeout=max(deadline - workflow.now(), timedelta(milliseconds=1)),
                    timeout_summary=f"event {name}",
                )
            except TimeoutError:
                timed_out = True
        self._awaited.remove(name)
        self._set_phase(self._phase)
        if not self._events.get(name):
            raise CallFailed(
                f"EventTimeout: no event {name!r} arrived within {params.timeout_seconds:g} s",
                for_good=False,
            )
        return ActionResult(output=self._events[name].pop(0))

    async def _sub_goal(self, step: Step, item: int | None, params: SubGoalParams) -> ActionResult:
        """Run a sub-goal as a child AgentWorkflow; its usage and steps count here too."""
        if self._input.depth >= MAX_SUB_GOAL_DEPTH:
            raise CallFailed(f"sub-goals nest at most {MAX_SUB_GOAL_DEPTH} deep")
        child_id = f"{workflow.info().workflow_id}.{step.id}"
        if item is not None:
            child_id += f".{item}"
        shares_budget = workflow.patched("child-budget-v1")
        if shares_budget:  # the child needs room for at least one step of its own
            await self._within_budget(LIMITS, next_steps=1)
        budget = remaining(self._budget, self._spent())
        child_input = RunInput(
            goal=params.goal,
            workspace=self._input.workspace,
            max_parallel=self._input.max_parallel,
            max_replans=params.max_replans,
            max_plan_repairs=self._input.max_plan_repairs,
            policy=self._input.policy,
            budget=budget,
            compensate=self._input.compensate,
            depth=self._input.depth + 1,
            llm_task_queue=self._input.llm_task_queue,
        )
        if shares_budget:
            self._reserved[child_id] = budget
        try:
            result: RunResult = await workflow.execute_child_workflow(
                WORKFLOW_NAME,
                child_input,
                id=child_id,
                result_type=RunResult,
                static_summary=params.goal[:200],
                memo=self._memo(),  # sub-goal runs inherit the manifest
            )
        except ChildWorkflowError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.details:
                try:
                    self._add_child_spending(RunResult.model_validate(cause.details[0]))
                except ValidationError:
                    workflow.logger.warning("Sub-goal %s failed without a result", child_id)
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            raise CallFailed(f"SubGoalFailed: run {child_id}: {message}", for_good=False) from None
        finally:
            self._reserved.pop(child_id, None)  # its real spending is counted instead
        self._add_child_spending(result)
        outputs = {s.id: s.output for s in result.steps if s.status is StepStatus.SUCCEEDED}
        return ActionResult(
            output={"answer": result.answer, "workflow_id": child_id, "outputs": outputs},
            undo=result.undo,
        )

    async def _agent(self, step: Step, item: int | None, params: AgentParams) -> ActionResult:
        """ReAct: LLM turns (activities) and tool calls (each judged, approved if the policy
        asks, run as its action's activity) until the model answers without a tool call.

        The model sees tool results as previews (with where the whole result is); the
        step's output keeps every call's full output, for later steps to reference.
        """
        transcript: list[dict[str, JsonValue]] = []
        calls: list[JsonValue] = []
        state = self._steps[step.id]
        for turn in range(1, params.max_iterations + 1):
            await self._unpaused()
            await self._within_budget(FOR_LLM_CALL)
            try:
                reply: AgentTurn = await workflow.execute_activity(
                    "agent_turn",
                    AgentTurnRequest(
                        task=params.task,
                        tools=params.tools,
                        transcript=transcript,
                        final=turn == params.max_iterations,
                    ),
                    result_type=AgentTurn,
                    start_to_close_timeout=LLM_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=LLM_RETRY,
                    task_queue=self._input.llm_task_queue,
                    summary=f"{step.id}: agent turn {turn}",
                )
            except ActivityError as exc:
                raise CallFailed(
                    f"AgentTurnFailed: {activity_failure(exc)}", for_good=False
                ) from None
            self._add_step_usage(state, self._count(reply.usage))
            if not reply.tool_calls:
                answer = {"answer": reply.content or "", "turns": turn, "tool_calls": calls}
                return ActionResult(output=answer)
            transcript.append(
                {
                    "role": "assistant",
                    "content": reply.content,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                        for call in reply.tool_calls
                    ],
                }
            )
            for call in reply.tool_calls:
                status, output = await self._tool_call(step, item, call, params.tools)
                shown = preview(output, AGENT_TOOL_PREVIEW)
                if len(shown) > AGENT_TOOL_PREVIEW:  # cut: the model gets a preview and where
                    shown += (  # the whole result is, for a later step to reference
                        f" [shortened; in full: steps.{step.id}.output.tool_calls"
                        f"[{len(calls)}].output]"
                    )
                transcript.append({"role": "tool", "tool_call_id": call.id, "content": shown})
                record: dict[str, JsonValue] = {"tool": call.name, "arguments": call.arguments}
                calls.append(record | {"status": status, "output": output})
        raise CallFailed(  # unreachable with a model that obeys tool_choice "none"
            f"AgentNoAnswer: no final answer after {params.max_iterations} turns",
            for_good=False,
        )

    async def _tool_call(
        self, step: Step, item: int | None, call: ToolCall, allowed: list[str]
    ) -> tuple[str, JsonValue]:
        """One tool call of an agent step: (status, output or the error the model sees)."""
        if call.name not in allowed:
            return "refused", f"unknown tool {call.name!r}; use one of: {', '.join(allowed)}"
        spec = CATALOG[call.name]
        try:
            params = spec.params_model.model_validate_json(call.arguments or "{}")
        except ValidationError as exc:
            return "invalid", f"invalid arguments: {format_validation_error(exc)}"
        arguments = params.model_dump(mode="json")
        verdict = judge(call.name, arguments, self._input.policy)
        if verdict.decision == "block":
            return "blocked", f"BlockedByPolicy: {verdict.reason}"
        tool_step = step.model_copy(update={"action": call.name})
        await self._within_budget(FOR_STEP, next_steps=1)
        self._started += 1
        try:
            if verdict.decision == "approve":
                await self._approve(tool_step, verdict, arguments)
            result = await self._perform(tool_step, item, params, verdict.decision == "approve")
        except CallFailed as failed:
            return ("refused" if failed.refused else "failed"), failed.error
        self._add_step_usage(self._steps[step.id], self._count(result.usage))
        self._saga.record(step.id, item, result.undo)
        return "succeeded", result.output

    @staticmethod
    def _add_step_usage(state: StepState, usage: Usage | None) -> None:
        if usage is None:
            return
        if state.usage is None:
            state.usage = Usage(model=usage.model)
        state.usage.add(usage)

    def _add_child_spending(self, child: RunResult) -> None:
        self._usage.add(child.usage)
        self._started += sum(1 for s in [*child.steps, *child.superseded_steps] if s.started_at)

    async def _recover(
        self, step: Step, params: ActionParams, failed: CallFailed, attempt: int
    ) -> tuple[ActionParams, bool]:
        """Ask the recover activity; new params are validated and judged like a plan step.

        Returns the params to retry with and whether a person approved them; a proposal to
        skip or re-plan (or an unusable one) raises with the original error kept.
        """
        await self._unpaused()
        await self._within_budget(FOR_LLM_CALL)
        arguments = params.model_dump(mode="json")
        try:
            outcome = await workflow.execute_activity(
                "recover",
                RecoverRequest(
                    goal=self._input.goal,
                    step=step,
                    arguments=arguments,
                    error=failed.error,
                    attempt=attempt,
                ),
                result_type=RecoverOutcome,
                start_to_close_timeout=LLM_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=LLM_RETRY,
                task_queue=self._input.llm_task_queue,
                summary=f"recover {step.id}",
            )
        except ActivityError as exc:
            detail = activity_failure(exc)
            raise CallFailed(f"{failed.error}; recovery failed: {detail}", for_good=False) from None
        self._count(outcome.usage)
        proposal = outcome.recovery
        self._steps[step.id].recoveries.append(
            f"{proposal.decision}: {proposal.reason}"
            + (f" {proposal.params}" if proposal.params is not None else "")
        )
        error = f"{failed.error}; recovery ({proposal.decision}): {proposal.reason}"
        if proposal.decision == "skip":
            raise CallFailed(error, for_good=failed.for_good, skip=True)
        if proposal.decision == "replan" or proposal.params is None:
            raise CallFailed(error, for_good=failed.for_good)
        try:
            retry = CATALOG[step.action].params_model.model_validate(proposal.params)
        except ValidationError as exc:
            detail = format_validation_error(exc)
            raise CallFailed(f"{error}; its params are invalid: {detail}") from None
        new_arguments = retry.model_dump(mode="json")
        if new_arguments == arguments and failed.for_good:
            raise CallFailed(f"{error}; it proposed the same params, which cannot work")
        verdict = judge(step.action, new_arguments, self._input.policy)
        if verdict.decision == "block":
            raise CallFailed(f"{error}; BlockedByPolicy: {verdict.reason}")
        undo = self._undo_gate(step)
        if verdict.decision == "approve" or undo is not None:
            asking = verdict if verdict.decision == "approve" else None
            await self._approve(step, *self._with_undo(step, asking, undo, new_arguments))
            return retry, True
        return retry, False

    def _settle_failure(self, step: Step, state: StepState, failed: CallFailed) -> None:
        """Apply ``on_failure`` once the step's calls (and their retries) are over."""
        workflow.logger.warning(
            "Step %s (%s) failed (on_failure=%s): %s",
            step.id,
            step.action,
            step.on_failure,
            failed.error,
            extra={"step_id": step.id},
        )
        if failed.skip or step.on_failure == "skip":
            state.error = failed.error
            return self._skip(step.id, f"failed, skipped (on_failure): {failed.error}")
        self._finish_failed(state, failed.error, for_good=failed.for_good)
        if step.on_failure == "fail" and self._halted is None:
            self._halted = f"step '{step.id}' failed (on_failure=fail): {failed.error}"

    async def _respect_rate_limit(self, action: str) -> None:
        """Wait (a durable timer) while ``action`` used its calls of the last minute."""
        per_minute = self._input.policy.rate_limits.get(action)
        if per_minute is None:
            return
        starts = self._action_starts.setdefault(action, [])
        while (delay := rate_delay(starts, workflow.now(), per_minute)) > timedelta(0):
            await workflow.sleep(delay, summary=f"rate limit: {per_minute} {action}/min")
        starts.append(workflow.now())

    def _reference_context(self) -> dict[str, dict[str, JsonValue]]:
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
        if self._halted:
            return Review(verdict="fail", answer=self._halted)
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
        outcome = await self._llm_activity(
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
            task_queue=self._input.llm_task_queue,
            summary="review results",
        )
        self._count(outcome.usage)
        review: Review = outcome.review
        return review

    async def _llm_activity(self, name: str, request: object, **options: Any) -> Any:
        """Plan or review: when the LLM provider fails for good (a rejected key, a bad
        model name) or beyond its retries, the run fails with that reason, undone."""
        try:
            return await workflow.execute_activity(name, request, **options)
        except ActivityError as exc:
            raise self._failure(
                f"the {name} call to the LLM failed: {activity_failure(exc)}", "LlmFailed"
            ) from None

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
        waiting += [event_details(run_id, name) for name in self._awaited]
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
            compensations=self._saga.records,
            undo=self._saga.pending() if status == "succeeded" else [],
        )

    def _failure(self, message: str, error_type: str = "RunFailed") -> ApplicationError:
        self._set_phase(Phase.FAILED)
        result = self._result("failed", "", message)
        return ApplicationError(message, result, type=error_type, non_retryable=True)
