"""``RunInput.review_checked``: a run whose every deliverable passed its content checks
in code may finish without the reviewer; one with a file checked only for presence never
does."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.cli.run_input import reviews_checked
from durable_agents.contracts import Plan, Review
from durable_agents.runtime.settings import Settings
from tests.fake_llm import FakeLlm
from tests.workflows.runs import plan, run_to_end

LIST_GOAL = "List the distinct regions in data/sales.csv as a JSON array in out/regions.json"


def regions_plan(path: str = "out/regions.json") -> Plan:
    listed = {"input": "${steps.read.output}", "compute": "distinct", "field": "region"}
    return plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}},
        {"id": "regions", "action": "records", "params": listed},
        {
            "id": "write",
            "action": "file_write",
            "params": {"path": path, "content": "${steps.regions.output}"},
        },
    )


async def test_a_checked_result_is_done_without_the_reviewer_when_the_run_says_so(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Measured (csv_to_json): the embedded reviewer sent a correct, checked file back."""
    fake_llm.plans.append(regions_plan())
    result = await run_to_end(client, task_queue, workspace, goal=LIST_GOAL, review_checked=False)
    assert result.status == "succeeded", result.error
    assert fake_llm.review_requests == []
    assert result.deliverables[0].content_checked and result.deliverables[0].passed
    assert sorted(json.loads((workspace / "out/regions.json").read_text())) == [
        "East",
        "North",
        "South",
        "West",
    ]


async def test_the_reviewer_judges_checked_results_by_default(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(regions_plan())
    fake_llm.reviews.append(Review(verdict="done", answer="four regions"))
    result = await run_to_end(client, task_queue, workspace, goal=LIST_GOAL)
    assert result.status == "succeeded", result.error
    assert len(fake_llm.review_requests) == 1


async def test_a_file_only_present_still_goes_to_the_reviewer(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    goal = "Write the distinct regions of data/sales.csv to out/regions.txt"
    fake_llm.plans.append(regions_plan("out/regions.txt"))
    fake_llm.reviews.append(Review(verdict="done", answer="four regions"))
    result = await run_to_end(client, task_queue, workspace, goal=goal, review_checked=False)
    assert result.status == "succeeded", result.error
    assert not result.deliverables[0].content_checked
    assert len(fake_llm.review_requests) == 1  # nothing but the reviewer judges its content


def test_the_embedded_models_runs_skip_reviewing_checked_results_by_default() -> None:
    embedded, hosted = Settings(), Settings(openai_base_url="http://127.0.0.1:1/v1")
    default = argparse.Namespace(review_checked=None)
    assert not reviews_checked(default, embedded)
    assert reviews_checked(default, hosted)
    assert reviews_checked(argparse.Namespace(review_checked=True), embedded)
    assert not reviews_checked(argparse.Namespace(review_checked=False), hosted)
