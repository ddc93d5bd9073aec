"""One completion from a role's chain of models: the first model that answers, with
fallback on a final error, a seed per attempt and variation, a span per request and
streamed progress for heartbeats.

The injected provider hands out ``AsyncOpenAI`` clients with ``max_retries=0``: Temporal
owns retries, so every attempt is visible in history. A provider error goes to Temporal
as usual while it would retry; a final one (a 400, 401 or 404) or one on the activity's
last attempt moves on to the next model of the chain in the same attempt, so workflow
code and history do not change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessage
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_agents.activities.errors import action_error, from_openai
from durable_agents.activities.heartbeat import heartbeating
from durable_agents.contracts import Usage

TEMPERATURE = 0.2
VARIATION_WARMTH = 0.2  # per re-plan or repair: a warmer answer is less likely the same
MAX_TEMPERATURE = 0.8
SEED_STRIDE = 1000  # seeds of variations never meet those of retried attempts


class ModelEndpoint(Protocol):
    """One model of a role's chain (``runtime.llm_provider.Endpoint``)."""

    @property
    def provider(self) -> str:
        """The provider's name ("default": OPENAI_API_KEY / OPENAI_BASE_URL)."""

    @property
    def label(self) -> str:
        """``provider/model``, for logs, spans and error messages."""

    @property
    def seed(self) -> int | None:
        """The sampling seed of a first attempt; None leaves the provider's default."""

    @property
    def streams(self) -> bool:
        """Whether answers stream in (heartbeats then carry the tokens written so far)."""

    async def client(self) -> tuple[AsyncOpenAI, str]:
        """An ``AsyncOpenAI(max_retries=0)`` client and the model name to ask for."""


class ChatProvider(Protocol):
    """What the activities need of an LLM provider (``runtime.llm_provider.LlmProvider``)."""

    @property
    def step_options(self) -> bool:
        """Whether the planner is offered foreach and on_failure."""

    def chain(self, role: str) -> Sequence[ModelEndpoint]:
        """The models ``role`` (plan, review, recover, agent, llm) tries, in order."""


class ModelCalls:
    """Completions for the LLM activities, from the provider's chain of models per role."""

    def __init__(self, provider: ChatProvider, tracer: Tracer | None = None) -> None:
        self._provider = provider
        # One span per LLM call (GenAI conventions); a no-op unless tracing is configured.
        self._tracer = tracer or trace.get_tracer("durable_agents.llm")

    async def chat(
        self,
        role: str,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        response_format: dict[str, Any] | None = None,
        variation: int = 0,
    ) -> tuple[str, Usage, str | None]:
        """One completion: (content, usage, finish_reason); provider errors translated."""
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        message, usage, finish = await self.complete(
            role, messages, max_tokens=max_tokens, variation=variation, **extra
        )
        return message.content or "", usage, finish

    async def complete(
        self,
        role: str,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        variation: int = 0,
        **extra: Any,
    ) -> tuple[ChatCompletionMessage, Usage, str | None]:
        """One completion's message, usage and finish_reason from the first model of
        ``role``'s chain that answers; provider errors translated. ``variation`` > 0 (a
        repair, a re-plan) samples with another seed and warmer."""
        temperature = min(TEMPERATURE + VARIATION_WARMTH * variation, MAX_TEMPERATURE)
        chain = self._provider.chain(role)
        progress = Writing()
        given_up: tuple[str, str] | None = None  # (model, error type) the last fallback left
        # beats also while the offline model loads (~10 s); they carry the progress
        async with heartbeating(details=progress.details):
            for index, endpoint in enumerate(chain):
                try:
                    return await self._call(
                        endpoint,
                        messages,
                        progress,
                        given_up,
                        max_tokens=max_tokens,
                        temperature=temperature,
                        variation=variation,
                        extra=extra,
                    )
                except openai.APIError as exc:
                    error = from_openai(exc)
                    if len(chain) > 1 or endpoint.provider != "default":
                        error = _naming(endpoint, error)
                    following = chain[index + 1] if index + 1 < len(chain) else None
                    # Temporal retries the same model while it would; a final error, or
                    # the last attempt's, moves on to the next model of the chain now.
                    if following is None or (not error.non_retryable and not _last_attempt()):
                        raise error from exc
                    activity.logger.warning(
                        "LLM %s: %s failed (%s); falling back to %s",
                        role,
                        endpoint.label,
                        error.type,
                        following.label,
                    )
                    given_up = (endpoint.label, error.type or type(exc).__name__)
        raise action_error(
            f"no model is configured for the {role} role",
            error_type="LlmNotConfigured",
            retryable=False,
        )

    async def _call(
        self,
        endpoint: ModelEndpoint,
        messages: list[dict[str, Any]],
        progress: Writing,
        given_up: tuple[str, str] | None,
        *,
        max_tokens: int,
        temperature: float,
        variation: int,
        extra: dict[str, Any],
    ) -> tuple[ChatCompletionMessage, Usage, str | None]:
        """One request to one model, in a span; a fallback's span names what it replaced."""
        extra = dict(extra)
        if endpoint.seed is not None:
            # Same seed, same answer: a retry must sample differently to be worth making.
            extra["seed"] = endpoint.seed + activity.info().attempt - 1 + SEED_STRIDE * variation
        client, model = await endpoint.client()
        attributes: dict[str, str | int | float] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": model,
            "gen_ai.request.max_tokens": max_tokens,
            "gen_ai.request.temperature": temperature,
        }
        if given_up is not None:
            attributes["durable_agents.llm.fallback_from"] = given_up[0]
            attributes["durable_agents.llm.fallback_reason"] = given_up[1]
            attributes["durable_agents.llm.fallback_to"] = endpoint.label
        with self._tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            # a provider's error text may echo the key: spans get the type only
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            request: dict[str, Any] = {
                "model": model,
                "messages": messages,
                "max_tokens": max_tokens,
                "temperature": temperature,
                **extra,
            }
            try:
                if endpoint.streams and "tools" not in extra:
                    message, usage, finish = await _streamed(client, request, progress)
                else:
                    message, usage, finish = await _whole(client, request)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            span.set_attributes(
                {
                    "gen_ai.response.model": usage.model or model,
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                }
            )
        return message, usage, finish


