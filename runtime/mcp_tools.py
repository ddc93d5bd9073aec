"""MCP servers as tool sources: their tools become custom actions of the worker's runs.

A worker is configured with servers (``McpServer``: a stdio command or a streamable-HTTP
URL, the tools allowed, each tool's risk class, default "external" so every call asks a
person unless the policy says otherwise). Each server has one connection per worker,
opened on first use and reopened after it breaks. Listings become ``ToolSpec`` entries
(``<server>_<tool>``, source ``mcp:<server>``) of the ``list_tools`` answer, so a run
records them; calls run as activities under those names (one dynamic activity serves
them all), heartbeating while the server works, their results capped like HTTP bodies.

A stdio server is started with a minimal environment (the MCP SDK's default: PATH, HOME
and the like), never the worker's secrets, unless ``env`` names what it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue, ValidationError
from temporalio import activity
from temporalio.common import RawValue

from durable_agents.activities.errors import action_error
from durable_agents.activities.heartbeat import heartbeating
from durable_agents.contracts import ActionResult, Risk
from durable_agents.contracts.tools import ToolSpec

if TYPE_CHECKING:  # the SDK takes ~0.75 s to import: only workers with servers pay it
    from mcp import Client, StdioServerParameters

logger = logging.getLogger(__name__)
SERVER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
LISTING_SECONDS = 60.0  # a server's tool listing is asked again after this long
CONNECT_SECONDS = 30.0
PYTHON = "{python}"  # in a command: the worker's own interpreter (its virtualenv's)
HEARTBEAT_SECONDS = 10.0


class McpConfigProblem(ValueError):
    """An MCP server is configured in a way this worker cannot use; says what to fix."""


@dataclass(frozen=True)
class McpServer:
    """One MCP server a worker takes tools from."""

    name: str  # actions are named <name>_<tool>
    command: Sequence[str] = ()  # stdio: the program and its arguments ({python}: ours)
    url: str | None = None  # or streamable HTTP, e.g. http://127.0.0.1:8000/mcp
    env: dict[str, str] | None = None  # what a stdio server needs beyond the SDK's minimum
    tools: Sequence[str] | None = None  # the tools runs may use (None: every tool listed)
    risk: dict[str, Risk] = field(default_factory=dict)  # per tool; others get default_risk
    default_risk: Risk = Risk.EXTERNAL
    timeout: timedelta = timedelta(seconds=60)
    max_attempts: int = 3
    max_result_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if not SERVER_NAME.fullmatch(self.name):
            raise McpConfigProblem(
                f"MCP server name {self.name!r}: use lowercase letters, digits and _ "
                "(at most 31), starting with a letter"
            )
        if bool(self.command) == bool(self.url):
            raise McpConfigProblem(
                f"MCP server {self.name!r}: give either command (stdio) or url, not both"
            )
        unknown = set(self.risk) - set(self.tools) if self.tools is not None else set()
        if unknown:
            raise McpConfigProblem(
                f"MCP server {self.name!r}: risk given for tools not allowed: "
                f"{', '.join(sorted(unknown))}"
            )

    def action_name(self, tool: str) -> str:
        return f"{self.name}_{re.sub(r'[^a-z0-9_]', '_', tool.lower())}"[:64]

    def target(self) -> StdioServerParameters | str:
        from mcp import StdioServerParameters

        if self.url:
            return self.url
        program, *args = [sys.executable if part == PYTHON else part for part in self.command]
        return StdioServerParameters(command=program, args=list(args), env=self.env)


class McpConnection:
    """One server's connection, owned by one task (the SDK's context must be left by
    the task that entered it); callers share it, a broken one is reopened on next use."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self._client: Client | None = None
        self._owner: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._error: BaseException | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        async with self._lock:
            if self._owner is None or self._owner.done():
                self._ready, self._stop, self._error = asyncio.Event(), asyncio.Event(), None
                self._owner = asyncio.create_task(self._own(), name=f"mcp-{self.server.name}")
            async with asyncio.timeout(CONNECT_SECONDS):
                await self._ready.wait()
            if self._client is None:
                raise ConnectionError(f"MCP server {self.server.name}: {self._error}")
            return self._client

    async def _own(self) -> None:
        from mcp import Client

        try:
            async with Client(self.server.target()) as client:
                self._client = client
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:
            self._error = exc
            logger.warning("MCP server %s: %s", self.server.name, exc)
        finally:
            self._client = None
            self._ready.set()

    def reset(self) -> None:
        """Drop a connection that failed mid-call; the next call opens a new one."""
        self._stop.set()

    async def aclose(self) -> None:
        self._stop.set()
        if self._owner is not None:
            with contextlib.suppress(Exception):
                await self._owner


