"""This project against the durable-execution peers users compare it with, on two
workloads, repetitions interleaved, all in one process against the same PostgreSQL and
a tuned dev server:

- chain: N cheap steps, each passing the previous output on (per-step engine cost);
- fan-out: W independent LLM-bound steps of L seconds each (makespan).

Engines: this project (AgentWorkflow, a plan of ``transform`` steps / ``llm`` steps; in
the fan-out also with ``local_llm_steps``, llm steps as local activities), raw Temporal
activities, DBOS Transact (PostgreSQL system database) and LangGraph with the
PostgreSQL checkpointer (durability "sync": every step saved before the next starts, as
the others do). CPU is this process's (the workers'); the servers are other processes.

Setup: .venv/bin/pip install -e '.[peers]'
Rerun: .venv/bin/python bench/peers.py [chain steps] [fan-out width] [repeats]
"""

from __future__ import annotations

import asyncio
import operator
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypedDict

import asyncpg
from common import LatencyLlm, agent_worker, dev_server, llm_steps, run_plan
from dbos import DBOS, DBOSConfig
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from openai import AsyncOpenAI
from step_overhead import RawChain, chain_plan, noop
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
LATENCY = 0.5
LOCAL = "this project, local llm"  # the fan-out with RunInput.local_llm_steps
llm: AsyncOpenAI | None = None  # the peers' model client (set in main)


async def ask(prompt: str) -> str:
    """One chat call to the latency model, as each peer's LLM-bound step makes it."""
    assert llm is not None
    reply = await llm.chat.completions.create(
        model="latency-model", messages=[{"role": "user", "content": prompt}]
    )
    return reply.choices[0].message.content or ""


# raw Temporal ----------------------------------------------------------------------


@activity.defn(name="ask")
async def ask_activity(prompt: str) -> str:
    return await ask(prompt)


@workflow.defn(sandboxed=False)  # defined beside the peers, which the sandbox need not load
class RawFanOut:
    @workflow.run
    async def run(self, width: int) -> int:
        answers = await asyncio.gather(
            *(
                workflow.execute_activity(
                    ask_activity, f"fact {i}", start_to_close_timeout=timedelta(seconds=30)
                )
                for i in range(width)
            )
        )
        return len(answers)


# DBOS Transact ---------------------------------------------------------------------


@DBOS.step()
async def dbos_noop(value: int) -> int:
    return value


@DBOS.workflow()
async def dbos_chain(count: int) -> int:
    value = 0
    for _ in range(count):
        value = await dbos_noop(value)
    return value


@DBOS.step()
async def dbos_ask(prompt: str) -> str:
    return await ask(prompt)


@DBOS.workflow()
async def dbos_fan_out(width: int) -> int:
    answers = await asyncio.gather(*(dbos_ask(f"fact {i}") for i in range(width)))
    return len(answers)


# LangGraph + PostgreSQL checkpointer -----------------------------------------------


class ChainState(TypedDict):
    value: int


class FanState(TypedDict):
    answers: Annotated[list[str], operator.add]


def langgraph_chain(count: int) -> StateGraph[ChainState]:
    graph = StateGraph(ChainState)

    async def step(state: ChainState) -> ChainState:
        return {"value": state["value"]}

    for index in range(count):
        graph.add_node(f"s{index}", step)
        graph.add_edge(START if index == 0 else f"s{index - 1}", f"s{index}")
    graph.add_edge(f"s{count - 1}", END)
    return graph


def langgraph_fan_out(width: int) -> StateGraph[FanState]:
    graph = StateGraph(FanState)

    def node(index: int) -> Callable[[FanState], Awaitable[FanState]]:
        async def call(state: FanState) -> FanState:
            return {"answers": [await ask(f"fact {index}")]}

        return call

    for index in range(width):
        graph.add_node(f"n{index}", node(index))
        graph.add_edge(START, f"n{index}")
        graph.add_edge(f"n{index}", END)
    return graph


# the bench -------------------------------------------------------------------------


async def fresh_database(name: str) -> str:
    connection = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{POSTGRES}/{name}"


Runner = Callable[[], Awaitable[Any]]


