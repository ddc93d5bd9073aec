"""Typed answers of ``llm`` steps (``output_schema``): constrained, validated, repaired
once, and referenced field by field by later steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.llm import LlmActivities
from durable_agents.contracts import ActionContext
from durable_agents.contracts.actions import LlmParams
from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.workers import agent_worker
from tests.scripted_llm import ScriptedLlm
from tests.workflows.runs import plan, start

LABEL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "label": {"enum": ["bug", "question"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["label", "confidence"],
    "additionalProperties": False,
}
CONTEXT = ActionContext(run_id="r", step_id="classify", workspace="/tmp")


def activities(scripted: ScriptedLlm) -> LlmActivities:
    settings = Settings(openai_base_url=scripted.base_url, openai_api_key="sk-test", model="m")
    return LlmActivities(LlmProvider(settings))


def ask(schema: dict[str, Any] = LABEL) -> LlmParams:
    return LlmParams(prompt="Is 'it crashes on start' a bug or a question?", output_schema=schema)


async def test_an_answer_that_matches_is_the_output(scripted_llm: ScriptedLlm) -> None:
    scripted_llm.queue("answer", json.dumps({"label": "bug", "confidence": 0.9}))
    result = await ActivityEnvironment().run(activities(scripted_llm).llm, CONTEXT, ask())

    assert result.output == {"label": "bug", "confidence": 0.9}
    sent = scripted_llm.requests[0]["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "answer", "schema": LABEL}}


async def test_a_wrong_answer_is_sent_back_once_with_what_is_wrong(
    scripted_llm: ScriptedLlm,
) -> None:
    scripted_llm.queue(
        "answer",
        json.dumps({"label": "feature", "confidence": 2}),
        json.dumps({"label": "question", "confidence": 0.6}),
    )
    result = await ActivityEnvironment().run(activities(scripted_llm).llm, CONTEXT, ask())

    assert result.output == {"label": "question", "confidence": 0.6}
    assert result.usage is not None and result.usage.calls == 2
    repair = scripted_llm.requests[1]["messages"][-1]["content"]
    assert "confidence: 2 is greater than the maximum of 1" in repair
    assert "label: 'feature' is not one of ['bug', 'question']" in repair


async def test_two_wrong_answers_fail_the_step_for_good_with_both_problems(
    scripted_llm: ScriptedLlm,
) -> None:
    scripted_llm.queue("answer", "not json", json.dumps({"label": "bug"}))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities(scripted_llm).llm, CONTEXT, ask())

    assert caught.value.type == "LlmBadAnswer" and caught.value.non_retryable
    assert "not valid JSON" in caught.value.message
    assert "'confidence' is a required property" in caught.value.message


async def test_a_schema_that_is_not_one_is_refused_without_asking(
    scripted_llm: ScriptedLlm,
) -> None:
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            activities(scripted_llm).llm, CONTEXT, ask({"type": "thing"})
        )
    assert caught.value.type == "InvalidParams" and "not a valid JSON schema" in str(caught.value)
    assert scripted_llm.requests == []


async def test_a_later_step_references_a_field_of_the_typed_answer(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    scripted_llm.queue("answer", json.dumps({"label": "bug", "confidence": 0.8}))
    classify = {"id": "classify", "action": "llm", "params": ask().model_dump()}
    label = "${steps.classify.output.label}"
    write = {"id": "write", "action": "file_write"}
    write["params"] = {"path": "out/label.txt", "content": label}
    settings = Settings(openai_base_url=scripted_llm.base_url, model="m", task_queue=task_queue)
    async with agent_worker(client, settings):
        handle = await start(
            client, task_queue, workspace, plan=plan(classify, write), review=False
        )
        result = await handle.result()

    assert result.status == "succeeded"
    assert (workspace / "out/label.txt").read_text() == "bug"
