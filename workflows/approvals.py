"""The approval desk: what waits for a person, who decided what, and waiting for it.

Workflow-side state only (no I/O): one pending request per key (a step id, or ``plan`` /
``budget`` for a plan sign-off or a budget extension), each bound to a hash of the exact
arguments shown, plus the audit trail of every decision, including timeouts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Literal

from pydantic import JsonValue
from temporalio import workflow

from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.policy import ApprovalDecision, ApprovalRecord, PendingApproval
from durable_agents.contracts.run import StepState
from durable_agents.rules.policy import arguments_hash
from durable_agents.workflows.digest import approval_summary

Via = Literal["signal", "update"]


class ApprovalDesk:
    """Pending approvals and the audit trail of one run."""

    def __init__(
        self, timeout: timedelta, on_change: Callable[[], None], audit: list[ApprovalRecord]
    ) -> None:
        self._timeout = timeout
        self._on_change = on_change  # refreshes what the Web UI shows
        self.pending: dict[str, PendingApproval] = {}
        self.audit = audit  # the run state's list: continue-as-new carries it
        self._decided: dict[str, ApprovalRecord] = {}

    def problem(self, decision: ApprovalDecision, steps: Mapping[str, StepState]) -> str | None:
        """Why ``decision`` cannot be taken now, or None."""
        key = decision.step_id
        pending = self.pending.get(key)
        if pending is None or key in self._decided:
            if key in steps:
                return f"step '{key}' is not awaiting approval (it is {steps[key].status.value})"
            return (
                f"no step '{key}' in this run; steps: {', '.join(steps) or 'none'}; "
                f"awaiting approval: {', '.join(self.pending) or 'nothing'}"
            )
        if decision.args_hash is not None and decision.args_hash != pending.args_hash:
            return (
                f"stale decision: step '{key}' now waits with arguments hash "
                f"{pending.args_hash}, not {decision.args_hash}; review its arguments again"
            )
        return None

    def record(self, decision: ApprovalDecision, *, approve: bool, via: Via) -> ApprovalRecord:
        """Take a decision that ``problem`` accepted; the waiting ``ask`` picks it up."""
        record = ApprovalRecord(
            step_id=decision.step_id,
            outcome="approved" if approve else "rejected",
            by=decision.by,
            at=workflow.now(),
            args_hash=self.pending[decision.step_id].args_hash,
            note=decision.note,
            via=via,
        )
        self.audit.append(record)
        self._decided[decision.step_id] = record
        return record

    async def ask(
        self,
        key: str,
        *,
        title: str,
        action: str,
        risk: Risk | None,
        reason: str,
        arguments: dict[str, JsonValue],
    ) -> ApprovalRecord:
        """Wait for a decision on exactly ``arguments``; a timeout is recorded as one."""
        now = workflow.now()
        self.pending[key] = pending = PendingApproval(
            step_id=key,
            title=title,
            action=action,
            risk=risk,
            reason=reason,
            args_hash=arguments_hash(action, arguments),
            arguments=arguments,
            requested_at=now,
            deadline=now + self._timeout,
        )
        self._on_change()
        try:
            await workflow.wait_condition(
                lambda: key in self._decided,
                timeout=self._timeout,
                timeout_summary=approval_summary(pending),
            )
        except TimeoutError:
            self._decided[key] = ApprovalRecord(
                step_id=key,
                outcome="timed_out",
                by="policy",
                at=workflow.now(),
                args_hash=pending.args_hash,
                note=f"no decision within {self._timeout.total_seconds():g} s",
                via="timeout",
            )
            self.audit.append(self._decided[key])
        # No try/finally: on eviction the coroutine is closed and must not touch the run.
        del self.pending[key]
        self._on_change()
        return self._decided.pop(key)


def refusal(record: ApprovalRecord) -> str | None:
    """None for an approval; otherwise why the thing asked about may not go ahead."""
    if record.outcome == "approved":
        return None
    if record.outcome == "timed_out":
        return f"ApprovalTimedOut: {record.note}, so it did not go ahead"
    note = f": {record.note}" if record.note else ""
    return f"Rejected by {record.by}{note}"
