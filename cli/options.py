"""The options of a new run (``starter.py`` without a command): what to run and its limits."""

from __future__ import annotations

import argparse
from pathlib import Path

from durable_agents.examples.catalog import EXAMPLES


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Goal or plan, workspace, policy, budget, and how to start and follow the run."""
    parser.add_argument(
        "--goal", help='what to achieve, in plain language ("-": read it from standard input)'
    )
    parser.add_argument("--goal-file", type=Path, help="read the goal from this file")
    parser.add_argument("--plan", type=Path, help="run this plan (JSON file), skip planning")
    parser.add_argument(
        "--example",
        choices=sorted(EXAMPLES),
        help="run a shipped example offline (its local API is started for the run)",
    )
    parser.add_argument("--workflow-id", help="id for the run (default: generated)")
    parser.add_argument("--no-wait", action="store_true", help="print the run id and exit")
    parser.add_argument(
        "--workspace",
        default=None,
        help="folder file steps are confined to (default: ./workspace, created with the "
        "demo's data/sales.csv); never a folder holding the agent's own code. "
        "worker:NAME is the folder NAME under the worker's AGENT_WORKSPACE_ROOT, for a "
        "worker in a container or on another machine (worker: alone is that root)",
    )
    parser.add_argument(
        "--max-parallel", type=int, default=4, help="calls (steps, foreach items) run at once"
    )
    parser.add_argument(
        "--local-llm-steps",
        action="store_true",
        help="run llm steps as local activities: wide fan-outs to a fast provider finish "
        "sooner, but those steps show no live progress and share the workflow worker",
    )
    parser.add_argument(
        "--review",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="LLM review of results (default: on, off with --plan)",
    )
    parser.add_argument(
        "--review-checked",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="review also results whose every deliverable passed its content checks in "
        "code (default: on with a configured provider, off with the embedded model, whose "
        "reviewer sent correct checked files back to re-planning)",
    )
    parser.add_argument(
        "--compensate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="if the run fails or is cancelled, undo its finished steps (default: on)",
    )
    parser.add_argument("--policy", type=Path, help="run policy file (.toml or .json)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="private host/IP/CIDR HTTP steps may reach (repeatable)",
    )
    parser.add_argument(
        "--approval-timeout", type=float, metavar="SECONDS", help="deny undecided approvals after"
    )
    _add_budget_options(parser)
    parser.add_argument(
        "--yes",
        action="store_true",
        help="approve every step that asks (for scripts); blocked steps stay blocked",
    )
    parser.add_argument(
        "--accept-unverified",
        action="store_true",
        help="exit 0 when a run succeeds with nothing checked in code (no file the goal "
        "names, no step with an effect): the answer rests on the model alone (else exit 3)",
    )
    parser.add_argument("--profile", help="Temporal envconfig profile")
    parser.add_argument(
        "--stop-server",
        action="store_true",
        help="stop the dev server this project started, then exit",
    )


def _add_budget_options(parser: argparse.ArgumentParser) -> None:
    budget = parser.add_argument_group("budget (a used-up limit asks for an extension)")
    budget.add_argument("--max-steps", type=int, metavar="N", help="steps started")
    budget.add_argument("--max-llm-calls", type=int, metavar="N", help="LLM requests")
    budget.add_argument("--max-tokens", type=int, metavar="N", help="prompt + completion")
    budget.add_argument("--max-minutes", type=float, metavar="M", help="wall time of the run")
    budget.add_argument(
        "--max-cost", type=float, metavar="USD", help="LLM cost (built-in price table)"
    )
    budget.add_argument(
        "--on-budget",
        choices=("ask", "fail"),
        default="ask",
        help="when a limit is used up: ask a person to extend it (default) or fail",
    )
