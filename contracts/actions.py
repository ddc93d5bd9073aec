"""The action catalog: every step kind a plan may use, its params model, risk and limits.

One table serves three readers: the planner prompt (names, descriptions, params schemas),
workflow code (validation, timeouts, retry policies at the call site) and the worker
(which registers one activity under each name). Names are part of history: never rename.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, JsonValue, field_validator, model_validator
from temporalio.common import RetryPolicy

from durable_agents.contracts.action_spec import (
    FILE_RETRY,
    HEARTBEAT_TIMEOUT,
    LLM_RETRY,
    LLM_TIMEOUT,
    NETWORK_RETRY,
    ActionParams,
    ActionSpec,
    Risk,
)

MAX_WAIT_SECONDS = 30 * 24 * 3600
# Actions that run in workflow code (timers, events, child runs, agents): never a tool.
CATALOG_NAMES_IN_WORKFLOW = frozenset({"wait", "wait_for_event", "sub_goal", "agent"})
_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$").fullmatch


class HttpRequestParams(ActionParams):
    """Call an HTTP(S) endpoint; JSON responses come back parsed."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(description="Absolute http:// or https:// URL")
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    json_body: JsonValue = Field(default=None, description="JSON body, or null")
    text_body: str | None = Field(default=None, description="Raw text body, or null")
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    max_response_bytes: int = Field(default=1_000_000, gt=0, le=50_000_000)


class FileReadParams(ActionParams):
    """Read a workspace file; .json and .csv files are parsed unless format says text."""

    path: str = Field(description="Path relative to the workspace, e.g. data/sales.csv")
    format: Literal["auto", "text", "json", "csv"] = "auto"


class FileWriteParams(ActionParams):
    """Write a workspace file (parent folders are created); non-text content as JSON."""

    path: str = Field(description="Path relative to the workspace, e.g. out/report.json")
    content: JsonValue = Field(description="Text, JSON, or a ${...} reference")
    format: Literal["auto", "text", "json", "csv"] = "auto"


class FileListParams(ActionParams):
    """List files under a workspace folder matching a glob pattern."""

    path: str = "."
    pattern: str = "*"
    recursive: bool = False


class FileAppendParams(ActionParams):
    """Append text to a workspace file (created if missing); non-text content as JSON."""

    path: str = Field(description="Path relative to the workspace, e.g. out/log.txt")
    content: JsonValue = Field(description="Text, JSON, or a ${...} reference")


class FileDeleteParams(ActionParams):
    """Delete one workspace file (never a folder)."""

    path: str = Field(description="Path relative to the workspace")
    missing_ok: bool = Field(default=False, description="Succeed if the file is not there")


class FileMoveParams(ActionParams):
    """Move or rename a workspace file; an existing destination is kept unless overwrite."""

    source: str = Field(description="Path relative to the workspace")
    destination: str = Field(description="Path relative to the workspace")
    overwrite: bool = False


Aggregate = Literal["sum", "count", "min", "max", "avg"]
# JMESPath functions that total or pick across records; length() may legitimately filter.
AGGREGATING_CALL = re.compile(r"\b(sum|avg|min|max|min_by|max_by)\s*\(")


class TransformParams(ActionParams):
    """Reshape data: parse text, apply a JMESPath expression, group and aggregate, and
    convert (CSV text <-> JSON data <-> JSON text)."""

    input: JsonValue = Field(description="The data, usually a ${steps.<id>.output} reference")
    parse: Literal["none", "json", "csv"] = Field(
        default="none", description="Parse text input as JSON or CSV first (parsed data is kept)"
    )
    expression: str | None = Field(
        default=None,
        description="JMESPath applied to the (parsed) input; null unless filtering/picking",
    )
    group_by: str | None = Field(
        default=None, description="Field of each record to group by, or null"
    )
    aggregate: dict[str, Aggregate] = Field(
        default_factory=dict,
        description=(
            'field -> sum|count|min|max|avg, e.g. {"revenue": "sum"}: one row per group, '
            "or one row of grand totals without group_by"
        ),
    )
    output: Literal["data", "csv", "json"] = Field(
        default="data", description="Return data, or CSV/JSON text (e.g. to send or embed)"
    )

    @model_validator(mode="before")
    @classmethod
    def _totals_come_from_aggregate(cls, data: Any) -> Any:
        """The planner's most common transform mistake (measured), refused at plan time;
        "before" so it runs even while ``input`` is still an unresolved reference."""
        if isinstance(data, dict):
            expression, group_by = data.get("expression"), data.get("group_by")
            aggregate = data.get("aggregate")
            fields = {group_by, *(aggregate if isinstance(aggregate, dict) else ())}
            if group_by and isinstance(expression, str) and AGGREGATING_CALL.search(expression):
                raise ValueError(
                    f"expression {expression!r} computes totals, but the expression runs "
                    "before group_by on the raw records; set expression to null and name the "
                    'totals in aggregate, e.g. {"<number field>": "sum"}'
                )
            if group_by and isinstance(expression, str) and expression.strip() in fields:
                raise ValueError(
                    f"expression {expression!r} names a field, but it runs before group_by "
                    "on the whole input (a list of records has no such field); set "
                    "expression to null: group_by and aggregate already name the fields"
                )
        return data


