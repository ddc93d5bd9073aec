"""The embedded model keeps the planner's system prompt across processes: the second
process restores it from disk and reads only the goal (counted in prompt tokens the
server processed, not in seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from pathlib import Path
import httpx
from durable_agents.activities.prompts import plan_messages
from durable_agents.contracts import PlanRequest
from durable_agents.runtime.offline_model import (
    MODEL_NAME, assemble_model_file, serve, warm_prompt_prefixes,
)
slots = Path(sys.argv[1])
server = serve(assemble_model_file(), slots)
warmed = warm_prompt_prefixes(server.listening_address, slots)
messages = plan_messages(PlanRequest(goal="Count the rows in data/sales.csv"), False)
answer = httpx.post(
    f"{server.listening_address}/v1/chat/completions",
    json={"model": MODEL_NAME, "messages": messages, "max_tokens": 1},
    timeout=300,
).json()
print(json.dumps({"warmed": warmed, "read": answer["timings"]["prompt_n"],
                  "prompt": answer["usage"]["prompt_tokens"]}))
"""


def probe(slots: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(slots)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_a_new_process_reads_only_the_goal_after_the_first_saved_the_prefix(
    tmp_path: Path,
) -> None:
    first = probe(tmp_path)
    assert first["warmed"] == "computed"
    assert len([p.name for p in tmp_path.iterdir() if p.name.endswith(".bin")]) == 2
    second = probe(tmp_path)
    assert second["warmed"] == "restored"
    prompt, read = second["prompt"], second["read"]
    assert isinstance(prompt, int) and isinstance(read, int)
    assert prompt > 1000 and read < prompt // 10, second
