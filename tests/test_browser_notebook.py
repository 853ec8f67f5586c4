"""Showing the work in the chat page (#19), in a real browser against the real app: "show code"
under a tool line shows that step's code, and "Export notebook" downloads the chat as a ZIP."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import nbformat
from playwright.sync_api import expect

from tests.test_ui_browser import (  # noqa: F401  (the module's fixtures)
    TURN_TIMEOUT_MS,
    Visit,
    ask,
    browser,
    open_chat,
    server,
    shot,
    turn_done,
    upload,
    visit,
)


def test_show_code_under_a_tool_line_and_the_export_button_downloads_the_notebook(
    visit: Visit,  # noqa: F811 (the fixture imported above)
    penguins_csv: Path,
    tmp_path: Path,
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    ask(page, "train a random forest to predict species")
    expect(page.locator(".metrics-card")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    turn_done(page)

    line = page.locator(".tool-call").filter(has_text="train")
    line.locator(".tool").click()
    line.locator(".show-code").click()
    code = line.locator(".tool-code")
    expect(code).to_contain_text("RandomForestClassifier", timeout=TURN_TIMEOUT_MS)
    expect(code).to_contain_text("'species'")
    expect(line.locator(".show-code")).to_have_attribute("aria-expanded", "true")
    shown = code.inner_text()
    shot(page, "notebook-01-show-code")
    line.locator(".show-code").click()  # a second click hides it again
    expect(code).to_have_count(0)

    with page.expect_download() as started:
        page.click("#export-notebook")
    assert started.value.suggested_filename == "chat_notebook.zip"
    saved = tmp_path / "chat.zip"
    started.value.save_as(saved)
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    assert set(archive.namelist()) == {"notebook.ipynb", "data/penguins.csv"}
    assert archive.read("data/penguins.csv") == penguins_csv.read_bytes()
    notebook = nbformat.reads(archive.read("notebook.ipynb").decode(), as_version=4)
    steps = [cell for cell in notebook.cells if "data_science" in cell.metadata]
    assert [cell.metadata["data_science"]["tool"] for cell in steps] == ["train"]
    # The page's "show code" and the notebook's cell are the same code.
    assert steps[0].source.strip() == shown.strip()
    asked = [cell.source for cell in notebook.cells if cell.source.startswith("## Request")]
    assert asked == ["## Request 1\n\n> train a random forest to predict species"]
