"""LLM activities over a scripted OpenAI-compatible HTTP server (the real client path)."""

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.llm import LlmActivities
from durable_agents.activities.plan_answers import with_full_references
from durable_agents.activities.prompts import plan_messages, plan_schema
from durable_agents.contracts import (
    ActionContext,
    AgentTurnRequest,
    Plan,
    PlanRequest,
    RecoverRequest,
    ReviewRequest,
    Step,
    StepDigest,
    StepState,
)
from durable_agents.contracts.actions import LlmParams
from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.settings import Settings
from durable_agents.workflows.digest import lesson_text
from tests.scripted_llm import Fault, ScriptedLlm, ToolCalls

PLAN = {
    "steps": [
        {
            "id": "ls",
            "title": "List",
            "action": "file_list",
            "params": {"path": "."},
            "depends_on": [],
            "when": None,
            "expected_output": "files",
        }
    ]
}


_opened: list[LlmProvider] = []


@pytest.fixture(autouse=True)
async def close_providers() -> AsyncIterator[None]:
    """Close every client a test opened: an unclosed one warns at some later GC."""
    yield
    while _opened:
        await _opened.pop().aclose()


def activities(scripted: ScriptedLlm, seed: int | None = None) -> LlmActivities:
    settings = Settings(
        openai_base_url=scripted.base_url, openai_api_key="sk-test", model="m", llm_seed=seed
    )
    provider = LlmProvider(settings)
    _opened.append(provider)
    return LlmActivities(provider)


async def test_plan_uses_the_catalog_schema_and_records_usage(scripted_llm: ScriptedLlm) -> None:
    scripted_llm.queue("plan", PLAN)
    draft = await ActivityEnvironment().run(
        activities(scripted_llm).plan, PlanRequest(goal="list files")
    )
    assert draft.plan is not None and draft.plan.steps[0].action == "file_list"
    assert draft.usage.calls == 1 and draft.usage.prompt_tokens == 100
    request = scripted_llm.requests[0]
    assert request["response_format"]["json_schema"]["schema"] == plan_schema(step_options=True)
    assert "file_list" in request["messages"][0]["content"]
    assert "may also have foreach" in request["messages"][0]["content"]
    assert request["messages"][1]["content"] == "Goal: list files"


def test_step_options_are_offered_to_configured_models_only() -> None:
    offline, hosted = Settings(), Settings(openai_base_url="http://127.0.0.1:1/v1")
    assert not LlmProvider(offline).step_options and LlmProvider(hosted).step_options
    forced = Settings.from_env({"PLANNER_STEP_OPTIONS": "1"})
    assert LlmProvider(forced).step_options
    with pytest.raises(ValueError, match="PLANNER_STEP_OPTIONS must be 1 or 0"):
        Settings.from_env({"PLANNER_STEP_OPTIONS": "maybe"})
    basic = json.dumps(plan_schema(step_options=False))
    assert "foreach" not in basic and "on_failure" not in basic and '"when"' not in basic
    assert "foreach" in json.dumps(plan_schema(step_options=True))
    assert '"when"' in json.dumps(plan_schema(step_options=True))


async def test_a_seed_is_sent_only_when_set_and_moves_with_the_attempt(
    scripted_llm: ScriptedLlm,
) -> None:
    scripted_llm.queue("plan", PLAN)
    await ActivityEnvironment().run(activities(scripted_llm).plan, PlanRequest(goal="g"))
    assert "seed" not in scripted_llm.requests[0]

    third_attempt = ActivityEnvironment()
    third_attempt.info = dataclasses.replace(third_attempt.info, attempt=3)
    scripted_llm.queue("plan", PLAN)
    await third_attempt.run(activities(scripted_llm, seed=40).plan, PlanRequest(goal="g"))
    assert scripted_llm.requests[1]["seed"] == 42


async def test_exact_repeats_of_a_step_are_dropped(scripted_llm: ScriptedLlm) -> None:
    other = {**PLAN["steps"][0], "params": {"path": "data"}}
    scripted_llm.queue("plan", {"steps": [*PLAN["steps"], other, *PLAN["steps"]]})
    draft = await ActivityEnvironment().run(activities(scripted_llm).plan, PlanRequest(goal="g"))
    assert draft.plan is not None
    assert [s.params for s in draft.plan.steps] == [{"path": "."}, {"path": "data"}]


async def test_malformed_plan_json_comes_back_as_errors(scripted_llm: ScriptedLlm) -> None:
    scripted_llm.queue("plan", '{"steps": [')
    draft = await ActivityEnvironment().run(activities(scripted_llm).plan, PlanRequest(goal="g"))
    assert draft.plan is None and draft.raw == '{"steps": ['
    assert "Invalid JSON" in draft.errors[0]


