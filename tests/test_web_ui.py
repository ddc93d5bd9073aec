"""A person approves a step from the Temporal Web UI (Playwright driving Chromium)."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from durable_agents.runtime.devserver import SPEED_ARGS, find_temporal_cli
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.workflows.runs import pending_approval, replace_file_plan, start

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).parents[1] / "docs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
async def ui_env() -> AsyncIterator[tuple[WorkflowEnvironment, int]]:
    """A dev server with its Web UI (the session's server runs without one)."""
    port = free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_temporal_cli(),
        dev_server_extra_args=[*SPEED_ARGS, "--log-level", "error"],
        data_converter=pydantic_data_converter,
        ui=True,
        ui_port=port,
    )
    yield env, port
    await env.shutdown()


async def send_signal(page: Page, name: str, payload: str, screenshot: Path) -> None:
    """More Actions -> Send a Signal, pick ``name``, type the JSON input, submit."""
    await page.get_by_role("button", name="More Actions").click()
    await page.get_by_role("menuitem", name="Send a Signal").click()
    dialog = page.locator("dialog[open]").filter(has_text="Send a Signal")
    await dialog.get_by_test_id("signal-select-button").click()
    await dialog.get_by_role("option").filter(has_text=f"{name}").first.click()
    await dialog.get_by_role("textbox", name="Data").click()
    await page.keyboard.type(payload)
    await page.screenshot(path=str(screenshot))
    submit = dialog.get_by_role("button", name="Submit")
    for _ in range(3):  # the first click may only leave the editor, which reformats the JSON
        await submit.click()
        try:
            await dialog.wait_for(state="hidden", timeout=3000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("the Send a Signal dialog did not submit")


async def test_approving_from_the_web_ui_runs_the_step(
    ui_env: tuple[WorkflowEnvironment, int], task_queue: str, workspace: Path, tmp_path: Path
) -> None:
    assert os.access(CHROMIUM, os.X_OK), "needs Debian's chromium: apt-get install chromium"
    env, ui_port = ui_env
    given = replace_file_plan(workspace)
    async with running_worker(env.client, task_queue, FakeLlm()):
        handle = await start(env.client, task_queue, workspace, plan=given, review=False)
        await pending_approval(handle, "write")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            await page.goto(f"http://127.0.0.1:{ui_port}/namespaces/default/workflows/{handle.id}")
            await page.get_by_role("tab", name="User Metadata").click()
            # The UI renders the run's markdown details in a sandboxed iframe.
            details = page.frame_locator("iframe").get_by_text("Awaiting approval: write")
            await details.wait_for()  # the run's current details, as the README describes
            payload = '{"step_id": "write", "note": "looks right", "by": "web-ui"}'
            # UPDATE_DOCS=1 refreshes the README's screenshot; otherwise it stays in tmp.
            folder = DOCS if os.environ.get("UPDATE_DOCS") == "1" else tmp_path
            await send_signal(page, "approve", payload, folder / "approve-in-web-ui.png")
            await browser.close()
        result = await handle.result()

    assert (folder / "approve-in-web-ui.png").read_bytes().startswith(b"\x89PNG")
    assert result.status == "succeeded" and (workspace / "notes.txt").read_text() == "new"
    assert [(a.by, a.note, a.via) for a in result.approvals] == [
        ("web-ui", "looks right", "signal")
    ]
