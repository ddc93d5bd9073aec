"""AgentWorkflow: plan -> check -> execute -> review, looping until done or out of re-plans.

The shell: the loop, continue-as-new and the message handlers. The parts live in their
own modules and act on one ``Run`` (``workflows.run``): planning, scheduler, steps,
step_kinds, gate, spending, undo, review, memory, looking.

Deterministic by construction: LLM calls and side effects are activities, references and
conditions are resolved here from recorded outputs, time is ``workflow.now()``. Business
failures raise a non-retryable ``ApplicationError`` carrying the partial ``RunResult``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    # The SQL guard's parser (C extension) imports its own submodules while it parses:
    # registered here, those imports find the host's modules in every sandbox.
    import pglast  # noqa: F401

    from durable_agents.contracts import (
        WORKFLOW_NAME,
        ApprovalDecision,
        ApprovalRecord,
        DecideRequest,
        Phase,
        Plan,
        PlanRequest,
        Review,
        RunEvent,
        RunInput,
        RunResult,
        RunStatus,
        StepStatus,
    )
    from durable_agents.contracts.run import CarriedState
    from durable_agents.workflows.approvals import Via, refusal
    from durable_agents.workflows.gate import Gate
    from durable_agents.workflows.looking import look
    from durable_agents.workflows.memory import recall, remember
    from durable_agents.workflows.messages import keep_event, signal_input
    from durable_agents.workflows.planning import (
        adopt,
        given_plan_problems,
        make_plan,
        replan_request,
    )
    from durable_agents.workflows.review import review_round
    from durable_agents.workflows.run import Run
    from durable_agents.workflows.scheduler import execute
    from durable_agents.workflows.spending import Spending
    from durable_agents.workflows.steps import StepRunner
    from durable_agents.workflows.undo import compensate


# Outside the sandbox: the modules above were passed through it anyway, and re-importing
# this module for every run cost ~70 KiB per cached run and a third of each activation's
# CPU (bench/waiting_memory.py, bench/step_scaling.py). tests/test_determinism.py keeps
# every module workflow code runs free of clocks, randomness, env and I/O instead.
@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class AgentWorkflow:
    """Runs a goal as a graph of steps; see the module docstring and README."""

    @workflow.init
    def __init__(self, run_input: RunInput) -> None:
        self._run = Run(run_input)
        self._spending = Spending(self._run)
        self._steps = StepRunner(self._run, self._spending, Gate(self._run))

    @workflow.run
    async def run(self, run_input: RunInput) -> RunResult:
        """The loop, and the saga around it: a failed or cancelled run undoes what it did."""
        try:
            result = await self._plan_execute_review()
        except ApplicationError as failure:
            compensated = await compensate(self._steps, f"failed: {failure.message}")
            await remember(self._run, "failed", failure.message)
            if not compensated:
                raise
            raise self._run.failure(failure.message, failure.type or "RunFailed") from None
        except asyncio.CancelledError:
            await compensate(self._steps, "was cancelled")
            self._run.set_phase(Phase.CANCELLED)
            raise
        await remember(self._run, "succeeded", result.answer)
        return result

    async def _plan_execute_review(self) -> RunResult:
        run, state, spending = self._run, self._run.state, self._spending
        given, carried = run.input.plan, run.input.carried
        if carried is not None:  # continued: pick up at the re-plan it stopped at
            request = replan_request(run, carried.feedback, carried.previous_answer)
            await make_plan(run, spending, request, carried.reason)
        elif given is not None:
            await run.list_tools(needed=run.uses_unknown_actions(given))
            errors = given_plan_problems(run, given)
            if errors:
                raise run.failure("the given plan is invalid: " + "; ".join(errors))
            adopt(run, given, "given plan", kept={})
        else:
            state.lessons = await recall(run.input.goal) if run.input.memory else []
            context = self._steps.action_context("look", approved=False)
            looked = await look(run.input.goal, context)
            state.observations, state.text_words = looked.observations, looked.text_words
            request = PlanRequest(
                goal=run.input.goal, lessons=state.lessons, observations=state.observations
            )
            await make_plan(run, spending, request, "initial plan")
        while True:
            refused = await self._sign_off() if run.input.policy.plan_signoff else None
            if refused is None:
                await execute(self._steps)
                review = await review_round(run, spending)
            else:
                verdict = "replan" if given is None or run.input.review else "fail"
                feedback = f"A person did not sign off the plan ({refused}). Change it."
                answer = f"plan not signed off: {refused}"
                review = Review(verdict=verdict, answer=answer, feedback=feedback)
            if review.verdict == "done":
                run.set_phase(Phase.SUCCEEDED)
                return run.result("succeeded", review.answer)
            if review.verdict == "fail":
                raise run.failure(review.answer)
            self._stop_without_progress()
            if state.replans >= run.input.max_replans:
                raise run.failure(
                    f"re-plan limit ({run.input.max_replans}) reached; "
                    f"last feedback: {review.feedback}"
                )
            state.replans += 1
            reason = f"re-plan {state.replans}: {review.feedback}"
            if self._continue_due():
                workflow.continue_as_new(
                    run.input.model_copy(update={"carried": self._carry(review, reason)}),
                    memo=run.memo(),
                )
            await make_plan(
                run, spending, replan_request(run, review.feedback, review.answer), reason
            )

    async def _sign_off(self) -> str | None:
        """With ``plan_signoff``: one approval of the whole current plan, shown in full."""
        state = self._run.state
        plan = Plan(steps=list(state.definitions.values()))
        pending = [s for s in plan.steps if state.steps[s.id].status is StepStatus.PENDING]
        record = await self._run.desk.ask(
            "plan",
            title=f"Sign off plan v{len(state.plans)}",
            action="plan",
            risk=None,
            reason=f"the run's policy asks for a sign-off; {len(pending)} steps will run",
            arguments=Plan(steps=pending).model_dump(mode="json"),
        )
        return refusal(record)

    def _stop_without_progress(self) -> None:
        """Fail with a report when a re-plan met the very failure the last round met."""
        state = self._run.state
        failures = {f"{s.action}: {s.error}" for s in state.in_status(StepStatus.FAILED)}
        repeated = sorted(failures & set(state.last_failures))
        if repeated and workflow.patched("no-progress-v1"):
            raise self._run.failure(
                "no progress: after a re-plan the same failure happened again: "
                + "; ".join(repeated)
                + ". Fix the cause (data, service, permissions) or change the goal, "
                "then start a new run.",
                "NoProgress",
            )
        state.last_failures = sorted(failures)

    # -- continue-as-new: long runs keep a bounded history ---------------------------

    def _continue_due(self) -> bool:
        """At a re-plan boundary: past the run's event threshold, or the server asks."""
        info = workflow.info()
        due = (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._run.input.continue_after_events
        )
        return due and workflow.patched("continue-as-new-v1")

    def _carry(self, review: Review, reason: str) -> CarriedState:
        """The run's records as they are, and why the next plan is made."""
        state = self._run.state
        return CarriedState.model_validate(
            dict(state)
            | {
                "feedback": review.feedback,
                "previous_answer": review.answer,
                "reason": reason,
                "continued": state.continued + 1,
            }
        )

    # -- messages: status, approvals, events, pause/resume ---------------------------

    @workflow.query
    def status(self) -> RunStatus:
        """Phase, current plan, each step's state/attempts/timing, and token usage."""
        run, state = self._run, self._run.state
        return RunStatus(
            phase=run.phase,
            plan_version=len(state.plans),
            replans=state.replans,
            steps=list(state.steps.values()),
            usage=state.usage,
            plan=Plan(steps=list(state.definitions.values())) if state.definitions else None,
            pending_approvals=list(run.desk.pending.values()),
            approvals=run.desk.audit,
            paused=run.paused,
            budget=state.budget,
            awaited_events=list(run.awaited),
            compensations=run.saga.records,
        )

    @workflow.signal(
        description='Approve what awaits approval (a step, "plan" or "budget"). '
        'Input: {"step_id": "...", "note": "..."}'
    )
    def approve(self, *payloads: Any) -> None:
        decision = signal_input("approve", payloads, ApprovalDecision)
        if decision is not None:
            self._decide(decision, approve=True, via="signal")

    @workflow.signal(
        description='Reject what awaits approval (a step, "plan" or "budget"). '
        'Input: {"step_id": "...", "note": "..."}'
    )
    def reject(self, *payloads: Any) -> None:
        decision = signal_input("reject", payloads, ApprovalDecision)
        if decision is not None:
            self._decide(decision, approve=False, via="signal")

    @workflow.update(
        description="Approve or reject what awaits approval and get the audit record back. "
        'Input: {"step_id": "...", "approve": true, "note": "..."}'
    )
    def decide(self, request: DecideRequest) -> ApprovalRecord:
        record = self._decide(request, approve=request.approve, via="update")
        if record is None:  # the validator refuses these first; fail the update, not the run
            desk = self._run.desk
            raise ApplicationError(desk.problem(request, self._run.steps) or "refused")
        return record

    @decide.validator
    def _validate_decide(self, request: DecideRequest) -> None:
        problem = self._run.desk.problem(request, self._run.steps)
        if problem:
            raise ValueError(problem)

    def _decide(
        self, decision: ApprovalDecision, *, approve: bool, via: Via
    ) -> ApprovalRecord | None:
        desk = self._run.desk
        problem = desk.problem(decision, self._run.steps)
        if problem:
            workflow.logger.warning("Ignored %s decision: %s", via, problem)
            return None
        return desk.record(decision, approve=approve, via=via)

    @workflow.signal(
        description="A named event for wait_for_event steps (kept until one asks for it). "
        'Input: {"name": "...", "payload": <any JSON>}'
    )
    def event(self, *payloads: Any) -> None:
        event = signal_input("event", payloads, RunEvent)
        if event is not None:
            keep_event(self._run.state, event)

    @workflow.signal(description="Start no new step or LLM call until resume; running steps finish")
    def pause(self, *_ignored: Any) -> None:  # any input is accepted and ignored
        self._run.paused = True
        self._run.show()

    @workflow.signal(description="Continue a paused run")
    def resume(self, *_ignored: Any) -> None:
        self._run.paused = False
        self._run.show()
