"""``schedule create|list|pause|unpause|trigger|delete``: a goal (or plan) run again and
again by a Temporal Schedule, on a cron expression or an interval.

Each scheduled run is an ordinary ``AgentWorkflow`` run on the agent's task queue, served
by whatever worker polls it (``python worker.py``: the starter's own worker lives only as
long as the run it follows). Its input is fixed when the schedule is created: the policy
file is read once, so editing it later changes no scheduled run. The Web UI's Schedules
page shows the same schedules.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from durable_agents.cli.errors import UsageProblem
from durable_agents.cli.manifest import run_manifest
from durable_agents.cli.run_input import build_input, reviews_checked
from durable_agents.cli.server import open_client, running_server
from durable_agents.cli.start import TITLE_CHARS, fit_to_cluster
from durable_agents.contracts import WORKFLOW_NAME
from durable_agents.contracts.visibility import AGENT_PHASE
from durable_agents.examples.catalog import EXAMPLES
from durable_agents.runtime.connection import pollers
from durable_agents.runtime.settings import Settings
from durable_agents.workflows.agent import AgentWorkflow

OVERLAP = {policy.name.lower(): policy for policy in ScheduleOverlapPolicy}
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EVERY = re.compile(r"(?:\d+[smhd])+")
# The spec as given, kept in the schedule's memo: the server turns cron into calendars.
SPEC_MEMO = "spec"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``schedule``'s own subcommands (``args.schedule_action``); a new schedule also
    takes the run options (``--goal``, ``--plan``, ``--policy``, budget, ...)."""
    actions = parser.add_subparsers(dest="schedule_action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="run a goal or plan on a schedule (plus the options of a run)",
        description="Also takes the options of a run (starter.py -h): --goal or --goal-file, "
        "--plan, --workspace, --policy, budget limits, ...",
    )
    create.add_argument("name", help="the schedule's id; its runs' ids start with it")
    create.add_argument("--cron", metavar="EXPR", help='e.g. "0 7 * * *": 07:00 UTC daily')
    create.add_argument("--every", metavar="DURATION", help="e.g. 30m, 1h, 1d, 1h30m")
    create.add_argument(
        "--overlap",
        choices=tuple(OVERLAP),
        default="skip",
        help="when a run is due while the last one still runs (default: skip)",
    )
    create.add_argument("--paused", action="store_true", help="create it paused")
    create.add_argument("--note", help="shown with the schedule")
    actions.add_parser("list", help="every schedule of agent runs: spec, next run, last run")
    for name, what in (
        ("pause", "start no scheduled run until unpaused"),
        ("unpause", "start scheduled runs again"),
        ("trigger", "start a run now (the overlap policy applies)"),
        ("delete", "delete the schedule (the runs it started stay)"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument("name", help="the schedule's id")
        if name in ("pause", "unpause"):
            action.add_argument("--note", help="why, shown with the schedule")


async def schedule(args: argparse.Namespace, settings: Settings) -> int:
    """``schedule ACTION ...``: run the action."""
    return await ACTIONS[args.schedule_action](args, settings)


async def create(args: argparse.Namespace, settings: Settings) -> int:
    """``schedule create NAME --cron EXPR | --every DURATION`` and the run options."""
    spec, when = schedule_spec(args.cron, args.every)
    if args.workflow_id:
        raise UsageProblem("a scheduled run's id is the schedule's name and its time")
    if args.example and EXAMPLES[args.example].uses_api:
        raise UsageProblem(f"--example {args.example} needs the starter to serve its API")
    run_input = build_input(args)  # the policy file is read here, once
    run_input.memory = settings.memory_enabled and not args.example
    run_input.review_checked = reviews_checked(args, settings)
    client = await open_client(args, settings)
    await fit_to_cluster(args, settings, client, run_input)
    action = ScheduleActionStartWorkflow(
        AgentWorkflow.run,
        run_input,
        id=args.name,  # each run's id: NAME-<its scheduled time>
        task_queue=settings.task_queue,
        static_summary=run_input.goal[:TITLE_CHARS],
        memo={"manifest": run_manifest(settings, run_input)},
    )
    new = Schedule(
        action=action,
        spec=spec,
        policy=SchedulePolicy(overlap=OVERLAP[args.overlap]),
        state=ScheduleState(paused=args.paused, note=args.note),
    )
    with refused_for(args.name):
        handle = await client.create_schedule(args.name, new, memo={SPEC_MEMO: when})
    print(f"Created schedule {await schedule_line(client, await handle.describe())}")
    if not await pollers(client, settings.task_queue):
        print(
            f"Note: no worker polls task queue '{settings.task_queue}'; scheduled runs "
            "wait for one: python worker.py"
        )
    return 0


async def list_schedules(args: argparse.Namespace, settings: Settings) -> int:
    """``schedule list``: one line per schedule of agent runs."""
    client = await running_server(args)
    lines = []
    async for listed in await client.list_schedules():
        try:
            description = await client.get_schedule_handle(listed.id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue  # deleted since it was listed (the list is eventually consistent)
            raise
        action = description.schedule.action
        if isinstance(action, ScheduleActionStartWorkflow) and action.workflow == WORKFLOW_NAME:
            lines.append(await schedule_line(client, description))
    print("\n".join(sorted(lines)) if lines else "No schedules.")
    return 0


async def pause(args: argparse.Namespace, settings: Settings) -> int:
    """``schedule pause NAME [--note]``."""
    return await _set_paused(args, paused=True)


async def unpause(args: argparse.Namespace, settings: Settings) -> int:
    """``schedule unpause NAME [--note]``."""
    return await _set_paused(args, paused=False)


async def _set_paused(args: argparse.Namespace, *, paused: bool) -> int:
    verb = "paused" if paused else "unpaused"
    client = await running_server(args)
    handle = client.get_schedule_handle(args.name)
    change = handle.pause if paused else handle.unpause
    with refused_for(args.name):
        await change(note=args.note or f"{verb} with starter.py")
    print(f"{verb} schedule {args.name}")
    return 0


async def trigger(args: argparse.Namespace, settings: Settings) -> int:
    """``schedule trigger NAME``: a run now, unless the overlap policy says otherwise."""
    client = await running_server(args)
    with refused_for(args.name):
        await client.get_schedule_handle(args.name).trigger()
    print(f"triggered schedule {args.name}: its run's id starts with {args.name}-")
    return 0


async def delete(args: argparse.Namespace, settings: Settings) -> int:
    """``schedule delete NAME``: no more runs; those it started are not touched."""
    client = await running_server(args)
    with refused_for(args.name):
        await client.get_schedule_handle(args.name).delete()
    print(f"deleted schedule {args.name}")
    return 0


ACTIONS: dict[str, Callable[[argparse.Namespace, Settings], Awaitable[int]]] = {
    "create": create,
    "list": list_schedules,
    "pause": pause,
    "unpause": unpause,
    "trigger": trigger,
    "delete": delete,
}


def schedule_spec(cron: str | None, every: str | None) -> tuple[ScheduleSpec, str]:
    """The spec from ``--cron`` or ``--every`` (exactly one), and how to show it."""
    if cron is not None and every is None:
        return ScheduleSpec(cron_expressions=[cron]), f"cron {cron}"
    if every is not None and cron is None:
        spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval(every))])
        return spec, f"every {every}"
    raise UsageProblem('give when to run: --cron "0 7 * * *" or --every 1h (one of them)')


