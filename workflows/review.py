"""The end of a round: failed steps re-plan with their exact errors, a missing file the
goal names re-plans, and a run whose steps all finished goes to the LLM reviewer (or is
done without review)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from durable_agents.contracts import Phase, Review, ReviewOutcome, ReviewRequest, StepStatus
from durable_agents.contracts.deliverables import (
    Deliverable,
    DeliverableCheck,
    Inspected,
    InspectRequest,
    format_by_extension,
)
from durable_agents.contracts.run import WorkflowActivity
from durable_agents.workflows.budgets import FOR_LLM_CALL
from durable_agents.workflows.calls import activity_failure
from durable_agents.workflows.completion import (
    asked_sentences,
    asks_list,
    edited_files,
    missing_files,
    one_number,
    per_group,
    promised_files,
    unrequested_urls,
    written_files,
    written_named_files,
)
from durable_agents.workflows.conversions import as_conversion, converted_file, rows_read
from durable_agents.workflows.deliverables import check, deliverables_for
from durable_agents.workflows.digest import summarize_sinks
from durable_agents.workflows.filtered_lists import (
    as_filtered,
    as_ranked,
    named_bounds,
    named_filter,
    ranking,
    source_records,
)
from durable_agents.workflows.intent import (
    asked_total,
    one_total,
    unfiltered_values,
    wrong_totals,
)
from durable_agents.workflows.run import Run
from durable_agents.workflows.spending import Spending
from durable_agents.workflows.summaries import SUMMARY

DELIVERABLES_CHECKED = "deliverables-v1"  # workflow.patched id: files read back and checked
URLS_REQUESTED = "urls-requested-v1"  # workflow.patched id: the goal's URLs were called
SUMMARIES_CHECKED = "summaries-v1"  # workflow.patched id: a summary is shorter than its text
LENGTH_CHECKED = "length-v1"  # workflow.patched id: "in two sentences" is checked
EDITS_WRITTEN = "edits-written-v1"  # workflow.patched id: a file the goal edits is written back
RESPONSES_CHECKED = "responses-v1"  # workflow.patched id: a goal's file is data, not a response
TOTALS_CHECKED = "totals-v1"  # workflow.patched id: the goal's kind of total is the one computed
NAMED_WRITTEN = "named-written-v1"  # workflow.patched id: goal-named files the run wrote
PER_GROUP_CHECKED = "per-group-v1"  # workflow.patched id: "per region" files hold per-group values
ONE_NUMBER_CHECKED = "one-number-v1"  # workflow.patched id: "the number" files hold a number
LIST_CHECKED = "list-asked-v1"  # workflow.patched id: "as a JSON array" files hold a list
CONVERSIONS_CHECKED = "conversions-checked-v1"  # workflow.patched id: every record converted
CHECKED_UNREVIEWED = "checked-unreviewed-v1"  # workflow.patched id: review_checked=False
ONE_TOTAL_CHECKED = "one-total-v1"  # workflow.patched id: "write the count" files hold one number
FILTERED_LISTS_CHECKED = "filtered-lists-checked-v1"  # workflow.patched id: each item is named
RANKED_LISTS_CHECKED = "ranked-lists-checked-v1"  # workflow.patched id: "the 3 highest", in order
BOUNDED_LISTS_CHECKED = "bounded-lists-checked-v1"  # workflow.patched id: "revenue above 200"
FILTERS_CHECKED = "named-values-filtered-v1"  # patch id: totals keep the records the goal names
FILTERS_PRECISE = "named-values-filtered-v2"  # patch id: ...and a file's path is no filter
INSPECT_TIMEOUT = timedelta(seconds=30)
INSPECT_RETRY = RetryPolicy(maximum_attempts=3)
WRITERS = frozenset({"file_write", "file_append"})
COMPUTATIONS = frozenset(
    {"transform", "records", "set_keys", "llm"}
)  # pure: redoing them changes nothing outside


async def review_round(run: Run, spending: Spending) -> Review:
    """The verdict on the round that just ran: done, replan (with feedback) or fail."""
    if run.halted:
        return Review(verdict="fail", answer=run.halted)
    state = run.state
    planner_may_run = run.input.plan is None or run.input.review
    failed = state.in_status(StepStatus.FAILED)
    if failed:
        summary = "; ".join(f"step '{s.id}' failed: {s.error}" for s in failed)
        if not planner_may_run:
            return Review(verdict="fail", answer=summary)
        return Review(verdict="replan", answer=summary, feedback=f"{summary}. Fix this.")
    edited = edited_files(run.input.goal)
    unwritten = [path for path in edited if path not in written_files(state.steps.values())]
    if unwritten and planner_may_run and workflow.patched(EDITS_WRITTEN):
        summary = (
            f"the goal changes {', '.join(unwritten)}, but no step wrote it back: read it, "
            "change it (set_keys for a JSON object), then file_write it to the same path"
        )
        return Review(verdict="replan", answer=summary, feedback=summary)
    unrequested = unrequested_urls(run.input.goal, state.steps.values(), state.definitions)
    if unrequested and planner_may_run and workflow.patched(URLS_REQUESTED):
        summary = (
            f"the goal names {', '.join(unrequested)}, but no step requested it: its data "
            "must come from there, with an http_request step to that url"
        )
        for step_id in _computed(run):
            run.finish_failed(
                run.steps[step_id], f"NotFromTheGoalsSource: {summary}", for_good=False
            )
        return Review(verdict="replan", answer=summary, feedback=summary)
    group = per_group(run.input.goal)
    per = group if group is not None and workflow.patched(PER_GROUP_CHECKED) else None
    stated = state.plans[-1].plan.deliverables
    named = promised_files(run.input.goal)
    data = bool(named) and workflow.patched(RESPONSES_CHECKED)
    asked = asked_sentences(run.input.goal)
    sentences = asked if asked is not None and workflow.patched(LENGTH_CHECKED) else None
    more = written_named_files(run.input.goal, written_files(state.steps.values()))
    more = more if more and workflow.patched(NAMED_WRITTEN) else []
    number = one_number(run.input.goal) and workflow.patched(ONE_NUMBER_CHECKED)
    listed = asks_list(run.input.goal) and workflow.patched(LIST_CHECKED)
    total = one_total(run.input.goal) and workflow.patched(ONE_TOTAL_CHECKED)
    deliverables = deliverables_for(
        run.input.goal, stated, per, data, sentences, more, number, listed, total
    )
    source = converted_file(run.input.goal)
    rows = rows_read(source, state.steps.values(), state.definitions) if source else None
    if source and rows and workflow.patched(CONVERSIONS_CHECKED):
        deliverables = [as_conversion(d, source, rows) for d in deliverables]
    deliverables = _filtered(run, deliverables)
    if deliverables and workflow.patched(DELIVERABLES_CHECKED):
        run.checks = await _read_back(run, deliverables)
        if asked_total(run.input.goal) and workflow.patched(TOTALS_CHECKED):
            run.checks = [_with_right_totals(run, c) for c in run.checks]
        if _named_values_unfiltered(run, precise=False) and workflow.patched(FILTERS_CHECKED):
            run.checks = [_with_named_filters(run, c, precise=False) for c in run.checks]
        elif _named_values_unfiltered(run) and workflow.patched(FILTERS_PRECISE):
            run.checks = [_with_named_filters(run, c) for c in run.checks]
        sources = _summarized(run)
        if sources and workflow.patched(SUMMARIES_CHECKED):
            run.checks = [_shorter_than(c, sources) for c in run.checks]
        failing = [c for c in run.checks if not c.passed]
        if failing:
            if planner_may_run:
                _redo_makers(run, failing)
            return _deliverables_failed(failing, planner_may_run)
    else:  # runs started before deliverables were checked: the goal's files, by name
        missing = missing_files(run.input.goal, state.steps.values())
        if missing and planner_may_run:
            summary = f"no step wrote {', '.join(missing)}, which the goal asks for"
            return Review(
                verdict="replan", answer=summary, feedback=_write_hint(summary, missing[0])
            )
    checked = bool(run.checks) and all(c.passed and c.content_checked for c in run.checks)
    unasked = checked and not run.input.review_checked and workflow.patched(CHECKED_UNREVIEWED)
    if not run.input.review or unasked:
        return Review(
            verdict="done", answer=summarize_sinks(state.steps.values(), run.dependencies)
        )
    run.set_phase(Phase.REVIEWING)
    await run.unpaused()
    await spending.within_budget(FOR_LLM_CALL)
    outcome: ReviewOutcome = await run.llm_activity(
        WorkflowActivity.REVIEW,
        ReviewRequest(
            goal=run.input.goal,
            steps=[run.digest(step) for step in state.steps.values()],
            replans_left=run.input.max_replans - state.replans,
            deliverables=run.checks,
        ),
        result_type=ReviewOutcome,
        **run.llm_options("review results"),
    )
    spending.charge(outcome.usage)
    return outcome.review


def _filtered(run: Run, deliverables: list[Deliverable]) -> list[Deliverable]:
    """The deliverables of a goal that keeps records by a value ("whose city is Paris") or
    a number ("with revenue above 200"), each item checked for it, or asks for the top
    of the data ("the 3 rows with the highest revenue"), checked to be those records in
    order (``workflows.filtered_lists``)."""
    goal = run.input.goal
    sources = source_records(run.state.steps.values(), run.state.definitions)
    found = named_filter(goal, sources)
    if found is not None:
        named = partial(as_filtered, where={found[0]: found[1]}, bounds=[])
        deliverables = _changed(deliverables, named, FILTERED_LISTS_CHECKED)
    bounds = named_bounds(goal, sources)
    if bounds:
        bounded = partial(as_filtered, where={}, bounds=bounds)
        deliverables = _changed(deliverables, bounded, BOUNDED_LISTS_CHECKED)
    ranked = ranking(goal, sources, bounds)
    if ranked is not None:
        deliverables = _changed(
            deliverables, partial(as_ranked, ranked=ranked), RANKED_LISTS_CHECKED
        )
    return deliverables


def _changed(
    deliverables: list[Deliverable], amend: Callable[[Deliverable], Deliverable], patch: str
) -> list[Deliverable]:
    """``amend`` applied to each deliverable, kept behind ``patch`` (asked only when it
    changes something, as runs recorded it)."""
    amended = [amend(d) for d in deliverables]
    return amended if amended != deliverables and workflow.patched(patch) else deliverables


async def _read_back(run: Run, deliverables: list[Deliverable]) -> list[DeliverableCheck]:
    """Each deliverable's checks on its file as written (read by the ``inspect`` activity)."""
    try:
        inspected: list[Inspected] = await workflow.execute_activity(
            WorkflowActivity.INSPECT,
            InspectRequest(workspace=run.input.workspace, deliverables=deliverables),
            result_type=list[Inspected],
            start_to_close_timeout=INSPECT_TIMEOUT,
            retry_policy=INSPECT_RETRY,
            summary="check deliverables",
        )
    except ActivityError as exc:
        problem = f"could not be read back: {activity_failure(exc)}"
        inspected = [Inspected(path=d.path, exists=True, problem=problem) for d in deliverables]
    return [check(d, i) for d, i in zip(deliverables, inspected, strict=True)]


