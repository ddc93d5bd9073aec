"""The host's own activity, and a custom action it adds to agent runs."""

from durable_agents.contracts import Risk
from durable_agents.runtime.custom_actions import CustomAction
from pydantic import BaseModel, JsonValue
from temporalio import activity


@activity.defn
async def shout(name: str) -> str:
    """``name`` in capitals."""
    return name.upper()


class Announcement(BaseModel):
    """Announce a message to the team (here: returned in capitals)."""

    message: str


async def announce(params: Announcement) -> JsonValue:
    return {"announced": params.message.upper()}


# A custom action the host adds to the agent runs' catalog (AgentPlugin(actions=...)).
ANNOUNCE = CustomAction("announce", Announcement, announce, risk=Risk.READ)
