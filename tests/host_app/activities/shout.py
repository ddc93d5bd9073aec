"""The host's own activity."""

from temporalio import activity


@activity.defn
async def shout(name: str) -> str:
    """``name`` in capitals."""
    return name.upper()
