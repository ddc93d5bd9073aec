"""A summary is shorter than its text: an ``llm`` step that summarizes a read file is
given a word budget of half the file's words (``workflows.summaries``)."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.client import Client

from durable_agents.contracts import ActionContext, ActionResult, Plan, Review
from durable_agents.contracts.actions import LlmParams
from durable_agents.workflows.summaries import amend_summary_budgets, text_words
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.workflows.runs import assert_replays, plan, start

GOAL = "Summarize data/notes.txt in two sentences and write it to out/summary.txt"
READ = {"id": "read", "action": "file_read", "params": {"path": "data/notes.txt"}}
SUMMARIZE = {
    "id": "sum",
    "action": "llm",
    "depends_on": ["read"],
    "params": {"prompt": "Summarize: ${steps.read.output}"},
}
WRITE = {
    "id": "write",
    "action": "file_write",
    "depends_on": ["sum"],
    "params": {"path": "out/summary.txt", "content": "${steps.sum.output}"},
}


def prompt_of(amended: Plan) -> str:
    [step] = [s for s in amended.steps if s.id == "sum"]
    return str(step.params["prompt"])


def test_an_llm_step_summarizing_a_read_text_gets_half_its_words() -> None:
    given = plan(READ, SUMMARIZE, WRITE)
    amended, changes = amend_summary_budgets(GOAL, given, {"data/notes.txt": 36})
    assert prompt_of(amended) == (
        "Summarize: ${steps.read.output}\n\n"
        "Use at most 18 words: a summary is shorter than its text (36 words)."
    )
    assert changes == ["step 'sum' summarizes in at most 18 words"]
    assert amend_summary_budgets(GOAL, amended, {"data/notes.txt": 36}) == (amended, [])


def test_a_short_text_still_allows_a_sentence_and_a_kept_read_counts() -> None:
    kept_read = plan(READ).steps
    given = plan(SUMMARIZE, WRITE)  # a re-plan: the read succeeded and is kept
    amended, _ = amend_summary_budgets(GOAL, given, {"data/notes.txt": 6}, kept_read)
    assert "Use at most 10 words" in prompt_of(amended)


def test_only_summaries_of_read_texts_are_budgeted() -> None:
    given = plan(READ, SUMMARIZE, WRITE)
    other_goal = "Translate data/notes.txt to French into out/fr.txt"
    assert amend_summary_budgets(other_goal, given, {"data/notes.txt": 36}) == (given, [])
    assert amend_summary_budgets(GOAL, given, {"data/other.txt": 36}) == (given, [])
    fetch = {**READ, "action": "http_request", "params": {"url": "http://a.test"}}
    unread = plan(fetch, SUMMARIZE, WRITE)  # a response, not a read text: no count
    assert amend_summary_budgets(GOAL, unread, {"data/notes.txt": 36}) == (unread, [])


def test_the_text_a_read_returned_counts_over_the_look() -> None:
    read = plan({**READ, "params": {"path": "./data/notes.txt"}}).steps
    words = text_words({"data/notes.txt": 3, "a.txt": 5}, read, {"read": "one two three four"})
    assert words == {"data/notes.txt": 4, "a.txt": 5}


async def test_a_run_summarizing_a_file_asks_the_model_for_half_its_words(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm
) -> None:
    notes = " ".join(f"word{n}" for n in range(40)) + "\n"
    (workspace / "data/notes.txt").write_text(notes)
    prompts: list[str] = []

    @activity.defn(name="llm")
    async def llm(context: ActionContext, params: LlmParams) -> ActionResult:
        prompts.append(params.prompt)
        return ActionResult(output="Forty words, in short.")

    fake_llm.plans.append(plan(READ, SUMMARIZE, WRITE))
    fake_llm.reviews.append(Review(verdict="done", answer="summarized"))
    async with running_worker(client, task_queue, fake_llm, extra=[llm]):
        handle = await start(client, task_queue, workspace, goal=GOAL)
        result = await handle.result()
        await assert_replays(handle)

    assert result.status == "succeeded"
    assert prompts == [
        f"Summarize: {notes}\n\nUse at most 20 words: a summary is shorter than its text "
        "(40 words)."
    ]
    assert (workspace / "out/summary.txt").read_text() == "Forty words, in short."
    assert "step 'sum' summarizes in at most 20 words" in result.plans[0].reason
