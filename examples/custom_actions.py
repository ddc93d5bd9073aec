"""Custom actions, as an app embedding the worker writes them: a ticket tracker.

Start a worker with them (``AGENT_ACTIONS=durable_agents.examples.custom_actions:ACTIONS
python worker.py``, or ``AgentPlugin(actions=ACTIONS)``) and plans may use
``open_ticket`` and ``close_ticket`` like built-in actions: the planner is offered them,
the policy judges each call (an urgent ticket pages people: it is an external action that
asks for approval by default; others only write to the tracker), and a run that fails
after opening a ticket closes it again (the undo).

The tracker here is a JSON-lines file (``AGENT_TICKETS_FILE``, default
``.agent-state/tickets.jsonl``) so the example runs anywhere; a real app calls its API.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from temporalio.exceptions import ApplicationError

from durable_agents.contracts import Compensation, Risk
from durable_agents.contracts.custom_action import CustomAction

TICKETS_ENV = "AGENT_TICKETS_FILE"
_lock = asyncio.Lock()


def tickets_file() -> Path:
    return Path(os.environ.get(TICKETS_ENV) or ".agent-state/tickets.jsonl")


def read_tickets(path: Path | None = None) -> dict[int, dict[str, JsonValue]]:
    """Every ticket by id, its latest state (the file is an append-only log)."""
    path = path or tickets_file()
    tickets: dict[int, dict[str, JsonValue]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            tickets[int(entry["id"])] = tickets.get(int(entry["id"]), {}) | entry
    return tickets


async def _append(entry: dict[str, JsonValue]) -> None:
    path = tickets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


class OpenTicket(BaseModel):
    """Open a ticket in the team's tracker; the output is {"id": ..., "status": "open"}."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, description="One line: what is wrong")
    body: str = Field(default="", max_length=20_000, description="Details, may embed ${...}")
    priority: Literal["low", "normal", "urgent"] = Field(
        default="normal", description="urgent pages the on-call person"
    )


class CloseTicket(BaseModel):
    """Close a ticket of the team's tracker by its id."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, description="The ticket's id, e.g. ${steps.<open step>.output.id}")
    reason: str = Field(default="", max_length=2000)


async def open_ticket(params: OpenTicket) -> JsonValue:
    async with _lock:  # ids are the tracker's job; this file needs one writer at a time
        ticket_id = max(read_tickets(), default=0) + 1
        await _append({"id": ticket_id, "status": "open", **params.model_dump()})
    return {"id": ticket_id, "status": "open"}


async def close_ticket(params: CloseTicket) -> JsonValue:
    async with _lock:
        if params.id not in read_tickets():
            # final: asking again cannot help (a plain exception would be retried)
            raise ApplicationError(
                f"no ticket {params.id}", type="NoSuchTicket", non_retryable=True
            )
        await _append({"id": params.id, "status": "closed", "reason": params.reason})
    return {"id": params.id, "status": "closed"}


def ticket_risk(params: OpenTicket) -> Risk:
    """Paging people is a side effect outside the run; a quiet ticket only writes."""
    return Risk.EXTERNAL if params.priority == "urgent" else Risk.WRITE


def reopen_undo(params: OpenTicket, output: JsonValue) -> Compensation | None:
    """A run that fails after opening a ticket closes it again."""
    if not isinstance(output, dict) or not isinstance(output.get("id"), int):
        return None
    reason = "the run that opened it failed or was cancelled"
    return Compensation(
        action="close_ticket",
        params={"id": output["id"], "reason": reason},
        description=f"close ticket {output['id']} ({params.title[:60]})",
    )


ACTIONS: list[CustomAction[OpenTicket] | CustomAction[CloseTicket]] = [
    CustomAction(
        "open_ticket",
        OpenTicket,
        open_ticket,
        risk=ticket_risk,
        undo=reopen_undo,
        example='{"title": "Nightly export failed", "body": "${steps.check.output}"}',
    ),
    CustomAction("close_ticket", CloseTicket, close_ticket, risk=Risk.WRITE),
]