async def timed(run: Runner) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one run."""
    cpu, wall = time.process_time(), time.perf_counter()
    await run()
    return time.perf_counter() - wall, time.process_time() - cpu


def spread(values: list[float], scale: float) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low * scale:7.2f} {mid * scale:7.2f} {high * scale:7.2f}"


async def main(count: int, width: int, repeats: int) -> None:
    global llm
    model = LatencyLlm(LATENCY)
    llm = AsyncOpenAI(
        base_url=model.base_url, api_key="bench", max_retries=3
    )  # the engine retries too
    env = await dev_server()
    client: Client = env.client
    DBOS(
        config=DBOSConfig(
            name="bench-peers",
            system_database_url=await fresh_database("bench_dbos"),
            log_level="WARNING",
        )
    )
    DBOS.launch()
    graph_url = await fresh_database("bench_langgraph")
    chain_rows: dict[str, list[tuple[float, float]]] = {}
    fan_rows: dict[str, list[tuple[float, float]]] = {}
    async with (
        AsyncPostgresSaver.from_conn_string(graph_url) as saver,
        agent_worker(client, model.base_url) as queue,
        Worker(
            client,
            task_queue=f"{queue}-raw",
            workflows=[RawChain, RawFanOut],
            activities=[noop, ask_activity],
            max_concurrent_activities=200,
        ),
    ):
        await saver.setup()
        chain_graph = langgraph_chain(count).compile(checkpointer=saver)
        fan_graph = langgraph_fan_out(width).compile(checkpointer=saver)

        def graph_run(graph: Any, state: dict[str, Any]) -> Runner:
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            return lambda: graph.ainvoke(state, config, durability="sync")

        def raw(workflow_run: Any, arg: int) -> Runner:
            return lambda: client.execute_workflow(
                workflow_run, arg, id=str(uuid.uuid4()), task_queue=f"{queue}-raw"
            )

        plan, fan_plan = chain_plan(count), llm_steps(width, chained=False)
        chains: dict[str, Callable[[], Runner]] = {
            "this project": lambda: lambda: run_plan(client, queue, plan),
            "raw Temporal": lambda: raw(RawChain.run, count),
            "DBOS": lambda: lambda: dbos_chain(count),
            "LangGraph+PG": lambda: graph_run(chain_graph, {"value": 0}),
        }
        fans: dict[str, Callable[[], Runner]] = {
            "this project": lambda: lambda: run_plan(client, queue, fan_plan, max_parallel=64),
            LOCAL: lambda: (
                lambda: run_plan(client, queue, fan_plan, max_parallel=64, local_llm_steps=True)
            ),
            "raw Temporal": lambda: raw(RawFanOut.run, width),
            "DBOS": lambda: lambda: dbos_fan_out(width),
            "LangGraph+PG": lambda: graph_run(fan_graph, {"answers": []}),
        }
        for make in [*chains.values(), *fans.values()]:  # warm up: connections, caches
            await make()()
        for _ in range(repeats):
            for name, make in chains.items():
                chain_rows.setdefault(name, []).append(await timed(make()))
            for name, make in fans.items():
                fan_rows.setdefault(name, []).append(await timed(make()))
    DBOS.destroy()
    await env.shutdown()
    model.stop()
    report(count, width, repeats, chain_rows, fan_rows)


def report(
    count: int,
    width: int,
    repeats: int,
    chain_rows: dict[str, list[tuple[float, float]]],
    fan_rows: dict[str, list[tuple[float, float]]],
) -> None:
    print(f"chain of {count} cheap steps, {repeats} interleaved repetitions")
    print(f"{'engine':<14} {'ms/step min  median     max':>27} {'CPU ms/step':>12}")
    for name, rows in chain_rows.items():
        cpu = statistics.median(c for _, c in rows) / count * 1000
        print(f"{name:<14} {spread([w for w, _ in rows], 1000 / count)} {cpu:12.2f}")
    ours = [w for w, _ in chain_rows["this project"]]
    for peer in ("raw Temporal", "DBOS", "LangGraph+PG"):
        ratios = [a / b for a, (b, _) in zip(ours, chain_rows[peer], strict=True)]
        print(f"  this project / {peer}: {statistics.median(ratios):.2f}x (median per rep)")
    print()
    print(f"fan-out of {width} LLM-bound steps of {LATENCY} s, {repeats} repetitions")
    print(f"{'engine':<26} {'s min  median     max':>27}")
    for name, rows in fan_rows.items():
        print(f"{name:<26} {spread([w for w, _ in rows], 1)}")
    best = min(
        (name for name in fan_rows if not name.startswith("this project")),
        key=lambda name: statistics.median(w for w, _ in fan_rows[name]),
    )
    for ours in ("this project", LOCAL):
        ratios = [a / b for (a, _), (b, _) in zip(fan_rows[ours], fan_rows[best], strict=True)]
        print(f"  {ours} / best peer ({best}): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 50,
            int(sys.argv[2]) if len(sys.argv) > 2 else 50,
            int(sys.argv[3]) if len(sys.argv) > 3 else 5,
        )
    )
    sys.stdout.flush()
    os._exit(0)