async def test_repair_request_carries_errors_and_the_rejected_answer(
    scripted_llm: ScriptedLlm,
) -> None:
    scripted_llm.queue("plan", PLAN)
    request = PlanRequest(goal="g", errors=["step 'x': unknown action"], rejected_plan="{old}")
    await ActivityEnvironment().run(activities(scripted_llm).plan, request)
    prompt = scripted_llm.requests[0]["messages"][1]["content"]
    assert "{old}" in prompt and "- step 'x': unknown action" in prompt


async def test_rate_limit_honours_retry_after(scripted_llm: ScriptedLlm) -> None:
    scripted_llm.queue("plan", Fault(429, headers={"Retry-After": "4"}), Fault(500))
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as limited:
        await env.run(activities(scripted_llm).plan, PlanRequest(goal="g"))
    assert not limited.value.non_retryable
    assert limited.value.next_retry_delay == timedelta(seconds=4)
    with pytest.raises(ApplicationError) as broken:
        await env.run(activities(scripted_llm).plan, PlanRequest(goal="g"))
    assert not broken.value.non_retryable and broken.value.type == "LlmStatus500"
    assert len(scripted_llm.requests) == 2  # max_retries=0: no hidden client retries


async def test_bad_key_fails_fast(scripted_llm: ScriptedLlm) -> None:
    scripted_llm.queue("review", Fault(401, '{"error": {"message": "invalid api key"}}'))
    request = ReviewRequest(goal="g", steps=[], replans_left=0)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities(scripted_llm).review, request)
    assert caught.value.non_retryable and "HTTP 401 (check the API key)" in caught.value.message


async def test_review_and_unreadable_verdicts(scripted_llm: ScriptedLlm) -> None:
    scripted_llm.queue("review", {"answer": "North 643", "verdict": "done", "feedback": ""})
    scripted_llm.queue("review", '{"verdict": "maybe"}')
    steps = [StepDigest(id="a", title="A", action="file_read", status="succeeded")]
    request = ReviewRequest(goal="g", steps=steps, replans_left=1)
    llm = activities(scripted_llm)
    outcome = await ActivityEnvironment().run(llm.review, request)
    assert outcome.review.verdict == "done" and outcome.review.answer == "North 643"
    assert "1 of 1 steps succeeded." in scripted_llm.requests[0]["messages"][1]["content"]
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(llm.review, request)
    assert caught.value.type == "LlmBadAnswer" and not caught.value.non_retryable


async def test_llm_action_text_and_json(scripted_llm: ScriptedLlm) -> None:
    scripted_llm.queue("llm", "plain words", json.dumps({"n": 1}))
    llm = activities(scripted_llm)
    ctx = ActionContext(run_id="r", step_id="s", workspace="/tmp")
    text = await ActivityEnvironment().run(llm.llm, ctx, LlmParams(prompt="hi", system="be brief"))
    assert text.output == "plain words" and text.usage is not None and text.usage.calls == 1
    assert scripted_llm.requests[0]["messages"][0] == {"role": "system", "content": "be brief"}
    data = await ActivityEnvironment().run(llm.llm, ctx, LlmParams(prompt="hi", response="json"))
    assert data.output == {"n": 1}
    assert scripted_llm.requests[1]["response_format"] == {"type": "json_object"}


async def test_recover_asks_under_the_failed_actions_params_schema(
    scripted_llm: ScriptedLlm,
) -> None:
    answer = {"reason": "typo", "decision": "retry", "params": {"path": "data/sales.csv"}}
    scripted_llm.queue("recovery", answer, '{"reason": "x", "decision": "maybe"}')
    step = Step(id="read", title="Read", action="file_read", params={"path": "data/sale.csv"})
    request = RecoverRequest(
        goal="total sales",
        step=step,
        arguments={"path": "data/sale.csv", "format": "auto"},
        error="FileNotFound: no such file in the workspace: 'data/sale.csv'",
        attempt=1,
    )
    outcome = await ActivityEnvironment().run(activities(scripted_llm).recover, request)

    assert outcome.recovery.params == {"path": "data/sales.csv"} and outcome.usage.calls == 1
    sent = scripted_llm.requests[0]
    schema = sent["response_format"]["json_schema"]["schema"]
    assert "FileReadParams" in json.dumps(schema)
    assert "FileNotFound" in sent["messages"][1]["content"]
    with pytest.raises(ApplicationError) as bad:
        await ActivityEnvironment().run(activities(scripted_llm).recover, request)
    assert bad.value.type == "LlmBadAnswer" and not bad.value.non_retryable


