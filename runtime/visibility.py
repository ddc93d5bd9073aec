"""Whether a cluster has the agent's search attributes (``contracts.visibility``), and
registering them where this project owns the server (the local dev server)."""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError

from durable_agents.contracts.visibility import SEARCH_ATTRIBUTES

logger = logging.getLogger(__name__)
INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
}


def create_commands(namespace: str = "default") -> list[str]:
    """The ``temporal`` commands an operator runs once per namespace of another cluster."""
    return [
        f"temporal operator search-attribute create --namespace {namespace} "
        f"--name {name} --type {kind}"
        for name, kind in SEARCH_ATTRIBUTES.items()
    ]


def dev_server_args() -> list[str]:
    """``temporal server start-dev`` arguments that register them at start."""
    return [
        arg
        for name, kind in SEARCH_ATTRIBUTES.items()
        for arg in ("--search-attribute", f"{name}={kind}")
    ]


async def search_attributes_ready(client: Client, *, register: bool) -> bool:
    """Whether runs may publish the attributes; with ``register`` (a dev server this
    project runs) missing ones are added. A cluster without them is left alone: a run
    then publishes nothing (upserting unknown attributes would fail its workflow tasks)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {
            name: INDEXED_TYPES[kind]
            for name, kind in SEARCH_ATTRIBUTES.items()
            if name not in listed.custom_attributes
        }
        if missing and register:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
            )
            return True
    except RPCError as exc:
        logger.info("Search attributes unavailable (%s): runs publish none", exc.message)
        return False
    if missing:
        logger.info(
            "This namespace lacks the agent's search attributes; runs publish none. "
            "Create them with: %s",
            "; ".join(create_commands(client.namespace)),
        )
    return not missing
