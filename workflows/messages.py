"""Messages from outside a run: signal inputs of any shape, events kept for the steps
that wait for them. Nothing a signaller sends may fail a workflow task."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.common import RawValue

from durable_agents.contracts import RunEvent
from durable_agents.contracts.run import RunState

MAX_UNCLAIMED_EVENTS = 1000  # events kept for wait_for_event steps that have not asked yet

SignalInput = TypeVar("SignalInput", bound=BaseModel)


def signal_input(
    name: str, payloads: tuple[Any, ...], model: type[SignalInput]
) -> SignalInput | None:
    """A signal's input, or None (logged) when it is not what the signal takes.

    Anyone who may signal can send anything: no input (``temporal workflow signal``
    without ``--input``, an empty Web UI form), several inputs, ``null``, a string. None of
    it may fail a workflow task, which would leave the run stuck, so handlers take
    ``*payloads`` (the SDK then passes what it decoded, never a count mismatch).
    """
    if len(payloads) != 1:
        workflow.logger.warning(
            "Ignored %s signal with %d inputs; send exactly one JSON object", name, len(payloads)
        )
        return None
    value = payloads[0]
    try:
        if isinstance(value, RawValue):
            value = workflow.payload_converter().from_payload(value.payload)
        return model.model_validate(value)
    except (ValidationError, ValueError, TypeError) as exc:
        workflow.logger.warning("Ignored %s signal with unusable input: %s", name, exc)
        return None


def keep_event(state: RunState, event: RunEvent) -> None:
    """Keep an event for the wait_for_event step that asks for its name (bounded)."""
    unclaimed = sum(len(queue) for queue in state.events.values())
    if unclaimed >= MAX_UNCLAIMED_EVENTS:
        workflow.logger.warning("Dropped event %r: %d unclaimed", event.name, unclaimed)
        return
    state.events.setdefault(event.name, []).append(event.payload)
