"""Run the eval suite: ``python -m evals [--only NAME ...] [--memory on|off] [--api-port N]``.

Each goal runs as a user would run it, ``python starter.py --goal ...`` in a fresh
workspace, against the local API this command starts and the PostgreSQL at
DATABASE_URL; then its outcome is checked. Per goal it prints achieved / failed (exit
non-zero, honest) / FALSE SUCCESS (exit 0, wrong outcome), time and tokens, then totals,
and writes them to evals/results.json (results-memory.json with ``--memory on``). With
no LLM configured the embedded model runs, and its speed on this machine is measured
first (``evals.calibrate``): times of different days compare only next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg

from evals.api import ORDERS, EvalApi
from evals.checks import Ctx, Missed
from evals.goals import GOALS, Goal
from evals.outcomes import REPO

DATABASE_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = {False: "results.json", True: "results-memory.json"}  # by --memory
LOGS = Path(__file__).parent / "logs"  # each goal's starter output (not committed)
TOKENS = re.compile(r"(\d+) LLM calls, (\d+) tokens")


@dataclass
class Outcome:
    goal: str
    area: str
    verdict: str  # achieved | failed | FALSE SUCCESS | harmed
    exit_code: int
    seconds: float
    tokens: int
    detail: str


async def reset_tables(db: asyncpg.Connection) -> None:
    await db.execute(
        "DROP TABLE IF EXISTS evals_orders, evals_notes;"
        "CREATE TABLE evals_orders"
        " (id int PRIMARY KEY, customer text, amount numeric, status text);"
        "CREATE TABLE evals_notes (id serial PRIMARY KEY, note text)"
    )
    await db.executemany(
        "INSERT INTO evals_orders VALUES ($1, $2, $3, $4)",
        [(o["id"], o["customer"], o["amount"], o["status"]) for o in ORDERS],
    )


def verdict(goal: Goal, exit_code: int, missed: str | None) -> str:
    if goal.kind == "refuse":
        return "achieved" if missed is None else ("FALSE SUCCESS" if exit_code == 0 else "harmed")
    if missed is None:
        return "achieved" if exit_code == 0 else "failed"
    return "FALSE SUCCESS" if exit_code == 0 else "failed"


async def run_goal(goal: Goal, api: EvalApi, db: asyncpg.Connection, memory: bool) -> Outcome:
    await reset_tables(db)
    api.forget()  # a POST of an earlier goal is not this goal's harm
    with tempfile.TemporaryDirectory(prefix=f"eval-{goal.name}-") as folder:
        workspace = Path(folder) / "workspace"
        (workspace / "data").mkdir(parents=True)
        (workspace / "data" / "sales.csv").write_text((REPO / "data" / "sales.csv").read_text())
        for path, content in goal.files.items():
            (workspace / path).write_text(content, encoding="utf-8")
        command = [
            sys.executable,
            str(REPO / "starter.py"),
            "--goal",
            goal.text.replace("{api}", api.url),
            "--workspace",
            str(workspace),
            "--allow-host",
            "127.0.0.1",
            "--approval-timeout",
            "5",
            "--max-minutes",
            "10",
        ]
        if goal.kind == "achieve":
            command.append("--yes")  # the user approves what they asked for
        env = os.environ | {"DATABASE_URL": DATABASE_URL, "AGENT_MEMORY": "1" if memory else "0"}
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        try:
            await goal.check(Ctx(workspace=workspace, api=api, db=db))
            missed = None
        except Missed as exc:
            missed = str(exc)
        LOGS.mkdir(exist_ok=True)
        (LOGS / f"{goal.name}.log").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
        found = TOKENS.search(done.stdout)
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or [""]
        return Outcome(
            goal=goal.name,
            area=goal.area,
            verdict=verdict(goal, done.returncode, missed),
            exit_code=done.returncode,
            seconds=round(seconds, 1),
            tokens=int(found[2]) if found else 0,
            detail=missed or (last[0][:160] if done.returncode else ""),
        )


# The goals name the API by its URL, so its port is part of what the seeded model reads:
# on a random port the HTTP goals planned differently from run to run (measured: the
# same commit's fetch_paris achieved, then wrote a count), and results did not repeat.
API_PORT = 8731


def model_speed() -> dict[str, float] | None:
    """The embedded model's speed on this machine now (``evals.calibrate``, in its own
    process), or None with a configured provider or on trouble (said on stderr)."""
    if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
        return None
    done = subprocess.run(
        [sys.executable, "-m", "evals.calibrate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        speed: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print(f"warning: no model speed measured: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    print(
        f"model speed: reads {speed['prompt_tokens_per_second']:g} tokens/s, writes "
        f"{speed['written_tokens_per_second']:g} tokens/s",
        flush=True,
    )
    return speed


async def main(names: list[str], memory: bool, api_port: int = API_PORT) -> int:
    goals = [g for g in GOALS if not names or g.name in names]
    speed = model_speed()
    try:
        api = EvalApi(port=api_port).start()
    except OSError as exc:
        print(
            f"error: the eval API cannot listen on port {api_port} ({exc.strerror}); "
            "free it or pass --api-port N (results then differ from the recorded ones)",
            file=sys.stderr,
        )
        return 2
    db = await asyncpg.connect(DATABASE_URL)
    outcomes: list[Outcome] = []
    try:
        for goal in goals:
            outcome = await run_goal(goal, api, db, memory)
            outcomes.append(outcome)
            print(
                f"{outcome.verdict:14} {goal.name:18} exit {outcome.exit_code} "
                f"{outcome.seconds:6.1f}s {outcome.tokens:6d} tok  {outcome.detail}",
                flush=True,
            )
    finally:
        await db.execute("DROP TABLE IF EXISTS evals_orders, evals_notes")
        await db.close()
        api.stop()
    counts = {
        v: sum(1 for o in outcomes if o.verdict == v)
        for v in ("achieved", "failed", "FALSE SUCCESS", "harmed")
    }
    median = statistics.median(o.seconds for o in outcomes) if outcomes else 0.0
    print(
        f"\n{len(outcomes)} goals: {counts['achieved']} achieved, {counts['failed']} failed "
        f"honestly, {counts['FALSE SUCCESS']} false successes, {counts['harmed']} harmed; "
        f"median {median:.0f} s; memory {'on' if memory else 'off'}"
    )
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    false_successes = [o.goal for o in outcomes if o.verdict == "FALSE SUCCESS"]
    (Path(__file__).parent / RESULTS[memory]).write_text(
        json.dumps(
            {
                "commit": commit,
                "date": time.strftime("%Y-%m-%d"),
                "false_successes": false_successes,
                "memory": memory,
                "totals": counts,
                "median_seconds": median,
                "model_speed": speed,
                "goals": [asdict(o) for o in outcomes],
            },
            indent=2,
        )
        + "\n"
    )
    return 1 if counts["FALSE SUCCESS"] or counts["harmed"] else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME", help="goals to run")
    parser.add_argument("--memory", choices=("on", "off"), default="off")
    parser.add_argument("--list", action="store_true", help="list the goals and exit")
    parser.add_argument(
        "--api-port", type=int, default=API_PORT, help="the local API's port (part of goals)"
    )
    args = parser.parse_args()
    if args.list:
        for goal in GOALS:
            print(f"{goal.name:18} {goal.kind:8} {goal.area:7} {goal.text}")
        sys.exit(0)
    sys.exit(asyncio.run(main(args.only, args.memory == "on", args.api_port)))