def _computed(run: Run) -> list[str]:
    """Succeeded steps a re-plan must not keep when the data came from the wrong place:
    the computations and the writes (their results rest on it)."""
    return [
        state.id
        for state in run.state.in_status(StepStatus.SUCCEEDED)
        if state.action in COMPUTATIONS or state.action in WRITERS
    ]


def _summarized(run: Run) -> dict[str, int]:
    """For a goal that asks for a summary: the texts the run read of the files the goal
    names (path -> characters); a summary must be shorter than what it summarizes."""
    if not SUMMARY.search(run.input.goal):
        return {}
    found = {}
    for state in run.state.in_status(StepStatus.SUCCEEDED):
        path = run.state.definitions[state.id].params.get("path")
        named = isinstance(path, str) and path in run.input.goal
        if state.action == "file_read" and named and isinstance(state.output, str):
            found[str(path)] = len(state.output)
    return found


def _shorter_than(checked: DeliverableCheck, sources: dict[str, int]) -> DeliverableCheck:
    """The check, failed when a text deliverable is not shorter than every text the goal
    asks to summarize (measured: a "summary" longer than the notes, accepted)."""
    if checked.path in sources or not checked.passed or not checked.size:
        return checked
    longest = max(sources.values())
    if format_by_extension(checked.path) != "text" or checked.size < longest:
        return checked
    problem = (
        f"{checked.path} ({checked.size} bytes) is not shorter than what it summarizes "
        f"({longest} characters): a summary is shorter; ask the llm step for fewer words"
    )
    return checked.model_copy(update={"passed": False, "problems": [problem]})


