"""The agent (ReAct) step: a scripted model calls tools; each call is a checked activity."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import AgentTurn, ApprovalDecision, ToolCall, Usage
from durable_agents.workflows.agent import AgentWorkflow
from tests.fake_llm import FakeLlm
from tests.workflows.runs import activity_types, assert_replays, pending_approval, plan, start

USAGE = Usage(calls=1, prompt_tokens=100, completion_tokens=10, model="fake-model")


def calls(*tools: tuple[str, dict[str, object]]) -> AgentTurn:
    return AgentTurn(
        tool_calls=[
            ToolCall(id=f"c{n}", name=name, arguments=json.dumps(arguments))
            for n, (name, arguments) in enumerate(tools)
        ],
        usage=USAGE,
    )


def agent_plan(task: str, tools: list[str], **extra: object) -> dict[str, object]:
    return {"id": "agent", "action": "agent", "params": {"task": task, "tools": tools, **extra}}


async def test_the_agent_calls_tools_then_answers(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    (workspace / "big.txt").write_text("x" * 5000)
    fake_llm.turns.extend(
        [
            calls(("file_read", {"path": "data/sales.csv"}), ("file_read", {"path": "big.txt"})),
            calls(("file_write", {"path": "out/summary.txt", "content": "4 regions"})),
            AgentTurn(content="Wrote out/summary.txt: 4 regions.", usage=USAGE),
        ]
    )
    task = "Summarise data/sales.csv into out/summary.txt"
    given = plan(agent_plan(task, ["file_read", "file_write"]))
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    result = await handle.result()

    output = result.steps[0].output
    assert isinstance(output, dict)
    assert output["answer"] == "Wrote out/summary.txt: 4 regions." and output["turns"] == 3
    tool_calls = output["tool_calls"]
    assert isinstance(tool_calls, list)
    assert [(c["tool"], c["status"]) for c in tool_calls] == [  # type: ignore[index,call-overload]
        ("file_read", "succeeded"),
        ("file_read", "succeeded"),
        ("file_write", "succeeded"),
    ]
    assert tool_calls[1]["output"] == "x" * 5000  # type: ignore[index,call-overload]
    assert (workspace / "out/summary.txt").read_text() == "4 regions"
    second = fake_llm.turn_requests[1].transcript
    assert [m["role"] for m in second] == ["assistant", "tool", "tool"]
    assert '"region": "North"' in str(second[1]["content"])  # the model saw the rows
    big = str(second[2]["content"])  # ... and a preview of the big file, with where it is
    assert len(big) < 2200
    assert big.endswith("[shortened; in full: steps.agent.output.tool_calls[1].output]")
    assert result.steps[0].usage and result.steps[0].usage.calls == 3
    assert await activity_types(handle) == [
        "agent_turn",
        "file_read",
        "file_read",
        "agent_turn",
        "file_write",
        "agent_turn",
    ]
    await assert_replays(handle)


async def test_tool_calls_meet_the_policy_and_the_people(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    (workspace / "keep.txt").write_text("keep")
    fake_llm.turns.extend(
        [
            calls(("file_read", {"path": "../../etc/passwd"}), ("sql_query", {"sql": "x"})),
            calls(("file_delete", {"path": "keep.txt"}), ("file_read", {"colour": "red"})),
            AgentTurn(content="Could not delete keep.txt: a person said no.", usage=USAGE),
        ]
    )
    tools = ["file_read", "file_delete"]
    given = plan(agent_plan("tidy up", tools, max_iterations=3))
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    pending = await pending_approval(handle, "agent")
    assert pending.action == "file_delete" and pending.arguments == {
        "path": "keep.txt",
        "missing_ok": False,
    }
    await handle.signal(AgentWorkflow.reject, ApprovalDecision(step_id="agent", note="no"))
    result = await handle.result()

    output = result.steps[0].output
    assert isinstance(output, dict) and isinstance(output["tool_calls"], list)
    assert [c["status"] for c in output["tool_calls"]] == [  # type: ignore[index,call-overload]
        "blocked",
        "refused",
        "refused",
        "invalid",
    ]
    assert (workspace / "keep.txt").read_text() == "keep"
    assert [r.final for r in fake_llm.turn_requests] == [False, False, True]
    assert await activity_types(handle) == ["agent_turn"] * 3  # no tool ran
