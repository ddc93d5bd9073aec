"""How often the README's demo goal succeeds with the embedded offline model, per seed.

Runs ``starter.py --goal ...`` as a user would (auto-started dev server, in-process worker)
once per seed in a fresh workspace, and checks out/revenue.json against totals computed
here from data/sales.csv. Prints one row per seed and the success rate.
Rerun: .venv/bin/python bench/demo_reliability.py [first_seed] [count]
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).parents[1]
GOAL = "Read data/sales.csv, total the revenue per region, and write the totals to out/revenue.json"


def expected_totals() -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    with (REPO / "data/sales.csv").open() as handle:
        for row in csv.DictReader(handle):
            sums[row["region"]] += float(row["revenue"])
    return dict(sums)


def found_totals(path: Path) -> dict[str, float] | None:
    """Region -> total from a list of records or a mapping; None when unreadable."""
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            data = [{"region": k, "revenue": v} for k, v in data.items()]
        found = {}
        for row in data:
            region = next(v for v in row.values() if isinstance(v, str))
            found[region] = float(next(v for v in row.values() if isinstance(v, int | float)))
        return found
    except (OSError, ValueError, TypeError, StopIteration, AttributeError):
        return None


def run_once(seed: int, state_dir: Path) -> tuple[str, float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        (workspace / "data").mkdir()
        (workspace / "data/sales.csv").write_text((REPO / "data/sales.csv").read_text())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TEMPORAL_"))}
        env.update(LLM_SEED=str(seed), AGENT_STATE_DIR=str(state_dir))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, str(REPO / "starter.py"), "--goal", GOAL, "--workspace", tmp],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        seconds = time.monotonic() - started
        totals = found_totals(workspace / "out/revenue.json")
        correct = totals == expected_totals()
        outcome = "ok" if done.returncode == 0 and correct else f"exit {done.returncode}"
        if done.returncode == 0 and not correct:
            outcome = "wrong file"
        output = done.stdout if done.returncode == 0 else done.stderr or done.stdout
        last = (output.strip().splitlines() or [""])[-1][:100]
        return outcome, seconds, last


def main() -> None:
    first = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    state_dir = Path(tempfile.mkdtemp(prefix="demo-bench-"))
    env = {**os.environ, "AGENT_STATE_DIR": str(state_dir)}
    wins = 0
    print(f"{'seed':>5}  {'outcome':<10} {'seconds':>8}  last line")
    try:
        for seed in range(first, first + count):
            outcome, seconds, last = run_once(seed, state_dir)
            wins += outcome == "ok"
            print(f"{seed:>5}  {outcome:<10} {seconds:>8.1f}  {last}", flush=True)
    finally:
        stop = [sys.executable, str(REPO / "starter.py"), "--stop-server"]
        subprocess.run(stop, env=env, timeout=60, check=False, capture_output=True)
    print(f"success: {wins}/{count} ({wins / count:.0%})")


if __name__ == "__main__":
    main()
