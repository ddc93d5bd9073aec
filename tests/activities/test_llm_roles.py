"""A model per role (AGENT_LLM_CONFIG) and fallbacks, over two scripted OpenAI-compatible
servers acting as two providers: the real client path, activities and a real worker."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.llm import LlmActivities
from durable_agents.cli.manifest import run_manifest
from durable_agents.cli.report import build_report, report_text
from durable_agents.contracts import (
    ActionContext,
    AgentTurnRequest,
    Budget,
    PlanRequest,
    RecoverRequest,
    ReviewRequest,
    RunInput,
    Step,
)
from durable_agents.contracts.action_spec import LLM_RETRY
from durable_agents.contracts.actions import LlmParams
from durable_agents.contracts.policy import ModelPrice
from durable_agents.runtime.llm_models import (
    LlmConfigProblem,
    parse_llm_config,
    role_chains,
)
from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.offline_model import MODEL_NAME, OFFLINE_SEED
from durable_agents.runtime.resources import AgentResources
from durable_agents.runtime.settings import Settings, SettingsProblem
from durable_agents.runtime.workers import agent_worker
from tests.scripted_llm import Fault, ScriptedLlm, ToolCalls
from tests.workflows.runs import plan, start

PLAN = {"steps": [{"id": "ls", "title": "List", "action": "file_list", "params": {"path": "."}}]}
CONTEXT = ActionContext(run_id="r", step_id="s", workspace="/tmp")
NOT_FOUND = Fault(404, '{"error": {"message": "The model does not exist"}}')
LOCAL_KEY = "sk-local-0123456789abcdef"

_opened: list[LlmProvider] = []


@pytest.fixture(autouse=True)
async def close_providers() -> AsyncIterator[None]:
    yield
    while _opened:
        await _opened.pop().aclose()


@pytest.fixture
def local_llm() -> Iterator[ScriptedLlm]:
    """A second scripted server: provider ``local`` (``scripted_llm`` is the default)."""
    server = ScriptedLlm().start()
    yield server
    server.stop()


def provider(
    tmp_path: Path,
    default: ScriptedLlm,
    local: ScriptedLlm,
    roles: str,
    *,
    local_table: str = 'api_key_env = "LOCAL_KEY"',
    **fields: object,
) -> LlmProvider:
    """A provider whose default is ``default`` and whose ``local`` is ``local``."""
    config = tmp_path / "llm.toml"
    config.write_text(
        f'[providers.local]\nbase_url = "{local.base_url}"\n{local_table}\n\n[roles]\n{roles}\n'
    )
    settings = Settings(
        openai_base_url=default.base_url,
        openai_api_key="sk-default",
        model="m",
        llm_config=str(config),
        **fields,  # type: ignore[arg-type]
    )
    made = LlmProvider(settings, env={"LOCAL_KEY": LOCAL_KEY})
    _opened.append(made)
    return made


def models(server: ScriptedLlm) -> list[str]:
    return [request["model"] for request in server.requests]


def on_attempt(attempt: int) -> ActivityEnvironment:
    """An activity environment on ``attempt`` of the LLM activities' retry policy."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt, retry_policy=LLM_RETRY)
    return env


async def test_each_role_goes_to_its_own_provider_and_model(
    tmp_path: Path, scripted_llm: ScriptedLlm, local_llm: ScriptedLlm
) -> None:
    roles = """plan = "local/planner"
review = "default/reviewer"
recover = ["local/recoverer"]
agent = "local/agent-model"
llm = "writer"   # bare: the default provider"""
    keyfile = tmp_path / "local.key"
    keyfile.write_text(LOCAL_KEY + "\n")
    config = tmp_path / "llm.toml"
    config.write_text(
        f'[providers.local]\nbase_url = "{local_llm.base_url}"\napi_key_env = "LOCAL_KEY"\n'
        f"\n[roles]\n{roles}\n"
    )
    settings = Settings.from_env(
        {
            "OPENAI_BASE_URL": scripted_llm.base_url,
            "OPENAI_API_KEY": "sk-default",
            "LLM_MODEL": "m",
            "AGENT_LLM_CONFIG": str(config),
        }
    )
    assert settings.llm_config == str(config)
    made = LlmProvider(settings, env={"LOCAL_KEY_FILE": str(keyfile)})  # a key from a file
    _opened.append(made)
    llm = LlmActivities(made)
    local_llm.queue("plan", PLAN)
    local_llm.queue("recovery", {"reason": "typo", "decision": "retry", "params": {}})
    local_llm.queue("tools", ToolCalls([("file_read", {"path": "a.csv"})]))
    scripted_llm.queue("review", {"answer": "42", "verdict": "done", "feedback": ""})
    scripted_llm.queue("llm", "some words")
    env = ActivityEnvironment()

    draft = await env.run(llm.plan, PlanRequest(goal="g"))
    verdict = await env.run(llm.review, ReviewRequest(goal="g", steps=[], replans_left=0))
    step = Step(id="read", title="Read", action="file_read", params={"path": "a.csv"})
    recovery = await env.run(
        llm.recover,
        RecoverRequest(goal="g", step=step, arguments={}, error="FileNotFound", attempt=1),
    )
    turn = await env.run(llm.agent_turn, AgentTurnRequest(task="t", tools=["file_read"]))
    written = await env.run(llm.llm, CONTEXT, LlmParams(prompt="hi"))

    assert models(local_llm) == ["planner", "recoverer", "agent-model"]
    assert models(scripted_llm) == ["reviewer", "writer"]
    assert local_llm.authorizations == [f"Bearer {LOCAL_KEY}"] * 3
    assert scripted_llm.authorizations == ["Bearer sk-default"] * 2
    assert [draft.usage.model, verdict.usage.model, recovery.usage.model] == [
        "planner",
        "reviewer",
        "recoverer",
    ]
    assert turn.usage.model == "agent-model" and turn.tool_calls[0].name == "file_read"
    assert written.output == "some words" and written.usage and written.usage.model == "writer"
    assert made.step_options  # the planner is a configured model