def _with_right_totals(run: Run, checked: DeliverableCheck) -> DeliverableCheck:
    """The check, failed when a total that went into its file is not the one the goal
    names (``workflows.intent``)."""
    problems = []
    for writer in _writers_of(run, checked.path):
        problems += wrong_totals(run.input.goal, writer, run.state.definitions, run.dependencies)
    if not problems:
        return checked
    found = [f"{checked.path}: {problem}" for problem in problems]
    return checked.model_copy(update={"passed": False, "problems": [*checked.problems, *found]})


def _writers_of(run: Run, path: str) -> list[str]:
    """The succeeded steps that wrote ``path``."""
    found = []
    for state in run.state.in_status(StepStatus.SUCCEEDED):
        wrote = state.output.get("path") if isinstance(state.output, dict) else None
        if state.action in WRITERS and isinstance(wrote, str) and posixpath.normpath(wrote) == path:
            found.append(state.id)
    return found


def _unfiltered(run: Run, path: str, precise: bool) -> list[str]:
    outputs = {key: state.output for key, state in run.steps.items()}
    problems: list[str] = []
    for writer in _writers_of(run, path):
        problems += unfiltered_values(
            run.input.goal, writer, run.state.definitions, outputs, precise=precise
        )
    return problems


def _named_values_unfiltered(run: Run, precise: bool = True) -> bool:
    """Whether some deliverable's total left out a filter on a value the goal names."""
    return any(_unfiltered(run, checked.path, precise) for checked in run.checks)