Comparison = Literal["==", "!=", ">", ">=", "<", "<=", "contains"]
Computation = Literal["rows", "count", "sum", "average", "min", "max", "values", "distinct"]


class Condition(ActionParams):
    """One test a record must pass: its ``field`` compared with ``value``."""

    field: str = Field(description="A field of the records, e.g. city")
    op: Comparison = "=="
    value: str | int | float | bool | None = Field(
        default=None, description='e.g. "Paris" or 200; null: the field has no value'
    )


class RecordsParams(ActionParams):
    """Work on a list of records (CSV rows, JSON objects, API or SQL results) the way goals
    say it, without expressions: join other records on a shared key, keep the records
    where fields compare to values, then count, sum, average, min or max a field (overall,
    or per group), list a field's values or its distinct values, or return the records
    sorted, top N first, with only some fields. Text input counts as its lines."""

    input: JsonValue = Field(description="The records, usually a ${steps.<id>.output} reference")
    where: list[Condition] = Field(
        default_factory=list, description="Keep only records passing every condition"
    )
    compute: Computation = Field(
        default="rows",
        description=(
            "rows: the records; count: how many; sum|average|min|max: of field; values: "
            "field of each record; distinct: field's distinct values"
        ),
    )
    field: str | None = Field(
        default=None, description="The field to sum, average, min, max, list; else null"
    )
    group_by: str | None = Field(
        default=None,
        description='For "per X" or "for each X": the field X; the output is then '
        '{"<each X>": <result>, ...}; else null',
    )
    sort_by: str | None = Field(default=None, description="Field to sort records by, or null")
    descending: bool = Field(default=False, description="Largest first (with sort_by)")
    limit: int | None = Field(default=None, ge=1, le=100_000, description="Keep the first N")
    fields: list[str] = Field(
        default_factory=list, description='compute "rows" only: keep just these fields'
    )
    join: JsonValue = Field(
        default=None,
        description="Other records to join first (e.g. customers for orders), or null: each "
        "record gets the fields of the other record with the same join_on value",
    )
    join_on: str | None = Field(
        default=None, description="The field both inputs share (e.g. customer_id), or null"
    )


class SetKeysParams(ActionParams):
    """Change some keys of a JSON object (a config file read with file_read): the output
    is the object with those keys set, every other key kept as it was."""

    input: JsonValue = Field(description="The object, usually a ${steps.<id>.output} reference")
    values: dict[str, JsonValue] = Field(
        description='The keys to set and their new values, e.g. {"debug": true}'
    )


class SqlQueryParams(ActionParams):
    """Run one parameterized SQL statement on PostgreSQL (SELECT, or INSERT / UPDATE to
    change rows: a person approves writes); rows come back as JSON records."""

    sql: str = Field(description="SQL with $1, $2 ... placeholders; never paste values in")
    params: list[JsonValue] = Field(default_factory=list, description="Values for $1, $2 ...")
    max_rows: int = Field(default=1000, gt=0, le=10_000)
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)


class LlmParams(ActionParams):
    """Ask the language model; the prompt may embed ${...} references to earlier outputs."""

    prompt: str
    system: str | None = None
    response: Literal["text", "json"] = "text"
    max_tokens: int = Field(default=512, gt=0, le=8192)
    output_schema: dict[str, JsonValue] | None = Field(
        default=None,
        description="JSON schema the answer must match (a JSON answer; checked, repaired "
        "once), so later steps can reference its fields; or null",
    )


