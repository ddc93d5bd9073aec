"""A text's length the goal asks for, checked as written: N sentences, a shorter summary."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Review
from durable_agents.workflows.completion import asked_sentences
from durable_agents.workflows.deliverables import check, deliverables_for
from tests.fake_llm import FakeLlm
from tests.workflows.deliverable_plans import inspected
from tests.workflows.runs import plan, run_to_end


def test_a_text_of_at_most_n_sentences_is_checked() -> None:
    assert asked_sentences("Summarize data/notes.txt in two sentences and write it") == 2
    assert asked_sentences("Explain it in a single sentence") == 1
    assert asked_sentences("Summarize data/notes.txt to out/s.txt") is None
    goal = "Summarize data/notes.txt in two sentences and write the summary to out/summary.txt"
    [named] = deliverables_for(goal, [], sentences=2)
    long = "The export writes CSV. Sessions last 12 hours. A crash was fixed. Pages load fast."
    assert check(named, inspected(long)).problems == [
        "out/summary.txt has 4 sentences; the goal asks for at most 2: shorten it (e.g. ask "
        "the llm step for exactly 2)"
    ]
    assert check(named, inspected("Exports gained headers. Sessions last longer.")).passed


async def test_a_summary_no_shorter_than_its_text_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    notes = "Exports gained a header row.\nSessions last 12 hours.\n"
    (workspace / "data/notes.txt").write_text(notes)
    read = {"id": "read", "action": "file_read", "params": {"path": "data/notes.txt"}}

    def write(text: str) -> dict[str, object]:
        return {
            "id": "write",
            "action": "file_write",
            "depends_on": ["read"],
            "params": {"path": "out/summary.txt", "content": text},
        }

    fake_llm.plans.extend(
        [plan(read, write(notes + "That is all there is to say.")), plan(read, write("Headers."))]
    )
    fake_llm.reviews.append(Review(verdict="done", answer="summarized"))
    goal = "Summarize data/notes.txt and write the summary to out/summary.txt"
    # the new plan replaces the run's own file
    result = await run_to_end(client, task_queue, workspace, goal=goal, approve=("write",))
    feedback = fake_llm.plan_requests[1].feedback or ""
    assert "out/summary.txt (81 bytes) is not shorter than what it summarizes (53" in feedback
    assert (workspace / "out/summary.txt").read_text() == "Headers."
    assert result.status == "succeeded"