def _last_attempt() -> bool:
    """Whether Temporal will not run this activity again: its retry policy's last attempt
    (unknown or unlimited attempts: not the last)."""
    info = activity.info()
    maximum = info.retry_policy.maximum_attempts if info.retry_policy else 0
    return 0 < maximum <= info.attempt


def _naming(endpoint: ModelEndpoint, error: ApplicationError) -> ApplicationError:
    """``error`` with the model it came from in front: a chain has several."""
    return action_error(
        f"{endpoint.label}: {error.message}",
        error_type=error.type or "LlmError",
        retryable=not error.non_retryable,
        retry_after=error.next_retry_delay,
    )


def json_schema_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


@dataclass
class Writing:
    """How far the model has got with its answer: what each heartbeat carries."""

    tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    def details(self) -> dict[str, int]:
        return {"tokens_written": self.tokens, "seconds": int(time.monotonic() - self.started)}


async def _whole(
    client: AsyncOpenAI, request: dict[str, Any]
) -> tuple[ChatCompletionMessage, Usage, str | None]:
    """The answer in one response."""
    completion = await client.chat.completions.create(**request)
    usage = Usage(calls=1, model=completion.model or request["model"])
    if completion.usage:
        usage.prompt_tokens = completion.usage.prompt_tokens
        usage.completion_tokens = completion.usage.completion_tokens
    if not completion.choices:
        raise action_error(
            "the LLM provider returned no choices", error_type="LlmBadResponse", retryable=True
        )
    choice = completion.choices[0]
    return choice.message, usage, choice.finish_reason


async def _streamed(
    client: AsyncOpenAI, request: dict[str, Any], progress: Writing
) -> tuple[ChatCompletionMessage, Usage, str | None]:
    """The answer as it is written, counting pieces (about a token each) into
    ``progress``; usage from the last chunk (``include_usage``), else the count."""
    stream = await client.chat.completions.create(
        **request, stream=True, stream_options={"include_usage": True}
    )
    parts: list[str] = []
    finish: str | None = None
    usage = Usage(calls=1, model=request["model"])
    seen_usage = False
    async for chunk in stream:
        usage.model = chunk.model or usage.model
        if chunk.usage:
            usage.prompt_tokens = chunk.usage.prompt_tokens
            usage.completion_tokens = chunk.usage.completion_tokens
            seen_usage = True
        for choice in chunk.choices[:1]:
            if choice.delta.content:
                parts.append(choice.delta.content)
                progress.tokens += 1
            finish = choice.finish_reason or finish
    if not parts and finish is None:
        raise action_error(
            "the LLM provider streamed no answer", error_type="LlmBadResponse", retryable=True
        )
    if not seen_usage:
        usage.completion_tokens = progress.tokens
    message = ChatCompletionMessage(role="assistant", content="".join(parts))
    return message, usage, finish
