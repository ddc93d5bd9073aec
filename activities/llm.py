"""LLM-backed activities: ``plan``, ``review``, ``recover``, ``agent_turn`` and the ``llm``
action.

The injected provider hands out ``AsyncOpenAI`` clients with ``max_retries=0``:
Temporal owns retries, so every attempt is visible in history. Structured answers use the standard
``response_format`` json_schema, which OpenAI, vLLM, Ollama and llama.cpp all accept.

Each role (plan, review, recover, agent, llm) has a chain of models, first choice first.
A provider error goes to Temporal as usual while it would retry; a final one (a 400, 401
or 404) or one on the activity's last attempt moves on to the next model of the chain in
the same attempt, so workflow code and history do not change.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import openai
from jsonschema import Draft202012Validator, SchemaError
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessage
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from pydantic import BaseModel, JsonValue, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_agents.activities.errors import action_error, from_openai
from durable_agents.activities.heartbeat import heartbeating
from durable_agents.activities.prompts import (
    agent_messages,
    agent_tools,
    custom_key,
    plan_messages,
    plan_schema,
    recover_messages,
    recover_schema,
    review_messages,
    review_schema,
)
from durable_agents.contracts import (
    ActionContext,
    ActionResult,
    AgentTurn,
    AgentTurnRequest,
    Plan,
    PlanDraft,
    PlanRequest,
    RecoverOutcome,
    RecoverRequest,
    Recovery,
    Review,
    ReviewOutcome,
    ReviewRequest,
    ToolCall,
    Usage,
)
from durable_agents.contracts.actions import LlmParams
from durable_agents.contracts.errors import format_validation_error, validation_problems

Answer = TypeVar("Answer", bound=BaseModel)
# A 3-step plan is ~450 tokens; a cap well below what the LLM timeout allows turns a
# runaway generation (measured: one hit the 5-minute timeout) into a quick repair.
PLAN_MAX_TOKENS = 1500
REVIEW_MAX_TOKENS = 800
RECOVER_MAX_TOKENS = 1000
AGENT_TURN_MAX_TOKENS = 1500
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


class LlmActivities:
    """Holds the LLM provider; bound methods are the registered activities."""

    def __init__(self, provider: ChatProvider, tracer: Tracer | None = None) -> None:
        self._provider = provider
        # One span per LLM call (GenAI conventions); a no-op unless tracing is configured.
        self._tracer = tracer or trace.get_tracer("durable_agents.llm")

    async def _chat(
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
        message, usage, finish = await self._complete(
            role, messages, max_tokens=max_tokens, variation=variation, **extra
        )
        return message.content or "", usage, finish

    async def _complete(
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

    async def _answer(
        self,
        role: str,
        messages: list[dict[str, Any]],
        max_tokens: int,
        name: str,
        schema: dict[str, Any],
        model: type[Answer],
        invalid: str,
    ) -> tuple[Answer, Usage]:
        """A structured answer under ``schema``; one that does not validate is retried
        (LlmBadAnswer, retryable: the next attempt samples with another seed)."""
        content, usage, _ = await self._chat(
            role, messages, max_tokens=max_tokens, response_format=_json_schema(name, schema)
        )
        try:
            return model.model_validate_json(content), usage
        except ValidationError as exc:
            raise action_error(
                f"{invalid}: {format_validation_error(exc, 'plan')}",
                error_type="LlmBadAnswer",
                retryable=True,
            ) from exc

    @activity.defn(name="plan")
    async def plan(self, request: PlanRequest) -> PlanDraft:
        """Ask for a plan under the catalog's schema; parse errors go back as ``errors``."""
        options = self._provider.step_options
        content, usage, finish = await self._chat(
            "plan",
            plan_messages(request, options),
            max_tokens=PLAN_MAX_TOKENS,
            response_format=_json_schema(
                "plan", plan_schema(options, custom_key(request.custom_actions))
            ),
            variation=request.variation,
        )
        if finish == "length":
            return PlanDraft(
                plan=None,
                raw=content[:4000],
                errors=[f"the plan was cut off at {PLAN_MAX_TOKENS} tokens; use fewer steps"],
                usage=usage,
            )
        try:
            known = {step.id for step in request.finished_steps}
            plan = _with_full_references(_without_repeats(Plan.model_validate_json(content)), known)
            return PlanDraft(plan=plan, raw=content, usage=usage)
        except ValidationError as exc:
            errors = validation_problems(exc, "plan")
            return PlanDraft(plan=None, raw=content, errors=errors, usage=usage)

    @activity.defn(name="review")
    async def review(self, request: ReviewRequest) -> ReviewOutcome:
        """Judge the results; an unreadable verdict is retried (sampling differs)."""
        review, usage = await self._answer(
            "review",
            review_messages(request),
            REVIEW_MAX_TOKENS,
            "review",
            review_schema(),
            Review,
            "the reviewer's answer is not a valid verdict",
        )
        return ReviewOutcome(review=review, usage=usage)

    @activity.defn(name="recover")
    async def recover(self, request: RecoverRequest) -> RecoverOutcome:
        """Propose a way past a failed step; an unreadable proposal is retried."""
        schema = recover_schema(request.step.action, request.custom_action)
        recovery, usage = await self._answer(
            "recover",
            recover_messages(request),
            RECOVER_MAX_TOKENS,
            "recovery",
            schema,
            Recovery,
            "the recovery answer is not valid",
        )
        return RecoverOutcome(recovery=recovery, usage=usage)

    @activity.defn(name="agent_turn")
    async def agent_turn(self, request: AgentTurnRequest) -> AgentTurn:
        """One turn of an agent step: the tool calls the model wants, or its answer."""
        message, usage, _ = await self._complete(
            "agent",
            agent_messages(request),
            max_tokens=AGENT_TURN_MAX_TOKENS,
            tools=agent_tools(request.tools, request.custom_actions),
            tool_choice="none" if request.final else "auto",
        )
        calls = [
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
            for call in message.tool_calls or []
            if call.type == "function"
        ]
        return AgentTurn(content=message.content, tool_calls=calls, usage=usage)

    @activity.defn(name="llm")
    async def llm(self, context: ActionContext, params: LlmParams) -> ActionResult:
        """The ``llm`` action: free text, or JSON when ``response`` is "json"."""
        messages = [{"role": "system", "content": params.system}] if params.system else []
        messages.append({"role": "user", "content": params.prompt})
        if params.output_schema is not None:
            return await self._typed_answer(context, params, messages)
        wants_json = params.response == "json"
        content, usage, _ = await self._chat(
            "llm",
            messages,
            max_tokens=params.max_tokens,
            response_format={"type": "json_object"} if wants_json else None,
            variation=context.variation,
        )
        output: JsonValue = content
        if wants_json:
            try:
                output = json.loads(content)
            except json.JSONDecodeError as exc:
                raise action_error(
                    f"the model's answer is not valid JSON: {exc}",
                    error_type="LlmBadAnswer",
                    retryable=True,
                ) from exc
        return ActionResult(output=output, usage=usage, attempt=activity.info().attempt)

    async def _typed_answer(
        self, context: ActionContext, params: LlmParams, messages: list[dict[str, Any]]
    ) -> ActionResult:
        """An answer under ``output_schema`` (the decoder is constrained to it where the
        provider supports that), validated; one that does not match is sent back once with
        what is wrong, then the step fails for good with both problems."""
        schema = dict(params.output_schema or {})
        try:
            validator = Draft202012Validator(schema)
            validator.check_schema(schema)
        except SchemaError as exc:
            raise action_error(
                f"output_schema is not a valid JSON schema: {exc.message}",
                error_type="InvalidParams",
                retryable=False,
            ) from None
        usage = Usage()
        problems: list[str] = []
        for _ in range(2):  # the answer, and one repair
            content, used, _ = await self._chat(
                "llm",
                messages,
                max_tokens=params.max_tokens,
                response_format=_json_schema("answer", schema),
                variation=context.variation,
            )
            usage.add(used)
            usage.model = used.model  # the model that answered: the step is priced by it
            problem = _schema_problem(content, validator)
            if problem is None:
                return ActionResult(
                    output=json.loads(content), usage=usage, attempt=activity.info().attempt
                )
            problems.append(problem)
            messages = [
                *messages,
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"That answer does not match the schema: {problem}. "
                    "Answer again with JSON that matches it.",
                },
            ]
        raise action_error(
            "the model's answer does not match output_schema, twice: " + "; then ".join(problems),
            error_type="LlmBadAnswer",
            retryable=False,
        )


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