class WaitParams(ActionParams):
    """Pause the run durably (a workflow timer: survives restarts, costs no worker)."""

    seconds: float = Field(gt=0, le=MAX_WAIT_SECONDS)


class WaitForEventParams(ActionParams):
    """Wait durably for a named event: a person or an external system sends it to the run
    (the ``event`` signal) with a JSON payload, which becomes the output."""

    event: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$", description="Event name")
    timeout_seconds: float = Field(default=3600, gt=0, le=MAX_WAIT_SECONDS)


class SubGoalParams(ActionParams):
    """Hand a self-contained part of the goal to its own run (a child workflow with its own
    plan, steps and history); the output is its answer and its steps' outputs."""

    goal: str = Field(min_length=1, max_length=4000, description="The sub-goal, in full")
    max_replans: int = Field(default=1, ge=0, le=5)


class AgentParams(ActionParams):
    """Let the LLM work on a task by calling other actions as tools, in a loop (ReAct);
    each tool call is checked by the run's policy and runs as its own activity. The output
    is its final answer and a record of its tool calls."""

    task: str = Field(
        min_length=1, max_length=8000, description="What to find out or do; may embed ${...}"
    )
    tools: list[str] = Field(
        default_factory=lambda: list(AGENT_TOOLS),
        description="Actions it may call (default: every action without its own loop)",
    )
    max_iterations: int = Field(default=6, ge=1, le=20, description="LLM turns at most")

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, tools: list[str]) -> list[str]:
        """Built-ins that are one activity call, or other names (a worker's custom
        actions, which plan checks look up in the run's catalog)."""
        unknown = [
            tool for tool in tools if tool in CATALOG_NAMES_IN_WORKFLOW or not _TOOL_NAME(tool)
        ]
        if unknown:
            raise ValueError(
                f"not usable as tools: {', '.join(unknown)}; use some of: {', '.join(AGENT_TOOLS)}"
            )
        return tools


