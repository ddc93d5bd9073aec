"""Summaries are shorter than what they summarize: a word budget in the ``llm`` prompt.

Measured with the 1.5B model: asked to summarize 36 words of release notes "in two
sentences", it wrote one sentence of 35-41 words, every time, and re-plans kept the
prompt; the deliverable check (``workflows.review``) refused it and the run failed. Told
"use at most 18 words", it wrote 11-27 words, shorter than the notes in 16 of 16 tries.
So for a goal that asks for a summary, an ``llm`` step whose prompt takes the text of a
read file is told how many words it may use: half the text's, known from the ``look``
probe before the first plan and from the read's own output after it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping

from durable_agents.contracts import Plan, Step
from durable_agents.workflows.amending import amend_each
from durable_agents.workflows.references import WHOLE_REFERENCE

SUMMARY = re.compile(r"\bsummar", re.IGNORECASE)
MIN_WORDS = 10  # below this a summary says nothing
_BUDGET = "Use at most {limit} words: a summary is shorter than its text ({words} words)."


def text_words(
    looked: Mapping[str, int], steps: Iterable[Step], outputs: Mapping[str, object]
) -> dict[str, int]:
    """Words per file path: as the look probe counted them, then as a succeeded read
    returned them (that is the text the summary is made from)."""
    counted = dict(looked)
    for step in steps:
        path, output = step.params.get("path"), outputs.get(step.id)
        if step.action == "file_read" and isinstance(path, str) and isinstance(output, str):
            counted[posixpath.normpath(path)] = len(output.split())
    return counted


def amend_summary_budgets(
    goal: str, plan: Plan, words: Mapping[str, int], kept: Iterable[Step] = ()
) -> tuple[Plan, list[str]]:
    """For a goal asking for a summary: each ``llm`` step whose prompt takes the whole text
    of a read file (``${steps.R.output}``) is given a budget of half that text's words."""
    if not SUMMARY.search(goal) or not words:
        return plan, []
    reads = {
        step.id: posixpath.normpath(path)
        for step in [*kept, *plan.steps]
        if step.action == "file_read" and isinstance(path := step.params.get("path"), str)
    }

    def amend(step: Step) -> tuple[Step, list[str]]:
        prompt = step.params.get("prompt")
        found = WHOLE_REFERENCE.finditer(prompt) if isinstance(prompt, str) else iter(())
        sources = [reads[m["step"]] for m in found if m["step"] in reads]
        counted = [words[path] for path in sources if path in words]
        if step.action != "llm" or not counted or "Use at most" in str(prompt):
            return step, []
        total = sum(counted)
        limit = max(MIN_WORDS, total // 2)
        budget = _BUDGET.format(limit=limit, words=total)
        params = {**step.params, "prompt": f"{prompt}\n\n{budget}"}
        said = f"step '{step.id}' summarizes in at most {limit} words"
        return step.model_copy(update={"params": params}), [said]

    return amend_each(plan, amend)
