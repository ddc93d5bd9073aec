"""Tracing with OpenTelemetry: spans for client calls, workflows and activities
(``temporalio.contrib.opentelemetry``) plus one span per LLM call (in activities/llm.py,
with GenAI semantic-convention attributes: model and token counts).

The exporter follows the standard variables: OTEL_TRACES_EXPORTER (otlp | console |
none); without it, OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is
set, else no tracing at all (and no interceptor, so no cost). OTEL_SERVICE_NAME names
the service (default: durable-agents).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor

from durable_agents.runtime.settings import SettingsProblem

SERVICE_NAME = "durable-agents"


def exporter_name(env: Mapping[str, str]) -> str:
    """Which exporter the environment asks for: otlp, console or none."""
    chosen = (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if chosen:
        return chosen
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return "otlp" if endpoint else "none"


def _exporter(name: str) -> SpanExporter:
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*
    if name == "console":
        return ConsoleSpanExporter()
    raise SettingsProblem(f"OTEL_TRACES_EXPORTER must be otlp, console or none, got {name!r}")


def configure_tracing(env: Mapping[str, str] | None = None) -> TracerProvider | None:
    """Install the global tracer provider the environment asks for; None: tracing is off.
    Call ``shutdown()`` on the result before exit so the last spans are sent."""
    env = os.environ if env is None else env
    name = exporter_name(env)
    if name == "none":
        return None
    service = env.get("OTEL_SERVICE_NAME") or SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    return provider


def tracing_interceptors(provider: TracerProvider | None) -> list[TracingInterceptor]:
    """Client (and so worker) interceptors: tracing only when a provider is configured."""
    return [TracingInterceptor(provider.get_tracer(SERVICE_NAME))] if provider else []