async def test_an_agent_turn_offers_the_tools_and_returns_the_calls(
    scripted_llm: ScriptedLlm,
) -> None:
    scripted_llm.queue("tools", ToolCalls([("file_read", {"path": "data/sales.csv"})]), "done")
    turn = AgentTurnRequest(task="read the sales", tools=["file_read", "transform"])
    reply = await ActivityEnvironment().run(activities(scripted_llm).agent_turn, turn)

    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [
        ("file_read", {"path": "data/sales.csv"})
    ]
    sent = scripted_llm.requests[0]
    assert [t["function"]["name"] for t in sent["tools"]] == ["file_read", "transform"]
    assert sent["tool_choice"] == "auto" and sent["messages"][1]["content"] == "read the sales"

    last = turn.model_copy(update={"final": True})
    answer = await ActivityEnvironment().run(activities(scripted_llm).agent_turn, last)
    assert answer.content == "done" and answer.tool_calls == [] and answer.usage.calls == 1
    assert scripted_llm.requests[1]["tool_choice"] == "none"
    assert "final answer now" in scripted_llm.requests[1]["messages"][-1]["content"]


def test_the_planner_sees_successes_as_examples_and_failures_as_warnings() -> None:
    worked = "succeeded run for 'totals': worked: file_read -> records"
    failed = "failed run for 'totals': failed: file_read: FileNotFound"
    user = plan_messages(PlanRequest(goal="totals", lessons=[worked, failed]))[1]["content"]
    examples, warnings = user.split("Mistakes made on similar goals")
    assert "Plans that worked for similar goals (examples" in examples and worked in examples
    assert "never copy their steps" in warnings and failed in warnings
    alone = plan_messages(PlanRequest(goal="totals"))[1]["content"]
    assert "similar goals" not in alone


def test_an_example_shows_what_worked_not_the_errors_its_run_met() -> None:
    """Measured: 'failed: records: where region == "North" ...' in a succeeded run's lesson
    was planned again, as if part of the example, by a goal asking for every record."""
    steps = [
        StepState(id="r", title="Read", action="file_read", plan_version=1, status="succeeded"),
        StepState(
            id="n", title="North", action="records", plan_version=1, status="failed", error="x"
        ),
    ]
    lesson = "succeeded run for 'convert': " + lesson_text("succeeded", "done", steps, [])
    assert lesson.endswith("worked: file_read (Read). failed: records: x")
    user = plan_messages(PlanRequest(goal="convert", lessons=[lesson]))[1]["content"]
    assert "worked: file_read (Read)" in user and "records: x" not in user


def test_the_planner_sees_the_inputs_right_after_the_goal() -> None:
    seen = "data/sales.csv: CSV, 12 rows, columns date, region, product, units, revenue"
    request = PlanRequest(goal="units per product", observations=[seen], lessons=["x"])
    user = plan_messages(request)[1]["content"]
    assert user.startswith(
        "Goal: units per product\n\nWhat the inputs look like (read before planning; use "
        "these exact field and column names):\n- data/sales.csv: CSV, 12 rows"
    )
    assert user.index(seen) < user.index("Mistakes made on similar goals")
    assert "What the inputs look like" not in plan_messages(PlanRequest(goal="x"))[1]["content"]