def _schema_problem(content: str, validator: Draft202012Validator) -> str | None:
    """What is wrong with an answer against its schema (the first three problems)."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc})"
    errors = sorted(validator.iter_errors(answer), key=lambda error: list(error.path))[:3]
    if not errors:
        return None
    return ", ".join(
        f"{'/'.join(str(p) for p in error.path) or 'the answer'}: {error.message}"
        for error in errors
    )


def _with_full_references(plan: Plan, finished: set[str]) -> Plan:
    """``${read.output}`` where ``read`` is a step of the plan (or a finished one) means
    ``${steps.read.output}``: written out, the one reading there is. Measured: the 1.5B
    model left ``steps.`` out four repairs in a row although each error said so."""
    ids = {step.id for step in plan.steps} | finished
    if not ids:
        return plan
    short = re.compile(
        r"(\$\{\s*)("
        + "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        + r")(\s*(?:\.|\[|\}))"
    )

    def fixed(value: JsonValue) -> JsonValue:
        if isinstance(value, str):
            return short.sub(r"\1steps.\2\3", value)
        if isinstance(value, list):
            return [fixed(item) for item in value]
        if isinstance(value, dict):
            return {key: fixed(item) for key, item in value.items()}
        return value

    def bare(expression: str | None) -> str | None:  # when/foreach take no ${...}
        if expression is None:
            return None
        head = expression.strip().split(".", 1)[0].split("[", 1)[0]
        return f"steps.{expression.strip()}" if head in ids else expression

    steps = [
        step.model_copy(
            update={
                "params": fixed(step.params),
                "when": bare(step.when),
                "foreach": bare(step.foreach),
            }
        )
        for step in plan.steps
    ]
    return plan.model_copy(update={"steps": steps})


def _without_repeats(plan: Plan) -> Plan:
    """Drop exact copies of a step: a small model sometimes loops, re-emitting one step."""
    seen: set[str] = set()
    steps = []
    for step in plan.steps:
        key = step.model_dump_json()
        if key not in seen:
            seen.add(key)
            steps.append(step)
    return Plan(steps=steps)


def _json_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
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
