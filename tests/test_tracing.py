"""Tracing: a run's span tree (client -> workflow -> activities -> LLM calls), exported to
memory, and the exporter chosen from the standard OTEL_* variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from durable_agents.runtime.settings import SettingsProblem
from durable_agents.runtime.telemetry import configure_tracing, exporter_name, tracing_interceptors
from tests.scripted_llm import ScriptedLlm
from tests.test_llm_faults import real_llm_worker
from tests.workflows.runs import DEMO_PLAN, start


async def test_a_run_makes_one_span_tree_down_to_the_llm_calls(
    temporal_env: WorkflowEnvironment, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    scripted_llm.queue("plan", DEMO_PLAN.model_dump(mode="json"))
    scripted_llm.queue("review", {"answer": "North 643", "verdict": "done"})
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("test")
    target = temporal_env.client.service_client.config.target_host
    client = await Client.connect(
        target, interceptors=[TracingInterceptor(tracer)], data_converter=pydantic_data_converter
    )
    async with real_llm_worker(client, task_queue, scripted_llm.base_url, tracer):
        handle = await start(client, task_queue, workspace)
        assert (await handle.result()).status == "succeeded"

    spans = exported.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans if span.context}

    def ancestry(span: ReadableSpan) -> list[str]:
        names = [span.name]
        while span.parent and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    chats = [span for span in spans if span.name == "chat m"]
    assert len(chats) == 2  # plan and review
    assert ancestry(chats[0]) == [
        "chat m",
        "RunActivity:plan",
        "StartActivity:plan",
        "StartWorkflow:AgentWorkflow",  # the workflow's context: the client's start
    ]
    attributes = dict(chats[0].attributes or {})
    assert attributes["gen_ai.request.model"] == "m"
    assert attributes["gen_ai.usage.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 20
    names = {span.name for span in spans}
    assert {"RunActivity:file_read", "RunActivity:transform", "RunActivity:review"} <= names
    assert "RunWorkflow:AgentWorkflow" in names
    assert "sk-" not in json.dumps([dict(s.attributes or {}) for s in spans])


def test_the_exporter_follows_the_otel_variables() -> None:
    assert exporter_name({}) == "none"
    assert exporter_name({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == "otlp"
    assert exporter_name({"OTEL_TRACES_EXPORTER": "console"}) == "console"
    assert tracing_interceptors(None) == []
    with pytest.raises(SettingsProblem, match="must be otlp, console or none"):
        configure_tracing({"OTEL_TRACES_EXPORTER": "zipkin"})
