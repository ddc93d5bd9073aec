"""Data a goal carries itself, and the data in an HTTP response's body: plans that read
either wrongly are set right before they run (measured: post_ticket, user_one)."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision, Plan, Policy, Review
from durable_agents.workflows.agent import AgentWorkflow
from durable_agents.workflows.kept_outputs import amend_fields_of_responses, amend_written_results
from durable_agents.workflows.plan_checks import fingerprint, placeholder_requests
from durable_agents.workflows.quoted_data import amend_missing_reads, quoted_json
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp
from tests.workflows.runs import assert_replays, pending_approval, plan, start

TICKET = {"title": "printer broken", "priority": "high"}
POST_GOAL = f"POST the JSON {json.dumps(TICKET)} to http://127.0.0.1/tickets"
MISSING = "FileNotFound: no such file in the workspace: 'data/ticket.json'"


def test_the_one_json_value_a_goal_quotes() -> None:
    assert quoted_json(POST_GOAL) == TICKET
    assert quoted_json("POST [1, 2] to http://x.test/n") == [1, 2]
    assert quoted_json("Write {a} to out/x.txt") is None  # not JSON
    assert quoted_json('Send {"a": 1} and {"b": 2}') is None  # which one?
    assert quoted_json("Count the rows in data/sales.csv") is None


def ticket_plan(url: str = "http://127.0.0.1/tickets") -> Plan:
    return plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/ticket.json"}},
        {
            "id": "post",
            "action": "http_request",
            "depends_on": ["read"],
            "params": {"url": url, "method": "POST", "json_body": "${steps.read.output}"},
        },
    )


def test_a_missing_file_the_goal_never_named_gives_way_to_its_json() -> None:
    given = ticket_plan()
    failed = {fingerprint(given.steps[0]): MISSING}
    amended, changes = amend_missing_reads(POST_GOAL, given, failed)
    assert [s.id for s in amended.steps] == ["post"]
    assert amended.steps[0].params["json_body"] == TICKET
    assert amended.steps[0].depends_on == []
    assert changes == [
        "the goal's own JSON instead of step 'read' (data/ticket.json does not exist)"
    ]
    # never read yet, or read and there: the planner's guess stands
    assert amend_missing_reads(POST_GOAL, given, {})[1] == []
    there = {fingerprint(given.steps[0]): "InvalidData: not JSON"}
    assert amend_missing_reads(POST_GOAL, given, there)[1] == []
    named = POST_GOAL + " and data/ticket.json"  # a file the goal names is not replaced
    assert amend_missing_reads(named, given, failed)[1] == []


def test_a_field_of_a_response_is_read_from_its_body() -> None:
    """Measured (user_one): ${steps.read_user.output.name}, four plans in a row."""
    given = plan(
        {"id": "get", "action": "http_request", "params": {"url": "http://x.test/users/1"}},
        {
            "id": "write",
            "action": "file_write",
            "params": {
                "path": "out/u.txt",
                "content": "${steps.get.output.name} (${steps.get.output.status})",
            },
        },
    )
    amended, changes = amend_fields_of_responses(given, {"get"})
    content = "${steps.get.output.body.name} (${steps.get.output.status})"
    assert amended.steps[1].params["content"] == content
    assert changes == ["step 'write' reads steps.get.output.name from the response's body"]
    assert amend_fields_of_responses(given, set())[1] == []


async def test_a_post_of_the_goals_json_is_made_after_an_invented_file_is_missing(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    received: list[object] = []

    def tickets(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        received.append(json.loads(body))
        return 201, {}, b'{"id": 7}'

    api = LocalHttp({"/tickets": tickets})
    try:
        goal = f"POST the JSON {json.dumps(TICKET)} to {api.url('/tickets')}"
        fake_llm.plans += [ticket_plan(api.url("/tickets")), ticket_plan(api.url("/tickets"))]
        fake_llm.reviews.append(Review(verdict="done", answer="ticket 7 created"))
        policy = Policy(allow_hosts=["127.0.0.1"])
        handle = await start(client, task_queue, workspace, goal=goal, policy=policy)
        await pending_approval(handle, "post")  # a POST is external: a person approves it
        await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="post"))
        result = await handle.result()
    finally:
        api.stop()
    assert result.status == "succeeded", result.error
    assert received == [TICKET]
    assert "the goal's own JSON instead of step 'read'" in result.plans[1].reason
    await assert_replays(handle)


async def test_a_name_read_from_a_response_is_written(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    user = {"id": 1, "name": "Leanne Graham"}
    json_type = {"Content-Type": "application/json"}
    api = LocalHttp({"/users/1": lambda h, body: (200, json_type, json.dumps(user).encode())})
    try:
        fake_llm.plans.append(
            plan(
                {"id": "get", "action": "http_request", "params": {"url": api.url("/users/1")}},
                {
                    "id": "write",
                    "action": "file_write",
                    "params": {"path": "out/user1.txt", "content": "${steps.get.output.name}"},
                },
            )
        )
        fake_llm.reviews.append(Review(verdict="done", answer="Leanne Graham"))
        goal = f"Look up user 1 at {api.url('/users/1')} and write their name to out/user1.txt"
        policy = Policy(allow_hosts=["127.0.0.1"])
        handle = await start(client, task_queue, workspace, goal=goal, policy=policy)
        result = await handle.result()
    finally:
        api.stop()
    assert result.status == "succeeded", result.error
    assert (workspace / "out/user1.txt").read_text() == "Leanne Graham"
    assert len(fake_llm.plan_requests) == 1
    await assert_replays(handle)


def test_a_placeholder_address_the_goal_never_names_is_refused() -> None:
    """Measured (sql_insert): a POST to api.example.com for a row in a PostgreSQL table."""
    goal = "Insert a row with the note 'backup done' into the PostgreSQL table evals_notes"
    posted = plan(
        {
            "id": "insert_row",
            "action": "http_request",
            "params": {"url": "https://api.example.com/evals_notes", "method": "POST"},
        }
    )
    [problem] = placeholder_requests(posted, goal)
    assert problem.startswith(
        "step 'insert_row' requests https://api.example.com/evals_notes, a placeholder "
        "address from the examples that the goal does not name"
    )
    assert placeholder_requests(posted, "POST it to https://api.example.com/evals_notes") == []
    real = plan({"id": "get", "action": "http_request", "params": {"url": "http://api.test/u"}})
    assert placeholder_requests(real, goal) == []
    odd = plan({"id": "get", "action": "http_request", "params": {"url": "http://x.invalid/"}})
    assert len(placeholder_requests(odd, goal)) == 1


async def test_a_plan_posting_to_a_placeholder_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    placeholder = {"url": "https://api.example.com/notes", "method": "POST", "json_body": {}}
    fake_llm.plans.append(plan({"id": "post", "action": "http_request", "params": placeholder}))
    fake_llm.plans.append(
        plan({"id": "note", "action": "file_write", "params": {"path": "n.txt", "content": "x"}})
    )
    fake_llm.reviews.append(Review(verdict="done", answer="noted"))
    handle = await start(client, task_queue, workspace, goal="Write x to n.txt")
    result = await handle.result()
    assert result.status == "succeeded", result.error
    assert "a placeholder address" in fake_llm.plan_requests[1].errors[0]
    assert (workspace / "n.txt").read_text() == "x"
    await assert_replays(handle)


def test_a_file_of_a_querys_result_holds_its_rows() -> None:
    """Measured (sql_select): {"rows": [...], "row_count": 2, ...} written for the rows."""
    given = plan(
        {"id": "q", "action": "sql_query", "params": {"sql": "SELECT id FROM orders"}},
        {
            "id": "w",
            "action": "file_write",
            "params": {"path": "o.json", "content": "${steps.q.output}"},
        },
        {
            "id": "n",
            "action": "file_write",
            "params": {"path": "n.json", "content": "${steps.q.output.row_count}"},
        },
    )
    amended, changes = amend_written_results(given, {"q"})
    assert amended.steps[1].params["content"] == "${steps.q.output.rows}"
    assert amended.steps[2] == given.steps[2]  # a field of the result is what it says
    assert changes == ["step 'w' writes the rows of q"]
    assert amend_written_results(given, set())[1] == []
