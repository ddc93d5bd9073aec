"""Which successes are backed by something checked in code, and which rest on a model."""

from __future__ import annotations

from typing import Any

from durable_agents.cli.outcome import effects, unverified
from durable_agents.contracts import RunResult, StepStatus
from durable_agents.contracts.deliverables import DeliverableCheck
from durable_agents.contracts.run import Usage
from tests.workflows.runs import plan


def result(*steps: dict[str, Any], checks: list[DeliverableCheck] | None = None) -> RunResult:
    given = plan(*steps)
    return RunResult.model_validate(
        {
            "status": "succeeded",
            "answer": "done",
            "steps": [
                {
                    "id": s["id"],
                    "title": s["id"],
                    "action": s["action"],
                    "plan_version": 1,
                    "status": StepStatus.SUCCEEDED,
                }
                for s in steps
            ],
            "usage": Usage().model_dump(),
            "plans": [{"version": 1, "plan": given.model_dump(), "reason": "initial plan"}],
            "deliverables": [c.model_dump() for c in checks or []],
        }
    )


def test_reads_alone_are_unverified_and_effects_or_checks_are_not() -> None:
    read = {"id": "get", "action": "http_request", "params": {"url": "https://x.test/a"}}
    select = {"id": "q", "action": "sql_query", "params": {"sql": "SELECT 1"}}
    assert unverified(result(read, select))
    post = {
        "id": "post",
        "action": "http_request",
        "params": {"url": "https://x.test/a", "method": "POST"},
    }
    insert = {
        "id": "ins",
        "action": "sql_query",
        "params": {"sql": "INSERT INTO notes (note) VALUES ($1)", "params": ["x"]},
    }
    write = {"id": "w", "action": "file_write", "params": {"path": "a.txt", "content": "x"}}
    assert effects(result(read, post, select, insert, write)) == ["post", "ins", "w"]
    checked = DeliverableCheck(path="out/a.json", passed=True, content_checked=False)
    assert not unverified(result(read, checks=[checked]))
