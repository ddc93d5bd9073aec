"""Data from the URLs a goal names: requested, not made up; the data, not the response."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Policy, Review, Step, StepState, StepStatus
from durable_agents.workflows.completion import named_urls, unrequested_urls
from durable_agents.workflows.deliverables import check, deliverables_for
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp
from tests.workflows.deliverable_plans import PARIS, inspected, write_step
from tests.workflows.runs import plan, run_to_end


def test_a_goals_file_holds_data_not_a_whole_http_response() -> None:
    response = {"status": 200, "headers": {"content-type": "application/json"}, "body": PARIS}
    goal = "Fetch the users from http://api.test/users and save them to out/users.json"
    [named] = deliverables_for(goal, [], data=True)
    assert check(named, inspected(response)).problems == [
        "out/users.json holds a whole HTTP response (status, headers, body), not its data: "
        "write the response's body, ${steps.<id>.output.body}"
    ]
    assert check(named, inspected(PARIS)).passed
    asked = "Fetch http://api.test/users and save the response with its headers to out/r.json"
    [whole] = deliverables_for(asked, [], data=True)
    assert check(whole, inspected(response)).passed  # the goal asked for the response


def test_a_text_file_holding_only_null_is_empty() -> None:
    """Measured: 'write their name to out/user1.txt' wrote null (a reference into the
    HTTP response that matched nothing); the reviewer accepted it."""
    goal = "Look up user 1 at http://api.test/users/1 and write their name to out/user1.txt"
    [named] = deliverables_for(goal, [], data=True)
    result = check(named, inspected("null\n"))
    assert result.problems == ["out/user1.txt is empty (null\n)"]
    assert check(named, inspected("Ann\n")).passed


def test_a_url_the_goal_fetches_from_must_be_requested() -> None:
    """Measured: 'Fetch the users from <url>, keep those in Paris' wrote records the
    model made up; the reviewer accepted them."""
    goal = "Fetch the users from http://api.test/users, keep Paris, save to out/p.json."
    assert named_urls(goal) == ["http://api.test/users"]

    def steps(url: str) -> tuple[list[StepState], dict[str, Step]]:
        given = plan({"id": "get", "action": "http_request", "params": {"url": url}})
        done = StepState(
            id="get",
            title="get",
            action="http_request",
            plan_version=1,
            status=StepStatus.SUCCEEDED,
        )
        return [done], {s.id: s for s in given.steps}

    assert unrequested_urls(goal, [], {}) == ["http://api.test/users"]
    assert unrequested_urls(goal, *steps("http://api.test/users")) == []
    assert unrequested_urls(goal, *steps("http://api.test/users?city=Paris")) == []
    assert unrequested_urls(goal, *steps("http://other.test/users")) == ["http://api.test/users"]
    assert unrequested_urls("Write the link http://a.test to out/l.txt", [], {}) == []


async def test_data_made_up_instead_of_fetched_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    api = LocalHttp({"/users": lambda h, body: (200, {}, json.dumps(PARIS).encode())})
    try:
        made_up = plan(write_step([{"name": "x", "city": "Paris"}]))
        fetched = plan(
            {"id": "get", "action": "http_request", "params": {"url": api.url("/users")}},
            {**write_step("${steps.get.output.body}"), "depends_on": ["get"]},
        )
        fake_llm.plans.extend([made_up, fetched])
        fake_llm.reviews.append(Review(verdict="done", answer="two Paris users"))
        goal = f"Fetch the users from {api.url('/users')} and save them to out/paris.json"
        allowed = Policy(allow_hosts=["127.0.0.1"])
        # the new plan replaces the run's own file
        result = await run_to_end(
            client, task_queue, workspace, goal=goal, policy=allowed, approve=("write",)
        )
    finally:
        api.stop()
    feedback = fake_llm.plan_requests[1].feedback or ""
    assert f"the goal names {api.url('/users')}, but no step requested it" in feedback
    assert json.loads((workspace / "out/paris.json").read_text()) == PARIS
    assert result.status == "succeeded"
