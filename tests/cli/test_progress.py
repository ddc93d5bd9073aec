"""What the terminal shows and asks while a run goes on."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from durable_agents.cli.progress import ProgressPrinter
from durable_agents.contracts import Phase, RunStatus, Usage
from durable_agents.contracts.policy import PendingApproval

ASKED = datetime(2026, 12, 7, 14, 54, tzinfo=UTC)


def waiting(requested_at: datetime) -> RunStatus:
    pending = PendingApproval(
        step_id="insert_row",
        title="Insert a row",
        action="http_request",
        risk=None,
        reason="HTTP POST may change something outside",
        args_hash="f0b8b4c550c8e250",
        arguments={"method": "POST"},
        requested_at=requested_at,
        deadline=requested_at + timedelta(seconds=5),
    )
    return RunStatus(
        phase=Phase.EXECUTING,
        plan_version=1,
        replans=0,
        steps=[],
        usage=Usage(),
        pending_approvals=[pending],
    )


def test_a_step_that_waits_again_after_a_replan_is_asked_again() -> None:
    """Measured (sql_insert eval): --yes approved the step once; after a re-plan the same
    step, with the same arguments, waited again and timed out unanswered."""
    printer = ProgressPrinter(io.StringIO())
    assert [p.step_id for p in printer.show(waiting(ASKED))] == ["insert_row"]
    assert printer.show(waiting(ASKED)) == []  # the same wait: asked once
    later = waiting(ASKED + timedelta(seconds=40))
    assert [p.step_id for p in printer.show(later)] == ["insert_row"]
