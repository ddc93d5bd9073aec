"""Worker memory per MB of input: a CSV file read by ``file_read`` and totalled by
``transform``, through the code a worker runs (each activity inside the artifact
interceptor, each result converted to a payload), in one fresh process per case.
Prints the peak RSS growth and the tracemalloc peak, each per MB of CSV, for a
sales-like CSV (5 columns, ~33 bytes a row) and a hostile one (one 1-character column,
2 bytes a row: a record per 2 bytes). A case the limits refuse says so.
Rerun: .venv/bin/python bench/input_memory.py [MB ...]"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from durable_agents.activities.artifacts import ArtifactInterceptor, ArtifactStore
from durable_agents.activities.files import file_read
from durable_agents.activities.transform import transform
from durable_agents.contracts import ActionContext, ActionResult
from durable_agents.contracts.actions import FileReadParams, TransformParams

REGIONS = ("North", "South", "East", "West")
PRODUCTS = ("Widget", "Gadget", "Gizmo")
SHAPES = ("sales", "narrow")


def write_csv(path: Path, megabytes: float, shape: str = "sales") -> int:
    """A CSV of about ``megabytes``: sales-like rows, or one 1-character column."""
    if shape == "narrow":
        rows = int(megabytes * 1_000_000 / 2)
        path.write_text("region\n" + "N\n" * rows)
        return path.stat().st_size
    lines = ["date,region,product,units,revenue"]
    size, n = 0, 0
    while size < megabytes * 1_000_000:
        line = f"2026-01-{n % 28 + 1:02d},{REGIONS[n % 4]},{PRODUCTS[n % 3]},{n % 50},{n % 997}.50"
        lines.append(line)
        size += len(line) + 1
        n += 1
    path.write_text("\n".join(lines) + "\n")
    return path.stat().st_size


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


class _Run(ActivityInboundInterceptor):
    """The innermost link of the chain: call the activity function itself."""

    def __init__(self) -> None:
        pass

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = input.fn(*input.args)
        return await result if inspect.isawaitable(result) else result


async def worker_path(root: Path, store: ArtifactStore) -> str:
    """What a worker does for the demo's read and total steps: each activity through the
    artifact interceptor, each result to a payload. The outcome: "ok" or the error type."""
    inbound = ArtifactInterceptor(store).intercept_activity(_Run())
    context = ActionContext(run_id="bench", step_id="read", workspace=str(root))
    converter = pydantic_data_converter.payload_converter

    async def call(fn: Any, params: Any) -> Any:
        input = ExecuteActivityInput(fn=fn, args=[context, params], executor=None, headers={})
        return converter.to_payloads([await inbound.execute_activity(input)])

    env = ActivityEnvironment()
    try:
        [read] = await env.run(call, file_read, FileReadParams(path="big.csv"))
    except ApplicationError as exc:
        return exc.type or "error"
    shrunk = converter.from_payloads([read], [ActionResult])[0]
    params = TransformParams.model_validate(
        {"input": shrunk.output, "group_by": "region", "aggregate": {"count": "count"}}
    )
    [total] = await env.run(call, transform, params)
    assert len(total.data) < 1000, "the totals are small"
    return "ok"


def measure(megabytes: float, shape: str) -> dict[str, Any]:
    """Run in a fresh process: peak RSS growth and tracemalloc peak for one case."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "workspace"
        root.mkdir()
        size = write_csv(root / "big.csv", megabytes, shape)
        store = ArtifactStore(Path(folder) / "artifacts")
        gc.collect()
        before = rss_mb()
        outcome = asyncio.run(worker_path(root, store))
        rss_growth = rss_mb() - before
        gc.collect()
        tracemalloc.start()
        asyncio.run(worker_path(root, store))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "input_mb": size / 1_000_000,
        "rss_growth_mb": rss_growth,
        "traced_peak_mb": peak / 1_000_000,
        "outcome": outcome,
    }


def main(sizes: list[float]) -> None:
    print(
        f"{'shape':>7} {'CSV MB':>7} {'RSS growth MB':>14} {'per MB':>7} "
        f"{'traced peak MB':>15} {'per MB':>7}  outcome"
    )
    for shape in SHAPES:
        for megabytes in sizes:
            command = [sys.executable, __file__, "--one", str(megabytes), shape]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            row = json.loads(out.stdout)
            print(
                f"{shape:>7} {row['input_mb']:>7.1f} {row['rss_growth_mb']:>14.0f} "
                f"{row['rss_growth_mb'] / row['input_mb']:>7.0f} {row['traced_peak_mb']:>15.0f} "
                f"{row['traced_peak_mb'] / row['input_mb']:>7.0f}  {row['outcome']}"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(float(sys.argv[2]), sys.argv[3])))
    else:
        main([float(a) for a in sys.argv[1:]] or [2.0, 8.0])
