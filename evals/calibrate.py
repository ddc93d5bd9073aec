"""How fast the embedded model runs on this machine today: ``python -m evals.calibrate``.

Goal times only compare across days next to the machine's own speed (the same commit
took a median of 30 s one day and 43 s on a slower one). This reads a fixed prompt and
writes a fixed number of tokens with the embedded model, and prints llama.cpp's own
timings as JSON: prompt tokens per second and written tokens per second. ``python -m
evals`` runs it first, in its own process (the model's memory goes when it ends), and
records the figures next to the results.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import httpx

from durable_agents.runtime.offline_model import MODEL_NAME, assemble_model_file, serve

WRITTEN_TOKENS = 128
# about 400 tokens of prompt: long enough that reading it is measured, not its overhead
PROMPT = "Here are some facts about durable workflows. " + " ".join(
    f"Fact {n}: a workflow step {n} is recorded in history, so a crash resumes it."
    for n in range(24)
)


def measure() -> dict[str, float]:
    """Prompt and writing speed (tokens per second), from one completion."""
    with tempfile.TemporaryDirectory(prefix="calibrate-slots-") as slots:
        server = serve(assemble_model_file(), Path(slots))
        with httpx.Client(base_url=server.listening_address, timeout=300) as http:
            answer = http.post(
                "/v1/chat/completions",
                json={
                    "model": MODEL_NAME,
                    "messages": [{"role": "user", "content": PROMPT + " Retell them."}],
                    "max_tokens": WRITTEN_TOKENS,
                    "temperature": 0,
                    "seed": 1,
                    "ignore_eos": True,  # always the same number of tokens written
                    "cache_prompt": False,
                },
            )
            answer.raise_for_status()
        timings = answer.json()["timings"]
        return {
            "prompt_tokens": timings["prompt_n"],
            "prompt_tokens_per_second": round(timings["prompt_per_second"], 1),
            "written_tokens": timings["predicted_n"],
            "written_tokens_per_second": round(timings["predicted_per_second"], 1),
        }


if __name__ == "__main__":
    json.dump(measure(), sys.stdout)
    print()
