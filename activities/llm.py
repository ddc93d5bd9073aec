"""LLM-backed activities: ``plan``, ``review``, ``recover``, ``agent_turn`` and the ``llm``
action: the prompt for each, and its answer parsed and checked.

Structured answers use the standard ``response_format`` json_schema, which OpenAI, vLLM,
Ollama and llama.cpp all accept. Each role (plan, review, recover, agent, llm) has a
chain of models, first choice first; ``model_calls`` asks them.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from jsonschema import Draft202012Validator, SchemaError
from opentelemetry.trace import Tracer
from pydantic import BaseModel, JsonValue, ValidationError
from temporalio import activity

from durable_agents.activities.errors import action_error
from durable_agents.activities.model_calls import ChatProvider, ModelCalls, json_schema_format
from durable_agents.activities.plan_answers import with_full_references, without_repeats
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


class LlmActivities:
    """Holds the LLM provider; bound methods are the registered activities."""

    def __init__(self, provider: ChatProvider, tracer: Tracer | None = None) -> None:
        self._provider = provider
        self._calls = ModelCalls(provider, tracer)

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
        content, usage, _ = await self._calls.chat(
            role, messages, max_tokens=max_tokens, response_format=json_schema_format(name, schema)
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
        content, usage, finish = await self._calls.chat(
            "plan",
            plan_messages(request, options),
            max_tokens=PLAN_MAX_TOKENS,
            response_format=json_schema_format(
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
            plan = with_full_references(without_repeats(Plan.model_validate_json(content)), known)
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
        message, usage, _ = await self._calls.complete(
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
        content, usage, _ = await self._calls.chat(
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
            content, used, _ = await self._calls.chat(
                "llm",
                messages,
                max_tokens=params.max_tokens,
                response_format=json_schema_format("answer", schema),
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
