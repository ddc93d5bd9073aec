"""The run's custom search attributes: what visibility (the Web UI's run list, ``temporal
workflow list --query``, ``starter.py list|pending|status``) knows about a run without
asking its worker. A cluster must have them registered (``starter.py`` registers them on
the dev server it starts; ``docs/operations.md`` has the commands for others); a run
publishes them only when its starter found them there (``RunInput.search_attributes``).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

# The phase, or "awaiting_approval" while a step waits for a person, then the outcome
# (succeeded, failed, cancelled): one attribute answers "which runs need me?".
AGENT_PHASE = SearchAttributeKey.for_keyword("AgentPhase")
AGENT_PENDING = SearchAttributeKey.for_keyword_list("AgentPendingApprovals")  # step ids
AGENT_TITLE = SearchAttributeKey.for_text("AgentTitle")  # the goal's start; never if sealed
AWAITING_APPROVAL = "awaiting_approval"
TITLE_CHARS = 120

# name -> type, as ``temporal operator search-attribute create`` and the dev server take them
SEARCH_ATTRIBUTES = {
    "AgentPhase": "Keyword",
    "AgentPendingApprovals": "KeywordList",
    "AgentTitle": "Text",
}
