"""The run report: critical path, slowest steps, waits and needless dependencies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.cli.report import build_report, report_text
from durable_agents.contracts import ApprovalRecord, StepState, StepStatus, Usage
from tests.fake_llm import FakeLlm
from tests.test_approvals_cli import starter
from tests.workflows.runs import DEMO_PLAN, plan, start

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def state(step_id: str, start: float, end: float, tokens: int = 0) -> StepState:
    usage = Usage(calls=1, prompt_tokens=tokens, cost_usd=0.01) if tokens else None
    return StepState(
        id=step_id,
        title=step_id,
        action="file_read",
        plan_version=1,
        status=StepStatus.SUCCEEDED,
        attempts=1,
        started_at=T0 + timedelta(seconds=start),
        finished_at=T0 + timedelta(seconds=end),
        usage=usage,
    )


def test_approval_waits_are_not_working_time_and_reused_steps_say_so() -> None:
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "x"}},
        {"id": "post", "action": "http_request", "params": {"url": "${steps.read.output}"}},
    )
    reused = state("read", 0, 0.1).model_copy(update={"reused_from": "run-0"})
    post = state("post", 1, 31)  # asked at 1 s, approved at 30 s, done at 31 s
    approved = ApprovalRecord(
        step_id="post",
        outcome="approved",
        by="ops",
        at=T0 + timedelta(seconds=30),
        args_hash="h",
        via="update",
    )
    report = build_report("run-1", "completed", [reused, post], [given], [approved])
    rows = {row.id: row for row in report.steps}
    assert rows["post"].seconds == 1.0 and rows["post"].approval_seconds == 29.0
    assert rows["read"].seconds is None and rows["read"].reused_from == "run-0"
    assert "post waited 29.0 s for approval" in report.waited
    assert report.critical_seconds == 1.0
    text = report_text(report)
    assert "reused from run-0" in text and "post waited 29.0 s for approval" in text


def test_the_report_finds_the_path_the_waits_and_the_needless_dependencies() -> None:
    given = plan(
        {"id": "a", "action": "file_read", "params": {"path": "x"}},
        {"id": "b", "action": "llm", "params": {"prompt": "${steps.a.output}"}},
        {"id": "c", "action": "file_list", "depends_on": ["a"], "params": {}},
        {
            "id": "d",
            "action": "file_write",
            "params": {"path": "o", "content": "${steps.b.output}"},
        },
    )
    steps = [state("a", 0, 1), state("b", 1, 3, tokens=120), state("c", 1, 1.5), state("d", 5, 6)]
    report = build_report("run-1", "completed", steps, [given])

    assert report.critical_path == ["a", "b", "d"] and report.critical_seconds == 4.0
    assert report.seconds == 6.0
    assert report.slowest == ["b (2.00 s)", "a (1.00 s)", "d (1.00 s)"]
    assert report.waited == ["d started 2.0 s after it was ready"]
    assert report.needless_dependencies == ["c waits for a but never reads its output"]
    text = report_text(report)
    assert "critical path (4.00 s): a -> b -> d" in text
    assert "could run in parallel: c waits for a" in text
    assert [r.tokens for r in report.steps] == [0, 120, 0, 0]


async def test_report_and_watch_from_the_command_line(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    handle = await start(client, task_queue, workspace, plan=DEMO_PLAN, review=False)
    watched = await starter(client, "watch", handle.id)  # follows until the run ends
    assert watched.returncode == 0, watched.stderr
    assert "[+] succeeded write" in watched.stdout and "Answer:" in watched.stdout

    shown = await starter(client, "report", handle.id)
    assert shown.returncode == 0, shown.stderr
    assert "critical path" in shown.stdout and "read -> total -> write" in shown.stdout
    machine = json.loads((await starter(client, "report", handle.id, "--json")).stdout)
    assert machine["status"] == "completed" and len(machine["steps"]) == 3
    missing = await starter(client, "report", "no-such-run")
    assert missing.returncode == 2 and "run no-such-run:" in missing.stderr