class McpTools:
    """The worker's MCP servers: their tools as ``ToolSpec``s, and calling them."""

    def __init__(self, servers: Sequence[McpServer] = ()) -> None:
        names = [server.name for server in servers]
        if len(set(names)) != len(names):
            raise McpConfigProblem(f"MCP servers configured twice: {', '.join(names)}")
        self.connections = {server.name: McpConnection(server) for server in servers}
        self._routes: dict[str, tuple[McpConnection, str]] = {}  # action -> server, tool
        self._listed: dict[str, tuple[float, list[ToolSpec]]] = {}

    async def specs(self) -> list[ToolSpec]:
        """Every allowed tool of every server that answers; one that does not is left
        out (logged): its tools are then unknown to runs, which say so when planning."""
        specs: list[ToolSpec] = []
        for connection in self.connections.values():
            try:
                specs += await self._server_specs(connection)
            except Exception as exc:
                logger.warning("MCP server %s not listed: %s", connection.server.name, exc)
                connection.reset()
        return specs

    async def _server_specs(self, connection: McpConnection) -> list[ToolSpec]:
        server, now = connection.server, asyncio.get_running_loop().time()
        cached = self._listed.get(server.name)
        if cached and now - cached[0] < LISTING_SECONDS:
            return cached[1]
        client = await connection.client()
        listed = (await client.list_tools()).tools
        specs = []
        for tool in listed:
            if server.tools is not None and tool.name not in server.tools:
                continue
            name = server.action_name(tool.name)
            try:
                spec = ToolSpec(
                    name=name,
                    description=(tool.description or tool.name).strip(),
                    params_schema=dict(tool.input_schema),
                    risk=server.risk.get(tool.name, server.default_risk),
                    timeout_seconds=server.timeout.total_seconds(),
                    max_attempts=server.max_attempts,
                    heartbeat_seconds=HEARTBEAT_SECONDS,
                    source=f"mcp:{server.name}",
                )
            except ValidationError as exc:
                logger.warning("MCP tool %s.%s left out: %s", server.name, tool.name, exc)
                continue
            self._routes[name] = (connection, tool.name)
            specs.append(spec)
        self._listed[server.name] = (now, specs)
        return specs

    @activity.defn(dynamic=True)
    async def call(self, args: Sequence[RawValue]) -> ActionResult:
        """An MCP tool call, under its action's name: (context, params) as any action."""
        name = activity.info().activity_type
        route = self._routes.get(name)
        if route is None:
            await self.specs()  # a worker restarted since the run listed its tools
            route = self._routes.get(name)
        if route is None:
            raise action_error(
                f"no action or MCP tool {name!r} on this worker",
                error_type="UnknownAction",
                retryable=False,
            )
        connection, tool = route
        params = activity.payload_converter().from_payload(args[1].payload, dict)
        try:
            client = await connection.client()
            async with heartbeating():
                result = await client.call_tool(tool, params)
        except (ConnectionError, OSError, TimeoutError) as exc:
            connection.reset()
            raise action_error(
                f"MCP server {connection.server.name} unreachable: {exc}",
                error_type="McpUnavailable",
                retryable=True,
            ) from exc
        return ActionResult(
            output=_output(connection.server, tool, result),
            attempt=activity.info().attempt,
        )

    async def aclose(self) -> None:
        for connection in self.connections.values():
            await connection.aclose()


def _output(server: McpServer, tool: str, result: Any) -> JsonValue:
    """The tool's answer as a step output: its structured content, else its text (parsed
    when it is JSON); an error result fails the step for good with the server's words."""
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    text = "\n".join(texts)
    if result.is_error:
        raise action_error(
            f"MCP tool {server.name}.{tool} answered with an error: {text[:2000]}",
            error_type="McpToolError",
            retryable=False,
        )
    output: JsonValue = result.structured_content
    if output is None:
        try:
            output = json.loads(text)
        except ValueError:
            output = text
    size = len(json.dumps(output))
    if size > server.max_result_bytes:
        raise action_error(
            f"MCP tool {server.name}.{tool} answered {size} bytes, over the "
            f"{server.max_result_bytes} allowed; ask it for less",
            error_type="ResultTooLarge",
            retryable=False,
        )
    return output


def load_servers(path: str | None) -> list[McpServer]:
    """``AGENT_MCP_CONFIG``: a TOML file of ``[servers.<name>]`` tables (command or url,
    tools, env, timeout_seconds, max_result_bytes, default_risk, and a ``risk`` table of
    tool = class); none when unset."""
    if not path:
        return []
    try:
        config = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise McpConfigProblem(f"AGENT_MCP_CONFIG={path}: {exc}") from None
    servers = []
    for name, table in (config.get("servers") or {}).items():
        try:
            servers.append(
                McpServer(
                    name=name,
                    command=list(table.get("command") or []),
                    url=table.get("url"),
                    env=table.get("env"),
                    tools=table.get("tools"),
                    risk={tool: Risk(value) for tool, value in (table.get("risk") or {}).items()},
                    default_risk=Risk(table.get("default_risk", Risk.EXTERNAL.value)),
                    timeout=timedelta(seconds=float(table.get("timeout_seconds", 60))),
                    max_result_bytes=int(table.get("max_result_bytes", 1_000_000)),
                )
            )
        except (TypeError, ValueError) as exc:
            raise McpConfigProblem(f"AGENT_MCP_CONFIG={path}: server {name!r}: {exc}") from None
    return servers
