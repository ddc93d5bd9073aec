"""Guard changes that alter what workflow code decides, for helpers that run both in and
out of workflows.

In a workflow the new behaviour sits behind ``workflow.patched(patch_id)``: runs started
before it replay as they ran (no marker in their history), new runs record the marker
the first time the guard matters. Outside a workflow (starter, activities, tests) the new
behaviour always applies.
"""

from __future__ import annotations

from temporalio import workflow


def applies(patch_id: str) -> bool:
    """Whether the behaviour introduced by ``patch_id`` applies here."""
    return not workflow.in_workflow() or workflow.patched(patch_id)
