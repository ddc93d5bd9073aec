"""The baseline executor the seeds describe, written plainly: one step after another, each
LLM call awaited before the next; optionally passing every earlier result to every call
("full context"). Same model endpoint as the engine, so only the approach differs."""

from __future__ import annotations

import re
import time

from openai import AsyncOpenAI

from durable_agents.contracts import Plan

_REFERENCE = re.compile(r"\$\{steps\.([A-Za-z0-9_]+)\.output\}")


async def run_sequentially(plan: Plan, llm_url: str, *, full_context: bool) -> tuple[float, int]:
    """(seconds, total tokens) of running the plan's llm steps in order."""
    client = AsyncOpenAI(base_url=llm_url, api_key="not-needed", max_retries=0)
    outputs: dict[str, str] = {}
    used = 0
    started = time.perf_counter()
    try:
        for step in plan.steps:
            prompt = _REFERENCE.sub(lambda m: outputs[m[1]], str(step.params["prompt"]))
            if full_context and outputs:
                earlier = "\n".join(f"{key}: {value}" for key, value in outputs.items())
                prompt = f"Earlier results:\n{earlier}\n\n{prompt}"
            completion = await client.chat.completions.create(
                model="latency-model",
                messages=[{"role": "user", "content": prompt}],
                max_tokens=512,
            )
            outputs[step.id] = completion.choices[0].message.content or ""
            used += completion.usage.total_tokens if completion.usage else 0
    finally:
        await client.close()
    return time.perf_counter() - started, used
