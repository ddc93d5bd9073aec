"""A small MCP server: an inventory with a read tool (``stock``) and a write tool
(``reserve``), for the README's example (``examples/mcp.toml``) and the tests.

``python -m durable_agents.examples.mcp_inventory`` serves stdio; add ``http PORT`` to
serve streamable HTTP on 127.0.0.1:PORT/mcp. Reservations go to the JSON-lines file named
by ``INVENTORY_LOG`` (default ``reservations.jsonl`` in its working folder; a stdio
server gets only what its config's ``env`` passes).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("inventory")
STOCK = {"A1": 7, "B2": 0}


@server.tool()
def stock(sku: str) -> dict[str, object]:
    """How many of an item are in stock."""
    if sku not in STOCK:
        raise ToolError(f"unknown sku {sku}")  # its words reach the caller
    return {"sku": sku, "count": STOCK[sku]}


@server.tool()
def reserve(sku: str, count: int = 1) -> str:
    """Reserve items for an order."""
    log_file = Path(os.environ.get("INVENTORY_LOG") or "reservations.jsonl")
    with log_file.open("a", encoding="utf-8") as log:
        log.write(json.dumps({"sku": sku, "count": count}) + "\n")
    return f"reserved {count} of {sku}"


@server.tool()
def secrets() -> dict[str, str | None]:
    """What the server's environment holds (to prove the worker's secrets stay out)."""
    return {"DATABASE_URL": os.environ.get("DATABASE_URL"), "HOME": os.environ.get("HOME")}


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