def _with_named_filters(
    run: Run, checked: DeliverableCheck, precise: bool = True
) -> DeliverableCheck:
    """The check, failed when its file's total ignored a value the goal names."""
    found = [f"{checked.path}: {problem}" for problem in _unfiltered(run, checked.path, precise)]
    if not found:
        return checked
    return checked.model_copy(update={"passed": False, "problems": [*checked.problems, *found]})


def _redo_makers(run: Run, failing: list[DeliverableCheck]) -> None:
    """The steps that made a failed deliverable are not kept by the re-plan: the steps
    that wrote the file and the computations they used (reads and side effects stay
    done). They fail with the check's problems, which the planner sees as theirs."""
    problems = {c.path: "; ".join(c.problems) for c in failing}
    makers: dict[str, str] = {}
    for state in run.state.in_status(StepStatus.SUCCEEDED):
        path = state.output.get("path") if isinstance(state.output, dict) else None
        if state.action in WRITERS and isinstance(path, str):
            problem = problems.get(posixpath.normpath(path))
            if problem:
                makers[state.id] = problem
    todo = list(makers)
    while todo:
        for used in run.dependencies.get(todo.pop(), set()):
            source = run.steps.get(used)
            if (
                source is not None
                and source.action in COMPUTATIONS
                and source.status is StepStatus.SUCCEEDED
                and used not in makers
            ):
                makers[used] = "its result went into a file that failed its check"
                todo.append(used)
    for step_id, problem in makers.items():
        error = f"DeliverableCheckFailed: {problem}"
        run.finish_failed(run.steps[step_id], error, for_good=False)


def _deliverables_failed(failing: list[DeliverableCheck], planner_may_run: bool) -> Review:
    """Back to the planner with each failed check and what the file really holds."""
    summary = "; ".join(problem for c in failing for problem in c.problems)
    if not planner_may_run:
        return Review(
            verdict="fail", answer=f"the goal's deliverables fail their checks: {summary}"
        )
    unwritten = [c.path for c in failing if not c.shown]
    if unwritten:
        return Review(verdict="replan", answer=summary, feedback=_write_hint(summary, unwritten[0]))
    actual = "; ".join(f"{c.path} holds: {c.shown[:500]}" for c in failing)
    feedback = (
        f"All steps finished, but {summary}. {actual}. Change the steps that produce "
        "these files so that they hold what the goal asks for."
    )
    return Review(verdict="replan", answer=summary, feedback=feedback)


def _write_hint(summary: str, path: str) -> str:
    return (
        f"All steps finished, but {summary}. Add a file_write step whose path is "
        f"{path} and whose content references the step with the result."
    )
