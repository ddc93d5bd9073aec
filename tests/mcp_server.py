"""A small MCP server the tests start: an inventory with a read tool and a write tool.

``python -m tests.mcp_server`` serves stdio; ``python -m tests.mcp_server http PORT``
serves streamable HTTP on 127.0.0.1:PORT/mcp. Reservations go to the JSON-lines file
named by ``INVENTORY_LOG`` (passed explicitly: a stdio server gets no other settings).
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
    with Path(os.environ["INVENTORY_LOG"]).open("a", encoding="utf-8") as log:
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
