"""The runnable examples of ``starter.py --example NAME``: a plan file, what it shows, and
whether it needs the local example API (started by the starter for the run)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from durable_agents.contracts import Plan, Policy
from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.policy import DEFAULT_DECISIONS

HERE = Path(__file__).parent
API_PLACEHOLDER = "$API"
JOB_DONE_EVENT = "job.done"
# The examples write to their own local API without asking; everything else as default.
EXAMPLE_POLICY = Policy(
    allow_hosts=["127.0.0.1"], decisions={**DEFAULT_DECISIONS, Risk.EXTERNAL: "allow"}
)


@dataclass(frozen=True)
class Example:
    name: str
    shows: str
    uses_api: bool

    def plan(self, api_url: str | None) -> Plan:
        """The example's plan, pointed at the running example API."""
        text = (HERE / f"{self.name}.json").read_text(encoding="utf-8")
        if self.uses_api:
            assert api_url, "this example needs the example API running"
            text = text.replace(API_PLACEHOLDER, api_url)
        return Plan.model_validate_json(text)


EXAMPLES = {
    example.name: example
    for example in (
        Example(
            "data_pipeline",
            "CSV in, totals per region and product, one file per region (foreach), CSV and "
            "JSON out, a conditional log line",
            uses_api=False,
        ),
        Example(
            "api_orchestration",
            "fetch orders from an API, invoice each open one (foreach POSTs with "
            "Idempotency-Key, undone by DELETE if the run fails), record and notify",
            uses_api=True,
        ),
        Example(
            "job_execution",
            "start a job on an API, wait for its webhook (wait_for_event), confirm its "
            "status, save its result",
            uses_api=True,
        ),
    )
}


def prepare_workspace(workspace: Path) -> None:
    """Examples read data/sales.csv; copy the demo's when the workspace has none (the
    repository's data/, shipped in the package as examples/data)."""
    target = workspace / "data" / "sales.csv"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "data" / "sales.csv", target)