async def test_a_final_error_falls_back_at_once_logged_and_traced(
    tmp_path: Path,
    scripted_llm: ScriptedLlm,
    local_llm: ScriptedLlm,
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = InMemorySpanExporter()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(exporter))
    made = provider(tmp_path, scripted_llm, local_llm, 'plan = ["gpt-x", "local/fallback"]')
    scripted_llm.queue("plan", NOT_FOUND)
    local_llm.queue("plan", PLAN)

    with caplog.at_level(logging.WARNING):
        draft = await on_attempt(1).run(
            LlmActivities(made, tracing.get_tracer("test")).plan, PlanRequest(goal="g")
        )

    assert draft.plan is not None and draft.usage.model == "fallback"
    assert models(scripted_llm) == ["gpt-x"] and models(local_llm) == ["fallback"]
    assert local_llm.requests[0]["messages"] == scripted_llm.requests[0]["messages"]
    [warning] = [r for r in caplog.records if "falling back" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert re.search(
        r"plan: default/gpt-x failed \(LlmStatus404\); falling back to local/fallback",
        warning.getMessage(),
    )
    failed, answered = exporter.get_finished_spans()
    assert failed.attributes is not None and failed.attributes["error.type"] == "NotFoundError"
    assert answered.attributes is not None
    assert answered.attributes["durable_agents.llm.fallback_from"] == "default/gpt-x"
    assert answered.attributes["durable_agents.llm.fallback_reason"] == "LlmStatus404"
    assert answered.attributes["gen_ai.response.model"] == "fallback"


async def test_a_retryable_error_is_temporals_until_the_last_attempt(
    tmp_path: Path, scripted_llm: ScriptedLlm, local_llm: ScriptedLlm
) -> None:
    made = provider(tmp_path, scripted_llm, local_llm, 'llm = ["default/a", "local/b"]')
    llm = LlmActivities(made)
    scripted_llm.queue("llm", Fault(503), Fault(503), Fault(503))
    local_llm.queue("llm", "from b")

    for attempt_env in (on_attempt(LLM_RETRY.maximum_attempts - 1), ActivityEnvironment()):
        with pytest.raises(ApplicationError) as retried:  # no policy known: not the last
            await attempt_env.run(llm.llm, CONTEXT, LlmParams(prompt="hi"))
        assert not retried.value.non_retryable and retried.value.type == "LlmStatus503"
        assert retried.value.message.startswith("default/a: LLM provider answered HTTP 503")
    assert local_llm.requests == []

    last = await on_attempt(LLM_RETRY.maximum_attempts).run(
        llm.llm, CONTEXT, LlmParams(prompt="hi")
    )
    assert last.output == "from b" and last.usage is not None and last.usage.model == "b"
    assert models(scripted_llm) == ["a"] * 3 and models(local_llm) == ["b"]


async def test_when_every_model_fails_the_last_error_is_raised(
    tmp_path: Path, scripted_llm: ScriptedLlm, local_llm: ScriptedLlm
) -> None:
    made = provider(tmp_path, scripted_llm, local_llm, 'review = ["default/a", "local/b"]')
    scripted_llm.queue("review", NOT_FOUND)
    local_llm.queue("review", Fault(401, '{"error": {"message": "bad key"}}'))
    with pytest.raises(ApplicationError) as caught:
        await on_attempt(1).run(
            LlmActivities(made).review, ReviewRequest(goal="g", steps=[], replans_left=0)
        )
    assert caught.value.non_retryable and caught.value.type == "LlmStatus401"
    assert caught.value.message.startswith("local/b: LLM provider answered HTTP 401")
    assert models(scripted_llm) == ["a"] and models(local_llm) == ["b"]


async def test_a_typed_answer_names_and_is_priced_by_the_model_that_answered(
    tmp_path: Path, scripted_llm: ScriptedLlm, local_llm: ScriptedLlm
) -> None:
    made = provider(tmp_path, scripted_llm, local_llm, 'llm = ["default/a", "local/b"]')
    scripted_llm.queue("answer", NOT_FOUND)
    local_llm.queue("answer", json.dumps({"label": "bug"}))
    schema = {"type": "object", "properties": {"label": {"type": "string"}}}
    result = await on_attempt(1).run(
        LlmActivities(made).llm, CONTEXT, LlmParams(prompt="?", output_schema=schema)
    )
    assert result.output == {"label": "bug"}
    assert result.usage is not None and result.usage.model == "b" and result.usage.calls == 1


def test_streams_and_seeds_are_decided_per_provider(
    tmp_path: Path, scripted_llm: ScriptedLlm, local_llm: ScriptedLlm
) -> None:
    config = tmp_path / "llm.toml"
    config.write_text(
        f'[providers.local]\nbase_url = "{local_llm.base_url}"\n'
        f'[providers.streaming]\nbase_url = "{local_llm.base_url}"\nstream = true\n'
        '[roles]\nplan = "local/p"\nagent = "streaming/s"\n'
    )
    offline = LlmProvider(Settings(llm_config=str(config)), env={})  # default: embedded
    plan_model, agent_model = offline.chain("plan")[0], offline.chain("agent")[0]
    review_model = offline.chain("review")[0]
    assert (plan_model.label, plan_model.seed, plan_model.streams) == ("local/p", None, False)
    assert agent_model.streams and agent_model.seed is None
    assert (review_model.label, review_model.seed, review_model.streams) == (
        f"default/{MODEL_NAME}",
        OFFLINE_SEED,
        True,
    )
    assert offline.step_options  # the planner is not the embedded model
    seeded = LlmProvider(Settings(llm_config=str(config), llm_seed=5, llm_stream=True), env={})
    assert seeded.chain("plan")[0].seed == 5 and seeded.chain("plan")[0].streams
    assert "plan: local/p" in offline.describe() and "agent: streaming/s" in offline.describe()


def test_without_a_config_every_role_is_the_default_model_as_before() -> None:
    hosted = LlmProvider(Settings(openai_api_key="sk-x", model="m"))
    for role in ("plan", "review", "recover", "agent", "llm"):
        [endpoint] = hosted.chain(role)
        assert (endpoint.label, endpoint.seed, endpoint.streams) == ("default/m", None, False)
    assert hosted.describe() == "model m at https://api.openai.com/v1"
    [embedded] = LlmProvider(Settings()).chain("plan")
    assert (embedded.label, embedded.seed, embedded.streams) == (
        f"default/{MODEL_NAME}",
        OFFLINE_SEED,
        True,
    )
    assert role_chains(Settings(openai_api_key="sk-x"))["review"] == ["default/gpt-4o-mini"]


async def test_without_a_config_errors_read_as_before(scripted_llm: ScriptedLlm) -> None:
    made = LlmProvider(Settings(openai_base_url=scripted_llm.base_url, model="m"))
    _opened.append(made)
    scripted_llm.queue("llm", NOT_FOUND)
    with pytest.raises(ApplicationError) as caught:
        await on_attempt(1).run(LlmActivities(made).llm, CONTEXT, LlmParams(prompt="hi"))
    assert caught.value.message.startswith(
        "LLM provider answered HTTP 404 (check LLM_MODEL and OPENAI_BASE_URL)"
    )
    assert models(scripted_llm) == ["m"]


@pytest.mark.parametrize(
    ("toml", "env", "fix"),
    [
        ("[roles\nplan = 1", {}, r"not valid TOML"),
        ('[roles]\nplan = "cloud/x"', {}, r"unknown provider 'cloud'.*declare \[providers.cloud\]"),
        ('[roles]\nplanner = "x"', {}, r"unknown role 'planner'.*use one of plan, review"),
        ("[roles]\nplan = []", {}, r"roles.plan: give a model"),
        ('[providers.default]\nbase_url = "http://x/v1"', {}, r"give this provider another name"),
        (
            '[providers.local]\nbase_url = "http://x/v1"\napi_key = "sk-1"',
            {},
            r"a key never goes in the file.*api_key_env",
        ),
        (
            '[providers.local]\nbase_url = "http://x/v1"\napi_key_env = "LOCAL_KEY"',
            {},
            r"neither LOCAL_KEY nor LOCAL_KEY_FILE is set on this worker; set one",
        ),
        ('[providers.local]\nurl = "http://x/v1"', {}, r"unknown key url; use base_url"),
        ('[models]\nplan = "x"', {}, r"unknown table models"),
    ],
)
def test_config_problems_are_typed_and_name_the_fix(
    tmp_path: Path, toml: str, env: dict[str, str], fix: str
) -> None:
    config = tmp_path / "llm.toml"
    config.write_text(toml)
    settings = Settings(openai_api_key="sk-x", llm_config=str(config))
    with pytest.raises(LlmConfigProblem, match=fix) as caught:
        LlmProvider(settings, env=env)
    assert isinstance(caught.value, SettingsProblem)  # the worker prints it and exits 2
    assert str(caught.value).startswith(f"AGENT_LLM_CONFIG={config}: ")


def test_a_worker_refuses_a_bad_config_at_start(tmp_path: Path) -> None:
    missing = Settings(openai_api_key="sk-x", llm_config=str(tmp_path / "nope.toml"))
    with pytest.raises(LlmConfigProblem, match="cannot read it"):
        AgentResources(missing)
    config = tmp_path / "llm.toml"
    config.write_text('[roles]\nreview = "default/gpt-4o"')
    offline = Settings(llm_config=str(config))  # the default is the embedded model
    with pytest.raises(LlmConfigProblem, match="default provider is the embedded offline model"):
        AgentResources(offline)


def test_the_manifest_records_each_roles_chain_and_never_a_key(tmp_path: Path) -> None:
    config = tmp_path / "llm.toml"
    config.write_text(
        '[providers.local]\nbase_url = "http://127.0.0.1:11434/v1"\napi_key_env = "LOCAL_KEY"\n'
        '[roles]\nplan = ["default/gpt-4o", "local/qwen2.5-coder"]\nreview = "gpt-4o-mini"\n'
    )
    settings = Settings(openai_api_key="sk-secret-default", model="m", llm_config=str(config))
    manifest = run_manifest(settings, RunInput(goal="g", workspace="/tmp"))  # no LOCAL_KEY here
    assert manifest["models"] == {
        "plan": ["default/gpt-4o", "local/qwen2.5-coder"],
        "review": ["default/gpt-4o-mini"],
        "recover": ["default/m"],
        "agent": ["default/m"],
        "llm": ["default/m"],
    }
    assert "sk-secret-default" not in json.dumps(manifest) and "LOCAL_KEY" not in str(manifest)


def test_the_readme_example_is_a_valid_config() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### A model per role", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert example is not None
    config = parse_llm_config(example.group(1))
    assert [str(ref) for ref in config.roles["plan"]] == ["default/gpt-4o", "local/qwen2.5-coder"]
    assert config.providers["local"].api_key_env == "LOCAL_KEY"


async def test_an_llm_step_succeeds_through_its_fallback_in_a_real_run(
    client: Client,
    task_queue: str,
    workspace: Path,
    tmp_path: Path,
    scripted_llm: ScriptedLlm,
    local_llm: ScriptedLlm,
) -> None:
    """The primary answers 404 (an unknown model); the step's usage and the report name
    the fallback, priced by its own name; one attempt, nothing in the workflow changed."""
    config = tmp_path / "llm.toml"
    config.write_text(
        f'[providers.local]\nbase_url = "{local_llm.base_url}"\n'
        '[roles]\nllm = ["default/gone", "local/fallback"]\n'
    )
    settings = Settings(
        openai_base_url=scripted_llm.base_url,
        model="m",
        task_queue=task_queue,
        state_dir=tmp_path / "state",
        llm_config=str(config),
    )
    scripted_llm.queue("llm", NOT_FOUND)
    local_llm.queue("llm", "summary")
    prices = {
        "gone": ModelPrice(prompt=100, completion=100),
        "fallback": ModelPrice(prompt=1, completion=2),
    }
    ask = {"id": "ask", "action": "llm", "params": {"prompt": "summarise"}}
    async with agent_worker(client, settings):
        handle = await start(
            client,
            task_queue,
            workspace,
            plan=plan(ask),
            review=False,
            budget=Budget(prices=prices),
        )
        result = await handle.result()

    assert result.status == "succeeded"
    [step] = result.steps
    assert step.attempts == 1 and step.usage is not None and step.usage.model == "fallback"
    assert step.usage.cost_usd == pytest.approx((100 * 1 + 20 * 2) / 1e6)
    assert models(scripted_llm) == ["gone"] and models(local_llm) == ["fallback"]
    report = build_report(handle.id, "completed", result.steps, [v.plan for v in result.plans])
    assert report.steps[0].model == "fallback" and "fallback" in report_text(report)