CATALOG: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "file_read",
            FileReadParams.__doc__ or "",
            FileReadParams,
            Risk.READ,
            timedelta(seconds=30),
            FILE_RETRY,
            '{"path": "data/sales.csv"} -> a CSV becomes a list of records with numbers parsed',
        ),
        ActionSpec(
            "file_write",
            FileWriteParams.__doc__ or "",
            FileWriteParams,
            Risk.WRITE,
            timedelta(seconds=30),
            FILE_RETRY,
            '{"path": "out/result.json", "content": "${steps.summarize.output}"}',
        ),
        ActionSpec(
            "file_append",
            FileAppendParams.__doc__ or "",
            FileAppendParams,
            Risk.WRITE,
            timedelta(seconds=30),
            FILE_RETRY,
            '{"path": "out/log.txt", "content": "done\\n"}',
        ),
        ActionSpec(
            "file_delete",
            FileDeleteParams.__doc__ or "",
            FileDeleteParams,
            Risk.DESTRUCTIVE,
            timedelta(seconds=30),
            FILE_RETRY,
            '{"path": "out/old.json"}',
        ),
        ActionSpec(
            "file_move",
            FileMoveParams.__doc__ or "",
            FileMoveParams,
            Risk.DESTRUCTIVE,
            timedelta(seconds=30),
            FILE_RETRY,
            '{"source": "out/report.json", "destination": "archive/report.json"}',
        ),
        ActionSpec(
            "file_list",
            FileListParams.__doc__ or "",
            FileListParams,
            Risk.READ,
            timedelta(seconds=30),
            FILE_RETRY,
            '{"path": "data", "pattern": "*.csv"} -> ["data/a.csv", "data/b.csv"]',
        ),
        ActionSpec(
            "transform",
            TransformParams.__doc__ or "",
            TransformParams,
            Risk.READ,
            timedelta(seconds=60),
            FILE_RETRY,
            # Placeholders, not sample field names: the 1.5B model copied concrete names
            # (and a sample filter) from this example into real plans, 3 times measured.
            '{"input": "${steps.<read step id>.output}", "group_by": "<field to group by>", '
            '"aggregate": {"<number field>": "sum"}} -> one total per group: '
            '[{"<field to group by>": ..., "<number field>": <total>}, ...]; '
            "use the field names of the data; leave expression null unless the goal asks "
            "to filter or pick fields",
            expert_only=True,
            pure=True,
        ),
        ActionSpec(
            "records",
            RecordsParams.__doc__ or "",
            RecordsParams,
            Risk.READ,
            timedelta(seconds=60),
            FILE_RETRY,
            '{"input": "${steps.<read step id>.output}", "where": [{"field": "<field>", '
            '"op": "==", "value": "<value>"}], "compute": "sum", "field": "<number field>", '
            '"group_by": "<field>"} -> {"<group>": <sum>, ...}; use the data\'s field names',
            pure=True,
        ),
        ActionSpec(
            "set_keys",
            SetKeysParams.__doc__ or "",
            SetKeysParams,
            Risk.READ,
            timedelta(seconds=30),
            FILE_RETRY,
            '{"input": "${steps.<read step id>.output}", "values": {"<key>": <new value>}} '
            "-> the whole object with those keys changed",
            pure=True,
        ),
        ActionSpec(
            "http_request",
            HttpRequestParams.__doc__ or "",
            HttpRequestParams,
            Risk.EXTERNAL,
            timedelta(seconds=330),
            NETWORK_RETRY,
            '{"url": "https://api.example.com/items", "query": {"limit": "10"}} -> '
            '{"status": 200, "headers": {...}, "body": <JSON or text>}',
            heartbeat=HEARTBEAT_TIMEOUT,
        ),
        ActionSpec(
            "sql_query",
            SqlQueryParams.__doc__ or "",
            SqlQueryParams,
            Risk.EXTERNAL,  # refined per statement: reads run, writes ask, drops are blocked
            timedelta(seconds=330),
            NETWORK_RETRY,
            '{"sql": "SELECT region, sum(revenue) AS revenue FROM sales WHERE year = $1 '
            'GROUP BY region", "params": [2026]} -> {"rows": [{"region": ..., "revenue": ...}], '
            '"row_count": 4, "truncated": false}',
            heartbeat=HEARTBEAT_TIMEOUT,
        ),
        ActionSpec(
            "llm",
            LlmParams.__doc__ or "",
            LlmParams,
            Risk.READ,
            LLM_TIMEOUT,
            LLM_RETRY,
            '{"prompt": "Summarise these totals in one sentence: ${steps.totals.output}"}',
            heartbeat=HEARTBEAT_TIMEOUT,
            uses_llm=True,
            expert_params=frozenset({"output_schema"}),
        ),
        ActionSpec(
            "wait",
            WaitParams.__doc__ or "",
            WaitParams,
            Risk.READ,
            timedelta(0),
            RetryPolicy(maximum_attempts=1),
            '{"seconds": 60}',
            runs_in_workflow=True,
        ),
        ActionSpec(
            "wait_for_event",
            WaitForEventParams.__doc__ or "",
            WaitForEventParams,
            Risk.READ,
            timedelta(0),
            RetryPolicy(maximum_attempts=1),
            '{"event": "payment_received", "timeout_seconds": 86400} -> the event\'s payload',
            runs_in_workflow=True,
        ),
        ActionSpec(
            "sub_goal",
            SubGoalParams.__doc__ or "",
            SubGoalParams,
            Risk.READ,  # its own steps are judged by the same policy in the child run
            timedelta(0),
            RetryPolicy(maximum_attempts=1),
            '{"goal": "Fetch https://api.example.com/orders and write them to out/orders.json"}'
            ' -> {"answer": ..., "workflow_id": ..., "outputs": {<step id>: <output>}}',
            runs_in_workflow=True,
            expert_only=True,
        ),
        ActionSpec(
            "agent",
            AgentParams.__doc__ or "",
            AgentParams,
            Risk.READ,  # every tool call is judged by the policy on its own
            timedelta(0),
            RetryPolicy(maximum_attempts=1),
            '{"task": "Find the region with the most revenue in data/sales.csv and say why", '
            '"tools": ["file_read", "transform"]} -> {"answer": ..., "tool_calls": [...]}',
            runs_in_workflow=True,
            expert_only=True,
        ),
    )
}

# Actions an agent step may call: everything that is one activity call (not timers, events,
# child runs or another agent loop).
AGENT_TOOLS: tuple[str, ...] = tuple(
    name for name, spec in CATALOG.items() if not spec.runs_in_workflow
)
