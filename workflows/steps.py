"""One step, start to end: resolve its calls, pass the gate, run each call (with the
step's ``on_failure`` retry or recovery around it), record outputs, usage and undo."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from typing import Any

from pydantic import JsonValue
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

from durable_agents.contracts import (
    ActionContext,
    ActionParams,
    ActionResult,
    Step,
    StepState,
    StepStatus,
)
from durable_agents.contracts.action_spec import NEEDS_APPROVAL, ActionSpec, Risk
from durable_agents.rules.policy import Verdict, arguments_hash
from durable_agents.workflows.calls import (
    Call,
    CallFailed,
    call_failed,
    declared_undo,
    step_calls,
)
from durable_agents.workflows.gate import Gate, judges_undo
from durable_agents.workflows.rate_limits import rate_delay
from durable_agents.workflows.recovery import recover
from durable_agents.workflows.run import Run
from durable_agents.workflows.spending import Spending
from durable_agents.workflows.step_kinds import IN_WORKFLOW

# on_failure "retry": the whole step again after a durable timer, for transient errors
STEP_RETRIES = 2
STEP_RETRY_DELAY = timedelta(seconds=30)
MAX_RECOVERIES = 2  # on_failure "recover": LLM proposals per call
SHARED_CALL_SLOTS = "shared-call-slots-v1"  # workflow.patched id: max_parallel counts calls
PURE_LOCAL = "pure-local-v1"  # workflow.patched id: pure actions run as local activities


def with_step_limits(spec: ActionSpec, step: Step) -> ActionSpec:
    """The action's call settings with the step's own timeout and attempts (a plan check
    kept them within the policy's limits)."""
    if step.timeout_seconds is None and step.max_attempts is None:
        return spec
    timeout = spec.start_to_close
    if step.timeout_seconds is not None:
        timeout = timedelta(seconds=step.timeout_seconds)
    retry = spec.retry_policy
    if step.max_attempts is not None:
        retry = dataclasses.replace(retry, maximum_attempts=step.max_attempts)
    return dataclasses.replace(spec, start_to_close=timeout, retry_policy=retry)


class StepRunner:
    """Runs steps of one run; the scheduler decides which and when."""

    def __init__(self, run: Run, spending: Spending, gate: Gate) -> None:
        self.run = run
        self.spending = spending
        self.gate = gate
        self._action_starts: dict[str, list[datetime]] = {}  # for rate limits
        self._call_slots = asyncio.Semaphore(run.input.max_parallel)

    async def run_step(self, step_id: str) -> None:
        """Resolve, check, approve and run a step (once, or once per foreach item)."""
        run = self.run
        step, state = run.state.definitions[step_id], run.steps[step_id]
        state.started_at = workflow.now()
        state.attempts = 1
        try:
            calls = step_calls(step, dict(run.reference_context(step_id)), run.actions)
            arguments = [call.params.model_dump(mode="json") for call in calls]
            state.args_hash = arguments_hash(step.action, {"calls": list(arguments)})
            if self._take_reused(step, state):
                return
            approved = await self.gate.clear(step, arguments, items=step.foreach is not None)
            results = await self._calls_in_slots(step, calls, approved)
        except CallFailed as failed:
            state.attempts = max(state.attempts, failed.attempts)
            return self._settle_failure(step, state, failed)
        if step.foreach is None:
            state.output, state.attempts = results[0].output, results[0].attempt
        else:
            state.output = [result.output for result in results]
            state.attempts = max((result.attempt for result in results), default=1)
        for result in results:
            self.spending.charge_step(state, result.usage)
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
        key = (step.id, step.action, state.args_hash)
        reused = next(
            (r for r in self.run.input.reuse if (r.step_id, r.action, r.args_hash) == key), None
        )
        if reused is None:
            return False
        state.output, state.reused_from = reused.output, reused.run_id
        state.status, state.finished_at = StepStatus.SUCCEEDED, workflow.now()
        self.run.state.started_steps -= 1  # nothing ran: the step budget is not spent
        return True

    async def _calls_in_slots(
        self, step: Step, calls: list[Call], approved: bool
    ) -> list[ActionResult]:
        """Every call, each holding one of the run's ``max_parallel`` call slots (shared by
        all steps); results in call order. A failed item fails the step once all items
        settled (finished items stay recorded for undo)."""
        shared = workflow.patched(SHARED_CALL_SLOTS)  # before it, each foreach had its own
        if len(calls) == 1 and not shared:
            return [await self._call_until_settled(step, calls[0], approved)]
        slots = self._call_slots if shared else asyncio.Semaphore(self.run.input.max_parallel)

        async def bounded(call: Call) -> ActionResult:
            async with slots:
                return await self._call_until_settled(step, call, approved)

        if len(calls) == 1:
            return [await bounded(calls[0])]

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

    async def _call_until_settled(self, step: Step, call: Call, approved: bool) -> ActionResult:
        """One call, with the step's ``on_failure`` retry or recovery around it."""
        params, retries, recoveries = call.params, 0, 0
        while True:
            try:
                result = await self.perform(step, call.item, params, approved)
            except CallFailed as failed:
                if failed.refused:
                    raise
                if step.on_failure == "retry" and not failed.for_good and retries < STEP_RETRIES:
                    retries += 1
                    why = f"retry {step.id} ({retries}/{STEP_RETRIES}) after: {failed.error}"
                    await workflow.sleep(STEP_RETRY_DELAY * 2 ** (retries - 1), summary=why[:200])
                    continue
                if step.on_failure == "recover" and recoveries < MAX_RECOVERIES:
                    recoveries += 1
                    params, approved = await recover(
                        self.run, self.spending, self.gate, step, params, failed, recoveries
                    )
                    continue
                raise
            judged = judges_undo(step)
            undo = (
                declared_undo(step, call, result.output, judged=judged, approved=approved)
                or result.undo
            )
            self.run.saga.record(step.id, call.item, undo)
            return result

    async def perform(
        self, step: Step, item: int | None, params: ActionParams, approved: bool
    ) -> ActionResult:
        """Run the action once: in workflow code (timers, events, child runs, agents) or as
        its activity with the action's retry policy; an activity that finds it needs a
        person's approval (replacing a file) waits for one and runs again."""
        in_workflow = IN_WORKFLOW.get(type(params))
        if in_workflow is not None:
            return await in_workflow(self, step, item, params)
        spec = with_step_limits(self.run.actions[step.action], step)
        await self._respect_rate_limit(step.action)
        label = step.id if item is None else f"{step.id}[{item}]"
        summary = f"{label}: {step.title}"
        if spec.pure and workflow.patched(PURE_LOCAL):
            bare = ActionContext(  # a pure action needs neither the policy nor an approval
                run_id=workflow.info().workflow_id,
                step_id=step.id,
                workspace=self.run.input.workspace,
            )
            return await self._local_call(spec, bare, params, summary)
        context = self.action_context(step.id, approved=approved)
        if spec.uses_llm and self.run.input.local_llm_steps:
            return await self._local_call(spec, context, params, summary)
        while True:
            try:
                return await self.action_activity(
                    spec,
                    context,
                    params,
                    summary,
                    task_queue=self.run.input.llm_task_queue if spec.uses_llm else None,
                    # a cancelled run ends once its calls have really stopped
                    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                )
            except ActivityError as exc:
                cause = exc.cause
                if (
                    isinstance(cause, ApplicationError)
                    and cause.type == NEEDS_APPROVAL
                    and not context.approved
                ):  # the activity found it would replace something: a person decides
                    found = Verdict("approve", Risk.DESTRUCTIVE, cause.message)
                    arguments: dict[str, JsonValue] = params.model_dump(mode="json")
                    await self.gate.ask(step, found, arguments)
                    context = context.model_copy(update={"approved": True})
                    continue
                raise call_failed(exc, spec.retry_policy) from None

    @staticmethod
    async def _local_call(
        spec: ActionSpec, context: ActionContext, params: ActionParams, summary: str
    ) -> ActionResult:
        """An action as a local activity: its result is a marker in history (replay and
        resume read it), without a task queue round trip per call. Pure actions always
        run so; llm steps when the run asks (``RunInput.local_llm_steps``)."""
        try:
            result: ActionResult = await workflow.execute_local_activity(
                spec.name,
                args=[context, params],
                result_type=ActionResult,
                start_to_close_timeout=spec.start_to_close,
                retry_policy=spec.retry_policy,
                summary=summary[:200],
            )
        except (ActivityError, ApplicationError) as exc:
            raise call_failed(exc, spec.retry_policy) from None
        return result

    @staticmethod
    async def action_activity(
        spec: ActionSpec,
        context: ActionContext,
        params: ActionParams,
        summary: str,
        **options: Any,
    ) -> ActionResult:
        """One call of an action as its activity, with the action's timeouts and retries."""
        result: ActionResult = await workflow.execute_activity(
            spec.name,
            args=[context, params],
            result_type=ActionResult,
            start_to_close_timeout=spec.start_to_close,
            heartbeat_timeout=spec.heartbeat,
            retry_policy=spec.retry_policy,
            summary=summary[:200],
            **options,
        )
        return result

    def action_context(self, step_id: str, *, approved: bool) -> ActionContext:
        run = self.run
        return ActionContext(
            run_id=workflow.info().workflow_id,
            step_id=step_id,
            workspace=run.input.workspace,
            policy=run.input.policy,
            approved=approved,
            # starter.py retry: the runs whose outputs this run reuses (and their artifacts)
            artifact_runs=sorted({r.run_id for r in run.input.reuse}),
            variation=max(0, run.steps[step_id].plan_version - 1) if step_id in run.steps else 0,
        )

    async def _respect_rate_limit(self, action: str) -> None:
        """Wait (a durable timer) while ``action`` used its calls of the last minute."""
        per_minute = self.run.input.policy.rate_limits.get(action)
        if per_minute is None:
            return
        starts = self._action_starts.setdefault(action, [])
        while (delay := rate_delay(starts, workflow.now(), per_minute)) > timedelta(0):
            await workflow.sleep(delay, summary=f"rate limit: {per_minute} {action}/min")
        starts.append(workflow.now())

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
        run = self.run
        if failed.skip or step.on_failure == "skip":
            state.error = failed.error
            return run.skip(step.id, f"failed, skipped (on_failure): {failed.error}")
        run.finish_failed(state, failed.error, for_good=failed.for_good)
        if step.on_failure == "fail" and run.halted is None:
            run.halted = f"step '{step.id}' failed (on_failure=fail): {failed.error}"