async def test_an_llm_span_never_carries_a_providers_error_text(
    scripted_llm: ScriptedLlm,
) -> None:
    """A 401 may echo the key: the span records the error's type, not its text."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    echoed = "sk-echoed-secret-0123456789"
    scripted_llm.queue("review", Fault(401, json.dumps({"error": {"message": echoed}})))
    provider = LlmProvider(
        Settings(openai_base_url=scripted_llm.base_url, openai_api_key=echoed, model="m")
    )
    _opened.append(provider)
    traced = LlmActivities(provider, tracer_provider.get_tracer("test"))
    request = ReviewRequest(goal="g", steps=[], replans_left=0)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(traced.review, request)

    [span] = exporter.get_finished_spans()
    assert span.attributes is not None and span.attributes["error.type"] == "AuthenticationError"
    assert span.status.status_code is StatusCode.ERROR
    exported = json.dumps(
        [str(span.status.description), [e.attributes for e in span.events], dict(span.attributes)],
        default=str,
    )
    assert echoed not in exported


async def test_a_streamed_answer_heartbeats_the_tokens_written_so_far(
    scripted_llm: ScriptedLlm,
) -> None:
    """With streaming (the embedded model's default, LLM_STREAM=1 for others) each beat
    carries how far the model has got: what the Web UI and starter.py show while a slow
    model plans."""
    settings = Settings(
        openai_base_url=scripted_llm.base_url, openai_api_key="sk-test", model="m", llm_stream=True
    )
    provider = LlmProvider(settings)
    _opened.append(provider)
    scripted_llm.queue("plan", PLAN)
    scripted_llm.streaming.clear()  # the server stops half-way through the answer
    beats: list[dict[str, int]] = []
    env = ActivityEnvironment()

    def beat(*details: object) -> None:
        if details and isinstance(details[0], dict):
            beats.append(details[0])
            if details[0]["tokens_written"] > 0:
                scripted_llm.streaming.set()  # seen mid-answer: let it finish

    env.on_heartbeat = beat
    draft = await env.run(LlmActivities(provider).plan, PlanRequest(goal="list files"))
    assert draft.plan is not None and draft.plan.steps[0].action == "file_list"
    pieces = -(-len(json.dumps(PLAN)) // 4)
    assert draft.usage.completion_tokens == pieces and draft.usage.prompt_tokens == 100
    written = [b["tokens_written"] for b in beats]
    assert 0 < max(written) <= pieces and written == sorted(written)
    assert scripted_llm.requests[0]["stream"] is True


async def test_an_llm_step_run_as_a_local_activity_does_not_heartbeat(
    scripted_llm: ScriptedLlm,
) -> None:
    """A local activity is unknown to the server: each beat would be refused (measured:
    a warning per beat per step in the worker's log, with local_llm_steps)."""
    settings = Settings(
        openai_base_url=scripted_llm.base_url, openai_api_key="sk-test", model="m", llm_stream=True
    )
    provider = LlmProvider(settings)
    _opened.append(provider)
    scripted_llm.queue("llm", "an answer")
    beats: list[object] = []
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, is_local=True)
    env.on_heartbeat = lambda *details: beats.append(details)
    context = ActionContext(run_id="r", step_id="ask", workspace="/tmp")
    result = await env.run(LlmActivities(provider).llm, context, LlmParams(prompt="q"))
    assert result.output == "an answer"
    assert beats == []


def test_an_expert_planner_states_deliverables_and_they_reach_the_plan() -> None:
    expert, basic = plan_schema(step_options=True), plan_schema(step_options=False)
    assert "deliverables" in expert["properties"] and "deliverables" not in basic["properties"]
    assert 'state "deliverables"' in plan_messages(PlanRequest(goal="g"), True)[0]["content"]
    stated = {**PLAN, "deliverables": [{"path": "out/a.json", "shape": "list"}]}
    assert Plan.model_validate(stated).deliverables[0].shape == "list"


async def test_a_repair_samples_warmer_with_another_seed(scripted_llm: ScriptedLlm) -> None:
    """Asked again with the same seed, the 1.5B model repeated the same failed step."""
    scripted_llm.queue("plan", PLAN, PLAN)
    llm = activities(scripted_llm, seed=5)
    await ActivityEnvironment().run(llm.plan, PlanRequest(goal="g"))
    await ActivityEnvironment().run(llm.plan, PlanRequest(goal="g", variation=2))
    first, repair = scripted_llm.requests
    assert (first["seed"], first["temperature"]) == (5, 0.2)
    assert repair["seed"] == 2005 and repair["temperature"] == pytest.approx(0.6)


async def test_an_llm_step_redone_by_a_new_plan_samples_differently(
    scripted_llm: ScriptedLlm,
) -> None:
    """Measured: a summary failed its check, the re-plan redid the same llm step with the
    same seed, and it wrote the same too-long text."""
    scripted_llm.queue("llm", "first", "second")
    llm = activities(scripted_llm, seed=5)
    params = LlmParams(prompt="Summarize: ...")
    for variation in (0, 1):
        context = ActionContext(run_id="r", step_id="s", workspace="/tmp", variation=variation)
        await ActivityEnvironment().run(llm.llm, context, params)
    assert [r["seed"] for r in scripted_llm.requests] == [5, 1005]


def test_a_reference_without_steps_prefix_is_written_out() -> None:
    """Measured: '${lookup_user.output}' four repairs in a row, each error saying so."""
    drafted = Plan.model_validate(
        {
            "steps": [
                {
                    "id": "lookup_user",
                    "title": "t",
                    "action": "http_request",
                    "params": {"url": "http://x.test/users/1"},
                },
                {
                    "id": "save",
                    "title": "t",
                    "action": "file_write",
                    "when": "lookup_user.output.status == `200`",
                    "params": {
                        "path": "out/a.txt",
                        "content": "Name: ${lookup_user.output.body.name} (${read.output})",
                    },
                },
            ]
        }
    )
    plan = with_full_references(drafted, finished={"read"})
    save = plan.steps[1]
    assert save.params["content"] == (
        "Name: ${steps.lookup_user.output.body.name} (${steps.read.output})"
    )
    assert save.when == "steps.lookup_user.output.status == `200`"
    assert plan.steps[0].params == drafted.steps[0].params
