"""Worker logging: plain text for people, or one JSON object per line for log pipelines
(``AGENT_LOG_FORMAT=json`` or ``worker.py --log-format json``).

Temporal's workflow and activity loggers attach the run (workflow id, run id, type,
task queue) and the call (activity type and id, attempt); the agent adds ``step_id``.
Secrets never reach a record: settings keep keys out of their repr, nothing logs a
request's headers, and ``RedactingFilter`` on the handler scrubs every record (message,
arguments, exception text) of the process's secrets and of URL user info and query values
(httpx logs each request's full URL). tests/test_logging.py and tests/test_secrets.py grep.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

from durable_agents.activities.redaction import Redactor
from durable_agents.runtime.secrets import redactor

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Which fields of Temporal's log context go into a JSON record, under which names.
_WORKFLOW_FIELDS = ("workflow_id", "run_id", "workflow_type", "task_queue", "attempt")
_ACTIVITY_FIELDS = ("activity_id", "activity_type", "attempt", "workflow_id", "workflow_run_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the run's context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        workflow = getattr(record, "temporal_workflow", None)
        if isinstance(workflow, dict):
            entry |= {key: workflow[key] for key in _WORKFLOW_FIELDS if key in workflow}
        activity = getattr(record, "temporal_activity", None)
        if isinstance(activity, dict):
            entry |= {key: activity[key] for key in _ACTIVITY_FIELDS if key in activity}
        step_id = getattr(record, "step_id", None)
        if step_id is not None:
            entry["step_id"] = step_id
        if record.exc_text:  # formatted (and redacted) by RedactingFilter
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RedactingFilter(logging.Filter):
    """Scrubs a record before any handler formats it: the message merged with its
    arguments, the exception text and the stack; the record is always kept."""

    _formatter = logging.Formatter()

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad arguments: keep what there is, redacted
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def configure_logging(
    fmt: str = "text", level: int = logging.INFO, redact: Redactor | None = None
) -> None:
    """Root logging for worker.py; ``fmt`` is text or json; records are scrubbed by
    ``redact`` (default: of the secrets in the environment, see ``runtime.secrets``)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be text or json, got {fmt!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter(redact or redactor()))
    # In JSON the context is fields of its own; do not repeat it inside the message too.
    activity.logger.activity_info_on_message = fmt != "json"
    workflow.logger.workflow_info_on_message = fmt != "json"
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