def interval(text: str) -> timedelta:
    """``--every``: a number and a unit (``90s``, ``15m``, ``1h``, ``1d``), or several
    (``1h30m``)."""
    if not EVERY.fullmatch(text):
        raise UsageProblem(f"--every {text}: give a number and a unit (s, m, h, d): 30m, 1h, 1d")
    seconds = sum(int(n) * UNIT_SECONDS[unit] for n, unit in re.findall(r"(\d+)([smhd])", text))
    if seconds == 0:
        raise UsageProblem(f"--every {text}: must be more than 0")
    return timedelta(seconds=seconds)


async def schedule_line(client: Client, description: ScheduleDescription) -> str:
    """One schedule: id, spec, paused or active, next run, last run and its state, note."""
    spec = (await description.memo()).get(SPEC_MEMO) or _spec_text(description.schedule.spec)
    state = description.schedule.state
    upcoming = description.info.next_action_times
    parts = [description.id, str(spec), "paused" if state.paused else "active"]
    if upcoming and not state.paused:
        parts.append(f"next {upcoming[0]:%Y-%m-%d %H:%M:%S} UTC")
    recent = description.info.recent_actions  # oldest first
    last = recent[-1].action if recent else None
    if isinstance(last, ScheduleActionExecutionStartWorkflow):
        parts.append(f"last {last.workflow_id} {await _run_state(client, last)}")
    else:
        parts.append("no run yet")
    if state.note:
        parts.append(f"note: {state.note}")
    return "  ".join(parts)


def _spec_text(spec: ScheduleSpec) -> str:
    """A spec made elsewhere (no memo): its intervals, else "calendar"."""
    if spec.intervals:
        return "every " + ", ".join(str(each.every) for each in spec.intervals)
    return "calendar"


async def _run_state(client: Client, run: ScheduleActionExecutionStartWorkflow) -> str:
    """The run's execution status, with its phase when that says more (``completed
    (succeeded)``); ``unknown`` once the server has forgotten it (retention)."""
    handle = client.get_workflow_handle(run.workflow_id, run_id=run.first_execution_run_id)
    try:
        found = await handle.describe()
    except RPCError:
        return "unknown"
    state = found.status.name.lower() if found.status else "unknown"
    phase = found.typed_search_attributes.get(AGENT_PHASE)
    return f"{state} ({phase})" if phase and phase != state else state


@contextlib.contextmanager
def refused_for(name: str) -> Iterator[None]:
    """The server refusing a request about schedule NAME is bad input."""
    try:
        yield
    except ScheduleAlreadyRunningError as exc:
        raise UsageProblem(f"schedule {name} already exists (see: schedule list)") from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise UsageProblem(f"no schedule {name} (see: schedule list)") from exc
        raise UsageProblem(f"schedule {name}: {exc.message}") from exc
