"""A person approves a step from the Temporal Web UI (Playwright driving Chromium)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from durable_agents.contracts import Plan, Step
from durable_agents.runtime.devserver import SPEED_ARGS, find_temporal_cli
from durable_agents.runtime.visibility import dev_server_args
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.processes import free_port
from tests.workflows.runs import pending_approval, replace_file_plan, start

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).parents[1] / "docs"


@pytest.fixture(scope="module")
async def ui_env() -> AsyncIterator[tuple[WorkflowEnvironment, int]]:
    """A dev server with its Web UI (the session's server runs without one) and the
    agent's search attributes, registered as the starter registers them."""
    port = free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_temporal_cli(),
        dev_server_extra_args=[*SPEED_ARGS, *dev_server_args(), "--log-level", "error"],
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
            # The default tab's timeline labels the wait with the step's exact arguments.
            await page.get_by_text("approval of write: file_write").first.click()
            shown = page.get_by_text('approval of write: file_write {"path": "notes.txt", ')
            await shown.last.wait_for()
            assert '"content": "new"' in await shown.last.inner_text()
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


async def add_columns(page: Page, *names: str) -> None:
    """Configure Columns: add custom search attributes to the run list, as a person does."""
    await page.get_by_test_id("workflows-summary-table-configuration-button").click()
    for name in names:
        await page.get_by_test_id(f"orderable-list-item-{name}").get_by_role("button").click()
    for name in ("Run ID", "Type", "End"):  # room for them on one screen
        await page.get_by_test_id(f"orderable-list-item-{name}").get_by_role("button").last.click()
    await page.keyboard.press("Escape")


async def test_the_run_list_shows_goals_and_phases_and_finds_waiting_runs(
    ui_env: tuple[WorkflowEnvironment, int], task_queue: str, workspace: Path, tmp_path: Path
) -> None:
    """The README's saved query (AgentPhase = awaiting_approval) lists the waiting run,
    titled with its goal, and not the finished one."""
    assert os.access(CHROMIUM, os.X_OK), "needs Debian's chromium: apt-get install chromium"
    env, ui_port = ui_env
    (workspace / "in.txt").write_text("hello")
    read = Plan(steps=[Step(id="read", action="file_read", params={"path": "in.txt"})])
    async with running_worker(env.client, task_queue, FakeLlm()):
        waiting = await start(
            env.client,
            task_queue,
            workspace,
            goal="Replace notes.txt with the new release notes",
            plan=replace_file_plan(workspace),
            review=False,
            search_attributes=True,
            visible_title="Replace notes.txt with the new release notes",  # as the starter sets it
        )
        finished = await start(
            env.client,
            task_queue,
            workspace,
            goal="Read in.txt for the weekly digest",
            plan=read,
            review=False,
            search_attributes=True,
            visible_title="Read in.txt for the weekly digest",
        )
        assert (await finished.result()).status == "succeeded"
        await pending_approval(waiting, "write")
        query = quote("AgentPhase = 'awaiting_approval'")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = await browser.new_page(viewport={"width": 1750, "height": 560})
            await page.goto(f"http://127.0.0.1:{ui_port}/namespaces/default/workflows")
            await add_columns(page, "AgentTitle", "AgentPhase")
            every_run = page.get_by_role("row").filter(has_text="weekly digest")
            assert "succeeded" in await every_run.inner_text()
            await page.goto(
                f"http://127.0.0.1:{ui_port}/namespaces/default/workflows?query={query}"
            )
            row = page.get_by_role("row").filter(has_text=waiting.id)
            await row.wait_for()
            text = await row.inner_text()
            folder = DOCS if os.environ.get("UPDATE_DOCS") == "1" else tmp_path
            await page.screenshot(path=str(folder / "runs-in-web-ui.png"))
            listed = await page.get_by_role("row").all_inner_texts()
            await browser.close()
        await waiting.terminate()

    assert "Replace notes.txt with the new release notes" in text
    assert "awaiting_approval" in text
    assert not any(finished.id in line for line in listed), listed
    assert (folder / "runs-in-web-ui.png").read_bytes().startswith(b"\x89PNG")
