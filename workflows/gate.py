"""The gate every side effect passes: the policy judges the resolved arguments (and a
plan's declared undo); "block" stops it, "approve" waits for a person's decision bound
to the hash of exactly what was shown."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import JsonValue
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from durable_agents.contracts import Step, StepStatus
from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.plan import Compensation
from durable_agents.contracts.tools import CLASSIFY_TOOL_CALL, ToolCallRisk
from durable_agents.rules.policy import Verdict, judge, undo_verdict
from durable_agents.workflows.approvals import refusal
from durable_agents.workflows.calls import CallFailed, activity_failure
from durable_agents.workflows.run import Run

UNDO_SHOWN = "undo_if_the_run_fails"  # where an approval shows the step's declared undo
CLASSIFY_TIMEOUT = timedelta(seconds=30)


def judges_undo(*steps: Step) -> bool:
    """Whether undos that plans declare are judged like steps (not in runs that started
    on older code, which ran them unasked: replay must decide the same)."""
    return any(s.compensate is not None for s in steps) and workflow.patched("undo-judged-v1")


class Gate:
    """Judge, refuse if blocked, ask a person if the policy says so."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def judge(self, action: str, arguments: dict[str, JsonValue]) -> Verdict:
        """The policy on one call (a custom action by its declared risk class)."""
        return judge(action, arguments, self._run.input.policy, self._run.actions)

    async def verdict(self, action: str, arguments: dict[str, JsonValue]) -> Verdict:
        """The policy on one call about to run: a custom action whose worker judges its
        params (``classified``) is asked first, recorded; failing to ask blocks it."""
        spec = self._run.actions.get(action)
        if spec is None or not spec.classified:
            return self.judge(action, arguments)
        try:
            risk: Risk = await workflow.execute_activity(
                CLASSIFY_TOOL_CALL,
                ToolCallRisk(name=action, params=arguments),
                result_type=Risk,
                start_to_close_timeout=CLASSIFY_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary=f"judge {action}",
            )
        except ActivityError as exc:
            why = f"BlockedByPolicy: could not judge the {action} call: {activity_failure(exc)}"
            raise CallFailed(why) from None
        return judge(action, arguments, self._run.input.policy, self._run.actions, risk=risk)

    async def clear(
        self,
        step: Step,
        arguments: list[dict[str, JsonValue]],
        *,
        items: bool,
        context: str = "",
    ) -> bool:
        """The policy on each call's resolved arguments and on the step's declared undo:
        blocked raises (``context`` leads the error); "approve" asks a person once for
        all of it (every item, and the undo); True when a person approved."""
        verdicts = [await self.verdict(step.action, args) for args in arguments]
        for index, verdict in enumerate(verdicts):
            if verdict.decision == "block":
                where = f"item {index}: " if items else ""
                raise CallFailed(f"{context}BlockedByPolicy: {where}{verdict.reason}")
        undo = self._undo_asks(step)
        asking = [verdict for verdict in verdicts if verdict.decision == "approve"]
        if not asking and undo is None:
            return False
        asked: Verdict | None = asking[0] if asking else None
        shown: dict[str, JsonValue] = arguments[0]
        if items:
            shown = {"items": list(arguments)}
            if asked is not None:
                reason = f"{len(asking)} of {len(arguments)} items: {asked.reason}"
                asked = Verdict("approve", asked.risk, reason)
        await self.ask(step, *_with_undo(step, asked, undo, shown))
        return True

    async def ask(self, step: Step, verdict: Verdict, arguments: dict[str, JsonValue]) -> None:
        """Wait for a person's decision on the exact arguments; anything but yes raises.

        A rejection fails the step for good; a timeout may be asked again after a re-plan.
        """
        run = self._run
        async with run.asking.setdefault(step.id, asyncio.Lock()):  # foreach items queue
            run.steps[step.id].status = StepStatus.AWAITING_APPROVAL
            record = await run.desk.ask(
                step.id,
                title=step.title,
                action=step.action,
                risk=verdict.risk,
                reason=verdict.reason,
                arguments=arguments,
            )
            run.steps[step.id].status = StepStatus.RUNNING
        why_not = refusal(record)
        if why_not is not None:
            raise CallFailed(why_not, for_good=record.outcome != "timed_out", refused=True)

    def undo_clearance(self, undo: Compensation, arguments: dict[str, JsonValue]) -> bool:
        """Whether an undo about to run is approved; raises ``UndoRefused`` when it may not
        run. An action's own undo restores what this run changed, so it runs approved; a
        plan's runs only as far as the policy and the approval given with its step allow."""
        assert undo.action is not None
        verdict = self.judge(undo.action, arguments)
        if verdict.decision == "block":
            raise UndoRefused(verdict.reason)
        if undo.source != "plan":
            return True
        if verdict.decision == "approve" and not undo.approved:
            raise UndoRefused(
                f"needs a person's approval ({verdict.reason}), and it was not approved "
                "together with its step"
            )
        return verdict.decision == "approve"

    def _undo_asks(self, step: Step) -> Verdict | None:
        """The policy on the step's declared undo, when it is judged and asks a person;
        a blocked undo blocks its step (a plan check refuses it earlier, too)."""
        if not judges_undo(step):
            return None
        verdict = undo_verdict(step, self._run.input.policy, self._run.actions)
        if verdict is None or verdict.decision == "allow":
            return None
        if verdict.decision == "block":
            raise CallFailed(f"BlockedByPolicy: its undo (compensate) is blocked: {verdict.reason}")
        return verdict


class UndoRefused(Exception):
    """An undo may not run: the policy blocks it, or it needed an approval it lacks."""


def _with_undo(
    step: Step, verdict: Verdict | None, undo: Verdict | None, shown: dict[str, JsonValue]
) -> tuple[Verdict, dict[str, JsonValue]]:
    """What a person approves: the step's arguments, and its declared undo if judged (so
    the approval, bound to the hash of what it showed, covers both)."""
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
